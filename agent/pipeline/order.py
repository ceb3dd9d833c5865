"""The candidates' order: score fusion, one linear score from collaborative, semantic,
popularity and LLM signals (or reciprocal-rank fusion).

Each signal is standardised within a user's candidate list (z-score), so a weight says how
much that signal moves an item against the other candidates, whatever its raw scale. The
weights are fitted by evals/fusion_fit.py on validation lists (held-out items from the
training period, never the evaluated ones)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

from agent.pipeline.candidates import Found, Pool
from agent.pipeline.context import RequestContext
from agent.types import Candidate

FEATURES = ("collaborative", "recent", "semantic", "popularity", "ease", "sequential", "llm")
RECENT_LIKES = 5  # the "recent" signal: co-occurrence with only the latest liked items


class FusionWeights(BaseModel):
    """A weight per signal; a signal left out has weight 0."""
    collaborative: float = 0.0
    recent: float = 0.0
    semantic: float = 0.0
    popularity: float = 0.0
    ease: float = 0.0
    sequential: float = 0.0
    llm: float = 0.0

    def vector(self) -> np.ndarray:
        return np.array([getattr(self, f) for f in FEATURES], dtype=float)


def raw_features(collaborative: Sequence[float], semantic: Sequence[float], popularity: Sequence[float],
                 llm: Sequence[float] | None = None, recent: Sequence[float] | None = None,
                 classic: dict[str, Sequence[float]] | None = None) -> np.ndarray:
    """An (items × features) matrix in FEATURES order; counts and co-occurrence sums are
    log-scaled (heavy-tailed). A signal not given is 0 (it standardises to 0: no effect).
    `classic`: the EASE and sequential scores (agent/retrieval/classic.py)."""
    n = len(collaborative)
    classic = classic or {}

    def log_scaled(x):
        return np.log1p(np.maximum(np.asarray(x, dtype=float), 0.0))

    def given(x):
        return np.zeros(n) if x is None else np.asarray(x, dtype=float)

    columns = {"collaborative": log_scaled(collaborative),
               "recent": np.zeros(n) if recent is None else log_scaled(recent),
               "semantic": np.asarray(semantic, dtype=float),
               "popularity": log_scaled(popularity),
               "ease": given(classic.get("ease")), "sequential": given(classic.get("sequential")),
               "llm": given(llm)}
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


def order_candidates(ctx: RequestContext, pool: Pool, positives: list[str], avoided: list[str], n: int,
                     mode: str = "fusion", weights: FusionWeights | None = None, ranker=None) -> list[Candidate]:
    """The best n of `pool`: by the fitted linear score (mode "fusion", over the pool plus
    the n most popular unseen items), by the learned ranker `ranker` ("ltr", over the same) or
    by reciprocal rank ("rrf"); items in a category the person avoids are dropped while enough
    remain; popular items fill a short list."""
    if mode in ("fusion", "ltr"):
        found, ids, raw = scored_pool(ctx, pool, positives, n)
        if mode == "ltr":
            scores = ranker.scores(request_features(ctx, raw, positives, ids))
        else:
            scores = fused_scores(raw, weights or FusionWeights())
        for item_id, score in zip(ids, scores):
            found[item_id].scores["fused"] = float(score)
        order = [ids[i] for i in np.argsort(-scores, kind="stable")]
    else:
        found = {i: Found(dict(f.scores), list(f.sources), f.because) for i, f in pool.found.items()}
        order = sorted(found, key=lambda i: -found[i].scores["fused"])
    order = _without_avoided(ctx, order, set(avoided), n)[:n]
    if len(order) < n:
        for item_id, pop in ctx.collab.popular(n - len(order), exclude=ctx.seen | set(order)):
            found[item_id] = Found({"popularity": pop, "fused": 0.0}, ["popular"])
            order.append(item_id)
    catalog = ctx.items(order)
    return [Candidate(item=catalog[i], scores={k: round(v, 5) for k, v in found[i].scores.items()},
                      sources=found[i].sources, because=found[i].because) for i in order if i in catalog]


def scored_pool(ctx: RequestContext, pool: Pool, positives: list[str], n: int
                ) -> tuple[dict[str, Found], list[str], np.ndarray]:
    """What a fitted order scores: the pool plus the n most popular unseen items (a copy of
    each's finds), their ids, and their raw signals."""
    found = {i: Found(dict(f.scores), list(f.sources), f.because) for i, f in pool.found.items()}
    for item_id, pop in ctx.collab.popular(n, exclude=ctx.seen):
        found.setdefault(item_id, Found({"popularity": pop}, ["popular"]))
    ids = list(found)
    return found, ids, _features(ctx, pool, positives, ids)


def _features(ctx: RequestContext, pool: Pool, positives: list[str], ids: list[str]) -> np.ndarray:
    """Raw fusion features of `ids`. Cosines to the profile come from its search where it
    found the item, else from the index."""
    semantic = dict(pool.to_profile)
    missing = [i for i in ids if i not in semantic]
    if pool.profile_vector is not None and missing:
        semantic.update({i: float(v @ pool.profile_vector) for i, v in ctx.vectors(missing).items()})
    knn, recent = ctx.collab.scores_with_recent(positives, RECENT_LIKES, ids)
    classic = ctx.classic.scores(positives, ids) if ctx.classic is not None else None
    return raw_features(knn, [semantic.get(i, 0.0) for i in ids], ctx.collab.popularity_of(ids), recent=recent,
                        classic=classic)


def request_features(ctx: RequestContext, raw: np.ndarray, positives: list[str], ids: list[str]) -> np.ndarray:
    """The learned ranker's features of `ids` for this request (agent/pipeline/learned.py): the raw
    fusion signals `raw` and what the liked items `positives` say about genres, years and tags."""
    from agent.pipeline.learned import Taste, learned_features

    liked = ctx.items(positives)
    items = ctx.items(ids)
    taste = Taste.of([liked[i] for i in positives if i in liked], len(ctx.history))
    return learned_features(raw, [items.get(i) for i in ids], taste)


def _without_avoided(ctx: RequestContext, order: list[str], avoided: set[str], n: int) -> list[str]:
    """Drop items in a category the person dislikes more than likes (the profile's avoided
    categories, updated by every dislike), unless too few would remain."""
    if not avoided:
        return order
    items = ctx.items(order)
    kept = [i for i in order if i in items and not avoided & set(items[i].categories)]
    return kept if len(kept) >= min(n, len(order)) // 2 else order
