"""Typed data that crosses the public API. All models forbid unknown fields."""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator


_YEAR = re.compile(r"\((\d{4})(?:[-–]\d{0,4})?\)\s*$")


def item_year(title: str) -> int | None:
    """The release year a catalog title ends with, e.g. "Heat (1995)" → 1995."""
    m = _YEAR.search(title)
    return int(m.group(1)) if m else None


def has_lone_surrogate(value) -> bool:
    """Whether `value` (or any string inside it) holds an unpaired UTF-16 surrogate: valid in a
    JSON escape, invalid as text, and unencodable as UTF-8 when it is written back out."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(has_lone_surrogate(k) or has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(has_lone_surrogate(v) for v in value)
    return False


ITEM_ID = re.compile(r"[\w.:@+-]{1,128}")
ITEM_ID_RULE = "1 to 128 letters, digits or . _ : @ + -"


def _check_id(value: str, what: str) -> str:
    if not isinstance(value, str) or not ITEM_ID.fullmatch(value):
        shown = repr(value[:40] + ("…" if len(value) > 40 else "")) if isinstance(value, str) else repr(value)
        raise ValueError(f"{what} {shown} breaks the id rule: {ITEM_ID_RULE}")
    return value


def check_item_id(value: str) -> str:
    """The one item id rule, at every entrance (ingest, /v1/items, histories, feedback): ids
    reach prompts, schemas and URLs, so no spaces, slashes, quotes or control characters."""
    return _check_id(value, "item id")


ItemId = Annotated[str, AfterValidator(check_item_id)]


def check_user_id(value: str) -> str:
    """User ids follow the same rule as item ids (they reach URLs and logs)."""
    return _check_id(value, "user id")


UserId = Annotated[str, AfterValidator(check_user_id)]


class RatingScale(BaseModel):
    """The one rating range, at every entrance (ingest rows, inline histories): a rating of 99
    or -4 on a 0.5-5 scale is a data error, not a strong opinion. RECAGENT_RATING_MIN/MAX set it."""

    model_config = ConfigDict(frozen=True)
    low: float = 0.5
    high: float = 5.0

    def check(self, rating: float | None) -> float | None:
        if rating is None:
            return None
        if not math.isfinite(rating):
            raise ValueError(f"rating {rating} is not a finite number")
        if not self.low <= rating <= self.high:
            raise ValueError(f"rating {rating:g} is outside the rating scale {self.low:g} to {self.high:g} "
                             "(RECAGENT_RATING_MIN and RECAGENT_RATING_MAX set the scale)")
        return rating


class TextInput(BaseModel):
    """A model whose text fields refuse unpaired surrogates (a clear 422, never a 500 later)."""

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data):
        if has_lone_surrogate(data):
            raise ValueError("text contains an unpaired surrogate (invalid Unicode): send valid UTF-8 text")
        return data


class Strict(TextInput):
    model_config = ConfigDict(extra="forbid")


class Item(Strict):
    item_id: ItemId
    title: str
    text: str = ""
    categories: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)


Signal = Literal["like", "dislike", "click", "seen"]


class HistoryEvent(Strict):
    """One interaction: an explicit rating, an implicit signal, or both."""

    item_id: ItemId
    rating: float | None = Field(None, allow_inf_nan=False)
    signal: Signal | None = None
    timestamp: int | None = None


class Interaction(Strict):
    user_id: str
    item_id: ItemId
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
    sources: list[Literal["semantic", "collaborative", "ease", "popular"]] = Field(default_factory=list)
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
    model_start_ms: float = 0.0  # of llm_ms: starting the embedded model (the process's first LLM request only)
    first_item_ms: float = 0.0  # until the first item was ready to show
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


# -- evidence (agent/pipeline/evidence.py builds it) ----------------------------------------------------
class LikedLink(Strict):
    """A title the person rated highly that leads to the recommended item."""

    item_id: str
    title: str
    rating: float | None = Field(None, description="the person's rating of it; None for a like without a rating")
    signal: Literal["co-liked", "similar"]
    people: int = Field(0, description="co-liked: people who liked both")
    similarity: float = Field(0.0, description="similar: cosine of the two items' embeddings")
    recent: bool = Field(False, description="among the person's latest likes")


class SeriesLink(Strict):
    """A title the person rated highly from the same series as the recommended item, as the catalog's
    titles show it ("Terminator 2: Judgment Day" after "The Terminator")."""

    item_id: str
    title: str
    rating: float | None = None
    relation: Literal["sequel", "earlier"] = Field(description="sequel: the item came after the liked title")


class CategoryShare(Strict):
    category: str
    liked: int = Field(description="how many of the person's liked items have this category")


class CategoryPair(Strict):
    categories: list[str] = Field(description="two of the item's genres")
    liked: int = Field(description="how many of the person's liked items have both")


class Evidence(Strict):
    """Why one item is on one person's list, from data only."""

    item_id: str
    title: str
    year: int | None = None
    categories: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list, description="the item's own tags")
    because: list[LikedLink] = Field(default_factory=list)
    shared_categories: list[CategoryShare] = Field(default_factory=list)
    shared_tags: list[str] = Field(default_factory=list, description="item tags the person's liked items carry too")
    shared_tag_counts: list[int] = Field(default_factory=list, description="liked items with each shared tag")
    shared_tag_pair: int = Field(0, description="liked items with both of the first two shared tags")
    shared_category_pair: CategoryPair | None = Field(None, description="the item's two genres most liked together")
    genre_fact: Literal["genre", "pair"] = Field("genre", description="the genre count its sentence gives: a list gives "
                                                 "each to two items at most, the pair first where there is one")
    series: list[SeriesLink] = Field(default_factory=list, description="liked titles of the item's series")
    fans: int = Field(0, description="people who rated it highly")
    constraint: str | None = Field(None, description="the chat request it satisfies")

    def titles(self) -> list[str]:
        """Every title this evidence names: the item and the liked items behind it."""
        return [self.title] + [b.title for b in self.because] + [s.title for s in self.series
                                                                 if s.item_id not in {b.item_id for b in self.because}]

    def numbers(self) -> set[int]:
        """Every whole number this evidence states (counts, ratings, years)."""
        out = {self.fans, len(self.because)} | {c.liked for c in self.shared_categories}
        out |= {b.people for b in self.because if b.people}
        out |= set(self.shared_tag_counts) | ({self.shared_tag_pair} if self.shared_tag_pair else set())
        out |= {self.shared_category_pair.liked} if self.shared_category_pair else set()
        rated = [b.rating for b in self.because + self.series if b.rating is not None]
        out |= {int(r) for r in rated if r == int(r)}
        out |= {y for y in map(item_year, self.titles()) if y}
        return out


