import numpy as np

from agent.pipeline.diversity import mmr

V = {"a": np.array([1.0, 0.0]), "a2": np.array([1.0, 0.0]), "b": np.array([0.0, 1.0])}


def test_zero_diversity_keeps_the_ranking():
    assert mmr(["a", "a2", "b"], V, k=3, diversity=0.0) == ["a", "a2", "b"]


def test_diversity_pushes_near_copies_down():
    # relevance 1, 2/3, 1/3; at diversity .5: a2 scores .5*2/3 - .5*1 < 0 ; b scores .5*1/3 - 0 > 0
    assert mmr(["a", "a2", "b"], V, k=2, diversity=0.5) == ["a", "b"]


def test_items_without_vectors_are_kept():
    assert mmr(["a", "x", "a2"], V, k=3, diversity=0.5) == ["a", "x", "a2"]
