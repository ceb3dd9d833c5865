"""The learned order: LambdaMART (LightGBM) over the fusion's signals and what the person's
liked items say about genres, years and tags.

`learned_features` is the one place the feature matrix is made, for the eval's fit and for a
request alike; `LearnedRanker` holds a fitted booster, saved as LightGBM's text model with the
feature names beside it, so that a saved ranker reloads to identical scores; `fit_lambdamart`
fits one on labelled lists, for the eval (evals/ltr.py) and for the item models' fit
(learned_fit.py) alike."""

from __future__ import annotations

import itertools
import json
import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent.pipeline.order import FEATURES, standardise
from agent.types import Item, item_year

def ranker_path(data_dir) -> Path:
    """Where the product reads its learned ranker (`candidate_order: ltr`)."""
    return Path(data_dir) / "ranker" / "ltr.txt"


# LambdaMART's search: small trees and strong regularisation (a few hundred lists, one relevant item each)
GRID = {"num_leaves": (7, 15, 31), "min_child_samples": (20, 60), "learning_rate": (0.05,)}
MAX_TREES = 600
CONTENT = ("genre_match", "genre_match_max", "year", "year_gap", "tag_overlap", "history", "liked")
LEARNED_FEATURES = (*FEATURES, *(f"{f}_z" for f in FEATURES), *CONTENT)


@dataclass(frozen=True)
class Taste:
    """What a person's liked items say, computed once per request: the share of liked items in
    each genre, their median year, their tags; the history's length and the liked count."""
    genre_share: dict[str, float]
    median_year: float | None
    tags: frozenset[str]
    history: int
    liked: int

    @classmethod
    def of(cls, liked: Sequence[Item], history: int) -> Taste:
        genres = Counter(g for item in liked for g in set(item.categories))
        years = [y for y in (item_year(item.title) for item in liked) if y is not None]
        return cls(genre_share={g: n / len(liked) for g, n in genres.items()} if liked else {},
                   median_year=float(statistics.median(years)) if years else None,
                   tags=frozenset(t.lower() for item in liked for t in item.tags),
                   history=history, liked=len(liked))


def learned_features(raw: np.ndarray, items: Sequence[Item | None], taste: Taste) -> np.ndarray:
    """(items × LEARNED_FEATURES): the fusion's raw signals (`raw`, agent/pipeline/order.py
    `raw_features`), the same standardised within the list, and content matches. Unknown values
    are NaN (LightGBM routes them), never a made-up 0."""
    rows = []
    for item in items:
        if item is None:
            rows.append([np.nan] * len(CONTENT))
            continue
        shares = [taste.genre_share.get(g, 0.0) for g in item.categories]
        year = item_year(item.title)
        rows.append([
            float(np.mean(shares)) if shares else np.nan,
            max(shares) if shares else np.nan,
            float(year) if year is not None else np.nan,
            abs(year - taste.median_year) if year is not None and taste.median_year is not None else np.nan,
            float(sum(t.lower() in taste.tags for t in item.tags)),
            float(taste.history),
            float(taste.liked),
        ])
    content = np.array(rows, dtype=float).reshape(len(items), len(CONTENT))
    return np.hstack([raw, standardise(raw), content])


def lightgbm_error() -> type[Exception]:
    """What LightGBM raises on an unreadable model file (imported only where a ranker is read)."""
    from lightgbm.basic import LightGBMError

    return LightGBMError


