"""One request's shared state. The history is sorted once; items and vectors are fetched
once each, whichever stage asks first. Stages read it and return values; the memos below
are its only mutable part."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property

import numpy as np
from pydantic import ValidationError

from agent.errors import InputError
from agent.pipeline.profile import LIKE_THRESHOLD, is_positive, newest_first
from agent.retrieval.classic import ClassicSignals
from agent.retrieval.collaborative import CooccurrenceIndex
from agent.store import CatalogStore
from agent.types import HistoryEvent, Item, RatingScale

PROFILE_EVENTS = 500  # most recent events a profile is built from (all count as seen)


class RequestContext:
    def __init__(self, history: list[HistoryEvent], store: CatalogStore, index, collab: CooccurrenceIndex,
                 like_threshold: float = LIKE_THRESHOLD, classic: ClassicSignals | None = None):
        self.history = newest_first(history)
        self.seen = {e.item_id for e in history}
        self.store, self.index, self.collab, self.like_threshold = store, index, collab, like_threshold
        self.classic = classic
        self.not_reasons: set[str] = set()  # liked items never named as a reason (a chat's exclusions)
        self._items: dict[str, Item | None] = {}
        self._vectors: dict[str, np.ndarray | None] = {}

    def items(self, ids: Iterable[str]) -> dict[str, Item]:
        """The catalog items among `ids`, in their order (unknown ids left out)."""
        return _memoised(self._items, ids, self.store.get_items)

    def vectors(self, ids: Iterable[str]) -> dict[str, np.ndarray]:
        """The stored embeddings among `ids`, in their order (ids without one left out)."""
        return _memoised(self._vectors, ids, self.index.embeddings)

    def is_positive(self, event: HistoryEvent) -> bool:
        return is_positive(event, self.like_threshold)

    @cached_property
    def recent(self) -> list[HistoryEvent]:
        """The events a profile is built from: the latest PROFILE_EVENTS."""
        return self.history[:PROFILE_EVENTS]

    @cached_property
    def positives(self) -> list[str]:
        """Liked item ids among the recent events (known items only), newest first."""
        known = self.items(e.item_id for e in self.recent)
        return [e.item_id for e in self.recent if self.is_positive(e) and e.item_id in known]

    @cached_property
    def all_liked_events(self) -> list[HistoryEvent]:
        """Every positive event, newest first: what counts of the person's likes are taken over."""
        return [e for e in self.history if self.is_positive(e)]

    @cached_property
    def liked_events(self) -> list[HistoryEvent]:
        """The latest PROFILE_EVENTS positive events: the titles explanations link items to."""
        return self.all_liked_events[:PROFILE_EVENTS]


def _memoised(memo: dict, ids: Iterable[str], fetch) -> dict:
    """`fetch(missing ids) -> {id: value}` for the ids not in `memo` yet (a miss is kept as None)."""
    ids = list(dict.fromkeys(ids))
    missing = [i for i in ids if i not in memo]
    if missing:
        found = fetch(missing)
        memo.update({i: found.get(i) for i in missing})
    return {i: memo[i] for i in ids if memo[i] is not None}


def checked_history(history: Iterable[HistoryEvent | dict], store: CatalogStore, max_events: int,
                    scale: RatingScale = RatingScale()) -> tuple[list[HistoryEvent], list[str]]:
    """An inline history's events, validated; unknown item ids dropped with a warning (all
    unknown, or a bad entry, is an InputError that says what to send)."""
    events = []
    for n, h in enumerate(history):
        try:
            events.append(h if isinstance(h, HistoryEvent) else HistoryEvent.model_validate(h))
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "entry"
            raise InputError(f"history entry {n}: {where}: {first['msg']} "
                             "(expected {item_id, rating?, signal?: like|dislike|click|seen, timestamp?})") from None
    for n, e in enumerate(events):
        try:
            scale.check(e.rating)
        except ValueError as err:
            raise InputError(f"history entry {n}: {err}") from None
    if len(events) > max_events:
        raise InputError(f"history has {len(events)} events; the limit is {max_events}: send the most recent ones")
    ids = {e.item_id for e in events}
    unknown = sorted(ids - set(store.get_items(ids))) if ids else []
    if unknown and len(unknown) == len(ids):
        raise InputError(f"none of the history's item ids are in the catalog ({', '.join(unknown[:5])}"
                         f"{'…' if len(unknown) > 5 else ''}): ingest the catalog or fix the ids")
    if not unknown:
        return events, []
    return ([e for e in events if e.item_id not in unknown],
            [f"ignored {len(unknown)} unknown item id(s): {', '.join(unknown[:5])}"])
