"""Explanation modes and what feeds them: the model profile picks the mode, the family's adapter
shapes the request, model hooks (continued after the sentence, or in the JSON), the list's tail
rule, series and whole-history counts in the evidence. A scripted fake LLM (named as such)."""

import json

import pytest

from agent.backends.fake import ScriptedFakeBackend, explain_from_facts
from agent.errors import InputError
from agent.pipeline.grounding import same_series

USER = "user-18"


@pytest.mark.parametrize("a, b, same", [
    ("Terminator 2: Judgment Day (1991)", "The Terminator (1984)", True),
    ("Back to the Future Part II (1989)", "Back to the Future Part III (1990)", True),
    ("Star Wars: Episode V - The Empire Strikes Back (1980)", "Star Wars: Episode IV - A New Hope (1977)", True),
    ("The Godfather: Part II (1974)", "The Godfather (1972)", True),
    ("Toy Story 2 (1999)", "Toy Story (1995)", True),
    ("Dracula (1992)", "Dracula (1931)", False),  # a remake under the same name
    ("Batman: Mask of the Phantasm (1993)", "Batman (1989)", False),  # one subtitle, no number
    ("I, Robot (2004)", "I Am Legend (2007)", False),
    ("V for Vendetta (2006)", "Vertigo (1958)", False),
    ("Apollo 13 (1995)", "Apollo 11 (1996)", False),
])
def test_series_parts_are_read_from_the_titles(a, b, same):
    assert same_series(a, b) is same and same_series(b, a) is same


def test_the_mode_follows_the_model_unless_the_request_or_setting_says(recommender_with):
    from agent.options import DEFAULT_PROMPT, OPEN_PROMPT, RecommendOptions

    r = recommender_with(ScriptedFakeBackend([explain_from_facts], repeat_last=True))
    assert r.prompt_for(RecommendOptions()) == DEFAULT_PROMPT  # no base_url: a bundled model, constrained
    assert r.prompt_for(RecommendOptions(explain_mode="open")) == OPEN_PROMPT
    r.settings = r.settings.model_copy(update={"base_url": "http://127.0.0.1:9/v1"})
    assert r.prompt_for(RecommendOptions()) == OPEN_PROMPT  # an endpoint: a capable model, open
    r.settings = r.settings.model_copy(update={"explain_mode": "constrained"})
    assert r.prompt_for(RecommendOptions()) == DEFAULT_PROMPT
    with pytest.raises(InputError, match="constrained mode, not open"):
        r.prompt_for(RecommendOptions(prompt=DEFAULT_PROMPT, explain_mode="open"))
    with pytest.raises(InputError, match="not one that explains or ranks"):  # the caller's error (400), not 503
        r.recommend(USER, prompt="intent@v1")


def test_open_mode_delivers_the_models_hook_and_says_so(recommender_with):
    def capable(request):
        assert request.response_schema["required"] == ["hook", "why"] and not request.banned
        fact = json.loads(explain_from_facts(request))["why"].rstrip(".")
        return json.dumps({"hook": "A safe bet for your list", "why": f"{fact}, a natural next pick."})

    fake = ScriptedFakeBackend([capable], repeat_last=True)
    rec = recommender_with(fake).recommend(USER, k=3, explain_mode="open")
    assert rec.explain_mode == "open" and rec.prompt.ref.startswith("explain-open@")
    assert all(i.hook_source == "llm" and i.personalized_title == "A safe bet for your list" for i in rec.items[:2])
    assert all(i.explanation_source == "llm" and i.explanation.endswith("a natural next pick.") for i in rec.items[:2])


def test_open_mode_replaces_a_false_claim_and_a_false_hook_apart(recommender_with):
    def invents(request):
        fact = json.loads(explain_from_facts(request))["why"]
        return json.dumps({"hook": "An Oscar winner for you", "why": f"{fact} It stars Tom Hanks."})

    rec = recommender_with(ScriptedFakeBackend([invents], repeat_last=True)).recommend(USER, k=2, explain_mode="open")
    for item in rec.items:
        assert item.explanation_source == "template" and item.hook_source == "template"
        assert "Hanks" not in item.explanation and "Oscar" not in item.personalized_title and item.flags


