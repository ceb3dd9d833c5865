"""The typed inputs of each template family. A template's variables must equal its
model's fields (a contract test checks this)."""

from __future__ import annotations

import re
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

_FENCE = re.compile(r"</?\s*(?:catalog[_ ]?data|user[_ ]?message)\s*>|```", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


_JSON_OBJECT = re.compile(r"\{[^{}]*\}")
_JSON_ARRAY = re.compile(r"\[[^\[\]]*[\":][^\[\]]*\]")  # "[REC]" is a title; '["a", "b"]' is data
# The injection suite's ablation turns this off to measure what it defends against.
STRIP_STRUCTURED = True


def as_data(text: str, max_chars: int) -> str:
    """Untrusted catalog or user text, made safe to place inside the data fence: no fence
    markers, no control characters, no JSON objects (a fake answer the model could copy),
    one line, bounded length."""
    text = _CONTROL.sub(" ", _FENCE.sub(" ", text))
    if STRIP_STRUCTURED:
        text = _without_structures(text)
    text = " ".join(text.split())
    return text if len(text) <= max_chars else text[: max_chars - 1].rstrip() + "…"


def _without_structures(text: str) -> str:
    while True:
        stripped = _JSON_ARRAY.sub(" ", _JSON_OBJECT.sub(" ", text))
        if stripped == text:
            return text.replace("{", " ").replace("}", " ")
        text = stripped


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PromptItem(Strict):
    id: str
    title: str
    categories: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    text: str = ""
    because: str = Field("", description="a title from the user's history that led to this item")


class PromptProfile(Strict):
    liked: list[PromptItem]
    disliked: list[PromptItem]
    top_categories: list[str]
    avoided_categories: list[str]
    top_tags: list[str]
    narrative: str | None = None


class RerankInputs(Strict):
    profile: PromptProfile
    candidates: list[PromptItem]
    k: int


class ProfileInputs(Strict):
    profile: PromptProfile


class PromptEvent(Strict):
    title: str
    categories: list[str] = Field(default_factory=list)
    rating: float | None = None


class PromptDemo(Strict):
    """A choice the user made earlier: among `options` (titles), they rated `chosen` highest."""
    options: list[str]
    chosen: str


class RankInputs(Strict):
    """Rank prompts: candidates carry short labels in `id`; the answer is labels only."""
    candidates: list[PromptItem]
    k: int
    profile: PromptProfile
    recent: list[PromptEvent] = Field(default_factory=list, description="latest interactions, newest first")
    demos: list[PromptDemo] = Field(default_factory=list)


class ScoreInputs(Strict):
    """Logprob scoring prompts: candidates under letters, scored from the first answer token.
    The optional fields serve the prompt variants: `recent` (newest first, with ratings),
    `demos` (the user's own earlier choices) and `liked_titles` (a longer history, titles only)."""
    candidates: list[PromptItem]
    profile: PromptProfile
    recent: list[PromptEvent] = Field(default_factory=list, description="latest interactions, newest first")
    demos: list[PromptDemo] = Field(default_factory=list)
    liked_titles: list[str] = Field(default_factory=list, description="liked titles, newest first, compact")


class EnrichInputs(Strict):
    """One catalog item with thin text, to be described for semantic search."""
    item: PromptItem


class IntentInputs(Strict):
    """A chat message (untrusted, sanitised with as_data) and the catalog's categories."""
    message: str
    categories: list[str]


class ActsInputs(Strict):
    """A chat message (untrusted, sanitised with as_data), the catalog's genres and the titles on screen."""
    message: str
    categories: list[str]
    shown: list[str]


class ProposeInputs(Strict):
    """An optimisation step: the current instructions, what the objective rewards, and the worst
    cases it scored (each the case's input in short, the answer and what was wrong)."""
    instructions: str
    goal: str
    cases: list[str]


class PromptLink(Strict):
    """A title the person rated highly that leads to the item, and the signal that links them."""
    title: str
    name: str = Field("", description="the title as a sentence names it (no year, no alternate title); empty: `title`")
    rating: str = Field("", description="the person's rating as text, e.g. 4.5/5; empty for a like")
    signal: str = Field(description="co-liked or similar")
    people: int = 0


class PromptSeries(Strict):
    """A title the person rated highly from the item's series; `relation`: sequel (the item came
    after it) or earlier."""
    name: str
    rating: str = ""
    relation: str


class PromptCategory(Strict):
    category: str
    liked: int
    one: str = Field("", description='one movie of it as a sentence says it ("a drama"); empty: `category`')
    many: str = Field("", description='several ("dramas"); empty: `category`')


class PromptEvidence(Strict):
    """One recommended item with the facts behind it (agent/pipeline/evidence.py), sanitised."""
    title: str
    name: str = Field("", description="the title as a sentence names it (no year, no alternate title); empty: `title`")
    categories: list[str]
    tags: list[str] = Field(default_factory=list)
    because: list[PromptLink] = Field(default_factory=list)
    shared_categories: list[PromptCategory] = Field(default_factory=list)
    shared_tags: list[str] = Field(default_factory=list)
    shared_tag_counts: list[int] = Field(default_factory=list, description="the person's liked items with each shared tag")
    shared_tag_pair: int = Field(0, description="the person's liked items with both of the first two shared tags")
    category_pair: list[PromptCategory] = Field(default_factory=list, description="the two genres most liked together")
    category_pair_liked: int = Field(0, description="the person's liked items with both")
    genre_fact: str = Field("genre", description='the genre count its sentence gives: "genre" or "pair"')
    series: list[PromptSeries] = Field(default_factory=list)
    fans: int = 0
    constraint: str = ""


class PromptTaste(Strict):
    n_liked: int
    categories: list[PromptCategory]
    tags: list[str] = Field(default_factory=list)


class ExplainInputs(Strict):
    """Explanation prompts: one item per call. `taste` comes first and is the same for every
    item of a list (the server's cached prefix); `problem` says why a first answer was rejected."""
    taste: PromptTaste = Field(default_factory=lambda: PromptTaste(n_liked=0, categories=[]),
                               description="optional: a prompt that shows the taste line risks it being copied")
    item: PromptEvidence
    problem: str = ""
    position: int = Field(0, description="the item's place in the list (0 first): a template may vary its form with it")
    genre_counts_full: bool = Field(False, description="two items above it in the list, also with no shared tag, were "
                                                       "given their genre count: a template may give another fact")


JudgeCriterion = Literal["informativeness", "persuasiveness", "helpfulness"]  # RecLM-eval's
JUDGE_CRITERIA: tuple[str, ...] = get_args(JudgeCriterion)


class JudgeExplainInputs(Strict):
    """A pairwise judgement of two explanations of one recommended item, by one of RecLM-eval's
    criteria. Titles only: no ratings or other personal data."""
    criterion: JudgeCriterion
    liked: list[str] = Field(description="titles the viewer liked")
    item: str = Field(description="the recommended movie: title | genres")
    first: str
    second: str