class TasteSummary(Strict):
    """The person's taste as counts: shared by every item's prompt (the cached prefix)."""

    n_liked: int = 0
    categories: list[CategoryShare] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)


class RecommendedItem(Strict):
    rank: int
    item_id: str
    title: str
    personalized_title: str
    explanation: str
    source: Literal["llm", "pipeline", "fallback"]  # who ranked it: the LLM, the pipeline by design, or the pipeline after the LLM failed
    explanation_source: Literal["llm", "template"]
    hook_source: Literal["llm", "template"] = Field("template", description="who wrote personalized_title")
    categories: list[str] = Field(default_factory=list)
    scores: dict[str, float] = Field(default_factory=dict)
    flags: list[str] = Field(default_factory=list)
    evidence: Evidence | None = Field(None, description="the facts from data behind this pick")


class Recommendation(Strict):
    user_id: str | None
    items: list[RecommendedItem]
    cold_start: bool = False
    fallback_reason: str | None = None
    warnings: list[str] = Field(default_factory=list)
    prompt: PromptInfo | None = None
    explain_mode: Literal["constrained", "open"] | None = Field(
        None, description="how the model explained: constrained (given openings, word whitelist; small models) or "
                          "open (free text, every claim checked); None without the model")
    model: str | None = None
    endpoint: str | None = None
    usage: Usage = Field(default_factory=Usage)
    timing: Timing = Field(default_factory=Timing)
    profile: ProfileSummary | None = None
    llm_calls: list[LLMCall] = Field(default_factory=list, description="the rerank step's calls, for audits and evals")


class FeedbackResult(BaseModel):
    user_id: str
    item_id: str
    title: str
    signal: Signal
