"""The explanation stage with a scripted fake LLM (named as such) over the test catalog: the
model phrases each item's evidence, the checker verifies, one retry is told why, then the
data template, flagged. The real model runs in tests/integration/test_embedded.py."""

import json
import re
import time

from agent.backends.fake import ScriptedFakeBackend, explain_from_facts
from agent.errors import BackendError

USER = "user-18"


def false_like(request):
    return json.dumps({"hook": "A classic for your shelf", "why": "You liked The Lion King (1994), so this Disney "
                                                                 "film with a twist ending is for you."})


def varied(request):
    """The item's first fact, with a different opening and ending each call (three alike is boilerplate)."""
    varied.calls = getattr(varied, "calls", 0) + 1
    fact = json.loads(explain_from_facts(request))
    openings = ("Worth a look:", "For your list:", "Here is why:", "In short:", "Next up:", "Consider this:")
    endings = ("a good pick.", "a great choice.", "a sure fit.", "worth a watch.", "a likely match.", "a good choice.")
    why = fact["why"].rstrip(".")
    fact["why"] = (f"{openings[varied.calls % len(openings)]} {why[0].lower()}{why[1:]}; "
                   f"{endings[varied.calls % len(endings)]}")
    wanted = request.response_schema["properties"]
    return json.dumps({k: v for k, v in fact.items() if k in wanted})


def test_every_item_is_phrased_by_the_model_and_handed_on_in_rank_order(recommender_with):
    fake = ScriptedFakeBackend([varied], repeat_last=True)
    seen = []
    rec = recommender_with(fake).recommend(USER, k=4, prompt="explain@v1", on_item=lambda it: seen.append(it.rank))
    assert seen == [1, 2, 3, 4] and rec.prompt.ref == "explain@v1"
    assert all(i.explanation_source == "llm" and not i.flags for i in rec.items)
    assert all(set(r.response_schema["properties"]) == {"hook", "why"} for r in fake.requests)
    assert all(r.seed == 0 for r in fake.requests)  # one call per item, first attempt


def test_a_server_that_continues_answers_writes_the_sentence_alone(recommender_with):
    from agent.pipeline.explain import SENTENCE_PREFIX

    def cut_at_its_stop(request):  # the server leaves out the ". " that ended the sentence
        return explain_from_facts(request).rstrip(".")

    fake = ScriptedFakeBackend([cut_at_its_stop], repeat_last=True, continues_answers=True)
    rec = recommender_with(fake).recommend(USER, k=2, prompt="explain-why@v2")  # a third would repeat an opening
    assert all(r.prefix == SENTENCE_PREFIX and r.response_schema is None and ". " in r.stop for r in fake.requests)
    assert all("review" in r.banned for r in fake.requests)
    assert all(i.explanation_source == "llm" and i.explanation.endswith(".") for i in rec.items)
    # a server that cannot continue an answer (OpenAI) gets the JSON schema, as before
    fake = ScriptedFakeBackend([explain_from_facts], repeat_last=True)
    recommender_with(fake).recommend(USER, k=1, prompt="explain-why@v2")
    assert fake.requests[0].prefix is None and set(fake.requests[0].response_schema["properties"]) == {"why"}


def test_a_stop_after_an_abbreviation_is_continued_not_taken_for_the_sentence_end(recommender_with):
    from agent.pipeline.explain import SENTENCE_PREFIX

    def server(request):
        """Writes the whole sentence, as far as a llama.cpp server would: what follows the
        given opening, up to its first ". " stop."""
        fact = explain_from_facts(request)
        whole = SENTENCE_PREFIX + "As Dr. Who fans would say, " + fact[0].lower() + fact[1:]
        return whole[len(request.prefix):].split(". ")[0].rstrip(".")

    fake = ScriptedFakeBackend([server], repeat_last=True, continues_answers=True)
    item = recommender_with(fake).recommend(USER, k=1, prompt="explain-why@v2").items[0]
    assert item.explanation_source == "llm" and item.explanation.startswith("As Dr. Who fans would say, ")
    assert [r.prefix for r in fake.requests] == [SENTENCE_PREFIX, SENTENCE_PREFIX + "As Dr. "]


