"""Score fusion: standardisation, ordering and the weight fit (pure numpy, no model)."""

import numpy as np
import pytest

from agent.pipeline.order import FEATURES, FusionWeights, fused_order, raw_features, standardise
from evals.fusion_fit import fit_weights, mean_ndcg


def test_standardise_makes_scales_irrelevant_and_constant_columns_inert():
    x = np.array([[1.0, 100.0, 5.0], [2.0, 300.0, 5.0], [3.0, 200.0, 5.0]])
    z = standardise(x)
    assert np.allclose(z.mean(axis=0), 0.0)
    assert np.allclose(z[:, 0], standardise(x * 1000)[:, 0])
    assert np.all(z[:, 2] == 0.0)


def test_without_llm_scores_the_llm_weight_changes_nothing():
    x = raw_features([3.0, 0.0, 1.0], [0.2, 0.9, 0.5], [10, 50, 30])
    ids = ["a", "b", "c"]
    assert fused_order(ids, x, FusionWeights(collaborative=1)) == ["a", "c", "b"]
    assert fused_order(ids, x, FusionWeights(collaborative=1, llm=5)) == ["a", "c", "b"]
    assert fused_order(ids, x, FusionWeights(collaborative=0, semantic=1)) == ["b", "c", "a"]


def synthetic_lists(n=60, size=20, seed=0, informative=(0, FEATURES.index("llm"))):
    """Lists whose held-out item is best explained by the given feature columns; the others are noise."""
    rng = np.random.default_rng(seed)
    lists = []
    for _ in range(n):
        x = rng.normal(size=(size, len(FEATURES)))
        target = int(rng.integers(size))
        for col in informative:
            x[target, col] += 2.5
        lists.append((x, target))
    return lists


def test_fit_finds_the_informative_signals_and_beats_collaborative_alone():
    lists = synthetic_lists()
    fitted = fit_weights(lists, k=10)
    w = fitted.weights
    assert w.collaborative > 0 and w.llm > 0
    assert all(getattr(w, f) <= 0.25 * max(w.collaborative, w.llm) for f in ("recent", "semantic", "popularity"))
    assert fitted.validation_ndcg > fitted.collaborative_only_ndcg
    # what the fit reports is what the weights score
    assert fitted.validation_ndcg == pytest.approx(mean_ndcg(lists, w, 10), abs=1e-6)
    # it generalises: fresh lists from the same process
    fresh = synthetic_lists(seed=1)
    assert mean_ndcg(fresh, w, 10) > mean_ndcg(fresh, FusionWeights(collaborative=1), 10)


def test_fit_keeps_excluded_features_at_zero_and_counts_misses():
    lists = synthetic_lists(informative=(FEATURES.index("llm"),)) + [(np.zeros((20, len(FEATURES))), None)]
    fitted = fit_weights(lists, k=10, features=["collaborative", "semantic", "popularity"])
    assert fitted.weights.llm == 0.0 and fitted.lists == 61
    with pytest.raises(ValueError, match="unknown fusion features"):
        fit_weights(lists, features=["collaborative", "mood"])
    with pytest.raises(ValueError, match="no validation lists"):
        fit_weights([])
