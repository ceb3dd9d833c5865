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
    assert bad.exit_code != 0 and "--split dev|heldout|blind|blind2..6|all" in str(bad.exception)


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


def test_open_mode_reads_a_rating_in_words_or_without_its_scale():
    # blind5's true "Back to the Future five stars and Part III a 4", "Casablanca, your 4,", "your Kill Bill 4",
    # "you gave it 4.5", "You rated Up a 4" were read as cast ("stars") or counts; "Iron Man 2 earned a 4.5
    # from you" (a 4/5) passed
    bttf_2 = _open("ml-latest-small:1:2011")
    assert bttf_2("You gave Back to the Future five stars and Part III a 4, and 40 people who liked the first "
                  "film liked this one too.") == []
    assert bttf_2("You gave Back to the Future four stars and Part III a 4, and 40 people who liked the first "
                  "film liked this one too.") == ["wrong_number"]
    assert bttf_2("You gave Back to the Future five stars and Part III a 5, and 40 people who liked the first "
                  "film liked this one too.") == ["wrong_number"]
    manchurian = _open("ml-latest-small:599:1267")
    assert manchurian("A 1962 war thriller; 17 people who liked Casablanca, your 4, liked it too.") == []
    assert manchurian("A 1962 war thriller; 17 people who liked Casablanca (your 4.5) liked it too.") == [
        "wrong_number"]
    basterds = _open("ml-latest-small:288:68157", "hook")
    assert basterds("Tarantino's war satire after your Kill Bill 4") == []
    assert basterds("Tarantino's war satire after your Kill Bill 5") == ["wrong_number"]
    spinal_tap = _open("ml-latest-small:599:1288")  # "you gave it" a rating is said of the title named last
    assert spinal_tap("31 people who liked Monty Python and the Holy Grail — you gave it 4.5 — liked this 1984 "
                      "mockumentary too.") == []
    assert spinal_tap("31 people who liked Monty Python and the Holy Grail — you gave it 4 — liked this 1984 "
                      "mockumentary too.") == ["wrong_number"]
    iron_man_3 = _open("ml-latest-small:68:102125")
    assert iron_man_3("Iron Man 2 earned a 4 from you, and this 2013 action thriller is a later film in that "
                      "same series.") == []
    assert iron_man_3("Iron Man 2 earned a 4.5 from you, and this 2013 action thriller is a later film in that "
                      "same series.") == ["wrong_number"]
    wall_e = _open("ml-latest-small:18:60069")
    assert wall_e("You rated Up a 4, and 39 people who liked it also liked this 2008 animated love story.") == []
    assert wall_e("You rated Up a 5, and 39 people who liked it also liked this 2008 animated love story.") == [
        "wrong_number"]


def test_open_mode_reads_whose_fans_a_count_counts_and_a_bound_on_it():
    # missed in blind5: "40 Part III fans", "Loved by 18 fans of The Martian", "Ten Clue in Bloom fans" gave a
    # count to no title; "sixty pounds" (a count past twenty in words) passed; the true "each shares more than
    # 80 fans with" (82 and 85) was read as 80
    assert _open("ml-latest-small:1:2011", "hook")("Part II: 26 Part III fans agree") == []
    assert _open("ml-latest-small:1:2011", "hook")("Part II: 40 Part III fans agree") == ["wrong_link"]
    assert _open("ml-latest-small:68:97938", "hook")("Loved by 10 fans of The Martian") == []
    assert _open("ml-latest-small:68:97938", "hook")("Loved by 18 fans of The Martian") == ["wrong_link"]
    assert _open("bookshop:reader000:BK-0020", "hook")("Five Clue in Bloom fans loved it") == []
    assert _open("bookshop:reader000:BK-0020", "hook")("Ten Clue in Bloom fans loved it") == ["wrong_link"]
    fugitive = _open("ml-latest-small:177:457")
    assert fugitive("The Silence of the Lambs and Forrest Gump each share more than 80 fans with this 1993 "
                    "thriller.") == []
    assert fugitive("The Silence of the Lambs and Forrest Gump each share more than 90 fans with this 1993 "
                    "thriller.") == ["wrong_number"]
    assert fugitive("Over 130 people rated this 1993 thriller highly.") == []
    assert fugitive("Over 140 people rated this 1993 thriller highly.") == ["wrong_number"]
    machinist = _open("ml-latest-small:91:8950")  # 27 fans; 20 who liked Donnie Darko
    assert machinist("Twenty-seven people rated this 2004 thriller highly.") == []
    assert machinist("Twenty-six people rated this 2004 thriller highly.") == ["wrong_number"]
    assert machinist("Christian Bale lost sixty pounds for this 2004 thriller, which 20 Donnie Darko fans also "
                     "liked.") == ["wrong_number"]


