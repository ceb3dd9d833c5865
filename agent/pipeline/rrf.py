"""Reciprocal-rank fusion, the one copy: retrieval, the eval's pools and chat turns use it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


RRF_K = 60


def rrf(rankings: Sequence[Sequence[str]], weights: Sequence[float] | None = None, k: int = RRF_K) -> dict[str, float]:
    """Reciprocal-rank fusion: each id's sum over `rankings` (best first) of weight / (k + rank)."""
    fused: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings)):
        for rank, item_id in enumerate(ranking):
            fused[item_id] = fused.get(item_id, 0.0) + weight / (k + rank)
    return fused


def rrf_of_scores(ids: Sequence[str], signals: Sequence[Sequence[float]],
                  weights: Sequence[float] | None = None) -> list[float]:
    """`rrf` of the rankings by each signal, where an item counts only with a signal above 0."""
    rankings = [[ids[i] for i in np.argsort(-np.asarray(s, dtype=float), kind="stable") if s[i] > 0] for s in signals]
    fused = rrf(rankings, weights)
    return [fused.get(i, 0.0) for i in ids]