def _server_writing(whole_answer):
    """A llama.cpp server whose model writes `whole_answer(request)` after the JSON opening: it
    answers what follows the request's opening, up to its first stop string."""
    import re

    from agent.pipeline.explain import SENTENCE_PREFIX

    def server(request):
        rest = (SENTENCE_PREFIX + whole_answer(request))[len(request.prefix):]
        return re.split("|".join(map(re.escape, request.stop)), rest)[0]
    return server


def test_a_quoted_title_is_continued_past_its_quotes(recommender_with):
    from agent.pipeline.explain import SENTENCE_PREFIX

    def quotes_the_title(request):
        title = request.messages[-1]["content"].split("Movie: ")[1].split(" (")[0]
        fact = explain_from_facts(request)
        return f'The movie \\"{title}\\" fits: {fact[0].lower()}{fact[1:]}'

    fake = ScriptedFakeBackend([_server_writing(quotes_the_title)], repeat_last=True, continues_answers=True)
    item = recommender_with(fake).recommend(USER, k=1, prompt="explain-why@v3").items[0]
    title = item.title.split(" (")[0]
    assert item.explanation_source == "llm" and item.explanation.startswith(f'The movie "{title}" fits: ')
    assert [r.prefix for r in fake.requests] == [SENTENCE_PREFIX, SENTENCE_PREFIX + 'The movie \\"',
                                                 SENTENCE_PREFIX + f'The movie \\"{title}\\"']

    def quotes_an_abbreviation(request):  # the ". " after "Dr" inside the quotes is no end either
        return 'The movie \\"Dr. Who\\" fits: ' + explain_from_facts(request)

    fake = ScriptedFakeBackend([_server_writing(quotes_an_abbreviation)], repeat_last=True, continues_answers=True)
    item = recommender_with(fake).recommend(USER, k=1, prompt="explain-why@v3").items[0]
    assert item.explanation.startswith('The movie "Dr. Who" fits: '), item.explanation


def test_a_prompts_given_opening_is_continued_by_the_model(recommender_with):
    from agent.pipeline.explain import SENTENCE_PREFIX

    def finishes_the_opening(request):  # the opening, then the first fact
        fact = explain_from_facts(request)
        return request.prefix[len(SENTENCE_PREFIX):] + " and " + fact[0].lower() + fact[1:]

    fake = ScriptedFakeBackend([_server_writing(finishes_the_opening)], repeat_last=True, continues_answers=True)
    rec = recommender_with(fake).recommend(USER, k=3, prompt="explain-why@v6")
    openings = [r.prefix[len(SENTENCE_PREFIX):] for r in fake.requests]
    assert len(fake.requests) == 3 and len(set(openings)) == 3 and all(openings)  # one form per place in the list
    assert all(i.explanation_source == "llm" and i.explanation.startswith(o) for i, o in zip(rec.items, openings))

    def stops_at_once(request):  # nothing of its own after the given words
        return ""

    fake = ScriptedFakeBackend([stops_at_once], repeat_last=True, continues_answers=True)
    item = recommender_with(fake).recommend(USER, k=1, prompt="explain-why@v6").items[0]
    assert item.explanation_source == "template" and len(fake.requests) == 2  # retried once, then the template

    def says_nothing_of_the_movie(request):  # true, and less than the template says
        return _server_writing(lambda r: r.prefix[len(SENTENCE_PREFIX):] + " movie fits you well")(request)

    fake = ScriptedFakeBackend([says_nothing_of_the_movie], repeat_last=True, continues_answers=True)
    item = recommender_with(fake).recommend(USER, k=1, prompt="explain-why@v6").items[0]
    assert item.explanation_source == "template" and "nothing of this movie" in item.flags[0]
    # a server that cannot continue an answer writes it all: no opening is given
    fake = ScriptedFakeBackend([explain_from_facts], repeat_last=True)
    item = recommender_with(fake).recommend(USER, k=1, prompt="explain-why@v6").items[0]
    assert fake.requests[0].prefix is None and item.explanation_source == "llm"