def test_open_mode_reads_a_year_by_its_last_two_digits():
    # blind5's true "A '69 western", "satire from '64" were read as counts
    assert _open("ml-latest-small:599:1304", "hook")("A '69 western after your Apocalypse Now 5") == []
    assert _open("ml-latest-small:599:1304", "hook")("A '67 western after your Apocalypse Now 5") == ["wrong_year"]
    assert _open("ml-latest-small:18:750", "hook")("Black-comedy war satire from '64") == []
    assert _open("ml-latest-small:18:750", "hook")("Black-comedy war satire from '46") == ["wrong_year"]


def test_open_mode_knows_a_title_by_its_subtitle_after_a_dash_its_one_word_subtitle_or_its_initials():
    # blind5's true "Infinity War" (of "Avengers: Infinity War - Part I") was read as the genre War, "after
    # Ragnarok" as a liking of an unknown title, "DBZ" as a name
    infinity_war = _open("ml-latest-small:414:122912")
    assert infinity_war("Tagged 'marvel' and 'mcu', Infinity War is a natural next step after Thor: Ragnarok, "
                        "which you rated 4/5.") == []
    assert infinity_war("Nine people who liked Ragnarok also liked this 2018 Marvel film.") == []
    assert infinity_war("Eight people who liked Ragnarok also liked this 2018 Marvel film.") == ["wrong_link"]
    assert _open("ml-latest-small:414:122912", "hook")("Dark, emotional Marvel after Ragnarok") == []
    assert "false_like" in _open("ml-latest-small:68:102125", "hook")("Dark action after Ragnarok")
    assert _open("ml-latest-small:380:80083", "hook")("Animated 1989 sci-fi fantasy, DBZ style") == []
    assert _open("ml-latest-small:380:95519", "hook")("A later DBZ film after your Super Android 13!") == []
    assert _open("ml-latest-small:1:2011", "hook")("Time travel, DBZ style") == ["unsupported"]


def test_open_mode_reads_a_franchise_s_title_after_its_colon_and_picks_up_after_as_a_sequel():
    # missed in blind5: "Watch before Avengers: Endgame" (a hook in Title Case, where capitals say nothing of
    # names); "It picks up directly after Thor: Ragnarok" for a film the catalog gives no series
    infinity_war = _open("ml-latest-small:414:122912", "hook")
    assert infinity_war("Watch before Avengers: Endgame") == ["unknown_title"]
    assert infinity_war("Avengers: Infinity War, after Ragnarok") == []
    assert _open("ml-latest-small:414:122912")("It picks up directly after Thor: Ragnarok, which you rated "
                                               "4/5.") == ["wrong_series"]
    assert _open("ml-latest-small:1:2011")("It picks up right after Back to the Future, which you rated 5/5.") == []


