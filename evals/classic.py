"""The classic baselines (EASE, ALS, BPR, BM25 item-kNN, next-item transitions) in an eval
run: each model's hyper-parameters are chosen on the validation split (held-out items from
the training period, never the evaluated users' held-out items) by full-ranking NDCG@k, kept
in the run folder, and the model is then fitted on the training rows."""

from __future__ import annotations

import hashlib
import json
import time
from typing import TYPE_CHECKING

import numpy as np

from agent.retrieval.classic import EASE, BM25KNN, Factors, ItemScorer, PositiveMatrix, Transitions
from evals.metrics import ndcg_at_k
from evals.split import sample_users, validation_split

if TYPE_CHECKING:
    from evals.runner import SuiteRun

GRIDS: dict[str, list[dict]] = {
    "ease": [{"lam": lam} for lam in (50.0, 200.0, 500.0, 1000.0)],
    "als": [{"factors": f, "regularization": r} for f in (32, 64, 128) for r in (0.01, 0.1)],
    "bpr": [{"factors": f, "learning_rate": lr} for f in (32, 64) for lr in (0.01, 0.05)],
    "bm25": [{"neighbours": n} for n in (50, 100, 200)],
    "sequential": [{"window": w, "recent": r} for w in (1, 3) for r in (1, 3, 5)],
}
VALIDATION_USERS = 200


def build(kind: str, data: PositiveMatrix, params: dict, threads: int = 1) -> ItemScorer:
    if kind == "ease":
        return EASE(data, **params)
    if kind == "bm25":
        return BM25KNN(data, threads=threads, **params)
    if kind == "sequential":
        return Transitions(data, **params)
    if kind in ("als", "bpr"):  # BPR on one thread: its updates race across threads (two fits differ), and a rerun must reproduce the summary
        return Factors(data, kind=kind, threads=1 if kind == "bpr" else threads, **params)
    raise ValueError(f"unknown classic model {kind!r}")


def fitted_params(run: SuiteRun, kind: str) -> dict:
    """The grid point with the best validation NDCG@k (read from classic-fits/ when chosen before)."""
    s = run.suite
    key = {"kind": kind, "grid": GRIDS[kind], "data": s.data_fingerprint(), "k": s.max_k,
           "split": s.split.model_dump(), "seed": s.users.seed, "users": VALIDATION_USERS}
    path = run.out / "classic-fits" / f"{kind}-{hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]}.json"
    if path.exists():
        return json.loads(path.read_text())["params"]
    validation = validation_split(run.split, s.split.positive_rating, s.split.min_history)
    users = sample_users(list(validation.cases), VALIDATION_USERS, s.users.seed + 1)
    data = PositiveMatrix(validation.train, s.split.positive_rating)
    tried = []
    for params in GRIDS[kind]:
        t0 = time.perf_counter()
        model = build(kind, data, params, run.settings.threads)
        ndcg = []
        for u in users:
            case = validation.cases[u]
            seen = {e.item_id for e in case.history}
            ranking = [i for i, _ in model.top(case.positives(s.split.positive_rating), s.max_k, exclude=seen)]
            ndcg.append(ndcg_at_k(ranking, {case.target}, s.max_k))
        tried.append({"params": params, "validation_ndcg": round(float(np.mean(ndcg)), 6) if ndcg else 0.0,
                      "fit_s": round(time.perf_counter() - t0, 2)})
    best = max(tried, key=lambda t: t["validation_ndcg"])  # the first of equal bests
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"kind": kind, "params": best["params"], "validation_users": len(users),
                                "tried": tried}, indent=2) + "\n")
    return best["params"]
