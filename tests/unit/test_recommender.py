"""The pipeline with a scripted fake LLM over a real Chroma store: parsing, repair,
grounding and fallbacks. The real model is exercised in tests/integration."""

import json

import pytest

from agent.backends.fake import ScriptedFakeBackend, rank_in_order
from agent.errors import BackendError, InputError, UnknownUserError
from prompts.registry import PromptRegistry

USER = "user-18"
LISTWISE = "rerank@v1"  # these tests cover the listwise path; the default explain path is in test_explain.py


def ids_of(request):
    return request.response_schema["properties"]["items"]["items"]["properties"]["item_id"]["enum"]


def answer(ids, title="Big laughs for your movie night", expl="You rate comedies highly and this one is a comedy."):
    return json.dumps({"items": [{"item_id": i, "hook": title, "explanation": expl} for i in ids]})


def varied(ids):
    return json.dumps({"items": [{"item_id": i, "hook": f"Pick number {n} for you",
                                  "explanation": f"You rate films like this highly, reason {n}."} for n, i in enumerate(ids)]})


def test_happy_path_every_item_from_the_llm(recommender_with):
    fake = ScriptedFakeBackend([rank_in_order])
    rec = recommender_with(fake).recommend(USER, prompt=LISTWISE, k=5, diversity=0.0)
    assert len(rec.items) == 5 and rec.fallback_reason is None
    assert all(i.source == "llm" and i.explanation_source == "llm" for i in rec.items)
    assert [i.item_id for i in rec.items] == ids_of(fake.requests[0])[:5]  # the model's order, kept
    assert rec.prompt.ref == "rerank@v1" and len(rec.prompt.template_sha256) == 64
    assert rec.usage.prompt_tokens > 0 and rec.usage.completion_tokens > 0
    assert rec.timing.total_ms >= rec.timing.llm_ms


def test_never_recommends_a_seen_item(recommender_with):
    r = recommender_with(ScriptedFakeBackend([rank_in_order]))
    seen = {e.item_id for e in r.history(USER)}
    rec = r.recommend(USER, prompt=LISTWISE, k=10)
    assert not seen & {i.item_id for i in rec.items}
    assert len({i.item_id for i in rec.items}) == 10


@pytest.mark.parametrize("ref", [r for r in PromptRegistry().list()
                                 if PromptRegistry().output_kind(r) in ("explained", "ranking")])
def test_no_user_id_in_any_prompt(recommender_with, ref):
    from agent.backends.fake import rank_labels

    step = rank_labels if PromptRegistry().output_kind(ref) == "ranking" else rank_in_order
    fake = ScriptedFakeBackend([step])
    rec = recommender_with(fake).recommend(USER, k=3, prompt=ref)
    assert rec.prompt.ref == ref and rec.fallback_reason is None
    text = json.dumps(fake.requests[0].messages)
    assert USER not in text and "user-" not in text


def test_fewer_items_are_filled_from_retrieval_order(recommender_with):
    fake = ScriptedFakeBackend([lambda req: answer(ids_of(req)[:2])])
    rec = recommender_with(fake).recommend(USER, prompt=LISTWISE, k=6, diversity=0.0)
    assert [i.source for i in rec.items] == ["llm"] * 2 + ["fallback"] * 4
    assert all(i.explanation_source == "template" for i in rec.items[2:])
    assert rec.fallback_reason is None


def test_out_of_candidate_and_duplicate_ids_are_dropped(recommender_with):
    def hostile(req):
        ids = ids_of(req)
        return answer(["not-a-candidate", ids[0], ids[0], ids[1]])

    rec = recommender_with(ScriptedFakeBackend([hostile])).recommend(USER, prompt=LISTWISE, k=4, diversity=0.0)
    assert "not-a-candidate" not in [i.item_id for i in rec.items]
    assert len({i.item_id for i in rec.items}) == 4
    assert any("not among the candidates" in w and "repeated" in w for w in rec.warnings)


