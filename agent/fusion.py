"""Score fusion: one linear score from collaborative, semantic, popularity and LLM signals.

Each signal is standardised within a user's candidate list (z-score), so a weight says how
much that signal moves an item against the other candidates, whatever its raw scale. The
weights are fitted by grid search on validation lists (held-out items from the training
period, never the evaluated ones), maximising mean NDCG@k."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field

FEATURES = ("collaborative", "recent", "semantic", "popularity", "llm")
RECENT_LIKES = 5  # the "recent" signal: co-occurrence with only the latest liked items
GRID = (0.0, 0.1, 0.25, 0.5, 1.0)  # candidate values of each weight; only directions matter


class FusionWeights(BaseModel):
    """A weight per signal; a signal left out has weight 0."""
    collaborative: float = 0.0
    recent: float = 0.0
    semantic: float = 0.0
    popularity: float = 0.0
    llm: float = 0.0

    def vector(self) -> np.ndarray:
        return np.array([getattr(self, f) for f in FEATURES], dtype=float)


class FittedWeights(BaseModel):
    """Weights and the evidence behind them."""
    weights: FusionWeights
    validation_ndcg: float = Field(description="mean NDCG@k of the fitted weights on the validation lists")
    collaborative_only_ndcg: float = Field(description="the same lists ranked by the collaborative signal alone")
    lists: int
    k: int
    features: list[str]


def raw_features(collaborative: Sequence[float], semantic: Sequence[float], popularity: Sequence[float],
                 llm: Sequence[float] | None = None, recent: Sequence[float] | None = None) -> np.ndarray:
    """An (items × features) matrix in FEATURES order; counts and co-occurrence sums are
    log-scaled (heavy-tailed). A signal not given is 0 (it standardises to 0: no effect)."""
    n = len(collaborative)

    def log_scaled(x):
        return np.log1p(np.maximum(np.asarray(x, dtype=float), 0.0))

    columns = {"collaborative": log_scaled(collaborative),
               "recent": np.zeros(n) if recent is None else log_scaled(recent),
               "semantic": np.asarray(semantic, dtype=float),
               "popularity": log_scaled(popularity),
               "llm": np.zeros(n) if llm is None else np.asarray(llm, dtype=float)}
    return np.stack([columns[f] for f in FEATURES], axis=1) if n else np.zeros((0, len(FEATURES)))


def standardise(x: np.ndarray) -> np.ndarray:
    """Column z-scores within one list; a constant column becomes 0."""
    if len(x) == 0:
        return x
    sd = x.std(axis=0)
    return np.where(sd > 1e-12, (x - x.mean(axis=0)) / np.where(sd > 1e-12, sd, 1.0), 0.0)


def fused_scores(x: np.ndarray, weights: FusionWeights) -> np.ndarray:
    return standardise(x) @ weights.vector()


def fused_order(ids: Sequence[str], x: np.ndarray, weights: FusionWeights) -> list[str]:
    """`ids` best first; ties keep the given order."""
    scores = fused_scores(x, weights)
    return [ids[i] for i in np.argsort(-scores, kind="stable")]


def _ndcg_of_rank(rank: np.ndarray, k: int) -> np.ndarray:
    """NDCG@k of one relevant item at 0-based `rank` (fractional for ties)."""
    return np.where(rank < k, 1.0 / np.log2(rank + 2.0), 0.0)


def fit_weights(lists: Sequence[tuple[np.ndarray, int | None]], k: int = 10,
                features: Sequence[str] = FEATURES, grid: Sequence[float] = GRID) -> FittedWeights:
    """Grid search over the weights of `features` (the others stay 0) for the best mean
    NDCG@k over `lists`: (raw feature matrix, index of the held-out item or None when the
    list misses it). Ties in a fused score count at their expected rank."""
    unknown = set(features) - set(FEATURES)
    if unknown:
        raise ValueError(f"unknown fusion features {sorted(unknown)}; known: {', '.join(FEATURES)}")
    if not lists:
        raise ValueError("no validation lists to fit the fusion weights on")
    cols = [FEATURES.index(f) for f in features]
    combos = np.array([c for c in itertools.product(grid, repeat=len(cols)) if any(c)], dtype=float)
    weights = np.zeros((len(combos), len(FEATURES)))
    weights[:, cols] = combos
    total = np.zeros(len(combos))
    for x, target in lists:
        if target is None or len(x) == 0:
            continue  # scores 0 whatever the weights
        s = standardise(x) @ weights.T  # items × combos
        t = s[target]
        above = (s > t).sum(axis=0)
        ties = (s == t).sum(axis=0) - 1
        total += _ndcg_of_rank(above + ties / 2.0, k)
    best = int(np.argmax(total))  # the first (sparsest in grid order) of equal bests
    chosen = FusionWeights(**dict(zip(FEATURES, weights[best].round(4).tolist())))
    collab_only = FusionWeights(collaborative=1.0)
    return FittedWeights(weights=chosen, validation_ndcg=round(total[best] / len(lists), 6),
                         collaborative_only_ndcg=round(mean_ndcg(lists, collab_only, k), 6),
                         lists=len(lists), k=k, features=list(features))


def mean_ndcg(lists: Sequence[tuple[np.ndarray, int | None]], weights: FusionWeights, k: int) -> float:
    values = []
    for x, target in lists:
        if target is None or len(x) == 0:
            values.append(0.0)
            continue
        s = fused_scores(x, weights)
        above, ties = (s > s[target]).sum(), (s == s[target]).sum() - 1
        values.append(float(_ndcg_of_rank(np.array(above + ties / 2.0), k)))
    return float(np.mean(values)) if values else math.nan