def test_a_template_takes_a_form_whose_opening_the_list_has_not_used_twice(recommender_with):
    def you_gave(request):  # opens the way a template form does ("You gave <title> 4/5; …")
        fact = explain_from_facts(request)
        return fact.replace("You rated", "You gave", 1)

    fake = ScriptedFakeBackend([you_gave], repeat_last=True)
    items = recommender_with(fake).recommend(USER, k=7, prompt="explain-why@v3").items
    assert sum(i.explanation_source == "llm" for i in items) == 2  # a third model text alike is rejected ...
    assert sum(i.explanation.startswith("You gave") for i in items) == 2  # ... and no template is the third


def test_a_continuation_keeps_to_the_lists_budget(recommender_with, monkeypatch):
    from agent.pipeline.explain import SENTENCE_PREFIX

    def slow_abbreviation(request):
        time.sleep(1.2)
        return _server_writing(lambda r: "As Dr. Who fans would say, " + explain_from_facts(r))(request)

    fake = ScriptedFakeBackend([slow_abbreviation], repeat_last=True, continues_answers=True)
    r = recommender_with(fake)
    monkeypatch.setattr(r.settings, "explain_budget_s", 2.0)
    item = r.recommend(USER, k=1, prompt="explain-why@v3").items[0]
    assert [q.prefix for q in fake.requests] == [SENTENCE_PREFIX]  # under a second left: no continuation
    assert item.explanation_source == "template"
    fake = ScriptedFakeBackend([slow_abbreviation], repeat_last=True, continues_answers=True)
    r = recommender_with(fake)
    monkeypatch.setattr(r.settings, "explain_budget_s", 10.0)
    r.recommend(USER, k=1, prompt="explain-why@v3")
    first, continuation = fake.requests[:2]  # the continuation gets what is left, not the first call's time
    assert 0 < continuation.timeout_s <= first.timeout_s - 1.2


def test_a_titles_own_full_stop_is_not_the_sentence_end():
    from agent.pipeline.explain import _title_goes_on

    titles = ["Monsters, Inc. (2001)", "L.A. Confidential (1997)", "Heat (1995)"]
    assert _title_goes_on("You liked Monsters, Inc", titles) and _title_goes_on("Like L.A", titles)
    assert _title_goes_on('The movie \\"Monsters, Inc', titles)  # inside a quoted title
    assert not _title_goes_on("It is Heat", titles) and not _title_goes_on("", titles)


def test_an_answer_that_repeats_the_retry_reason_is_not_delivered(recommender_with):
    fake = ScriptedFakeBackend([false_like, lambda r: json.dumps({
        "hook": "Your kind of movie", "why": "Your last note was rejected: it says the person liked a movie."})],
        repeat_last=True)
    item = recommender_with(fake).recommend(USER, k=1).items[0]
    assert item.explanation_source == "template" and "rejected" not in item.explanation


def test_a_false_claim_is_retried_once_with_the_reason_and_another_seed(recommender_with):
    fake = ScriptedFakeBackend([false_like, explain_from_facts], repeat_last=True)
    rec = recommender_with(fake).recommend(USER, k=1)
    first, retry = fake.requests[:2]
    assert rec.items[0].explanation_source == "llm" and "Lion King" not in rec.items[0].explanation
    assert "rejected" in retry.messages[-1]["content"] and "rejected" not in first.messages[-1]["content"]
    assert (first.seed, retry.seed) == (0, 1) and retry.temperature > 0


def test_two_false_answers_give_the_flagged_data_template(recommender_with):
    fake = ScriptedFakeBackend([false_like], repeat_last=True)
    item = recommender_with(fake).recommend(USER, k=1).items[0]
    assert len(fake.requests) == 2 and item.explanation_source == "template"
    assert any("failed the checks" in f for f in item.flags) and "Lion King" not in item.explanation


def test_the_sentence_only_prompt_takes_its_hook_from_the_evidence(recommender_with):
    fake = ScriptedFakeBackend([varied], repeat_last=True)
    rec = recommender_with(fake).recommend(USER, k=3, prompt="explain-why@v1")
    assert all(set(r.response_schema["properties"]) == {"why"} for r in fake.requests)
    assert all(i.explanation_source == "llm" and not i.flags for i in rec.items)
    assert all(i.personalized_title and i.personalized_title != "Picked from your own ratings" for i in rec.items)