def test_invalid_json_is_repaired_once(recommender_with):
    fake = ScriptedFakeBackend(["Sure! I recommend Toy Story.", rank_in_order])
    rec = recommender_with(fake).recommend(USER, prompt=LISTWISE, k=3)
    assert len(fake.requests) == 2
    assert "not usable" in fake.requests[1].messages[-1]["content"]
    assert all(i.source == "llm" for i in rec.items) and rec.fallback_reason is None


def test_invalid_twice_gives_a_flagged_complete_fallback(recommender_with):
    rec = recommender_with(ScriptedFakeBackend(["nope", "{\"items\": 3}"])).recommend(USER, prompt=LISTWISE, k=10)
    assert len(rec.items) == 10 and all(i.source == "fallback" for i in rec.items)
    assert "invalid model output" in rec.fallback_reason


def test_truncated_output_keeps_its_complete_items(recommender_with):
    fake = ScriptedFakeBackend([lambda req: answer(ids_of(req)[:4])[:-40]] * 2)
    rec = recommender_with(fake).recommend(USER, prompt=LISTWISE, k=5, diversity=0.0)
    assert [i.source for i in rec.items][:3] == ["llm"] * 3 and rec.items[4].source == "fallback"


@pytest.mark.parametrize("kind", ["timeout", "unavailable", "server_error"])
def test_backend_failure_gives_a_flagged_fallback(recommender_with, kind):
    rec = recommender_with(ScriptedFakeBackend([BackendError("boom", kind=kind)])).recommend(USER, prompt=LISTWISE, k=10)
    assert len(rec.items) == 10 and {i.source for i in rec.items} == {"fallback"}
    assert rec.fallback_reason.startswith(f"LLM call failed ({kind})")
    assert all(i.explanation and i.personalized_title for i in rec.items)


def test_hallucinated_title_in_explanation_is_replaced(recommender_with):
    probe = recommender_with(ScriptedFakeBackend([]))
    seen = {e.item_id for e in probe.history(USER)}
    outside = next(i.title for i in probe.store.all_items()
                   if i.item_id not in seen and len(i.title) > 16 and " " in i.title)
    named = outside.rsplit(" (", 1)[0]
    r = recommender_with(ScriptedFakeBackend([lambda req: json.dumps({"items": [
        {"item_id": i, "hook": f"Pick {n} for your night", "explanation": f"If you enjoyed {named}, this is pick {n} for you."}
        for n, i in enumerate(ids_of(req)[:2])]})]))
    rec = r.recommend(USER, prompt=LISTWISE, k=2, diversity=0.0)
    checked = [i for i in rec.items if i.title != outside]  # naming the item itself is allowed
    assert checked
    for item in checked:
        assert item.source == "llm" and item.explanation_source == "template"
        assert any("which is not in the facts" in f for f in item.flags)
        assert named not in item.explanation


def test_one_explanation_copied_onto_every_item_is_replaced(recommender_with):
    rec = recommender_with(ScriptedFakeBackend([lambda req: answer(ids_of(req)[:3])])).recommend(USER, prompt=LISTWISE, k=3)
    assert all(i.explanation_source == "template" for i in rec.items)
    assert all("the same text was given for other items" in " ".join(i.flags) for i in rec.items)


def test_junk_titles_and_explanations_are_replaced(recommender_with):
    fake = ScriptedFakeBackend([lambda req: answer(ids_of(req)[:1], title="1.1.1.1.1.1.1.1", expl="2.2.2.2.2.2.2.2.2")])
    item = recommender_with(fake).recommend(USER, prompt=LISTWISE, k=1).items[0]
    assert item.source == "llm" and item.explanation_source == "template"
    assert len(item.flags) == 2 and "1.1.1" not in item.personalized_title


def test_unknown_user_says_what_to_do(recommender_with):
    with pytest.raises(UnknownUserError, match="recommend_for_history"):
        recommender_with(ScriptedFakeBackend([])).recommend("nobody")


