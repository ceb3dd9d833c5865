"""The claim checkers on the hand-labelled corpus (tests/data/checker/): the open mode's goals,
and the corpus's own integrity. `recagent eval checker` prints the full table."""

import json

import pytest

from evals.checker import CORPUS_DIR, load_cases, load_contexts, score, verdicts


@pytest.fixture(scope="module")
def open_scores():
    return score(verdicts("open"))


def test_the_corpus_is_what_its_readme_says():
    cases, contexts = load_cases(), load_contexts()
    assert len(cases) >= 300 and len(contexts) >= 40
    assert {c.context for c in cases} <= set(contexts)
    assert {c.kind for c in cases} == {"explanation", "hook"} and {c.label for c in cases} == {"true", "false"}
    assert all((c.label == "false") == bool(c.false_kind) for c in cases)
    assert {contexts[c.context][0] for c in cases} == {"ml-latest-small", "bookshop"}
    assert len({(c.context, c.text) for c in cases}) == len(cases)


def test_open_mode_rejects_few_true_texts_and_catches_most_false_ones(open_scores):
    s = open_scores["all"]
    assert s.false_rejection <= 0.05, f"{s.true_rejected} of {s.true_total} true texts rejected"
    assert s.recall >= 0.99, f"{s.false_caught} of {s.false_total} false texts caught"
    kinds = {c.false_kind for c in load_cases() if c.false_kind}
    for kind in sorted(kinds):
        assert open_scores[f"false:{kind}"].recall >= 0.95, kind


def test_the_constrained_whitelist_rejects_most_true_texts_a_capable_model_writes():
    # why the open mode exists: the small model's whitelist throws away natural true sentences
    s = score(verdicts("constrained"))["all"]
    assert s.false_rejection > 0.5 and s.recall > 0.9


def test_relabelled_texts_say_why():
    rows = [json.loads(line) for name in ("texts.jsonl", "texts-heldout.jsonl")
            for line in (CORPUS_DIR / name).read_text().splitlines() if line.strip()]
    assert all(r["note"].startswith("relabelled") for r in rows if "note" in r)


def test_eval_checker_prints_the_table_per_mode():
    from typer.testing import CliRunner

    from agent.cli import app

    result = CliRunner().invoke(app, ["eval", "checker", "--mode", "open", "--split", "dev"])
    assert result.exit_code == 0 and "| open | all |" in result.output and "constrained" not in result.output
    bad = CliRunner().invoke(app, ["eval", "checker", "--split", "nope"])  # main() prints it as one line
    assert bad.exit_code != 0 and "--split dev|heldout|blind|blind2..4|all" in str(bad.exception)


def test_open_mode_sends_back_a_sentence_that_names_no_fact():
    # seen on the screen: a stand-in's filler "It is picked for you." was shown as the model's
    from agent.pipeline.claims import check_open
    from evals.checker import vocabulary

    dataset, ctx = load_contexts()["ml-latest-small:1:589"]
    vocab = vocabulary(dataset)
    assert [v.kind for v in check_open("It is picked for you, a safe bet.", ctx, vocab)] == ["generic"]
    assert check_open("The sequel to The Terminator, a safe bet.", ctx, vocab) == []


def test_open_mode_holds_a_description_of_the_item_to_its_own_words():
    # missed before: "a seafaring quest across enchanted islands" for a book the data calls "a quest
    # through enchanted lands, with magic and old prophecies"
    from agent.pipeline.claims import check_open
    from evals.checker import vocabulary

    dataset, ctx = load_contexts()["bookshop:reader002:BK-0011"]
    vocab = vocabulary(dataset)
    assert check_open("A fantasy quest through enchanted lands, with magic and old prophecies.", ctx, vocab) == []
    assert check_open("A fine fantasy quest, full of magic; 7 people who liked Dragon of Echoes also liked it.",
                      ctx, vocab) == []
    for false in ("A seafaring fantasy quest across enchanted islands, full of magic.",
                  "A royal fantasy tale; 7 people who liked Dragon of Echoes also liked it.",
                  "A fantasy read full of pirates and buried gold, liked by 7 fans of Dragon of Echoes."):
        assert [v.kind for v in check_open(false, ctx, vocab)] == ["wrong_tag"], false


def test_open_mode_knows_a_title_by_its_subtitle():
    # "Cooler's Revenge" is "Dragon Ball Z: Cooler's Revenge", a title close in theme, not one its fans co-liked
    from agent.pipeline.claims import check_open
    from evals.checker import vocabulary

    dataset, ctx = load_contexts()["ml-latest-small:380:95519"]
    vocab = vocabulary(dataset)
    said = check_open("Fans of Cooler's Revenge, which you rated 4/5, also liked this 1993 Dragon Ball Z film.", ctx, vocab)
    assert [v.kind for v in said] == ["wrong_link"]
    assert check_open("More Dragon Ball Z after Super Android 13!, which you gave 4/5.", ctx, vocab) == []


def _open(context: str, kind: str = "explanation"):
    """The open checker's kinds of violation for texts about one corpus context."""
    from agent.pipeline.claims import check_open
    from evals.checker import vocabulary

    dataset, ctx = load_contexts()[context]
    return lambda text: [v.kind for v in check_open(text, ctx, vocabulary(dataset), kind=kind)]


