"""Candidates: semantic neighbours (of the profile vector and of the latest liked items),
collaborative co-occurrence with liked items and EASE's best items, never an item the person
has seen."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from agent.pipeline.context import RequestContext
from agent.pipeline.rrf import rrf

PROFILE_VECTOR_ITEMS = 20  # recent liked items averaged into the profile's embedding
LIKED_QUERIES = 3  # recent liked items that are also queries of their own
SEEN_OVERFETCH = 150  # extra semantic neighbours fetched to make up for seen ones


@dataclass
class Found:
    """One retrieved item: its raw scores, the sources that found it, the liked item behind it."""
    scores: dict[str, float] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    because: str | None = None


@dataclass
class Pool:
    """What retrieval found, in reciprocal-rank order (the `rrf` score), with what ordering
    needs next: the profile vector and each item's cosine to it where its search saw it."""
    found: dict[str, Found]
    profile_vector: np.ndarray | None
    to_profile: dict[str, float]


def profile_vector(ctx: RequestContext, positives: list[str]) -> np.ndarray | None:
    """The centroid of the latest liked items' embeddings, normalised (None if none)."""
    vectors = ctx.vectors(positives[:PROFILE_VECTOR_ITEMS])
    if not vectors:
        return None
    centroid = np.mean(list(vectors.values()), axis=0)
    return centroid / max(float(np.linalg.norm(centroid)), 1e-12)


def retrieve(ctx: RequestContext, positives: list[str], n: int) -> Pool:
    """Up to 2n semantic and 2n collaborative candidates for `positives` (liked ids, newest first)."""
    co = ctx.collab.similar(positives, 2 * n, exclude=ctx.seen)
    centroid = profile_vector(ctx, positives)
    liked_vectors = ctx.vectors(positives[:LIKED_QUERIES])
    queries = ([centroid] if centroid is not None else []) + list(liked_vectors.values())
    origins = ([None] if centroid is not None else []) + list(liked_vectors)

    semantic: dict[str, tuple[float, str | None]] = {}
    to_profile: dict[str, float] = {}  # cosine to the profile vector, from its own query
    if queries:
        fetch = 2 * n + min(len(ctx.seen), SEEN_OVERFETCH)  # seen items are filtered out afterwards
        for hits, origin in zip(ctx.index.search_vectors(np.stack(queries), fetch), origins):
            for item_id, sim in hits:
                if origin is None:
                    to_profile[item_id] = sim
                if item_id not in ctx.seen and sim > semantic.get(item_id, (-1.0, None))[0]:
                    semantic[item_id] = (sim, origin)
    sem_ranked = sorted(semantic.items(), key=lambda kv: -kv[1][0])[: 2 * n]

    found: dict[str, Found] = {}
    for item_id, (sim, origin) in sem_ranked:
        f = found.setdefault(item_id, Found(because=origin))
        f.scores["semantic"] = round(sim, 4)
        f.sources.append("semantic")
    for item_id, score, origin in co:
        f = found.setdefault(item_id, Found())
        f.scores["collaborative"] = round(score, 4)
        f.sources.append("collaborative")
        f.because = origin  # co-occurrence evidence is the stronger explanation
    ease = ctx.classic.top(positives, 2 * n, exclude=ctx.seen) if ctx.classic is not None else []
    for item_id, score in ease:
        f = found.setdefault(item_id, Found())
        f.scores["ease"] = round(score, 4)
        f.sources.append("ease")
    fused = rrf([[i for i, _ in sem_ranked], [i for i, _, _ in co], [i for i, _ in ease]])
    for item_id, f in found.items():
        f.scores["fused"] = fused[item_id]
    return Pool(found=found, profile_vector=centroid, to_profile=to_profile)