def test_empty_history_is_a_labelled_cold_start(recommender_with):
    fake = ScriptedFakeBackend([])
    rec = recommender_with(fake).recommend_for_history(prompt=LISTWISE, history=[], k=10)
    assert rec.cold_start and len(rec.items) == 10 and fake.requests == []
    cats = [i.categories[0] for i in rec.items if i.categories]
    assert len(set(cats)) >= 3  # popular and diverse, not ten dramas


def test_history_for_a_new_user(recommender_with):
    fake = ScriptedFakeBackend([rank_in_order])
    rec = recommender_with(fake).recommend_for_history(
        prompt=LISTWISE, history=[{"item_id": "1", "rating": 5}, {"item_id": "3114", "signal": "like"}, {"item_id": "nope", "rating": 4}], k=5)
    assert len(rec.items) == 5 and not rec.cold_start
    assert not {"1", "3114"} & {i.item_id for i in rec.items}
    assert any("unknown item id" in w for w in rec.warnings)


def test_bad_options_are_clear_errors(recommender_with):
    r = recommender_with(ScriptedFakeBackend([]))
    with pytest.raises(InputError, match="out of range"):
        r.recommend(USER, prompt=LISTWISE, k=500)
    with pytest.raises(InputError, match="diversity"):
        r.recommend(USER, prompt=LISTWISE, diversity=3)
    with pytest.raises(InputError, match="none of the history"):
        r.recommend_for_history(prompt=LISTWISE, history=[{"item_id": "nope"}])
    with pytest.raises(InputError, match="history entry 1: signal"):
        r.recommend_for_history(prompt=LISTWISE, history=[{"item_id": "1"}, {"item_id": "2", "signal": "love"}])
    for bad in (float("nan"), float("inf"), 1e308, 99, -4):  # one rating scale, as at ingest
        with pytest.raises(InputError, match="history entry 0: .*(finite|rating scale)"):
            r.recommend_for_history(prompt=LISTWISE, history=[{"item_id": "1", "rating": bad}])


def test_candidates_union_semantic_and_collaborative(recommender_with):
    r = recommender_with(ScriptedFakeBackend([]))
    history = r.history(USER)
    seen = {e.item_id for e in history}
    cands = r.retrieve(history, 20)[1]
    assert len(cands) == 20 and not seen & {c.item.item_id for c in cands}
    sources = {s for c in cands for s in c.sources}
    assert {"semantic", "collaborative"} <= sources
    assert all("fused" in c.scores for c in cands)


def test_diversity_knob_reorders(recommender_with):
    r = recommender_with(ScriptedFakeBackend([rank_in_order], repeat_last=True))
    plain = [i.item_id for i in r.recommend(USER, prompt=LISTWISE, k=10, diversity=0.0).items]
    diverse = [i.item_id for i in r.recommend(USER, prompt=LISTWISE, k=10, diversity=0.9).items]
    assert plain != diverse


def test_context_budget_trims_the_prompt(recommender_with):
    full = ScriptedFakeBackend([rank_in_order])
    recommender_with(full).recommend(USER, prompt=LISTWISE, k=5, n_candidates=30)
    untrimmed = full.count_tokens(full.requests[0].messages)
    reserved = 100 * 5 + 50 + 64  # completion budget + margin
    fake = ScriptedFakeBackend([rank_in_order], context_window=reserved + int(untrimmed * 0.7))
    rec = recommender_with(fake).recommend(USER, prompt=LISTWISE, k=5, n_candidates=30)
    assert any("prompt trimmed" in w for w in rec.warnings)
    assert fake.count_tokens(fake.requests[0].messages) <= int(untrimmed * 0.7)
    assert rec.fallback_reason is None


def test_a_context_too_small_for_anything_falls_back(recommender_with):
    rec = recommender_with(ScriptedFakeBackend([rank_in_order], context_window=700)).recommend(USER, prompt=LISTWISE, k=5)
    assert rec.fallback_reason.startswith("LLM call failed (context_window)") and len(rec.items) == 5


