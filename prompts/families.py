"""One adapter per prompt family: its typed inputs, what its answer is, and for explanation
families the request shape (schema, given prefix, stop strings, max tokens) and the parser.
Stages ask the family; none branches on a family's name (dspy's ChatAdapter/JSONAdapter idea)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from prompts.inputs import (ActsInputs, EnrichInputs, ExplainInputs, IntentInputs, JudgeExplainInputs, ProfileInputs, ProposeInputs, RankInputs,
                            RerankInputs, ScoreInputs, Strict)

Output = Literal["explained", "explanation", "ranking", "label_logprobs", "yes_no_logprobs", "text", "json"]
ExplainMode = Literal["constrained", "open"]

HOOK_MAX = 50  # characters of a hook (grounding.TITLE_MAX)
WHY_MAX = 160
JSON_PREFIX = '{"why": "'  # where a server that continues answers picks up a sentence: the JSON frame is given
HOOK_JOIN = '", "tagline": "'  # ... and after the sentence a hook, asked as a tagline (small models answer "hook" with the title)
SENTENCE_STOPS = ['"', "\n", ". "]  # a continued answer ends with its string or its first sentence
HOOK_STOPS = ['"', "\n"]
HOOK_MAX_TOKENS = 16


@dataclass(frozen=True)
class Family:
    """A prompt family: `inputs` its template variables' model, `output` what its answer is."""
    inputs: type[Strict]
    output: Output

    @property
    def explains(self) -> bool:
        return isinstance(self, ExplainFamily)


@dataclass(frozen=True)
class Draft:
    """A parsed explanation answer: the sentence, and the hook when the model wrote one."""
    why: str
    hook: str | None = None


@dataclass(frozen=True)
class Shape:
    """A request's shape: a JSON schema, or a bare sentence after a given prefix / ended by stops."""
    schema: dict | None
    stop: list[str] | None
    max_tokens: int
    continued: bool  # the answer continues JSON_PREFIX + the prompt's opening


@dataclass(frozen=True)
class ExplainFamily(Family):
    """One item's explanation per call. `mode`: constrained (given openings, the word whitelist;
    for small models) or open (the model writes hook and sentence freely, each claim checked).
    `answer`: "hook+why" (one JSON object), "why" (JSON, or continued after a given opening where
    the server can) or "text" (a plain sentence)."""
    mode: ExplainMode = "constrained"
    answer: Literal["hook+why", "why", "text"] = "why"
    max_tokens: int = 120
    sentence_tokens: int = 48  # a bare sentence of up to 16 words is about 25 tokens
    why_max: int = WHY_MAX  # characters: a longer sentence is cut to its full sentences

    def shape(self, can_continue: bool, wants_hook: bool = False) -> Shape:
        """`can_continue`: the server continues a given prefix; `wants_hook`: the template asks for a
        hook after the sentence (a `hook` block), written in the same JSON where it cannot."""
        if self.answer == "text":
            return Shape(None, ["\n"], self.sentence_tokens, continued=False)
        if self.answer == "why" and can_continue:
            return Shape(None, SENTENCE_STOPS, self.sentence_tokens, continued=True)
        return Shape(explain_schema(self.answer == "hook+why" or wants_hook, self.why_max), None, self.max_tokens,
                     continued=False)

    def parse(self, content: str, shape: Shape) -> Draft:
        """The answer as a draft; ValueError when it is not one (the checker calls it junk)."""
        if shape.schema is None:
            return Draft(why=content)
        data = json.loads(content)
        if not isinstance(data, dict) or not isinstance(data.get("why"), str):
            raise ValueError("no 'why' string in the answer")
        if "hook" not in shape.schema["properties"]:
            return Draft(why=data["why"])
        hook = data.get("hook")
        return Draft(why=data["why"], hook=" ".join(hook.split()) if isinstance(hook, str) else "")


def explain_schema(hook: bool = True, why_max: int = WHY_MAX) -> dict:
    """{"hook", "why"}, or {"why"} alone when the hook comes another way."""
    fields = {"hook": {"type": "string", "minLength": 6, "maxLength": HOOK_MAX},
              "why": {"type": "string", "minLength": 20, "maxLength": why_max}}
    if not hook:
        del fields["hook"]
    return {"type": "object", "properties": fields, "required": list(fields), "additionalProperties": False}


_RANK = Family(RankInputs, "ranking")
_PICK = Family(ScoreInputs, "label_logprobs")
FAMILIES: dict[str, Family] = {
    "rerank": Family(RerankInputs, "explained"),
    "profile": Family(ProfileInputs, "text"),
    "intent": Family(IntentInputs, "json"),
    "acts": Family(ActsInputs, "json"),
    "propose": Family(ProposeInputs, "json"),
    "enrich": Family(EnrichInputs, "json"),
    "explain-judge": Family(JudgeExplainInputs, "json"),
    "judge": Family(ScoreInputs, "yes_no_logprobs"),
    "rank": _RANK, "rank-recency": _RANK, "rank-demos": _RANK,
    "pick": _PICK, "pick-recency": _PICK, "pick-demos": _PICK, "pick-compact": _PICK,
    "explain": ExplainFamily(ExplainInputs, "explanation", answer="hook+why"),
    "explain-terse": ExplainFamily(ExplainInputs, "explanation", answer="hook+why"),
    "explain-why": ExplainFamily(ExplainInputs, "explanation", answer="why"),
    "explain-short": ExplainFamily(ExplainInputs, "explanation", answer="text"),
    "explain-open": ExplainFamily(ExplainInputs, "explanation", mode="open", answer="hook+why",
                                  max_tokens=200, why_max=240),
}