def test_open_mode_places_the_item_before_or_after_a_part_it_names():
    # missed in blind3: "The Iron Man story before Iron Man 2" for Iron Man 3; "Cooler's return" is
    # "The Return of Cooler", a part the item came after
    iron_man_3, bojack = _open("ml-latest-small:68:102125", "hook"), _open("ml-latest-small:380:95519", "hook")
    assert iron_man_3("The Iron Man film after Iron Man 2") == []
    assert iron_man_3("The chapter before Iron Man 2") == ["wrong_series"]
    assert bojack("A Dragon Ball Z film after Cooler's return") == []
    assert bojack("A Dragon Ball Z film prior to Cooler's return") == ["wrong_series"]
    assert bojack("More Dragon Ball Z, after Android 13") == []  # "Super Android 13!" by its name and number
    assert _open("ml-latest-small:380:1374", "hook")("Khan's wrath, before First Contact") == []
    # "the first film" of a part the person rated is not the item's place (Iron Man 3)
    iron_man_3 = _open("ml-latest-small:414:102125")
    assert iron_man_3("You rated Iron Man 4/5, and 15 people who liked the first film also liked this third one.") == []
    assert iron_man_3("You rated Iron Man 4/5, and this second film should suit you.") == ["wrong_series"]


def test_open_mode_reads_a_link_said_through_a_pronoun_or_a_title_s_readers():
    # missed in blind3: "plenty of people who loved it also loved this" after a liked title that is no
    # link; "Loved by Night of Ash readers" (liked, not a link)
    sixth_sense = _open("ml-latest-small:177:2762")
    assert sixth_sense("You gave Fight Club 4/5, and lots of viewers who liked it also liked this ghost story.") == []
    assert sixth_sense("You gave Titanic 5/5, and lots of viewers who liked it also liked this ghost story.") == [
        "wrong_link"]
    journey = _open("bookshop:reader003:BK-0105", "hook")
    assert journey("A hit with Mountain of Ash readers") == []
    assert journey("A hit with Garden of Ash readers") == ["wrong_link"]
    assert journey("Garden of Ash fans loved it too") == ["wrong_link"]


def test_open_mode_gives_a_count_of_ratings_the_parts_it_names():
    # blind3's true "two 4/5s for later Dragon Ball Z films" was read as a count of liked titles; dev's true
    # "Fantasy shows up in 120 of your liked titles and action in 340" gave 120 to action
    dead_zone = _open("ml-latest-small:380:80083")
    assert dead_zone("With two 4/5s for the Cooler films, this 1989 Dragon Ball Z film is worth a look.") == []
    assert dead_zone("With five 4/5s for the Cooler films, this 1989 Dragon Ball Z film is worth a look.") == [
        "wrong_number"]
    fans = _open("ml-latest-small:380:95519")
    assert fans("Action turns up in 340 of your liked titles and fantasy in 120: this 1993 film has both.") == []
    assert "wrong_link" in fans("Action turns up in 120 of your liked titles and fantasy in 340: this 1993 film "
                                "has both.")


def test_open_mode_reads_descriptions_after_this_a_name_s_and_in_a_hook():
    # missed in blind3: "this 1969 buddy Western", "Scorsese's twisty mob thriller", "a culinary twist";
    # blind2: "Kirk's desert-planet showdown", "A dreamlike dystopian future awaits"
    butch = _open("ml-latest-small:599:1304")
    assert butch("This 1969 railroad Western shares 27 fans with The Godfather.") == ["wrong_tag"]
    assert butch("This late-60s outlaw Western shares 27 fans with The Godfather.") == []  # outlaws are crime
    machinist = _open("ml-latest-small:91:8950", "hook")
    assert machinist("Bale's creepy psychological thriller") == []
    assert machinist("Bale's creepy haunted-house thriller") == ["wrong_tag"]
    assert _open("ml-latest-small:380:1374", "hook")("Kirk's jungle-planet adventure") == ["wrong_tag"]
    blade_runner = _open("ml-latest-small:18:176371", "hook")
    assert blade_runner("A moody, dreamlike sci-fi future") == []
    assert blade_runner("A neon-lit cyberpunk future") == ["wrong_tag"]
    detective = _open("bookshop:reader000:BK-0029")
    assert detective("This quiet-town mystery has a baffling twist; 5 people who liked Clue in Bloom liked it.") == []
    assert detective("This mystery has a seaside twist; 5 people who liked Clue in Bloom also liked it.") == [
        "wrong_tag"]
    # a title's words describe the item only as its name: "Dragon in Winter" says nothing of dragons
    dragon = _open("bookshop:reader002:BK-0011")
    assert dragon("Dragon in Winter is a quest full of magic; 7 people who liked Dragon of Echoes also liked it.") == []
    assert dragon("A dragon quest full of magic; 7 people who liked Dragon of Echoes also liked it.") == ["wrong_tag"]


def test_open_mode_knows_a_tag_or_genre_in_other_words():
    # true texts blind3 rejected: "darkly comic" for 'black comedy', "outlaw" for a crime Western, "goes West",
    # "space" for 'black hole', "apocalyptic" for 'apocalypse', "stylised" for 'stylized', "Classic Kirk"
    assert _open("ml-latest-small:288:68157", "hook")("A darkly funny war satire") == []
    assert _open("ml-latest-small:288:68157", "hook")("A gory war satire") == ["wrong_tag"]
    assert _open("ml-latest-small:274:99114", "hook")("Waltz and Tarantino go West") == []
    assert _open("ml-latest-small:68:109487", "hook")("Nolan's thought-provoking space epic") == []
    assert _open("ml-latest-small:1:589", "hook")("An apocalyptic robot sequel") == []
    assert _open("ml-latest-small:1:589", "hook")("A hypnotic robot sequel") == ["wrong_tag"]
    assert _open("ml-latest-small:274:57669", "hook")("A stylised, irreverent black comedy") == []
    kirk = _open("ml-latest-small:380:1374")  # tagged 'captain kirk': "classic Kirk" is Kirk at his most typical
    assert kirk("This 1982 film is classic Kirk, and you gave First Contact 5/5.") == []
    assert kirk("This 1982 film is a classic, and you gave First Contact 5/5.") == ["unsupported"]
