"""The leave-one-out split leaks nothing; suites validate with errors that say what to fix."""

from pathlib import Path

import pytest

from agent.errors import InputError
from agent.types import Interaction
from evals.split import leave_last_positive_out, sample_users, user_rng
from evals.suite import BASELINE_KINDS, load_suite, run_folder


def rows(user, spec):
    """spec: (item, rating, timestamp) triples."""
    return [Interaction(user_id=user, item_id=i, rating=r, timestamp=t) for i, r, t in spec]


def test_last_positive_is_held_out_and_nothing_at_or_after_it_is_used():
    data = rows("u1", [("a", 5, 1), ("b", 2, 2), ("c", 4, 3), ("d", 4.5, 5), ("e", 3, 5), ("f", 1, 6)])
    data += rows("u2", [("a", 4, 1), ("c", 5, 2)])
    split = leave_last_positive_out(data, positive_rating=4.0, min_history=2)
    case = split.cases["u1"]
    assert case.target == "d" and case.target_ts == 5
    assert [e.item_id for e in case.history] == ["a", "b", "c"]  # "e" shares d's timestamp: dropped too
    assert all(e.timestamp < case.target_ts for e in case.history)
    train_u1 = {r[1] for r in split.train if r[0] == "u1"}
    assert train_u1 == {"a", "b", "c"}  # neither d, nor e (same time), nor f (later)
    assert case.seen == {"a", "b", "c", "d", "e", "f"}  # sampled negatives avoid all of them
    # u2 has one event before its held-out item: too short to evaluate, and still cut
    assert "u2" not in split.cases and {r[1] for r in split.train if r[0] == "u2"} == {"a"}
    assert split.excluded == {"fewer than 2 interactions before the held-out one": 1}


def test_users_without_positives_are_excluded_but_train_the_collaborative_index():
    split = leave_last_positive_out(rows("u", [("a", 1, 1), ("b", 2, 2)]), 4.0, 1)
    assert not split.cases and len(split.train) == 2
    assert split.excluded == {"no positive interaction": 1}


def test_rows_without_timestamps_follow_file_order_and_implicit_rows_are_positive():
    data = [Interaction(user_id="u", item_id=i) for i in "abcd"]
    case = leave_last_positive_out(data, 4.0, 1).cases["u"]
    assert case.target == "d" and [e.item_id for e in case.history] == ["a", "b", "c"]


def test_user_sample_is_seeded_and_a_smaller_sample_is_a_prefix():
    users = [f"u{i}" for i in range(50)]
    assert sample_users(users, 10, 3) == sample_users(list(reversed(users)), 10, 3)
    assert sample_users(users, 5, 3) == sample_users(users, 10, 3)[:5]
    assert sample_users(users, 10, 3) != sample_users(users, 10, 4)
    assert user_rng(1, "u1", "x").random() == user_rng(1, "u1", "x").random() != user_rng(1, "u2", "x").random()


def write(tmp_path, text):
    (tmp_path / "items.csv").write_text("id,name\n1,A\n")
    (tmp_path / "inter.csv").write_text("who,id\nu,1\n")
    path = tmp_path / "suite.yaml"
    path.write_text(text)
    return path


GOOD = """name: t
dataset: {items: items.csv, interactions: inter.csv, map: {id: item_id, name: title, who: user_id}}
variants:
  - {name: llm-a, prompt: rank@v1, model: smollm2-135m}
"""


def test_suite_paths_are_relative_to_the_file_and_baselines_are_always_there(tmp_path):
    suite = load_suite(write(tmp_path, GOOD))
    assert suite.dataset.items == (tmp_path / "items.csv").resolve()
    assert [v.name for v in suite.variants] == [*BASELINE_KINDS, "llm-a"]
    assert suite.baseline == "ease" and suite.references == ["itemknn"] and suite.k == [1, 5, 10]
    narrowed = load_suite(write(tmp_path, GOOD), users=7, variants=["llm-a"])
    assert [v.name for v in narrowed.variants] == ["itemknn", "ease", "llm-a"] and narrowed.users.n == 7


@pytest.mark.parametrize("text, message", [
    ("name: t\n", "dataset"),
    ("name: t\ndataset: {items: items.csv}\n", "give `preset: movielens`"),
    (GOOD + "baseline: nope\n", "baseline 'nope' is not a variant"),
    (GOOD + "  - {name: llm-a, prompt: rank@v1}\n", "used twice"),
    (GOOD + "protocol: {kind: retrieved, candidates: 5}\n", "exceeds protocol.candidates"),
    (GOOD.replace("who: user_id", "who: usr"), "map entry"),
    (GOOD + "colour: blue\n", "colour"),
    ("[1, 2\n", "not valid YAML"),
])
def test_bad_suites_say_what_is_wrong(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        load_suite(write(tmp_path, text))


@pytest.mark.parametrize("name", ["../../../x", "..", ".", "...", "a/b", "/tmp", "x" * 41, ""])
def test_suite_and_variant_names_cannot_leave_the_run_folder(tmp_path, name):
    # a suite name becomes runs/NAME, a variant name part of a file name in it
    with pytest.raises(InputError, match=r"suite\.yaml: name: .*not only dots"):
        load_suite(write(tmp_path, GOOD.replace("name: t", f"name: {name!r}", 1)))
    with pytest.raises(InputError, match=r"suite\.yaml: variants\.0\.name: .*not only dots"):
        load_suite(write(tmp_path, GOOD.replace("name: llm-a", f"name: {name!r}")))
    with pytest.raises(InputError, match="suite name"):
        run_folder(name)  # checked again where the folder is made, for suites built without validation


def test_dotted_names_and_shard_folders_stay_allowed(tmp_path):
    suite = load_suite(write(tmp_path, GOOD.replace("name: t", "name: ml-1.2_x", 1).replace("llm-a", "llm.v2")))
    assert suite.name == "ml-1.2_x" and suite.variants[-1].name == "llm.v2"
    assert run_folder(suite.name, "-shard-1-of-2") == Path("runs/ml-1.2_x-shard-1-of-2")


def test_unknown_variant_filter_lists_the_suites_variants(tmp_path):
    with pytest.raises(InputError, match="unknown variant.*llm-a"):
        load_suite(write(tmp_path, GOOD), variants=["llm-z"])


SHIPPED = sorted((Path(__file__).parents[2] / "evals" / "suites").glob("*.yaml"))


@pytest.mark.parametrize("path", [p for p in SHIPPED if not p.name.startswith("chat-")], ids=lambda p: p.name)
def test_shipped_suites_load_with_their_prompts_and_models(path):
    from agent.bundled_models import MODELS
    from prompts.registry import PromptRegistry

    suite = load_suite(path)
    registry = PromptRegistry()
    for v in suite.variants:
        if v.kind == "llm" or (v.kind == "fusion" and v.llm_scoring != "none"):
            registry.path(v.prompt)  # raises for a prompt that does not exist
        assert v.base_url or v.model is None or v.model in MODELS, f"{path.name}: {v.name} names unknown model {v.model}"