def test_llm_profile_summary_is_cached(recommender_with):
    summary = "You enjoy witty comedies and big adventurous stories with heart."
    fake = ScriptedFakeBackend([summary, rank_in_order, rank_in_order])
    r = recommender_with(fake)
    first = r.recommend(USER, prompt=LISTWISE, k=3, profile_mode="llm")
    assert first.profile.narrative == summary and summary in fake.requests[1].messages[1]["content"]
    r.recommend(USER, prompt=LISTWISE, k=3, profile_mode="llm")
    assert len(fake.requests) == 3  # the second summary came from the cache


def test_an_unknown_prompt_is_the_callers_error(recommender_with):
    r = recommender_with(ScriptedFakeBackend([rank_in_order]))
    for ref in ("nope@v1", "(no genres listed)"):
        with pytest.raises(InputError, match="rerank@v1"):
            r.recommend(USER, k=3, prompt=ref)


def test_fusion_candidate_order_uses_the_configured_weights_and_keeps_every_rule(recommender_with):
    """candidate_order=fusion: the fused score decides the order, seen items stay out, and the
    configured weights are the ones applied (popularity alone: most popular first)."""
    fake = ScriptedFakeBackend([rank_in_order], repeat_last=True)
    r = recommender_with(fake)
    history = r.history(USER)
    seen = {e.item_id for e in history}
    orders = {}
    for weights in ({"popularity": 1.0}, {"collaborative": 1.0, "recent": 0.5, "semantic": 0.5}):
        r.settings = r.settings.model_copy(update={"candidate_order": "fusion", "fusion_weights": weights})
        cands = r.retrieve(history, 15)[1]
        assert len(cands) == 15 and not seen & {c.item.item_id for c in cands}
        fused = [c.scores["fused"] for c in cands]
        assert fused == sorted(fused, reverse=True)
        orders[tuple(weights)] = [c.item.item_id for c in cands]
    by_popularity = orders[("popularity",)]
    pops = r.collaborative().popularity_of(by_popularity)
    assert pops == sorted(pops, reverse=True), (pops, [c for c in by_popularity])
    assert by_popularity != orders[("collaborative", "recent", "semantic")]
    rec = r.recommend(USER, prompt=LISTWISE, k=5)
    assert rec.fallback_reason is None and len(rec.items) == 5


def test_bad_fusion_weights_are_a_config_error():
    from agent.config import load_settings
    from agent.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown weights"):
        load_settings(fusion_weights={"mood": 1.0})
    with pytest.raises(ConfigError, match="non-zero"):
        load_settings(fusion_weights={"collaborative": 0.0})


@pytest.mark.parametrize("ref", ["pick@v1", "pick-recency@v1", "pick-demos@v1", "pick-compact@v1"])
def test_scoring_prompt_variants_get_the_history_view_they_show(recommender_with, ref):
    r = recommender_with(ScriptedFakeBackend([]))
    history = r.history(USER)
    profile, candidates = r.retrieve(history, 5)
    inputs = r.prompts(history).inputs(ref, profile, candidates, 1)
    used = r.registry.variables(ref)
    assert [c.id for c in inputs.candidates] == ["A", "B", "C", "D", "E"]
    # an input the template does not show is not built (no wasted lookups, no silent extra data)
    for name in ("recent", "demos", "liked_titles"):
        assert bool(getattr(inputs, name)) == (name in used), name
    if ref == "pick-compact@v1":  # the compact history reaches further back than the profile's liked list
        assert len(inputs.liked_titles) > len(inputs.profile.liked)
        assert inputs.liked_titles[: len(inputs.profile.liked)] == [i.title for i in inputs.profile.liked]
    if ref == "pick-recency@v1":
        assert all(e.rating is not None for e in inputs.recent)
    text = json.dumps(r.registry.render(ref, inputs).messages)
    assert USER not in text