def test_the_plain_text_prompt_asks_for_one_line_without_json(recommender_with):
    fake = ScriptedFakeBackend([explain_from_facts, "I'm sorry, but I can't assist with that request."],
                               repeat_last=True)
    rec = recommender_with(fake).recommend(USER, k=2, prompt="explain-short@v1")
    assert all(r.response_schema is None and r.stop == ["\n"] for r in fake.requests)
    assert [i.explanation_source for i in rec.items] == ["llm", "template"]  # a refusal is no sentence, twice
    assert rec.items[0].explanation.endswith(".") and not rec.items[0].explanation.startswith(("{", '"'))


def test_an_unreachable_model_is_asked_once_per_list(recommender_with):
    fake = ScriptedFakeBackend([BackendError("connection refused", kind="unavailable")], repeat_last=True)
    rec = recommender_with(fake).recommend(USER, k=4)
    assert len(fake.requests) == 1 and all(i.explanation_source == "template" for i in rec.items)


def test_past_the_budget_the_rest_of_the_list_gets_templates_at_once(recommender_with, monkeypatch):
    def slow(request):
        time.sleep(1.5)
        return explain_from_facts(request)

    r = recommender_with(ScriptedFakeBackend([slow], repeat_last=True))
    monkeypatch.setattr(r.settings, "explain_budget_s", 2.0)
    t0 = time.perf_counter()
    items = r.recommend(USER, k=5).items
    assert time.perf_counter() - t0 < 4.5
    assert items[0].explanation_source == "llm"
    assert any("too slow" in f or "no time left" in f for i in items[1:] for f in i.flags)


def test_a_true_first_sentence_is_kept_when_a_later_one_invents(recommender_with):
    def invents_after(request):
        true = json.loads(explain_from_facts(request))["why"]
        return json.dumps({"why": f"{true} It won three Oscars and critics adored it."})

    fake = ScriptedFakeBackend([invents_after], repeat_last=True)
    traced = recommender_with(fake).traced(USER, k=2, prompt="explain-why@v1")
    assert len(fake.requests) == 2  # no retry: the first sentence holds
    for item in traced.result.items:
        assert item.explanation_source == "llm" and "Oscar" not in item.explanation
    assert all(x.first_violations for x in traced.explained)  # the eval still sees what the model wrote


def test_a_true_main_clause_is_kept_when_a_trailing_clause_invents(recommender_with):
    def invents_at_the_end(request):
        true = json.loads(explain_from_facts(request))["why"].rstrip(".")
        return json.dumps({"why": f"{true}, making it a popular choice among viewers."})

    fake = ScriptedFakeBackend([invents_at_the_end], repeat_last=True)
    traced = recommender_with(fake).traced(USER, k=2, prompt="explain-why@v1")
    assert len(fake.requests) == 2  # no retry: the sentence before the clause holds
    for item in traced.result.items:
        assert item.explanation_source == "llm" and item.explanation.endswith(".")
        assert "popular" not in item.explanation and "making" not in item.explanation
    assert all(x.first_violations for x in traced.explained)


def test_starting_the_model_is_timed_apart_from_retrieval(recommender_with):
    class SlowToStart(ScriptedFakeBackend):
        """Its first look at `model` takes as long as an embedded server's start."""
        started = False

        @property
        def model(self):
            if not self.started:
                time.sleep(0.3)
                self.started = True
            return "scripted-fake"

    r = recommender_with(SlowToStart([explain_from_facts], repeat_last=True))
    first, again = r.recommend(USER, k=2, prompt="explain-why@v2"), r.recommend(USER, k=2, prompt="explain-why@v2")
    assert first.timing.model_start_ms >= 300 and first.timing.first_item_ms >= first.timing.model_start_ms
    assert first.timing.llm_ms >= first.timing.model_start_ms and again.timing.model_start_ms < 300


