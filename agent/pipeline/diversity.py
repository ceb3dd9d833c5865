"""Maximal marginal relevance: re-order a ranked list so it is not k near-copies."""

from __future__ import annotations

import numpy as np


def mmr(ranked: list[str], vectors: dict[str, np.ndarray], k: int, diversity: float) -> list[str]:
    """Pick k ids from `ranked` (best first). Relevance falls linearly with rank; each pick
    maximises (1-diversity)*relevance - diversity*max cosine to what is already picked.
    diversity=0 keeps the ranking; ids without a vector are never penalised."""
    if diversity <= 0 or len(ranked) <= 1:
        return ranked[:k]
    n = len(ranked)
    rel = {item: 1.0 - i / n for i, item in enumerate(ranked)}
    picked: list[str] = []
    rest = list(ranked)
    while rest and len(picked) < k:
        best, best_score = None, -np.inf
        for item in rest:
            v = vectors.get(item)
            sim = max((float(v @ vectors[p]) for p in picked if p in vectors), default=0.0) if v is not None else 0.0
            score = (1 - diversity) * rel[item] - diversity * sim
            if score > best_score:
                best, best_score = item, score
        picked.append(best)
        rest.remove(best)
    return picked
