import json

from agent.grounding import (TitleIndex, ground, is_degenerate, parse_output, response_schema,
                             unknown_titles)
from agent.types import Item, ItemRef, ProfileSummary


def entry(i, title="A hook for you", expl="You like animation, and this is animation."):
    return {"item_id": i, "hook": title, "explanation": expl}


def test_schema_constrains_ids_to_this_calls_candidates():
    s = response_schema(["7", "9"], k=2)
    item = s["properties"]["items"]["items"]
    assert item["properties"]["item_id"]["enum"] == ["7", "9"]
    assert s["properties"]["items"]["maxItems"] == 2
    assert item["additionalProperties"] is False


def test_parse_valid_output():
    p = parse_output(json.dumps({"items": [entry("1"), entry("2")]}))
    assert [e.item_id for e in p.entries] == ["1", "2"] and p.error is None and not p.truncated


def test_parse_truncated_output_keeps_complete_items():
    raw = json.dumps({"items": [entry("1"), entry("2")]})[:-30]
    p = parse_output(raw)
    assert [e.item_id for e in p.entries] == ["1"]
    assert p.truncated and "incomplete JSON" in p.error


def test_parse_garbage_is_an_error_not_an_exception():
    p = parse_output("Sure! Here are some movies you might like.")
    assert p.entries == [] and p.error.startswith("invalid JSON")


def test_parse_skips_malformed_entries_and_coerces_numeric_ids():
    p = parse_output(json.dumps({"items": [{"hook": "no id"}, {"item_id": 5, "hook": "t", "explanation": "e"}]}))
    assert [e.item_id for e in p.entries] == ["5"]


def test_ground_drops_out_of_candidate_duplicate_and_seen():
    entries = parse_output(json.dumps({"items": [entry("1"), entry("99"), entry("1"), entry("5"), entry("2")]})).entries
    g = ground(entries, candidate_ids={"1", "2", "3"}, seen_ids={"5"})
    assert [e.item_id for e in g.entries] == ["1", "2"]
    assert g.out_of_candidate == ["99"] and g.duplicates == ["1"] and g.seen == ["5"]


def test_degenerate_text_is_detected():
    assert is_degenerate("101.1.1.1.1.1.1.1.1.1.1.1") is not None
    assert is_degenerate("great great great great great great great great") == "repetitive"
    assert is_degenerate("ok", min_words=2) == "too few words"
    assert is_degenerate("A warm, funny animated adventure for you.") is None


def test_title_index_finds_catalog_titles_word_bounded():
    index = TitleIndex(["The Matrix (1999)", "Heat (1995)", "Toy Story (1995)", "Toy Story 2 (1999)"])
    assert index.mentioned("If you loved The Matrix, try this") == {"the matrix"}
    assert index.mentioned("The heat of summer") == set()  # one-word titles are skipped
    assert index.mentioned("like toy story 2!") == {"toy story 2", "toy story"}


def test_unknown_titles_allows_history_and_the_item_itself():
    index = TitleIndex(["The Matrix (1999)", "Toy Story (1995)", "Blade Runner (1982)"])
    profile = ProfileSummary(n_interactions=1, liked=[ItemRef(item_id="1", title="Toy Story (1995)")])
    item = Item(item_id="2", title="Blade Runner (1982)")
    assert unknown_titles("Like Toy Story, Blade Runner is a classic", item, profile, index) == set()
    assert unknown_titles("Fans of The Matrix will enjoy it", item, profile, index) == {"the matrix"}


def test_explanations_cut_at_the_length_limit_keep_whole_sentences():
    from agent.grounding import EXPLANATION_MAX, review_explanation

    index = TitleIndex([])
    profile = ProfileSummary(n_interactions=0)
    item = Item(item_id="1", title="Heat (1995)")
    two = "You like tense crime stories. " + "This one has a long and winding heist plot " * 6
    text, why = review_explanation(two[:EXPLANATION_MAX], item, profile, index)
    assert text == "You like tense crime stories." and why is None
    one = "You like tense crime stories and this one has " + "a long heist " * 20
    assert review_explanation(one[:EXPLANATION_MAX], item, profile, index) == (None, "cut off mid-sentence")


def test_a_title_that_is_just_the_item_name_is_rejected():
    from agent.grounding import review_title

    item = Item(item_id="1", title="The Sixth Sense (1999)")
    profile, index = ProfileSummary(n_interactions=0), TitleIndex(["The Sixth Sense (1999)", "Blade Runner (1982)"])
    assert review_title("The Sixth Sense", item, profile, index) == (None, "repeats the item title")
    assert review_title("The Sixth Sense (1999) | Drama", item, profile, index) == (None, "repeats the item title")
    assert review_title("Chills with a twist", item, profile, index) == ("Chills with a twist", None)
    assert review_title("Blade Runner vibes", item, profile, index)[1].startswith("names a title outside")


def test_an_explanation_must_speak_to_the_user():
    from agent.grounding import review_explanation

    item, profile = Item(item_id="1", title="Heat (1995)"), ProfileSummary(n_interactions=0)
    assert review_explanation("Crime, Drama, tags: mafia, heist", item, profile, TitleIndex([]))[1] == "not addressed to you"
    assert review_explanation("Your love of crime films makes this a fit.", item, profile, TitleIndex([]))[1] is None


def test_false_claims_and_invented_genres_are_rejected():
    from agent.grounding import review_explanation

    index = TitleIndex([], genres=["Action", "Crime", "Drama", "Sci-Fi"])
    profile = ProfileSummary(n_interactions=1, top_categories=["Sci-Fi"])
    item = Item(item_id="1", title="The Godfather (1972)", categories=["Crime", "Drama"])
    assert review_explanation("You like The Godfather, a crime film.", item, profile, index)[1] == \
        "says you already like this item"
    assert review_explanation("You will enjoy this classic action film.", item, profile, index)[1] == \
        "names a genre this item does not have: action"
    assert review_explanation("Your taste for sci-fi aside, this crime drama is a classic.", item, profile, index)[1] is None


def test_sentences_shared_by_several_items_are_dropped():
    from agent.grounding import drop_shared_sentences

    texts = ["You like crime. It's a classic hit.", "You like comedy. It's a classic hit.", "It's a classic hit."]
    assert drop_shared_sentences(texts) == ["You like crime.", "You like comedy.", ""]


def test_text_stopped_at_the_grammar_bound_counts_as_cut_off():
    import re

    from agent.grounding import EXPLANATION_PATTERN, review_explanation

    longest = "You " + "like long heist stories and " * 6
    stopped = next(longest[:n] for n in range(len(longest), 0, -1) if re.fullmatch(EXPLANATION_PATTERN, longest[:n]))
    assert len(stopped) > 100  # the grammar allows a long sentence, then stops it
    item, profile = Item(item_id="1", title="Heat (1995)"), ProfileSummary(n_interactions=0)
    assert review_explanation(stopped, item, profile, TitleIndex([])) == (None, "cut off mid-sentence")
