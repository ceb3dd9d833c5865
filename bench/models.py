"""Compare the bundled models as the embedded default: quality on held-out interactions and
latency, through the whole pipeline, with the no-LLM pipeline as the baseline.

For each sampled user the last positive interaction is held out; the history before it is the
input, and the collaborative index is built without any held-out interaction. Prints one table.
    uv run python bench/models.py --users 6 --models smollm2-135m,qwen2.5-coder-0.5b
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import time

from agent.config import load_settings
from agent.bundled_models import MODELS, is_installed
from agent.pipeline.profile import is_positive
from agent.recommender import Recommender
from agent.retrieval.collaborative import CooccurrenceIndex
from agent.types import HistoryEvent


def holdout_split(rows, n_users: int, seed: int):
    by_user: dict[str, list] = {}
    for u, i, r, t in rows:
        by_user.setdefault(u, []).append(HistoryEvent(item_id=i, rating=r, timestamp=t))
    users = sorted(u for u, ev in by_user.items() if sum(is_positive(e) for e in ev) >= 5)
    random.Random(seed).shuffle(users)
    cases = []
    for u in users[:n_users]:
        ev = sorted(by_user[u], key=lambda e: e.timestamp or 0)
        target = [e for e in ev if is_positive(e)][-1]
        cases.append((u, [e for e in ev if (e.timestamp or 0) < (target.timestamp or 0)], target))
    return cases


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=6)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--models", default=",".join(MODELS))
    args = ap.parse_args()
    settings = load_settings()
    base = Recommender(settings)
    rows = base.store.all_interactions()
    cases = holdout_split(rows, args.users, args.seed)
    held = {(u, t.item_id) for u, _, t in cases}
    cutoff = {u: t.timestamp for u, _, t in cases}
    train = [r for r in rows if (r[0], r[1]) not in held and not (r[0] in cutoff and (r[3] or 0) >= (cutoff[r[0]] or 0))]
    collab = CooccurrenceIndex(train)

    arms = [("no-LLM pipeline", None)] + [(m, m) for m in args.models.split(",") if is_installed(MODELS[m])]
    print(f"{len(cases)} users, k={args.k}, held-out = last positive interaction\n")
    print("| variant | HR@10 | NDCG@10 | items from LLM | LLM explanations kept | latency p50 (s) |")
    print("|---|---|---|---|---|---|")
    for name, model in arms:
        rec = Recommender(load_settings(model=model) if model else settings, collaborative=collab,
                          store=base.store, index=base.index)
        hits, ndcg, from_llm, kept, lat = [], [], [], [], []
        for _, history, target in cases:
            t = time.perf_counter()
            r = rec.recommend_for_history(history, k=args.k, use_llm=model is not None)
            lat.append(time.perf_counter() - t)
            ids = [i.item_id for i in r.items]
            hits.append(target.item_id in ids)
            ndcg.append(1 / math.log2(ids.index(target.item_id) + 2) if target.item_id in ids else 0.0)
            llm_items = [i for i in r.items if i.source == "llm"]
            from_llm.append(len(llm_items) / len(r.items))
            if llm_items:
                kept.append(sum(i.explanation_source == "llm" for i in llm_items) / len(llm_items))
        rec.close()
        print(f"| {name} | {statistics.mean(hits):.2f} | {statistics.mean(ndcg):.3f} | "
              f"{statistics.mean(from_llm):.0%} | {statistics.mean(kept) if kept else 0:.0%} | "
              f"{statistics.median(lat):.1f} |", flush=True)


if __name__ == "__main__":
    main()
