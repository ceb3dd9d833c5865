"""The profile stage: a person's taste summarised from their history, deterministically
(no LLM, no ids), and optionally as an LLM-written narrative."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field

from agent.backends.base import ChatBackend, ChatRequest
from agent.errors import BackendError
from agent.pipeline.grounding import is_degenerate
from agent.store import CatalogStore
from agent.types import HistoryEvent, Item, ItemRef, ProfileSummary, Usage
from prompts.inputs import ProfileInputs, as_data
from prompts.registry import PromptRegistry

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


@dataclass
class Narrative:
    text: str | None  # None: keep the deterministic profile
    usage: Usage = field(default_factory=Usage)
    warning: str | None = None


def llm_narrative(backend: ChatBackend, registry: PromptRegistry, store: CatalogStore,
                  profile: ProfileSummary) -> Narrative:
    """An LLM-written taste summary (prompts/profile) of a redacted profile, cached by prompt and model."""
    from agent.pipeline.prompt import prompt_profile

    rendered = registry.render("profile@v1", ProfileInputs(profile=prompt_profile(profile, 10)))
    key = "profile:" + hashlib.sha256(json.dumps([rendered.messages, backend.model]).encode()).hexdigest()
    if (text := store.cache_get(key)) is not None:
        return Narrative(text)
    try:
        resp = backend.complete(ChatRequest(messages=rendered.messages, max_tokens=120))
    except BackendError as e:
        return Narrative(None, warning=f"LLM profile summary failed ({e.kind}); used the deterministic profile")
    text = as_data(resp.content, 400)
    if is_degenerate(text, min_words=5):
        return Narrative(None, resp.usage, "LLM profile summary was unusable; used the deterministic profile")
    store.cache_put(key, text)
    return Narrative(text, resp.usage)