def test_a_hook_is_continued_after_the_sentence_where_the_server_can(recommender_with):
    import re

    from agent.pipeline.explain import SENTENCE_PREFIX
    from prompts.families import HOOK_JOIN

    def server(request):
        if request.prefix.endswith(HOOK_JOIN):  # the hook's turn: the sentence is in the prefix already
            return "A good pick for your list"
        genre, n = re.search(r"- It is ([\w-]+), like (\d+) of the movies you liked", request.messages[-1]["content"]).groups()
        return f" movie is {genre}, like {n} of the movies you liked"  # after the given opening, up to the stop

    fake = ScriptedFakeBackend([server], repeat_last=True, continues_answers=True)
    rec = recommender_with(fake).recommend(USER, k=2, prompt="explain-why@v14")
    hooks = [q for q in fake.requests if q.prefix.endswith(HOOK_JOIN)]
    assert len(hooks) == 2 and all(q.prefix.startswith(SENTENCE_PREFIX) and q.max_tokens <= 16 for q in hooks)
    assert [i.explanation_source for i in rec.items] == ["llm", "llm"]
    assert [i.hook_source for i in rec.items] == ["llm", "llm"]
    assert rec.items[0].personalized_title == "A good pick for your list"


def test_a_third_explanation_ending_alike_gets_the_template_at_once(recommender_with):
    openings = iter(["Worth a look:", "For your list:", "Here is why:", "In short:", "Next up:", "Consider this:"] * 3)

    def same_ending(request):  # a new opening each time, the first fact (masked, the same words) after it
        fact = json.loads(explain_from_facts(request))["why"]
        return json.dumps({"hook": "For your list", "why": f"{next(openings)} {fact[0].lower()}{fact[1:]}"})

    recommender = recommender_with(ScriptedFakeBackend([same_ending], repeat_last=True))
    traced = recommender.traced(USER, k=4, prompt="explain@v1", diversity=0.0)
    kinds = [v.kind for x in traced.explained for v in x.first_violations]
    assert "repeated_tail" in kinds  # the third "… people who liked T also liked this movie" in one list
    third = next(x for x in traced.explained if any(v.kind == "repeated_tail" for v in x.first_violations))
    assert third.source == "template" and len(third.answers) == 1  # constrained: a small model's retry rarely helps
    from collections import Counter

    from agent.pipeline.explain import tail_words

    items = traced.result.items
    contexts = recommender.evidence_for(recommender.history(USER), [recommender.item(i.item_id) for i in items]).contexts
    tails = Counter(" ".join(tail_words(i.explanation, "", c, recommender.vocabulary())) for i, c in zip(items, contexts))
    assert max(tails.values()) <= 2, tails


def test_counts_of_the_persons_likes_are_over_their_whole_history(recommender_with):
    r = recommender_with(ScriptedFakeBackend([explain_from_facts], repeat_last=True))
    history = r.history(USER)
    item = r.item(r.recommend(USER, k=1, use_llm=False).items[0].item_id)
    whole = r.evidence_for(history, [item]).evidence[0]
    from agent.pipeline import context as request_context

    old = request_context.PROFILE_EVENTS
    request_context.PROFILE_EVENTS = 3  # links from the latest three likes only: counts stay the whole history's
    try:
        window = r.evidence_for(history, [item]).evidence[0]
    finally:
        request_context.PROFILE_EVENTS = old
    liked = [r.item(e.item_id) for e in r.context(history).all_liked_events]
    for share in window.shared_categories:
        assert share.liked == sum(share.category in it.categories for it in liked)
    assert window.shared_categories == whole.shared_categories


def test_the_hook_bound_in_the_schema_is_the_checkers():
    from agent.pipeline.grounding import TITLE_MAX
    from prompts.families import HOOK_MAX

    assert HOOK_MAX == TITLE_MAX  # prompts/ imports no pipeline module, so the bound is written twice
