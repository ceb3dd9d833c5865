"""A user's taste, summarised from their history deterministically (no LLM, no ids)."""

from __future__ import annotations

from collections import Counter

from agent.types import HistoryEvent, Item, ItemRef, ProfileSummary

LIKE_THRESHOLD = 4.0
DISLIKE_THRESHOLD = 2.0


def is_positive(event: HistoryEvent, like_threshold: float = LIKE_THRESHOLD) -> bool:
    if event.signal is not None:
        return event.signal in ("like", "click")
    return event.rating is None or event.rating >= like_threshold


def is_negative(event: HistoryEvent, dislike_threshold: float = DISLIKE_THRESHOLD) -> bool:
    if event.signal is not None:
        return event.signal == "dislike"
    return event.rating is not None and event.rating <= dislike_threshold


def newest_first(history: list[HistoryEvent]) -> list[HistoryEvent]:
    """Events newest first (events without a timestamp last, in their given order)."""
    return sorted(history, key=lambda e: e.timestamp or 0, reverse=True)


def build_profile(history: list[HistoryEvent], items: dict[str, Item], max_liked: int = 10,
                  like_threshold: float = LIKE_THRESHOLD) -> ProfileSummary:
    """Liked and disliked items (most recent first), category shares weighted by rating,
    top tags of liked items. Events whose item is unknown are skipped."""
    known = [e for e in history if e.item_id in items]
    ordered = newest_first(known)
    liked = [e for e in ordered if is_positive(e, like_threshold)]
    if not liked:  # nobody rated anything highly: their best-rated items still say something
        rated = [e for e in ordered if e.rating is not None and not is_negative(e)]
        cut = max((e.rating for e in rated), default=None)
        liked = [e for e in rated if e.rating == cut]
    disliked = [e for e in ordered if is_negative(e)]

    cat_score: Counter[str] = Counter()
    for e in liked:
        for c in items[e.item_id].categories:
            cat_score[c] += 1.0
    avoid: Counter[str] = Counter()
    for e in disliked:
        for c in items[e.item_id].categories:
            avoid[c] += 1.0
    avoided = [c for c, n in avoid.most_common(5) if n > cat_score.get(c, 0)]
    tags: Counter[str] = Counter(t for e in liked for t in items[e.item_id].tags[:5])

    def ref(e: HistoryEvent) -> ItemRef:
        it = items[e.item_id]
        return ItemRef(item_id=it.item_id, title=it.title, categories=it.categories)

    return ProfileSummary(
        n_interactions=len(known),
        liked=[ref(e) for e in liked[:max_liked]],
        disliked=[ref(e) for e in disliked[:5]],
        top_categories=[c for c, _ in cat_score.most_common(5)],
        avoided_categories=avoided,
        top_tags=[t for t, _ in tags.most_common(8)],
        recent=[ref(e) for e in ordered[:5]],
    )
