import json

from agent.pipeline.grounding import TitleIndex, complete_sentences, ground, is_degenerate, parse_output, response_schema


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


def test_sentences_shared_by_several_items_are_dropped():
    from agent.pipeline.grounding import drop_shared_sentences

    texts = ["You like crime. It's a classic hit.", "You like comedy. It's a classic hit.", "It's a classic hit."]
    assert drop_shared_sentences(texts) == ["You like crime.", "You like comedy.", ""]


def test_text_cut_at_the_length_bound_keeps_its_whole_sentences():
    two = "You like tense crime stories. " + "This one has a long and winding heist plot " * 6
    assert complete_sentences(two[:160], 160) == ("You like tense crime stories.", True)
    assert complete_sentences("A short one.", 160) == ("A short one.", False)
