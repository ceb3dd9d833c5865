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
    assert s.recall >= 0.95, f"{s.false_caught} of {s.false_total} false texts caught"
    for kind in ("false_like", "unknown_title", "unsupported", "wrong_number", "wrong_series"):
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
    assert bad.exit_code != 0 and "--split dev|heldout|blind|blind2|blind3|all" in str(bad.exception)


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