def test_open_mode_reads_a_quoted_line_a_liked_title_s_tag_and_a_genre_said_apart_from_its_tag():
    # missed in blind5: a line quoted from the film, "One of your liked titles is tagged X" (none is), "war
    # comedy" for a film tagged 'black comedy' (not a Comedy), a hook that is a bare noun phrase ("Mob-boss
    # suspense"); the true "…enchanted lands, and six readers who liked…" was read as a description ("six")
    few_good_men = _open("ml-latest-small:177:2268", "hook")
    assert few_good_men("'You can't handle the truth!' — for you") == ["unsupported"]
    assert few_good_men("Tagged 'court' and 'military' — for you") == []
    departed = _open("ml-latest-small:288:48516")
    assert departed("One of your liked titles is tagged 'atmospheric', and this 2006 crime thriller carries "
                    "that tag too.") == []
    assert departed("One of your liked titles is tagged 'leonardo dicaprio', and this 2006 crime thriller "
                    "carries that tag too.") == ["wrong_link"]
    basterds = _open("ml-latest-small:288:68157")
    assert basterds("This 2009 black-comedy war film is tagged 'satire'; 38 people who liked The Dark Knight "
                    "liked it.") == []
    assert basterds("This 2009 war comedy is tagged 'satire'; 38 people who liked The Dark Knight liked it.") == [
        "wrong_category"]
    assert _open("ml-latest-small:288:48516", "hook")("Undercover-cop suspense for a Dark Knight fan") == []
    assert _open("ml-latest-small:288:48516", "hook")("Mob-boss suspense for a Dark Knight fan") == ["wrong_tag"]
    crown = _open("bookshop:reader002:BK-0002")  # 6 who liked Dragon of Echoes
    assert crown("Crown at Sea is a quest through enchanted lands, and six readers who liked Dragon of Echoes "
                 "liked it too.") == []
    assert crown("Crown at Sea is a quest through enchanted lands, and nine readers who liked Dragon of Echoes "
                 "liked it too.") == ["wrong_number"]


def test_open_mode_reads_a_count_past_a_hundred_and_ratings_in_words_or_for_each_title():
    # blind6's true "A hundred and fifty people" was read as 50, "(you gave it four and a half)" and "the 2009 Star
    # Trek you rated four" as counts, "(your five)" beside "(your four stars)" as a repeat; missed in blind6: "You
    # rated Inception and The Dark Knight a perfect 5/5 each" (The Dark Knight a 4.5)
    terminator_2 = _open("ml-latest-small:1:589")  # 150 fans
    assert terminator_2("A hundred and fifty people rated this 1991 sequel highly.") == []
    assert terminator_2("A hundred and forty people rated this 1991 sequel highly.") == ["wrong_number"]
    departed = _open("ml-latest-small:288:48516")  # The Dark Knight 4.5/5
    assert departed("Fifty-four people who liked The Dark Knight (you gave it four and a half) also liked this "
                    "2006 crime thriller.") == []
    assert departed("Fifty-four people who liked The Dark Knight (you gave it four) also liked this 2006 crime "
                    "thriller.") == ["wrong_number"]
    wrath_of_khan = _open("ml-latest-small:380:1374")  # Star Trek (2009) 4/5
    assert wrath_of_khan("A 1982 sci-fi thriller, and an earlier part than the 2009 Star Trek you rated four.") == []
    assert wrath_of_khan("A 1982 sci-fi thriller, and an earlier part than the 2009 Star Trek you rated five.") == [
        "wrong_number"]
    assert _open("ml-latest-small:91:1732")("You rated Pulp Fiction and The Empire Strikes Back 4.5/5 each, and 58 "
                                            "people who liked Pulp Fiction also liked this 1998 crime comedy.") == []
    assert _open("ml-latest-small:274:89745")("You rated Inception and The Dark Knight 5/5 each, and 30 people who "
                                              "liked Inception also liked this 2012 action film.") == ["wrong_number"]
    kings_forever = _open("bookshop:reader001:BK-0070")  # Dynasty Unbound 4/5, War Beneath 5/5
    assert kings_forever("Five readers who liked Dynasty Unbound (your four stars) and five who liked War Beneath "
                         "(your five) also liked Kings Forever.") == []
    assert kings_forever("Five readers who liked Dynasty Unbound (your four stars) and five who liked War Beneath "
                         "(your four) also liked Kings Forever.") == ["wrong_number"]


