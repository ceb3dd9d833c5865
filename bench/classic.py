"""Fit and score cost of each collaborative model, measured in one run on the stored catalog's
interactions (ML-latest-small after `make setup`). Each model runs in its own fresh process so
its memory is its own: fit seconds, peak memory the fit added (VmHWM after the fit minus the
resident size before it), the size of what it keeps for scoring, and the time to score a
history and take its top 100 over the whole catalog (p50/p95 over `--users` stored users).
Scoring times are also given as a ratio to item-kNN's, measured in the same run (item-kNN has
no fit: it multiplies the liked items' columns by the user matrix at each request).

    uv run python bench/classic.py --users 200
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import time
from pathlib import Path

import numpy as np

from agent.config import load_settings
from agent.retrieval.classic import BM25KNN, EASE, Factors, PositiveMatrix, Transitions
from agent.retrieval.collaborative import CooccurrenceIndex
from agent.store import CatalogStore
from bench.model_footprint import status_kb

# The settings each model is measured at (the middle of evals/classic.py's grids; EASE's λ is
# the one MovieLens' validation split chose).
MODELS = {
    "item-kNN (cosine co-occurrence)": lambda data: CooccurrenceIndex(data),
    "EASE (λ 500)": lambda data: EASE(data, lam=500.0),
    "ALS (64 factors)": lambda data: Factors(data, kind="als", factors=64, regularization=0.1),
    "BPR (64 factors)": lambda data: Factors(data, kind="bpr", factors=64, learning_rate=0.05),
    "item-kNN, BM25 (100 neighbours)": lambda data: BM25KNN(data, neighbours=100),
    "next-item transitions": lambda data: Transitions(data, window=3, recent=5),
}


def rss_kb(field: str) -> int:
    kb = status_kb(field)
    if kb is None:
        raise SystemExit(f"no {field} in /proc/self/status (this bench reads Linux's process status)")
    return kb


def kept_bytes(model, shared) -> int:
    """Bytes of the arrays a fitted model scores from (dense or sparse), beyond the positive
    matrix `shared` that every model reads."""
    total = 0
    for value in vars(model).values():
        if value is shared:
            continue
        if isinstance(value, np.ndarray):
            total += value.nbytes
        elif hasattr(value, "data") and hasattr(value, "indptr"):  # scipy sparse (CSR/CSC)
            total += value.data.nbytes + value.indices.nbytes + value.indptr.nbytes
    return total


def top_100(model, liked: list[str], seen: set[str]) -> list:
    if isinstance(model, CooccurrenceIndex):  # its top-k, as retrieval asks for it
        return model.similar(liked, 100, exclude=seen)
    return model.top(liked, 100, exclude=seen)


def measure(name: str, rows: list[tuple], histories: list[tuple[list[str], set[str]]], out) -> None:
    data = PositiveMatrix(rows)
    before = rss_kb("VmRSS")
    t = time.perf_counter()
    model = MODELS[name](data)
    fit_s = time.perf_counter() - t
    peak_added_mb = (rss_kb("VmHWM") - before) / 1024
    top_100(model, *histories[0])  # first call: lazy setup (BLAS, caches) off the clock
    ms = []
    for liked, seen in histories:
        t = time.perf_counter()
        top_100(model, liked, seen)
        ms.append((time.perf_counter() - t) * 1000)
    out.put({"name": name, "fit_s": fit_s, "peak_added_mb": peak_added_mb, "kept_mb": kept_bytes(model, data.matrix) / 2**20,
             "p50_ms": statistics.median(ms), "p95_ms": sorted(ms)[int(0.95 * (len(ms) - 1))]})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    store = CatalogStore(Path(load_settings().data_dir) / "catalog.sqlite")
    rows = store.all_interactions()
    by_user: dict[str, list[tuple]] = {}
    for row in rows:
        by_user.setdefault(row[0], []).append(row)
    users = random.Random(args.seed).sample(sorted(by_user), min(args.users, len(by_user)))
    histories = []
    for u in users:
        events = sorted(by_user[u], key=lambda r: r[3] or 0, reverse=True)
        histories.append(([r[1] for r in events if r[2] is None or r[2] >= 4.0], {r[1] for r in events}))
    data = PositiveMatrix(rows)
    print(f"{len(rows):,} interactions, {data.matrix.nnz:,} positive, {len(data):,} liked items, "
          f"{len(histories)} users scored; each model in its own process")
    ctx = multiprocessing.get_context("spawn")
    results = []
    for name in MODELS:
        queue = ctx.Queue()
        proc = ctx.Process(target=measure, args=(name, rows, histories, queue))
        proc.start()
        results.append(queue.get())
        proc.join()
    base = results[0]
    print("| model | fit (s) | peak memory added by the fit (MB) | kept for scoring, beyond the shared matrix (MB) "
          "| score + top 100, p50 (ms) | p95 (ms) | p50 ÷ item-kNN |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['name']} | {r['fit_s']:.2f} | {r['peak_added_mb']:.0f} "
              f"| {r['kept_mb']:.0f} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} | {r['p50_ms'] / base['p50_ms']:.2f} |")


if __name__ == "__main__":
    main()
