"""The learned ranker fitted with the workspace's item models, from its own interactions: no eval
suite needed, refitted whenever the item models are (agent/parts.py, `candidate_order: ltr`).

Training lists are the product's own requests, replayed back in time. For a seeded sample of
people, each of their latest STEPS_BACK liked items is held out; the item models are fitted once
more on every row but those; then, per held-out item, the request the person would have made just
before it (their events before it) retrieves and scores its pool exactly as a live request does
(agent/pipeline/candidates.py, agent/pipeline/order.py), labelled 1 for the held-out item and 0
for the rest. A list whose pool misses the item teaches nothing and is left out. LambdaMART's
grid point and tree count come from 5-fold cross-validation over the people
(`fit_lambdamart`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from agent.pipeline.candidates import retrieve
from agent.pipeline.context import RequestContext
from agent.pipeline.learned import GRID, MAX_TREES, LearnedRanker, fit_lambdamart, mean_ndcg_by
from agent.pipeline.order import FEATURES, FusionWeights, fused_scores, request_features, scored_pool
from agent.types import HistoryEvent

log = logging.getLogger("recagent.fit")
PEOPLE = 600  # people sampled for training lists (each gives up to STEPS_BACK)
STEPS_BACK = 2  # held-out liked items per person: the latest, then the one before it
MIN_LIKED = 3  # liked items a person keeps before the held-out ones (a profile to retrieve from)
MIN_LISTS = 20  # fewer lists holding their item than this: no ranker


@dataclass(frozen=True)
class TrainingLists:
    lists: list[tuple[np.ndarray, int]]  # (features of a pool, index of the held-out item)
    owners: list[str]  # the person of each list (cross-validation keeps a person in one fold)
    people: int  # people sampled
    asked: int  # held-out items replayed (lists with and without their item)


def fit_workspace_ranker(rows: Callable[[], Iterable[tuple]], like_threshold: float, store, index, fit_models,
                         n: int, k: int = 10, people: int = PEOPLE, seed: int = 0, grid: dict | None = None,
                         max_trees: int = MAX_TREES, fusion: FusionWeights | None = None) -> LearnedRanker | None:
    """A ranker fitted on the lists `training_lists` builds; None (logged) when too few hold their item.
    `rows()` streams (user, item, rating, timestamp) afresh at each call; `fit_models(rows)` fits
    the item models (FittedModels.fit); `n` is the candidates a request retrieves. Its meta keeps
    the fusion's NDCG@k on the same lists (`fusion`'s weights) beside the ranker's cross-validated one,
    and whether the ranker beats it (`beats_fusion`: the product orders by it only then)."""
    got = training_lists(rows, like_threshold, store, index, fit_models, n, people, seed)
    if len(got.lists) < MIN_LISTS:
        log.warning("no learned ranker: %d of %d replayed requests retrieved their held-out item (at least %d "
                    "needed); requests are ordered by the fusion", len(got.lists), got.asked, MIN_LISTS)
        return None
    ranker = fit_lambdamart(got.lists, k, seed=seed, grid=grid or GRID, max_trees=max_trees, owners=got.owners)
    ranker.meta.update(source="workspace fit", people=got.people, replayed=got.asked, steps_back=STEPS_BACK,
                       candidates=n)
    if fusion is not None:
        raw = len(FEATURES)  # the learned features begin with the fusion's raw signals
        ranker.meta["fusion_ndcg"] = round(mean_ndcg_by(got.lists, lambda x: fused_scores(x[:, :raw], fusion), k), 6)
        ranker.meta["beats_fusion"] = ranker.meta["cv_ndcg"] > ranker.meta["fusion_ndcg"]
    log.log(logging.INFO if ranker.meta.get("beats_fusion", True) else logging.WARNING,
            "learned ranker fitted on %d lists from %d people: cross-validated NDCG@%d %.3f, the fusion on the same "
            "lists %s%s", len(got.lists), got.people, k, ranker.meta["cv_ndcg"], ranker.meta.get("fusion_ndcg"),
            "" if ranker.meta.get("beats_fusion", True) else ": no better, so requests are ordered by the fusion")
    return ranker


def training_lists(rows: Callable[[], Iterable[tuple]], like_threshold: float, store, index, fit_models,
                   n: int, people: int = PEOPLE, seed: int = 0) -> TrainingLists:
    """The replayed requests' lists (see the module's docstring)."""
    held = held_out_likes(rows(), like_threshold, people, seed)
    histories: dict[str, list[tuple]] = {u: [] for u in held}
    pairs = {(u, item) for u, items in held.items() for item in items}

    def without_held_out() -> Iterator[tuple]:  # one pass: the models' rows, and the sampled people's
        for row in rows():
            if row[0] in histories:
                histories[row[0]].append(row)
            if (row[0], row[1]) not in pairs:
                yield row

    models = fit_models(without_held_out())
    lists, owners, asked = [], [], 0
    for user, targets in held.items():
        events = sorted(histories[user], key=_when)  # stable: equal times keep their row order
        for target in targets:
            cut = next(i for i, r in enumerate(events) if r[1] == target)
            before = [HistoryEvent.model_construct(item_id=r[1], rating=r[2], timestamp=r[3]) for r in events[:cut]]
            ctx = RequestContext(before, store, index, models.cooccurrence, like_threshold, models.classic)
            if not ctx.positives:
                continue
            asked += 1
            _, ids, raw = scored_pool(ctx, retrieve(ctx, ctx.positives, n), ctx.positives, n)
            if target in ids and len(ids) > 1:
                lists.append((request_features(ctx, raw, ctx.positives, ids), ids.index(target)))
                owners.append(user)
    return TrainingLists(lists, owners, len(held), asked)


def held_out_likes(rows: Iterable[tuple], like_threshold: float, people: int, seed: int) -> dict[str, list[str]]:
    """For a seeded sample of up to `people` people with at least MIN_LIKED + STEPS_BACK liked
    items: their latest STEPS_BACK liked items, newest first (equal times: the later row is newer)."""
    latest: dict[str, list[tuple]] = {}  # user -> up to STEPS_BACK (time, row number, item), oldest first
    liked: dict[str, int] = {}
    for number, row in enumerate(rows):
        if row[2] is not None and row[2] < like_threshold:
            continue
        user = row[0]
        liked[user] = liked.get(user, 0) + 1
        kept = latest.setdefault(user, [])
        entry = (_when(row), number, row[1])
        if len(kept) < STEPS_BACK or entry > kept[0]:
            kept.append(entry)
            kept.sort()
            del kept[:-STEPS_BACK]
    eligible = sorted(u for u, c in liked.items() if c >= MIN_LIKED + STEPS_BACK)
    chosen = [eligible[i] for i in np.random.default_rng(seed).permutation(len(eligible))[:people]]
    return {u: [item for _, _, item in reversed(latest[u])] for u in chosen}


def _when(row: tuple) -> float:
    return row[3] if len(row) > 3 and row[3] is not None else 0.0
