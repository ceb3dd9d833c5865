"""The learned order: LambdaMART (LightGBM) over the fusion's signals and what the person's
liked items say about genres, years and tags.

`learned_features` is the one place the feature matrix is made, for the eval's fit and for a
request alike; `LearnedRanker` holds a fitted booster, saved as LightGBM's text model with the
feature names beside it, so that a saved ranker reloads to identical scores."""

from __future__ import annotations

import json
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
