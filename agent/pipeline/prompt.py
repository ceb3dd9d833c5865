"""The prompt stage: a prompt's typed inputs from the request (redacted: titles, categories
and tags, never ids of people or personal fields), trimmed until it fits the model's context."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from agent.backends.base import ChatBackend
from agent.errors import BackendError
from agent.pipeline.context import RequestContext
from agent.pipeline.grounding import candidate_labels
from agent.privacy import Redactor
from agent.types import Candidate, Item, ProfileSummary
from prompts.inputs import (PromptDemo, PromptEvent, PromptItem, PromptProfile, RankInputs, RerankInputs, ScoreInputs,
                            as_data)
from prompts.registry import PromptRegistry, RenderedPrompt

# How much of each item the prompt shows, from generous to bare, tried in order until the
# prompt fits the context window: (chars of item text, tags per item, liked items shown).
TRIM_LEVELS = [(200, 5, 10), (80, 3, 6), (0, 2, 4), (0, 0, 2)]
RANK_HISTORY = 8  # history items a rank prompt shows at most
COMPACT_HISTORY = (32, 20, 10, 4)  # liked titles (no genres) a compact prompt shows, per trim level


@dataclass(frozen=True)
class FittedPrompt:
    rendered: RenderedPrompt
    shown: list[Candidate]  # the candidates it shows (fewer than given when trimmed)
    warning: str | None = None  # set when it had to be trimmed


class PromptBuilder:
    """Renders prompts for one request."""

    def __init__(self, ctx: RequestContext, registry: PromptRegistry, redactor: Redactor):
        self.ctx, self.registry, self.redactor = ctx, registry, redactor

    def fit(self, ref: str, profile: ProfileSummary, candidates: list[Candidate], k: int, max_tokens: int,
            backend: ChatBackend) -> FittedPrompt:
        """Render `ref`, trimming item text, then history, then candidates, until the prompt
        plus `max_tokens` of completion fits the backend's context window."""
        context_window, count_tokens = backend.context_window, backend.count_tokens
        limit = context_window - max_tokens - 64
        shown = list(candidates)
        while True:
            for level in range(len(TRIM_LEVELS)):
                rendered = self.registry.render(ref, self.inputs(ref, profile, shown, k, level))
                if count_tokens(rendered.messages) <= limit:
                    trimmed = level or len(shown) < len(candidates)
                    return FittedPrompt(rendered, shown, f"prompt trimmed to fit the {context_window}-token "
                                        f"context (level {level}, {len(shown)} candidates)" if trimmed else None)
            if len(shown) <= k:
                raise BackendError(f"the prompt does not fit the model's {context_window}-token context even "
                                   "when trimmed; use a model with a larger context or a smaller k", kind="context_window")
            shown = shown[: max(k, len(shown) * 3 // 4)]

    def inputs(self, ref: str, profile: ProfileSummary, candidates: list[Candidate], k: int, level: int = 0):
        """The typed inputs of prompt `ref` at trim `level` (0 = the most generous)."""
        text_chars, n_tags, n_liked = TRIM_LEVELS[level]
        profile = self.redactor.profile(profile)
        candidates = [c.model_copy(update={"item": self.redactor.item(c.item)}) for c in candidates]
        liked_titles = {r.item_id: r.title for r in profile.liked}
        model = self.registry.input_model(ref)
        if model not in (RankInputs, ScoreInputs):
            return RerankInputs(profile=prompt_profile(profile, n_liked), k=k,
                                candidates=[prompt_item(c.item, text_chars, n_tags, liked_titles.get(c.because or ""))
                                            for c in candidates])
        # rank prompts: compact items under letters (no ids, no tags, two categories), a
        # shorter history: prefill time is most of a small model's answer time
        n_liked = min(n_liked, RANK_HISTORY)
        items = [prompt_item(c.item, 0, 0, n_categories=2).model_copy(update={"id": label})
                 for c, label in zip(candidates, candidate_labels(len(candidates)))]
        used = self.registry.variables(ref)  # history views only the template shows
        recent = self.recent_events(n_liked) if "recent" in used else []
        demos = self.demos(n=2 if level < 2 else 1) if "demos" in used else []
        if model is ScoreInputs:
            titles = self.liked_titles(COMPACT_HISTORY[level]) if "liked_titles" in used else []
            return ScoreInputs(candidates=items, profile=prompt_profile(profile, n_liked), recent=recent,
                               demos=demos, liked_titles=titles)
        return RankInputs(candidates=items, k=k, profile=prompt_profile(profile, n_liked), recent=recent, demos=demos)

    def _redacted(self, ids) -> dict[str, Item]:
        return {i: self.redactor.item(it) for i, it in self.ctx.items(ids).items()}

    def liked_titles(self, n: int) -> list[str]:
        """Titles of the latest `n` liked items, newest first (a longer history than the
        profile's, for prompts that show titles only)."""
        liked = [e for e in self.ctx.history if self.ctx.is_positive(e)][:n]
        known = self._redacted(e.item_id for e in liked)
        return [as_data(known[e.item_id].title, 80) for e in liked if e.item_id in known]

    def recent_events(self, n: int) -> list[PromptEvent]:
        """The latest `n` interactions, newest first, with their ratings."""
        recent = self.ctx.history[:n]
        known = self._redacted(e.item_id for e in recent)
        return [PromptEvent(title=as_data(known[e.item_id].title, 120),
                            categories=[as_data(c, 40) for c in known[e.item_id].categories[:3]],
                            rating=e.rating) for e in recent if e.item_id in known]

    def demos(self, n: int = 2, options: int = 3) -> list[PromptDemo]:
        """In-context examples from the person's own ratings: their most recent top-rated
        items, each shown beside items they rated lower."""
        rated = [e for e in self.ctx.history if e.rating is not None]
        best = [e for e in rated if self.ctx.is_positive(e)][:n]
        items = self._redacted(e.item_id for e in rated)
        out = []
        for d, top in enumerate(best):
            lower = [e for e in rated if e.rating < top.rating and e.item_id in items][d * (options - 1):(d + 1) * (options - 1)]
            if not lower or top.item_id not in items:
                continue
            titles = [items[e.item_id].title for e in lower]
            titles.insert(hash_position(top.item_id, len(titles) + 1), items[top.item_id].title)
            out.append(PromptDemo(options=[as_data(t, 120) for t in titles], chosen=as_data(items[top.item_id].title, 120)))
        return out


def hash_position(key: str, n: int) -> int:
    """A stable pseudo-random position in range(n), so a demo's answer is not always first."""
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % n


def prompt_item(item: Item, text_chars: int, n_tags: int, because: str | None = None,
                n_categories: int = 6) -> PromptItem:
    return PromptItem(id=item.item_id, title=as_data(item.title, 120),
                      categories=[as_data(c, 40) for c in item.categories[:n_categories]],
                      tags=[as_data(t, 40) for t in item.tags[:n_tags]],
                      text=as_data(item.text, text_chars) if text_chars else "",
                      because=as_data(because, 120) if because else "")


def prompt_profile(profile: ProfileSummary, n_liked: int) -> PromptProfile:
    """What the prompt may know about the person: titles and categories, never ids or personal fields."""
    def items(refs):
        return [PromptItem(id="", title=as_data(r.title, 120), categories=r.categories[:4]) for r in refs]

    return PromptProfile(liked=items(profile.liked[:n_liked]), disliked=items(profile.disliked[:3]),
                         top_categories=profile.top_categories, avoided_categories=profile.avoided_categories,
                         top_tags=[as_data(t, 40) for t in profile.top_tags], narrative=profile.narrative)
