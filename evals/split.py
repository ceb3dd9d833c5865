"""Temporal leave-one-out: per user, the last positive interaction is held out and only what
came strictly before it is used, for that user's profile, candidates and the collaborative
statistics built from everyone's training rows."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from agent.types import HistoryEvent, Interaction


@dataclass
class Case:
    user: str
    target: str
    target_ts: int
    history: list[HistoryEvent]  # strictly before target_ts, oldest first
    seen: set[str] = field(default_factory=set)  # every item the user ever interacted with

    def positives(self, threshold: float) -> list[str]:
        """The history's liked items, most recent first."""
        return [e.item_id for e in reversed(self.history) if is_positive_rating(e.rating, threshold)]


@dataclass
class Split:
    cases: dict[str, Case]  # evaluable users
    train: list[tuple[str, str, float | None, int | None]]  # rows the collaborative index may use
    excluded: dict[str, int]  # reason -> number of users not evaluated


def is_positive_rating(rating: float | None, threshold: float) -> bool:
    return rating is None or rating >= threshold


def leave_last_positive_out(rows: list[Interaction], positive_rating: float, min_history: int) -> Split:
    """Rows without a timestamp are ordered by their position in the file. Events at the held-out
    timestamp (ties, e.g. a batch of ratings entered together) are dropped with it."""
    by_user: dict[str, list[tuple[int, int, Interaction]]] = defaultdict(list)
    for pos, r in enumerate(rows):
        by_user[r.user_id].append((r.timestamp if r.timestamp is not None else pos, pos, r))
    cases, train, excluded = {}, [], defaultdict(int)
    for user, events in by_user.items():
        events.sort(key=lambda e: (e[0], e[1]))
        positives = [e for e in events if is_positive_rating(e[2].rating, positive_rating)]
        if not positives:
            excluded["no positive interaction"] += 1
            train.extend(_row(e) for e in events)
            continue
        t_ts, _, target = positives[-1]
        before = [e for e in events if e[0] < t_ts]
        train.extend(_row(e) for e in before)  # nothing at or after the held-out time
        if len(before) < min_history:
            excluded[f"fewer than {min_history} interactions before the held-out one"] += 1
            continue
        cases[user] = Case(user=user, target=target.item_id, target_ts=t_ts,
                           history=[HistoryEvent(item_id=e[2].item_id, rating=e[2].rating, timestamp=e[0])
                                    for e in before],
                           seen={e[2].item_id for e in events})
    return Split(cases=cases, train=train, excluded=dict(sorted(excluded.items())))


def validation_split(split: Split, positive_rating: float, min_history: int) -> Split:
    """The same rule applied again to `split`'s training rows: held-out items from the
    training period, for fitting without ever seeing the evaluated users' held-out items."""
    rows = [Interaction(user_id=u, item_id=i, rating=r, timestamp=t) for u, i, r, t in split.train]
    return leave_last_positive_out(rows, positive_rating, min_history)


def sample_users(users: list[str], n: int, seed: int) -> list[str]:
    """A seeded permutation's first n: the same seed gives the same users, and a smaller n
    gives a subset of a larger one."""
    order = sorted(users)
    perm = np.random.default_rng(seed).permutation(len(order))
    return [order[i] for i in perm[:n]]


def user_rng(seed: int, user: str, purpose: str) -> np.random.Generator:
    """A generator that depends only on (seed, user, purpose): adding users changes nothing else."""
    digest = hashlib.sha256(f"{seed}\0{user}\0{purpose}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _row(e) -> tuple:
    r = e[2]
    return (r.user_id, r.item_id, r.rating, e[0])