def test_the_template_states_the_most_specific_facts_first():
    """A part of a series the person rated, then the strongest link, then a shared tag; a genre
    count only where fewer than two of those exist (issue: the template said the genre count of
    every Action movie alike)."""
    from agent.pipeline.explain import template_texts
    from agent.types import CategoryShare, Evidence, LikedLink, SeriesLink

    link = LikedLink(item_id="1", title="The Terminator (1984)", rating=5.0, signal="co-liked", people=12)
    other = LikedLink(item_id="9", title="Aliens (1986)", rating=4.0, signal="co-liked", people=7)
    action = [CategoryShare(category="Action", liked=256)]
    sequel = Evidence(item_id="2", title="Terminator 2: Judgment Day (1991)", because=[link], shared_categories=action,
                      series=[SeriesLink(item_id="1", title="The Terminator (1984)", rating=5.0, relation="sequel")],
                      shared_tags=["time travel"], shared_tag_counts=[4])
    text = template_texts(sequel)[1]
    assert text.startswith("You rated The Terminator 5/5, and this is its sequel.")  # no "(1984) 5/5"
    assert "time travel" in text and "4" in text and "256" not in text and text.count("The Terminator") == 1
    tagged = Evidence(item_id="3", title="Looper (2012)", because=[other], shared_categories=action,
                      shared_tags=["time travel"], shared_tag_counts=[1])
    texts = [template_texts(tagged, position)[1] for position in range(5)]
    assert all("Aliens (you rated it 4/5)" in t or "Aliens 4/5" in t for t in texts), texts
    assert all("tagged time travel" in t and re.search(r"\bone (?:of the movies you liked|is)\b", t, re.I)
               and "1 of" not in t and "256" not in t for t in texts), texts
    assert not any("are tagged" in t for t in texts) and len(set(texts)) == 5  # one movie "is"; five forms
    plain = Evidence(item_id="4", title="Speed (1994)", because=[other], shared_categories=action)
    assert "256" in template_texts(plain)[1]
    # a genre is named as a sentence names it ("an action movie", "action movies"), a shelf with no noun as it is
    genre_texts = {template_texts(plain, position)[1].split(". ", 1)[1] for position in range(5)}
    assert genre_texts >= {"This is an action movie, as are 256 of the movies you liked.",
                           "Of the movies you liked, 256 are action movies; this one is too."}, genre_texts
    shelf = Evidence(item_id="BK-1", title="Shadow Rising", because=[other], shared_categories=[CategoryShare(category="mystery", liked=6)])
    assert "6 of the movies you liked are mystery" in " ".join(template_texts(shelf, p)[1] for p in range(5))
    near = LikedLink(item_id="5", title="The Kings of Summer (2013)", signal="similar", similarity=0.6)
    hooks = {template_texts(Evidence(item_id="6", title="Mud (2012)", because=[near]), p)[0] for p in range(6)}
    assert not any("a The" in h for h in hooks)  # "For a The Kings of Summer mood"


def test_an_answer_cut_back_to_its_given_first_sentence_is_not_the_models(recommender_with):
    from agent.pipeline.explain import SENTENCE_PREFIX, model_part

    assert model_part("9 people who liked Heat also liked this.", "9 people who liked Heat also liked this. It") == ""
    assert model_part("9 people who liked Heat also liked this. It is Crime.", "9 people who liked Heat also liked this. It") == " is Crime."

    def invents_after_the_fact(request):  # the given first sentence is true; what the model adds is not
        return _server_writing(lambda r: r.prefix[len(SENTENCE_PREFIX):] + " won three Oscars")(request)

    fake = ScriptedFakeBackend([invents_after_the_fact], repeat_last=True, continues_answers=True)
    item = recommender_with(fake).recommend(USER, k=1, prompt="explain-why@v17").items[0]
    openings = [r.prefix[len(SENTENCE_PREFIX):] for r in fake.requests]
    assert openings[0].endswith(". It"), openings  # a first sentence given whole
    assert item.explanation_source == "template" and len(fake.requests) == 2
    # the reason told to the retry and shown is what was cut, not "it stops after its first words"
    retry = fake.requests[1].messages[-1]["content"]
    assert "'won'" in retry and "first words" not in retry and "'won'" in item.flags[0], (retry, item.flags)


