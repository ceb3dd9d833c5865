"""A seeded synthetic catalog and interactions shaped like MovieLens, at any size (bench/scale.py).

- item popularity is long-tailed: item r (by rank) is drawn with weight 1 / (r + 10)^0.9, which
  gives the top 5% of items about 40% of the ratings (ML-latest-small: 43%);
- user activity is log-normal (median about 70 interactions, a long right tail), as in MovieLens;
- ratings follow ML-latest-small's distribution over 0.5..5 in half stars (mean about 3.5);
- each user's timestamps increase; each item has a title, two genres and a 30-word text made
  of genre words, so embeddings have something to find.
Rows are written in chunks, so 25 million interactions never sit in memory as Python objects."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

GENRES = ["Drama", "Comedy", "Action", "Thriller", "Romance", "Adventure", "Crime", "Sci-Fi", "Horror",
          "Fantasy", "Children", "Animation", "Mystery", "Documentary", "War", "Musical", "Western"]
WORDS = {g: [f"{g.lower()}{n}" for n in range(40)] for g in GENRES}  # each genre's own vocabulary
COMMON = ["story", "journey", "family", "city", "night", "secret", "friends", "love", "war", "home",
          "life", "time", "world", "dark", "light", "road", "past", "future", "game", "heart"]
RATINGS = np.arange(1, 11) / 2  # 0.5 .. 5.0
RATING_P = np.array([1.4, 2.8, 1.8, 7.5, 5.6, 19.8, 13.1, 26.8, 8.8, 13.2])  # ML-latest-small, %
POPULARITY_OFFSET, POPULARITY_EXPONENT = 10.0, 0.9
ACTIVITY_MEDIAN, ACTIVITY_SIGMA, ACTIVITY_MIN = 70.0, 1.1, 20
CHUNK_USERS = 2000


@dataclass
class SyntheticData:
    items: Path
    interactions: Path
    n_items: int
    n_users: int
    n_interactions: int


def activity(n_users: int, rng: np.random.Generator, n_items: int) -> np.ndarray:
    """Interactions per user: log-normal, at least ACTIVITY_MIN, at most half the catalog."""
    a = np.exp(rng.normal(np.log(ACTIVITY_MEDIAN), ACTIVITY_SIGMA, n_users))
    return np.clip(a, ACTIVITY_MIN, max(ACTIVITY_MIN, n_items // 2)).astype(np.int64)


def users_for(n_interactions: int, n_items: int, seed: int) -> np.ndarray:
    """Per-user activity whose sum is close to `n_interactions` (the last user is trimmed)."""
    rng = np.random.default_rng([seed, 1])
    mean = float(activity(10_000, np.random.default_rng([seed, 2]), n_items).mean())
    counts = activity(int(n_interactions / mean * 1.05) + 1, rng, n_items)
    total = np.cumsum(counts)
    n_users = int(np.searchsorted(total, n_interactions)) + 1
    counts = counts[:n_users].copy()
    counts[-1] -= int(total[n_users - 1] - n_interactions)
    return counts[counts > 0]


def generate(folder: Path, n_items: int, n_interactions: int, seed: int = 0) -> SyntheticData:
    """Write items.csv and interactions.csv (recagent's generic columns) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 0])
    items_path, inter_path = folder / "items.csv", folder / "interactions.csv"
    with items_path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["item_id", "title", "text", "categories"])
        for start in range(0, n_items, 50_000):
            n = min(50_000, n_items - start)
            g = rng.integers(0, len(GENRES), size=(n, 2))
            g[:, 1] = np.where(g[:, 1] == g[:, 0], (g[:, 1] + 1) % len(GENRES), g[:, 1])
            picks = rng.integers(0, 40, size=(n, 20))
            common = rng.integers(0, len(COMMON), size=(n, 10))
            years = rng.integers(1930, 2024, size=n)
            for k in range(n):
                a, b = GENRES[g[k, 0]], GENRES[g[k, 1]]
                words = [WORDS[a][j] for j in picks[k, :14]] + [WORDS[b][j] for j in picks[k, 14:]]
                words += [COMMON[j] for j in common[k]]
                i = start + k
                w.writerow([f"i{i}", f"Item {i} ({years[k]})", " ".join(words), f"{a}|{b}"])
    weights = 1.0 / (np.arange(n_items) + POPULARITY_OFFSET) ** POPULARITY_EXPONENT
    cdf = np.cumsum(weights / weights.sum())
    rank_to_item = rng.permutation(n_items)  # popular items are not the low ids
    counts = users_for(n_interactions, n_items, seed)
    written = 0
    with inter_path.open("w", newline="") as f:
        f.write("user_id,item_id,rating,timestamp\n")
        for start in range(0, len(counts), CHUNK_USERS):
            lines = []
            for u, c in enumerate(counts[start:start + CHUNK_USERS], start=start):
                picked = _distinct_draws(rng, cdf, int(c))
                ratings = rng.choice(RATINGS, size=len(picked), p=RATING_P / RATING_P.sum())
                t0 = 1_000_000_000 + int(rng.integers(0, 500_000_000))
                times = t0 + np.cumsum(rng.integers(60, 86_400, size=len(picked)))
                lines.extend(f"u{u},i{rank_to_item[j]},{r:g},{t}\n" for j, r, t in zip(picked, ratings, times))
                written += len(picked)
            f.writelines(lines)
    return SyntheticData(items=items_path, interactions=inter_path, n_items=n_items, n_users=len(counts),
                         n_interactions=written)


def _distinct_draws(rng: np.random.Generator, cdf: np.ndarray, n: int) -> np.ndarray:
    """`n` distinct item ranks drawn by popularity, in the order first drawn."""
    found: dict[int, None] = {}
    while len(found) < n:
        for j in np.searchsorted(cdf, rng.random(2 * (n - len(found)) + 8)):
            found.setdefault(int(min(j, len(cdf) - 1)), None)
    return np.fromiter(found, dtype=np.int64, count=len(found))[:n]


def hashed_embedder(dim: int = 384):
    """A cheap stand-in for the sentence embedder at sizes where embedding every item would take
    hours: each word gets a seeded random vector, a text is their normalised sum (texts that
    share words are close). The real embedder's throughput is measured separately on a slice."""
    cache: dict[str, np.ndarray] = {}

    def vector(word: str) -> np.ndarray:
        if word not in cache:
            seed = int.from_bytes(word.encode()[:16].ljust(16, b"\0"), "little") % (2**63)
            cache[word] = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
        return cache[word]

    def embed(texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), dim), dtype=np.float32)
        for n, text in enumerate(texts):
            for word in text.lower().split():
                out[n] += vector(word.strip(".,:;()|"))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)

    return embed
