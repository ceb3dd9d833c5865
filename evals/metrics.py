"""Recommender metrics for one ranked list against the relevant items (in evals: the one
held-out item). Cut-off metrics look at the first k items; MRR at the whole list given."""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations

import numpy as np


def hits(ranking: Sequence[str], relevant: set[str], k: int) -> int:
    return sum(1 for item in ranking[:k] if item in relevant)


def precision_at_k(ranking: Sequence[str], relevant: set[str], k: int) -> float:
    return hits(ranking, relevant, k) / k


def recall_at_k(ranking: Sequence[str], relevant: set[str], k: int) -> float:
    """With one relevant item this is the hit rate (HR@k)."""
    return hits(ranking, relevant, k) / len(relevant) if relevant else 0.0


def f1_at_k(ranking: Sequence[str], relevant: set[str], k: int) -> float:
    p, r = precision_at_k(ranking, relevant, k), recall_at_k(ranking, relevant, k)
    return 2 * p * r / (p + r) if p + r else 0.0


def average_precision_at_k(ranking: Sequence[str], relevant: set[str], k: int) -> float:
    """AP@k normalised by min(|relevant|, k); MAP@k is its mean over users."""
    if not relevant:
        return 0.0
    found, total = 0, 0.0
    for i, item in enumerate(ranking[:k], start=1):
        if item in relevant:
            found += 1
            total += found / i
    return total / min(len(relevant), k)


def ndcg_at_k(ranking: Sequence[str], relevant: set[str], k: int) -> float:
    """Binary-relevance NDCG: DCG = sum over hits of 1/log2(rank + 1), over the ideal DCG."""
    dcg = sum(1.0 / math.log2(i + 1) for i, item in enumerate(ranking[:k], start=1) if item in relevant)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(relevant), k) + 1))
    return dcg / ideal if ideal else 0.0


def reciprocal_rank(ranking: Sequence[str], relevant: set[str]) -> float:
    for i, item in enumerate(ranking, start=1):
        if item in relevant:
            return 1.0 / i
    return 0.0


def ranking_metrics(ranking: Sequence[str], relevant: set[str], ks: Sequence[int]) -> dict[str, float]:
    """All accuracy metrics of one list, named like `ndcg@10`. MRR is taken over the first
    max(ks) items (`mrr@10`), the length every variant is asked for."""
    out = {f"mrr@{max(ks)}": reciprocal_rank(ranking[: max(ks)], relevant)}
    for k in ks:
        out[f"ndcg@{k}"] = ndcg_at_k(ranking, relevant, k)
        out[f"hr@{k}"] = recall_at_k(ranking, relevant, k)
        out[f"precision@{k}"] = precision_at_k(ranking, relevant, k)
        out[f"map@{k}"] = average_precision_at_k(ranking, relevant, k)
        out[f"f1@{k}"] = f1_at_k(ranking, relevant, k)
    return out


# -- beyond accuracy ---------------------------------------------------------------------------
def intra_list_diversity_categories(categories: Sequence[Sequence[str]]) -> float | None:
    """Mean pairwise Jaccard distance between the items' category sets (None below 2 items)."""
    pairs = list(combinations([set(c) for c in categories], 2))
    if not pairs:
        return None
    return float(np.mean([1.0 - (len(a & b) / len(a | b) if a | b else 1.0) for a, b in pairs]))


def intra_list_diversity_embeddings(vectors: Sequence[np.ndarray]) -> float | None:
    """Mean pairwise cosine distance between the items' embeddings (None below 2 items)."""
    if len(vectors) < 2:
        return None
    m = np.stack([v / max(float(np.linalg.norm(v)), 1e-12) for v in vectors])
    sims = m @ m.T
    upper = sims[np.triu_indices(len(vectors), k=1)]
    return float(np.mean(1.0 - upper))


def novelty(ranking: Sequence[str], popularity_rank: dict[str, float]) -> float | None:
    """Mean popularity rank of the list's items (1 = the most popular; higher = more novel)."""
    ranks = [popularity_rank[i] for i in ranking if i in popularity_rank]
    return float(np.mean(ranks)) if ranks else None


def coverage(lists: Sequence[Sequence[str]], n_items: int) -> float:
    """Share of the recommendable items that appear in at least one list."""
    return len({i for lst in lists for i in lst}) / n_items if n_items else 0.0
