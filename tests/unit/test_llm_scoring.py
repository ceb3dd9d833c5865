"""Logprob scoring with a scripted fake backend (named as such) that answers with first-token
logprobs: label mass, position-bias averaging, yes/no log-odds, failures. The real model is
scored in tests/integration/test_eval_embedded.py."""

import pytest

from agent.backends.fake import ScriptedFakeBackend
from agent.errors import BackendError
from evals.llm_scoring import candidate_orders, normalised, score_candidates, token_mass

USER = "user-18"


def test_token_mass_adds_up_the_spellings_of_a_label():
    mass = token_mass({"A": -1.0, " A": -1.0, "B": -2.0, "The": -0.5}, {"A": ("a",), "B": ("b",), "C": ("c",)})
    assert mass["A"] == pytest.approx(-1.0 + 0.6931, abs=1e-3) and mass["B"] == -2.0 and "C" not in mass


def test_normalised_gives_unlisted_labels_a_floor_below_the_rest():
    values = normalised({"A": -1.0, "B": -2.0}, ["A", "B", "C"])
    assert values[0] > values[1] > values[2]
    assert normalised({}, ["A", "B"]) == [0.0, 0.0]


def test_orders_mirror_then_shuffle():
    orders = candidate_orders(list("abcd"), 3, seed=0)
    assert orders[0] == list("abcd") and orders[1] == list("dcba") and sorted(orders[2]) == list("abcd")


def first_letter_lover(request):
    """A model with pure position bias: it prefers A, then B, … whatever the items are."""
    return {"A": -0.5, "B": -1.5, "C": -2.5, "D": -3.5, "E": -4.5}


def test_label_scores_follow_the_logprobs_and_two_orders_cancel_position_bias(recommender_with):
    rec = recommender_with(ScriptedFakeBackend([first_letter_lover], repeat_last=True))
    history = rec.history(USER)
    profile, cands = rec.retrieve(history, 5)
    one = score_candidates(rec, history, profile, cands, mode="labels", orders=1)
    ids = [c.item.item_id for c in cands]
    assert one.error is None and one.calls == 1 and one.prompt == "pick@v1"
    assert sorted(one.scores, key=one.scores.get, reverse=True) == ids  # position decides everything
    two = score_candidates(rec, history, profile, cands, mode="labels", orders=2)
    assert two.calls == 2
    assert max(two.scores.values()) - min(two.scores.values()) < 1e-9  # mirrored order: bias cancels
    req = rec.backend.requests[-1]
    assert req.max_tokens == 1 and req.top_logprobs >= len(cands)


def test_pointwise_scores_are_yes_no_log_odds(recommender_with):
    def judge(request):
        liked = "(199" in request.messages[-1]["content"].split("The item:")[1]  # they like the 90s
        return {"Yes": -0.2, "No": -1.8} if liked else {"No": -0.1, "Yes": -2.5}

    rec = recommender_with(ScriptedFakeBackend([judge], repeat_last=True))
    history = rec.history(USER)
    profile, cands = rec.retrieve(history, 6)
    s = score_candidates(rec, history, profile, cands, mode="pointwise")
    assert s.calls == len(cands) and s.prompt == "judge@v1"
    assert len({round(v, 6) for v in s.scores.values()}) == 2  # both answers occur among these candidates
    for c in cands:
        expected = 1.6 if "(199" in c.item.title else -2.4
        assert s.scores[c.item.item_id] == pytest.approx(expected)


def test_failures_are_reported_not_raised(recommender_with):
    rec = recommender_with(ScriptedFakeBackend([BackendError("down", kind="unavailable")]))
    history = rec.history(USER)
    profile, cands = rec.retrieve(history, 5)
    s = score_candidates(rec, history, profile, cands)
    assert s.scores == {} and "unavailable" in s.error
    # a server without logprobs support answers text only: say what is needed
    rec = recommender_with(ScriptedFakeBackend(["A"]))
    s = score_candidates(rec, history, profile, cands)
    assert s.scores == {} and "logprobs" in s.error
