"""Ranking a fixed pool of items (the sampled protocol's 1 + N) the way the pipeline orders
retrieved candidates, and the semantic baseline's scores."""

from __future__ import annotations

from agent.pipeline.candidates import profile_vector
from agent.pipeline.order import RECENT_LIKES, FusionWeights, fused_scores, raw_features
from agent.pipeline.rrf import rrf_of_scores
from agent.recommender import Recommender
from agent.types import Candidate, HistoryEvent


def profile_vector_of(rec: Recommender, positives: list[str]):
    """The profile vector of liked ids `positives` (newest first), or None."""
    return profile_vector(rec.context([]), positives)


def semantic_scores(rec: Recommender, positives: list[str], items: list[str]) -> list[float]:
    """Cosine similarity of each item to the profile vector of `positives`; 0 when there is none."""
    ctx = rec.context([])
    centroid = profile_vector(ctx, positives)
    if centroid is None:
        return [0.0] * len(items)
    found = ctx.vectors(items)
    return [float(found[i] @ centroid) if i in found else 0.0 for i in items]


def rank_pool(rec: Recommender, history: list[HistoryEvent], pool: list[str]) -> list[Candidate]:
    """`pool` ordered the way the pipeline orders retrieved candidates (the fitted fusion
    score, or reciprocal rank of semantic similarity and item-kNN co-occurrence)."""
    ctx = rec.context(history)
    catalog = ctx.items(pool)
    pool = [i for i in pool if i in catalog]
    positives = ctx.positives
    semantic = semantic_scores(rec, positives, pool)
    collab = ctx.collab.scores(positives, pool)
    if rec.settings.candidate_order == "fusion":
        recent = ctx.collab.scores_with_recent(positives, RECENT_LIKES, pool)[1]
        classic = ctx.classic.scores(positives, pool) if ctx.classic is not None else None
        x = raw_features(collab, semantic, ctx.collab.popularity_of(pool), recent=recent, classic=classic)
        fused = fused_scores(x, FusionWeights(**rec.settings.fusion_weights)).tolist()
    else:
        fused = rrf_of_scores(pool, [semantic, collab])
    order = sorted(range(len(pool)), key=lambda n: -fused[n])  # stable: ties keep the pool's order
    return [Candidate(item=catalog[pool[n]], scores={"semantic": round(semantic[n], 4),
                                                     "collaborative": round(collab[n], 4),
                                                     "fused": round(fused[n], 5)},
                      sources=[src for src, sc in (("semantic", semantic), ("collaborative", collab)) if sc[n] > 0])
            for n in order]
