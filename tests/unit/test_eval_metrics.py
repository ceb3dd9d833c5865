"""Metric and statistics functions against values worked out by hand."""

import math

import numpy as np
import pytest

from evals.metrics import (average_precision_at_k, coverage, f1_at_k, intra_list_diversity_categories,
                           intra_list_diversity_embeddings, ndcg_at_k, novelty, precision_at_k, ranking_metrics,
                           recall_at_k, reciprocal_rank)
from evals.stats import minimum_detectable_effect, paired_comparison

RANKING = ["a", "b", "c", "d", "e"]


def test_single_held_out_item_at_rank_3():
    rel = {"c"}
    assert ndcg_at_k(RANKING, rel, 5) == pytest.approx(1 / math.log2(4))  # 0.5
    assert ndcg_at_k(RANKING, rel, 2) == 0.0
    assert recall_at_k(RANKING, rel, 5) == 1.0  # = HR@5
    assert precision_at_k(RANKING, rel, 5) == pytest.approx(1 / 5)
    assert average_precision_at_k(RANKING, rel, 5) == pytest.approx(1 / 3)
    assert f1_at_k(RANKING, rel, 5) == pytest.approx(2 * 0.2 * 1.0 / 1.2)  # 1/3
    assert reciprocal_rank(RANKING, rel) == pytest.approx(1 / 3)


def test_two_relevant_items():
    rel = {"a", "d"}
    # DCG = 1/log2(2) + 1/log2(5) = 1 + 0.4307; ideal = 1 + 1/log2(3) = 1.6309
    assert ndcg_at_k(RANKING, rel, 5) == pytest.approx((1 + 1 / math.log2(5)) / (1 + 1 / math.log2(3)))
    # AP@5 = (1/1 + 2/4) / 2 = 0.75
    assert average_precision_at_k(RANKING, rel, 5) == pytest.approx(0.75)
    assert recall_at_k(RANKING, rel, 3) == 0.5
    assert precision_at_k(RANKING, rel, 3) == pytest.approx(1 / 3)
    # F1@3 = 2 * (1/3) * (1/2) / (1/3 + 1/2) = 0.4
    assert f1_at_k(RANKING, rel, 3) == pytest.approx(0.4)


def test_miss_scores_zero_and_mrr_is_cut_at_the_largest_k():
    m = ranking_metrics(RANKING, {"z"}, [1, 5])
    assert all(v == 0.0 for v in m.values())
    m = ranking_metrics(["x"] * 5 + ["t"], {"t"}, [1, 5])
    assert m["mrr@5"] == 0.0  # the hit at rank 6 lies beyond the list every variant is asked for
    assert set(m) == {"mrr@5", "ndcg@1", "hr@1", "precision@1", "map@1", "f1@1",
                      "ndcg@5", "hr@5", "precision@5", "map@5", "f1@5"}


def test_beyond_accuracy():
    # pairs: {A}-{A,B}: 1 - 1/2 = 0.5; {A}-{C}: 1; {A,B}-{C}: 1 → mean 2.5/3
    assert intra_list_diversity_categories([["A"], ["A", "B"], ["C"]]) == pytest.approx(2.5 / 3)
    assert intra_list_diversity_categories([["A"]]) is None
    # orthogonal unit vectors: cosine distance 1; identical: 0 → mean of (1, 1, 0)... for 3 vectors
    e1, e2 = np.array([1.0, 0.0]), np.array([0.0, 2.0])
    assert intra_list_diversity_embeddings([e1, e2, e1]) == pytest.approx((1 + 0 + 1) / 3)
    assert novelty(["a", "b", "zz"], {"a": 1.0, "b": 4.0}) == pytest.approx(2.5)
    assert coverage([["a", "b"], ["b", "c"]], 10) == pytest.approx(0.3)


def test_paired_comparison_of_identical_lists_is_null():
    x = np.array([0.0, 1.0, 0.5, 0.2])
    c = paired_comparison(x, x)
    assert (c["diff"], c["ci_low"], c["ci_high"], c["p_value"], c["mde"]) == (0.0, 0.0, 0.0, 1.0, 0.0)


def test_paired_comparison_detects_a_clear_effect_and_not_noise():
    rng = np.random.default_rng(0)
    base = rng.random(200)
    clear = paired_comparison(base + 0.1 + rng.normal(0, 0.05, 200), base)
    assert clear["ci_low"] > 0 and clear["p_value"] <= 0.001
    assert clear["ci_low"] < 0.1 < clear["ci_high"]
    noise = paired_comparison(base + rng.normal(0, 0.05, 200), base)
    assert noise["ci_low"] < 0 < noise["ci_high"] and noise["p_value"] > 0.05


def test_sign_flip_p_value_by_hand():
    # d = (1, 1, 1): of the 8 sign patterns only +++ and --- reach |mean| = 1 → p = 2/8
    c = paired_comparison(np.array([1.0, 1.0, 2.0]), np.array([0.0, 0.0, 1.0]))
    assert (c["diff"], c["ci_low"], c["ci_high"], c["p_value"]) == (1.0, 1.0, 1.0, 0.25)
    c = paired_comparison(np.array([1.0, 1.0, 1.0, 0.5]), np.array([0.0, 0.0, 0.0, 0.0]))
    # d = (1, 1, 1, .5): |mean| >= 0.875 only for ++++ and ---- → p = 2/16
    assert c["p_value"] == pytest.approx(2 / 16)


def test_minimum_detectable_effect_by_hand():
    d = np.array([1.0, -1.0, 1.0, -1.0])  # sd (ddof=1) = sqrt(4/3)
    expected = (1.959964 + 0.841621) * math.sqrt(4 / 3) / 2
    assert minimum_detectable_effect(d) == pytest.approx(expected, rel=1e-5)
    assert minimum_detectable_effect(np.array([1.0])) is None


def test_mean_ci_brackets_the_mean_and_collapses_without_spread():
    from evals.stats import mean_ci

    assert mean_ci(np.array([0.5, 0.5, 0.5])) == (0.5, 0.5)
    low, high = mean_ci(np.array([0.0, 1.0] * 50))
    assert low < 0.5 < high and high - low < 0.25