class LearnedRanker:
    """A fitted LambdaMART booster and the feature names it was fitted on."""

    def __init__(self, booster, features: Sequence[str] = LEARNED_FEATURES, meta: dict | None = None):
        self.booster = booster
        self.features = tuple(features)
        self.meta = dict(meta or {})

    def scores(self, x: np.ndarray) -> np.ndarray:
        if x.shape[1] != len(self.features):
            raise ValueError(f"the ranker was fitted on {len(self.features)} features, got {x.shape[1]}")
        return self.booster.predict(x, num_threads=1) if len(x) else np.zeros(0)

    def order(self, ids: Sequence[str], x: np.ndarray) -> list[str]:
        """`ids` best first; ties keep the given order."""
        return [ids[i] for i in np.argsort(-self.scores(x), kind="stable")]

    def importance(self) -> dict[str, float]:
        """Each feature's share of the total split gain."""
        gain = self.booster.feature_importance(importance_type="gain")
        total = float(gain.sum()) or 1.0
        return {f: round(float(g) / total, 4) for f, g in zip(self.features, gain)}

    def save(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.with_suffix(".json").write_text(json.dumps(
            {"features": list(self.features), "meta": self.meta}, indent=2) + "\n")
        self.booster.save_model(str(path))

    @classmethod
    def load(cls, path: Path) -> LearnedRanker:
        import lightgbm

        path = Path(path)
        info = json.loads(path.with_suffix(".json").read_text())
        return cls(lightgbm.Booster(model_file=str(path)), info["features"], info.get("meta"))


def _dataset(lists):
    x = np.vstack([f for f, _ in lists])
    y = np.concatenate([np.eye(1, len(f), t, dtype=float)[0] for f, t in lists])
    return x, y, [len(f) for f, _ in lists]


def ndcg_of_rank(rank: np.ndarray, k: int) -> np.ndarray:
    """NDCG@k of one relevant item at 0-based `rank` (fractional for ties)."""
    return np.where(rank < k, 1.0 / np.log2(rank + 2.0), 0.0)


def mean_ndcg_by(lists: Sequence[tuple[np.ndarray, int | None]], score, k: int) -> float:
    """Mean NDCG@k of each list's held-out item under `score(features)`, ties at their expected
    rank; a list without its item scores 0."""
    values = []
    for x, target in lists:
        if target is None or len(x) == 0:
            values.append(0.0)
            continue
        s = score(x)
        above, ties = (s > s[target]).sum(), (s == s[target]).sum() - 1
        values.append(float(ndcg_of_rank(np.array(above + ties / 2.0), k)))
    return float(np.mean(values)) if values else math.nan


def mean_ndcg_of(ranker: LearnedRanker, lists, k: int) -> float:
    """Mean NDCG@k of the held-out item under the ranker's scores (ties at their expected rank)."""
    return mean_ndcg_by(lists, ranker.scores, k)


def fit_lambdamart(lists, k: int, seed: int = 0, folds: int = 5, grid: dict | None = None,
                   max_trees: int = MAX_TREES, owners: list[str] | None = None) -> LearnedRanker:
    """LambdaMART on `lists` [(features, index of the relevant item)]: each grid point is
    cross-validated over `folds` seeded folds (early stopping on the held-out fold's NDCG@k); the
    best mean NDCG@k wins, and the ranker is refitted on all lists with that grid point and the
    median of its folds' best tree counts. `owners` (the person of each list) keeps a person's
    lists in one fold; without it each list is its own."""
    import lightgbm

    grid = grid or GRID
    owners = owners or [str(i) for i in range(len(lists))]
    people = sorted(set(owners))
    fold_of = {p: n % folds for n, p in enumerate(np.random.default_rng(seed).permutation(people))}
    parts = [np.array([i for i, o in enumerate(owners) if fold_of[o] == f]) for f in range(folds)]
    base = {"objective": "lambdarank", "metric": "ndcg", "eval_at": [k], "verbosity": -1, "seed": seed,
            "deterministic": True, "force_row_wise": True,
            "num_threads": 1, "feature_pre_filter": False}  # OpenMP threads spin on a busy 2-core machine: 40x slower

    def train(params, rows, rounds, valid=None):
        x, y, groups = _dataset(rows)
        data = lightgbm.Dataset(x, y, group=groups, feature_name=list(LEARNED_FEATURES))
        if valid is None:
            return lightgbm.train(params, data, num_boost_round=rounds)
        vx, vy, vgroups = _dataset(valid)
        return lightgbm.train(params, data, num_boost_round=rounds,
                              valid_sets=[lightgbm.Dataset(vx, vy, group=vgroups, reference=data)],
                              callbacks=[lightgbm.early_stopping(50, verbose=False)])

    tried = []
    for values in itertools.product(*grid.values()):
        params = {**base, **dict(zip(grid, values))}
        scores, trees = [], []
        for part in parts:
            held = set(part.tolist())
            valid = [lists[i] for i in part]
            booster = train(params, [lists[i] for i in range(len(lists)) if i not in held], max_trees, valid)
            best = max(1, booster.best_iteration)
            model = LearnedRanker(lightgbm.Booster(model_str=booster.model_to_string(num_iteration=best)))
            scores.append(mean_ndcg_of(model, valid, k))
            trees.append(best)
        tried.append({"params": dict(zip(grid, values)), "trees": int(np.median(trees)),
                      "cv_ndcg": round(float(np.mean(scores)), 6)})
    chosen = max(tried, key=lambda t: (t["cv_ndcg"], -t["trees"]))
    booster = train({**base, **chosen["params"]}, lists, chosen["trees"])
    return LearnedRanker(booster, LEARNED_FEATURES, meta={
        "params": {**chosen["params"], "trees": chosen["trees"]}, "cv_ndcg": chosen["cv_ndcg"], "folds": folds,
        "lists": len(lists), "tried": tried})