def test_a_template_keeps_to_two_alike_endings_when_the_model_took_the_openings(recommender_with):
    from collections import Counter

    from agent.pipeline.claims import skeleton
    from agent.pipeline.explain import ExplainStage, tail_words, template_texts

    rec = recommender_with(ScriptedFakeBackend([explain_from_facts], repeat_last=True))
    items = rec.recommend(USER, k=3, use_llm=False).items
    ctx = rec.evidence_for(rec.history(USER), [rec.item(i.item_id) for i in items]).contexts[0]
    stage = ExplainStage(rec.backend, rec.registry, rec.vocabulary(), "explain-why@v15")
    # the model's sentences above hold every opening a template form could take, twice
    stage._openings = {skeleton(template_texts(ctx.evidence, s)[1], ctx, stage.vocab): 2 for s in range(10)}
    texts = [stage._template(ctx, 0, "test").explanation for _ in range(5)]
    endings = Counter(" ".join(tail_words(t, "", ctx, stage.vocab)) for t in texts)
    assert max(endings.values()) == 2, endings


def test_a_third_item_left_with_only_a_genre_count_is_marked_for_another_fact():
    from agent.pipeline.explain import genre_counts_full
    from agent.types import CategoryShare, Evidence, SeriesLink

    def ev(tags=(), series=False):
        return Evidence(item_id="x", title="X (2000)", categories=["Drama"], shared_tags=list(tags),
                        shared_categories=[CategoryShare(category="Drama", liked=9)],
                        series=[SeriesLink(item_id="y", title="Y (1990)", relation="sequel")] if series else [])

    items = [ev(), ev(tags=["mafia"]), ev(), ev(series=True), ev(), ev()]
    assert genre_counts_full(items) == [False, False, False, False, True, True]


def test_tags_named_without_the_persons_movies_that_share_them_are_sent_back():
    # read blind under explain-why@v24: "It is tagged cult film and drugs, and it is a drama." gives no reason
    from agent.pipeline.explain import untied_tags
    from agent.types import Evidence

    ev = Evidence(item_id="x", title="X (2000)", categories=["Drama"], shared_tags=["cult film", "drugs"],
                  shared_tag_counts=[2, 1])
    assert [v.kind for v in untied_tags(" is tagged cult film and drugs, and it is a drama.", ev)] == ["generic"]
    assert untied_tags(" is tagged cult film (like 2 of the movies you liked) and drugs (like one).", ev) == []
    assert untied_tags(" is a drama, like 94 of the movies you liked.", ev) == []
    assert untied_tags(" is a drama.", ev) == []  # no shared tag named: other checks judge it
    assert untied_tags(" sequel is a cult film drama.", ev) == []  # a tag as a description, not "tagged"


def test_a_given_opening_keeps_its_accents(recommender_with):
    # the opening went to the server JSON-escaped as ASCII ("Am\u00e9lie"), came back so, and every sentence
    # after "Amelie (Fabuleux destin d'Amélie Poulain, Le)" or "WALL·E" failed the checker (100-user run, v25)
    from agent.pipeline.claims import claim_contexts
    from agent.pipeline.explain import SENTENCE_PREFIX, ExplainStage
    from agent.types import CategoryShare, Evidence, HistoryEvent, LikedLink

    def adds_the_genre(request):
        return _server_writing(lambda r: r.prefix[len(SENTENCE_PREFIX):] + " is a comedy, like 2 of the movies you liked.")(request)

    rec = recommender_with(ScriptedFakeBackend([adds_the_genre], repeat_last=True, continues_answers=True))
    catalog = {i: rec.item(i) for i in ("4973", "60069", "1")}
    liked = [HistoryEvent(item_id=i, rating=5.0) for i in ("4973", "60069")]
    contexts = claim_contexts([Evidence(item_id="1", title=catalog["1"].title, categories=catalog["1"].categories,
                                        because=[LikedLink(item_id=i, title=catalog[i].title, rating=5.0,
                                                           signal="co-liked", people=12)],
                                        shared_categories=[CategoryShare(category="Comedy", liked=2)])
                               for i in ("4973", "60069")], liked, catalog)
    stage = ExplainStage(rec.backend, rec.registry, rec.vocabulary(), "explain-why@v25")
    done = stage.run(rec.evidence_for(liked, [catalog["1"]]).taste, contexts)
    assert [d.source for d in done] == ["llm", "llm"], [d.explanation for d in done]
    assert "Amélie" in done[0].explanation and "WALL·E" in done[1].explanation
    assert not any("\\u00" in r.prefix for r in rec.backend.requests)
