"""The claim checkers on the hand-labelled corpus (tests/data/checker/): the open mode's goals,
and the corpus's own integrity. `recagent eval checker` prints the full table."""

import json

import pytest

from evals.checker import CORPUS_DIR, SPLITS, load_cases, load_contexts, score, verdicts


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
    rows = [json.loads(line) for name in SPLITS.values()
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


def test_open_mode_reads_a_title_s_possessive_and_where_a_series_starts():
    # missed in blind4: "X's prequel" for a later part (the possessive hid the title), "X's origin story"
    # for a sequel, "the film that started it all" for part 2
    bttf_2 = _open("ml-latest-small:1:2011", "hook")  # after Back to the Future, before Part III
    assert bttf_2("Back to the Future's sequel, at last") == []
    assert bttf_2("Part III's prequel, at last") == []
    assert bttf_2("Back to the Future's prequel, at last") == ["wrong_series"]
    assert "wrong_series" in _open("ml-latest-small:1:589", "hook")("The Terminator's origins tale")
    assert _open("ml-latest-small:1:589", "hook")("The Terminator's sequel, robots and all") == []
    assert _open("ml-latest-small:380:80083", "hook")("The Dragon Ball Z film that started it all") == []
    assert _open("ml-latest-small:380:1374", "hook")("The Kirk film that started it all") == ["wrong_series"]
    friday_2 = _open("ml-latest-small:91:1975")  # said of a title the person rated, it is no claim about the item
    assert friday_2("Friday the 13th started it all, and this 1981 sequel came next.") == []
    assert friday_2("You rated Friday the 13th 4/5: this is the 1981 horror film that launched the franchise.") == [
        "wrong_series"]


def test_open_mode_puts_the_item_in_a_series_only_with_the_title_a_series_word_is_said_of():
    # blind4's true "Jurassic Park (your 4/5) shares 86 fans with this one: a sci-fi action sequel" was read
    # as a series with Jurassic Park; "the follow-up to Jurassic Park" (heldout) still is one
    t2 = _open("ml-latest-small:1:589")
    assert t2("You gave Jurassic Park 4/5, and 86 people who liked it also liked this robot sequel.") == []
    assert t2("You rated Jurassic Park 4/5, so its 1991 sequel is a natural next watch.") == ["wrong_series"]
    assert t2("You rated The Terminator 5/5, so its 1991 sequel is a natural next watch.") == []
    t2_hook = _open("ml-latest-small:1:589", "hook")
    assert t2_hook("Jurassic Park's sequel, with robots") == ["wrong_series"]
    assert t2_hook("In the same franchise as Jurassic Park") == ["wrong_series"]


def test_open_mode_reads_a_subtitle_after_a_title_as_another_title():
    # missed in blind4: "Avengers: Endgame" (not in the catalog) read as The Avengers and a sentence
    iron_man_3 = _open("ml-latest-small:68:102125")
    assert iron_man_3("Before Avengers: Endgame, catch this 2013 Iron Man sequel.") == ["unknown_title"]
    assert _open("ml-latest-small:68:102125", "hook")("Iron Man: Extremis, then this 2013 sequel") == [
        "unknown_title"]
    assert iron_man_3("You gave The Avengers 4.5/5: This 2013 Iron Man sequel is next.") == []


def test_open_mode_reads_a_side_of_the_item_a_derived_word_and_a_genre_apart_from_its_tag():
    # blind4: "surreal touches" is no tag 'touching'; "a philosophical bent", "friendship at its core" are
    # sides of the item's own words; "spiritual" is no form of the free word "spirit"; "rock" is heavy metal,
    # but "musical" is the genre Musical, not the tag 'music'
    life_of_pi = _open("ml-latest-small:68:97938")
    assert life_of_pi("The Martian fans liked this 2012 adventure, a drama with surreal touches.") == []
    assert life_of_pi("Ten people who liked The Martian also liked this touching 2012 adventure.") == ["wrong_tag"]
    assert _open("ml-latest-small:68:97938", "hook")("A surreal adventure, beautifully shot") == []
    assert _open("ml-latest-small:68:97938", "hook")("A spiritual drama, beautifully shot") == ["wrong_tag"]
    assert _open("ml-latest-small:18:176371")("A moody sci-fi film with big philosophical ideas and a dreamlike "
                                              "bent; 7 people who liked Guardians of the Galaxy 2 liked it.") == []
    in_bruges = _open("ml-latest-small:274:57669")
    assert in_bruges("An irreverent crime comedy with friendship at its core; 17 people who liked Hot Fuzz "
                     "liked it too.") == []
    assert set(in_bruges("An irreverent crime comedy with a heist at its core; 17 people who liked Hot Fuzz "
                         "liked it too.")) == {"wrong_tag"}
    spinal_tap = _open("ml-latest-small:599:1288", "hook")
    assert spinal_tap("A heavy-metal rock mockumentary from 1984") == []
    assert spinal_tap("A 1984 music comedy") == []
    assert spinal_tap("A 1984 jazz mockumentary") == ["wrong_tag"]
    assert spinal_tap("A 1984 musical mockumentary") == ["wrong_category"]


def test_open_mode_counts_the_item_after_the_person_s_count_and_reads_dozens_of_people():
    # blind4's true "three boxing films already — this would make four" (and heldout's "would make seven")
    # read the next number as a count of liked titles; "Dozens of horror fans" for 2 fans passed
    raging_bull = _open("ml-latest-small:480:1228")
    assert raging_bull("Three titles you've liked are tagged boxing; this 1980 drama makes four.") == []
    assert raging_bull("Three titles you've liked are tagged boxing; this 1980 drama makes five.") == [
        "wrong_number"]
    assert raging_bull("Four titles you've liked are tagged boxing; this 1980 drama makes five.") != []
    assert _open("ml-latest-small:18:176371")("You've liked nine atmospheric titles, and this moody 2017 sci-fi "
                                              "would make it ten.") == []
    assert _open("ml-latest-small:91:1975")("Dozens of viewers rated this 1981 Jason sequel highly.") == [
        "wrong_number"]
    shawshank = _open("ml-latest-small:1:318")  # 274 fans; 168 who liked Forrest Gump
    assert shawshank("Hundreds of people rated this 1994 prison drama highly.") == []
    assert shawshank("Dozens of people who liked Forrest Gump also liked this 1994 prison drama.") == []
    assert shawshank("Thousands of people rated this 1994 prison drama highly.") == ["wrong_number"]


def test_open_mode_reads_names_after_vs_and_a_hook_on_a_common_noun_s():
    # missed in blind4: "Cruise vs. Nicholson" ("vs." ended no sentence), "The salt trade's forgotten story"
    few_good_men = _open("ml-latest-small:177:2268", "hook")
    assert few_good_men("Military code vs. Kaffee in court") == ["unsupported"]
    assert few_good_men("Military honour vs. the court, 1992") == []
    empire_and_salt = _open("bookshop:reader001:BK-0061", "hook")  # "a narrative history of a turning point"
    assert empire_and_salt("The spice route's lost history") == ["wrong_tag"]
    assert empire_and_salt("The past's turning point, as history") == []
