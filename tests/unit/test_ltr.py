"""The learned ranker (LambdaMART, agent/pipeline/learned.py) and the `ltr` eval variant that fits
it on the validation split (evals/ltr.py): it learns a planted signal, reloads to identical scores,
and ranks the bookshop suite's users from a fit that never saw their held-out items."""

import json

import numpy as np
import pytest

from agent.pipeline.learned import CONTENT, LEARNED_FEATURES, LearnedRanker, Taste, learned_features
from agent.pipeline.order import FEATURES
from agent.types import Item
from evals.ltr import fit_lambdamart, mean_ndcg_of
from evals.runner import SuiteRun
from evals.suite import load_suite
from tests.unit.test_eval_fusion import FUSION, settings, write_suite  # noqa: F401 (a fixture)


def planted_lists(n: int, seed: int = 0):
    """Lists of 20 items whose relevant one has the largest `semantic` signal; the rest is noise."""
    rng = np.random.default_rng(seed)
    lists = []
    for _ in range(n):
        x = rng.normal(size=(20, len(LEARNED_FEATURES)))
        target = int(rng.integers(20))
        x[target, LEARNED_FEATURES.index("semantic")] = x[:, LEARNED_FEATURES.index("semantic")].max() + 0.5
        lists.append((x, target))
    return lists


def test_lambdamart_learns_a_planted_signal_and_reloads_to_identical_scores(tmp_path):
    grid = {"num_leaves": (3, 7), "min_child_samples": (20,), "learning_rate": (0.1,)}
    ranker = fit_lambdamart(planted_lists(200), k=10, grid=grid, max_trees=100)
    fresh = planted_lists(50, seed=1)
    assert mean_ndcg_of(ranker, fresh, 10) > 0.95  # chance is about 0.3
    importance = ranker.importance()
    assert max(importance, key=importance.get) == "semantic"
    assert ranker.meta["lists"] == 200 and ranker.meta["params"]["trees"] >= 1 and len(ranker.meta["tried"]) == 2 and ranker.meta["folds"] == 5
    ranker.save(tmp_path / "ltr.txt")
    again = LearnedRanker.load(tmp_path / "ltr.txt")
    x = np.vstack([f for f, _ in fresh])
    assert np.array_equal(again.scores(x), ranker.scores(x)) and again.meta == json.loads(json.dumps(ranker.meta))
    with pytest.raises(ValueError, match="fitted on"):
        ranker.scores(x[:, :5])


def test_content_features_come_from_the_liked_items_and_unknowns_are_nan():
    liked = [Item(item_id="1", title="Alien (1979)", categories=["Horror", "Sci-Fi"], tags=["space"]),
             Item(item_id="2", title="Aliens (1986)", categories=["Action", "Sci-Fi"], tags=["Space", "marines"])]
    taste = Taste.of(liked, history=7)
    assert taste.genre_share == {"Horror": 0.5, "Sci-Fi": 1.0, "Action": 0.5} and taste.median_year == 1982.5
    items = [Item(item_id="3", title="Prometheus (2012)", categories=["Sci-Fi", "Horror"], tags=["space", "android"]),
             Item(item_id="4", title="Untitled", categories=[]), None]
    x = learned_features(np.ones((3, len(FEATURES))), items, taste)
    assert x.shape == (3, len(LEARNED_FEATURES))
    row = dict(zip(LEARNED_FEATURES, x[0]))
    assert (row["genre_match"], row["genre_match_max"], row["year_gap"], row["tag_overlap"]) == (0.75, 1.0, 29.5, 1.0)
    assert (row["history"], row["liked"]) == (7.0, 2.0)
    unknown = dict(zip(LEARNED_FEATURES, x[1]))
    assert np.isnan(unknown["year"]) and np.isnan(unknown["genre_match"]) and unknown["tag_overlap"] == 0.0
    assert np.isnan(x[2, -len(CONTENT):]).all()  # an item missing from the catalog
    assert (x[:, len(FEATURES):2 * len(FEATURES)] == 0).all()  # a constant signal standardises to 0


def test_the_ltr_variant_is_fitted_on_the_validation_split_and_the_fit_is_reused(settings, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setattr("evals.ltr.GRID", {"num_leaves": (7,), "min_child_samples": (10,), "learning_rate": (0.1,)})
    monkeypatch.setattr("evals.ltr.MAX_TREES", 100)
    path = write_suite(tmp_path, [FUSION, {"name": "ltr", "kind": "ltr", "validation_users": 60}])
    summary = SuiteRun(load_suite(path), tmp_path / "run", settings).run()
    rows = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    ltr = [r for r in rows if r["variant"] == "ltr"]
    assert len(ltr) == 12 and all(r["status"] == "ok" and len(r["ranking"]) == 10 and r["target_in_pool"] for r in ltr)
    assert all(r["sources"] == ["ltr"] * 10 and "num_leaves" in r["weights"]["ltr"] for r in ltr)
    assert 0.0 <= summary["variants"]["ltr"]["metrics"]["ndcg@10"] <= 1.0
    fit = next((tmp_path / "run" / "ltr-fits").glob("ltr-*.txt"))
    meta = json.loads(fit.with_suffix(".json").read_text())["meta"]
    assert meta["variant"] == "ltr" and meta["steps_back"] == 2 and 20 <= meta["lists"] <= 2 * meta["validation_users"] <= 120
    before = fit.stat().st_mtime_ns
    (tmp_path / "run" / "results.jsonl").unlink()
    again = SuiteRun(load_suite(path), tmp_path / "run", settings).run()
    assert fit.stat().st_mtime_ns == before  # read back, not refitted
    assert again["variants"]["ltr"]["metrics"] == summary["variants"]["ltr"]["metrics"]


def test_an_ltr_variant_refuses_llm_scoring_and_weights(tmp_path):
    from agent.errors import InputError

    for bad in ({"llm_scoring": "labels"}, {"weights": {"collaborative": 1.0}}):
        with pytest.raises(InputError, match="ltr variant learns its own order"):
            load_suite(write_suite(tmp_path, [{"name": "ltr", "kind": "ltr", **bad}]))
