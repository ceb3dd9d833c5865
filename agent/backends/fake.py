"""A scripted fake backend for tests of parsing, repair and fallbacks. Never a default."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Union

from agent.backends.base import ChatRequest, ChatResponse
from agent.errors import BackendError
from agent.types import Usage

Step = Union[str, dict, Exception, Callable[[ChatRequest], Union[str, dict]]]


class ScriptedFakeBackend:
    """Answers each call with the next step of a script: a string (the raw output), a dict
    {token: logprob} (a one-token answer with those first-token logprobs), an exception
    (raised), or a function of the request returning either. Records every request it got.
    With `repeat_last`, the last step answers all further calls."""

    model = "scripted-fake"
    endpoint = "fake://scripted"

    def __init__(self, script: list[Step], context_window: int = 8192, repeat_last: bool = False,
                 continues_answers: bool = False):
        self.script = list(script)
        self.continues_answers = continues_answers  # answers then hold what follows `request.prefix`
        self.requests: list[ChatRequest] = []
        self._window = context_window
        self._repeat_last = repeat_last

    @property
    def context_window(self) -> int:
        return self._window

    def count_tokens(self, messages: list[dict[str, str]]) -> int:
        return sum(len(m["content"]) // 4 + 8 for m in messages)

    def complete(self, request: ChatRequest) -> ChatResponse:
        self.requests.append(request)
        if not self.script:
            raise BackendError("scripted fake backend ran out of steps", kind="unavailable")
        step = self.script[0] if (self._repeat_last and len(self.script) == 1) else self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        content = step(request) if callable(step) else step
        logprobs = None
        if isinstance(content, dict):
            logprobs = dict(sorted(content.items(), key=lambda kv: -kv[1])[: request.top_logprobs or 1])
            content = next(iter(logprobs), "")
        return ChatResponse(content=content, finish_reason="stop", model=self.model,
                            usage=Usage(prompt_tokens=self.count_tokens(request.messages),
                                        completion_tokens=max(1, len(content) // 4)),
                            first_token_logprobs=logprobs if request.top_logprobs else None)


def rank_in_order(request: ChatRequest) -> str:
    """A script step: a valid answer that ranks the allowed ids in the order given."""
    schema = request.response_schema or {}
    if "why" in schema.get("properties", {}):  # a per-item explanation call (explain prompts)
        return explain_from_facts(request)
    items = schema["properties"]["items"]
    ids = items["items"]["properties"]["item_id"]["enum"][: items.get("maxItems", 10)]
    return json.dumps({"items": [
        {"item_id": i, "hook": f"A pick for your taste, {_letters(n)}",
         "explanation": f"It matches the genres you rate highly (reason {_letters(n)})."} for n, i in enumerate(ids)]})


def explain_from_facts(request: ChatRequest) -> str:
    """A script step for explanation calls: the prompt's first fact, restated (true by construction),
    as the JSON the request's schema asks for, or as plain text when it has none."""
    facts = [line[2:].strip() for line in request.messages[-1]["content"].splitlines() if line.startswith("- ")]
    why = (facts[0].rstrip(".") + ".") if facts else "It fits what you asked for."
    answer = {"hook": "Picked from your own ratings", "why": why[0].upper() + why[1:]}
    if request.response_schema is None:  # a plain-text prompt: the sentence alone
        return answer["why"]
    wanted = request.response_schema.get("properties", answer)
    return json.dumps({k: v for k, v in answer.items() if k in wanted})


def _letters(n: int) -> str:
    """a, b, … z, ba, bb, …: distinct words without numbers (a number would be a claim)."""
    return chr(97 + n) if n < 26 else _letters(n // 26) + chr(97 + n % 26)


def rank_labels(request: ChatRequest) -> str:
    """A script step for rank prompts: the first k candidate letters, in order."""
    import re

    pattern = request.response_schema["properties"]["ranking"]["pattern"]
    m = re.match(r"\^\[(\w)-(\w)\]\( \[\w-\w\]\)\{(\d+)\}\$", pattern)
    first, last, rest = m.group(1), m.group(2), int(m.group(3))
    letters = [chr(c) for c in range(ord(first), ord(last) + 1)][: rest + 1]
    return json.dumps({"ranking": " ".join(letters)})


def answer_schema(request: ChatRequest) -> str:
    """A script step for any call: a valid answer to whichever schema the request carries
    (rank letters, explained items, or the smallest object with the required fields)."""
    if request.top_logprobs:  # a logprob scoring call: the first letter, and "Yes" over "No"
        return {"A": -0.5, "B": -1.5, "Yes": -0.7, "No": -1.2}
    schema = request.response_schema or {}
    props = schema.get("properties") or {}
    if "ranking" in props:
        return rank_labels(request)
    if "why" in props:
        return explain_from_facts(request)
    if "items" in props and "enum" in str(props["items"]):
        return rank_in_order(request)
    if not schema:
        return "They enjoy warm dramas and clever comedies with a light touch."
    return json.dumps(_minimal(schema))


def _minimal(schema: dict):
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        props = schema.get("properties") or {}
        return {k: _minimal(props[k]) for k in schema.get("required", []) if k in props}
    if kind == "array":
        return []
    if isinstance(kind, list):  # e.g. ["string", "null"]
        return None if "null" in kind else _minimal({**schema, "type": kind[0]})
    return {"string": "", "integer": 0, "number": 0, "boolean": False}.get(kind)
