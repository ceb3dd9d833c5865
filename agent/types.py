"""Typed data that crosses the public API. All models forbid unknown fields."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Item(Strict):
    item_id: str
    title: str
    text: str = ""
    categories: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)


Signal = Literal["like", "dislike", "click", "seen"]


class HistoryEvent(Strict):
    """One interaction: an explicit rating, an implicit signal, or both."""

    item_id: str
    rating: float | None = None
    signal: Signal | None = None
    timestamp: int | None = None


class Interaction(Strict):
    user_id: str
    item_id: str
    rating: float | None = None
    timestamp: int | None = None


class ItemRef(Strict):
    item_id: str
    title: str
    categories: list[str] = Field(default_factory=list)


class ProfileSummary(Strict):
    """What the pipeline knows about a user's taste. Holds no user id or personal field."""

    n_interactions: int
    liked: list[ItemRef] = Field(default_factory=list, description="most recent first")
    disliked: list[ItemRef] = Field(default_factory=list)
    top_categories: list[str] = Field(default_factory=list)
    avoided_categories: list[str] = Field(default_factory=list)
    top_tags: list[str] = Field(default_factory=list)
    recent: list[ItemRef] = Field(default_factory=list, description="latest interactions")
    narrative: str | None = Field(None, description="LLM-written summary, when enabled")


class Candidate(Strict):
    item: Item
    scores: dict[str, float] = Field(default_factory=dict)
    sources: list[Literal["semantic", "collaborative", "popular"]] = Field(default_factory=list)
    because: str | None = Field(None, description="id of the liked item that led here")


class Usage(Strict):
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
        )


class Timing(Strict):
    retrieval_ms: float = 0.0
    llm_ms: float = 0.0
    total_ms: float = 0.0


class PromptInfo(Strict):
    ref: str
    template_sha256: str


class LLMCall(Strict):
    """One call of the rerank step, as the model answered it, before grounding repaired it."""

    raw: str
    finish_reason: str | None = None
    parse_error: str | None = None
    returned: int = 0  # item entries in the answer
    out_of_candidate: list[str] = Field(default_factory=list)
    duplicates: list[str] = Field(default_factory=list)
    seen: list[str] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    latency_ms: float = 0.0
    cached: bool = False


class RecommendedItem(Strict):
    rank: int
    item_id: str
    title: str
    personalized_title: str
    explanation: str
    source: Literal["llm", "fallback"]
    explanation_source: Literal["llm", "template"]
    categories: list[str] = Field(default_factory=list)
    scores: dict[str, float] = Field(default_factory=dict)
    flags: list[str] = Field(default_factory=list)


class Recommendation(Strict):
    user_id: str | None
    items: list[RecommendedItem]
    cold_start: bool = False
    fallback_reason: str | None = None
    warnings: list[str] = Field(default_factory=list)
    prompt: PromptInfo | None = None
    model: str | None = None
    endpoint: str | None = None
    usage: Usage = Field(default_factory=Usage)
    timing: Timing = Field(default_factory=Timing)
    profile: ProfileSummary | None = None
    llm_calls: list[LLMCall] = Field(default_factory=list, description="the rerank step's calls, for audits and evals")