def test_open_mode_reads_a_rating_a_decade_or_a_possessive_in_a_description_and_a_year_as_no_count():
    # blind6's true "a five-star film for you" was read as the item described as 'star', "A sixties thriller" as
    # 'sixties'; missed in blind6: "A foodie's road trip" (its "'s" read as a clause), "A '93 action thriller"
    # (93 read as a count of the person's action titles) for a Thriller
    django = _open("ml-latest-small:274:99114")  # Inglourious Basterds 5/5
    fans = "Thirty-five people who liked Inglourious Basterds — a {} film for you — also liked this 2012 western."
    assert django(fans.format("five-star")) == []
    assert django(fans.format("four-star")) == ["wrong_number"]
    assert _open("ml-latest-small:599:1267", "hook")("A sixties thriller about brainwashing") == []
    assert _open("ml-latest-small:599:1267", "hook")("A fifties thriller about brainwashing") == ["wrong_year"]
    road_in_bloom = _open("bookshop:reader003:BK-0096", "hook")  # "a travel memoir across distant landscapes"
    assert road_in_bloom("A traveller's memoir") == []
    assert road_in_bloom("A foodie's road trip") == ["wrong_tag"]
    assert _open("ml-latest-small:177:457", "hook")("A '93 thriller from TV") == []
    assert _open("ml-latest-small:177:457", "hook")("A '93 action thriller from TV") == ["wrong_category"]


def test_open_mode_reads_a_count_of_likes_a_plural_name_and_a_plot_the_tags_give():
    # blind6's true "Four DiCaprio favourites" was read as the name 'Four', "The Coens' cult classic" as a name,
    # "a revenge plot" (tagged 'revenge') as plot; missed in blind6: "Twelve mysteries read" (6 of 12 are)
    assert _open("ml-latest-small:274:106782", "hook")("Four DiCaprio favourites, and now this?") == []
    assert _open("ml-latest-small:274:106782", "hook")("Three DiCaprio favourites, and now this?") == ["wrong_number"]
    assert _open("ml-latest-small:91:1732", "hook")("The Coens' cult classic, bowling included") == []
    assert _open("ml-latest-small:91:1732", "hook")("The Farrellys' cult classic, bowling included") == ["unsupported"]
    john_wick = _open("ml-latest-small:68:115149")
    assert john_wick("Gun-fu and a revenge plot: thirteen people who liked Mad Max: Fury Road also liked this 2014 "
                     "action thriller.") == []
    assert "unsupported" in john_wick("Gun-fu and a heist plot: thirteen people who liked Mad Max: Fury Road also "
                                      "liked this 2014 action thriller.")
    assert _open("bookshop:reader000:BK-0020", "hook")("Six mysteries read, one more to go") == []
    assert _open("bookshop:reader000:BK-0020", "hook")("Twelve mysteries read, one more to go") == ["wrong_number"]


def test_open_mode_reads_follows_and_leads_into_as_series_go_for_as_a_link_and_like_t_as_said_of_t():
    # blind6's true "Judgment Day follows your five-star Terminator" was read as plot; missed in blind6: "the film
    # that leads into The Avengers" (a link, no part), "Fans of Memento … tend to go for this" (no link), "Like The
    # Dark Knight Rises, … it's a sci-fi epic" (not Sci-Fi)
    assert _open("ml-latest-small:1:589", "hook")("Judgment Day follows your five-star Terminator") == []
    assert _open("ml-latest-small:1:318")("This prison drama follows your five-star Schindler's List, and 274 "
                                          "people rated it highly.") == ["wrong_series"]
    assert _open("ml-latest-small:380:1374")("It leads into Star Trek: First Contact, which you rated 5/5.") == []
    assert "wrong_series" in _open("ml-latest-small:414:102125")("It's the film that leads into The Avengers, which "
                                                                 "you rated 4/5.")
    machinist = _open("ml-latest-small:91:8950")  # links: Donnie Darko, Kill Bill: Vol. 1; Memento a liked title
    assert machinist("Fans of Donnie Darko tend to go for this 2004 thriller.") == []
    assert machinist("Fans of Memento tend to go for this 2004 thriller.") == ["wrong_link"]
    interstellar = _open("ml-latest-small:68:109487")  # The Dark Knight Rises: Action, Adventure, Crime, IMAX
    assert interstellar("Like The Dark Knight Rises, which you gave four stars, it's an epic in IMAX.") == []
    assert interstellar("Like The Dark Knight Rises, which you gave four stars, it's a sci-fi epic in "
                        "IMAX.") == ["wrong_category"]
    cool_hand_luke = _open("ml-latest-small:480:1276")  # The Graduate is not tagged 'prison'
    assert cool_hand_luke("Like The Graduate, which you rated 4/5, it's a drama from 1967.") == []
    assert cool_hand_luke("Like The Graduate, which you rated 4/5, it's a prison drama.") == ["wrong_tag"]
