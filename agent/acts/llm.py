"""The model's reading of a message (`acts@v1` under a JSON schema), checked against the message:
filled in where the rules find nothing, with a capable endpoint."""

from __future__ import annotations

import re

from agent.acts.schema import About, ActName, Ref, TurnAct
from agent.acts.words import MOOD_WORDS, normalise
from agent.intent import Era

ACTS_PROMPT = "acts@v1"


def acts_schema(genres: list[str]) -> dict:
    """The JSON schema the model fills in (acts@v1): genres limited to the catalog's."""
    names = {"type": "array", "items": {"type": "string", "enum": genres}, "maxItems": 4}
    words = {"type": "array", "items": {"type": "string", "maxLength": 40}, "maxItems": 4}
    year = {"type": ["integer", "null"], "minimum": 1900, "maximum": 2100}
    ref = {"type": "object", "properties": {"position": {"type": "integer", "minimum": -1, "maximum": 20},
                                            "anaphor": {"type": "boolean"}, "title": {"type": "string", "maxLength": 80}},
           "additionalProperties": False}
    act = {"type": "object", "required": ["act"], "additionalProperties": False, "properties": {
        "act": {"type": "string", "enum": list(ActName.__args__)},
        "genres": names, "not_genres": names, "tags": words, "not_tags": words, "era_start": year, "era_end": year,
        "mood": {"type": "string", "enum": sorted(set(MOOD_WORDS.values()))},
        "ref": ref, "refs": {"type": "array", "items": ref, "maxItems": 5},
        "signal": {"type": "string", "enum": ["like", "dislike", "seen"]},
        "about": {"type": "string", "enum": list(About.__args__)}}}
    return {"type": "object", "required": ["acts"], "additionalProperties": False,
            "properties": {"acts": {"type": "array", "items": act, "minItems": 1, "maxItems": 3}}}


def read_with_model(backend, registry, message: str, genres: list[str], shown: list[str]) -> list[TurnAct] | None:
    """The model's reading of a message (acts@v1, schema-constrained; the message fenced as data),
    or None when it fails or says nothing the message supports."""
    import json

    from agent.backends.base import ChatRequest
    from agent.errors import BackendError
    from prompts.inputs import ActsInputs, as_data

    rendered = registry.render(ACTS_PROMPT, ActsInputs(message=as_data(message, 500), categories=genres, shown=shown))
    try:
        answer = backend.complete(ChatRequest(messages=rendered.messages, response_schema=acts_schema(genres),
                                              schema_name="acts", max_tokens=220))
        return model_acts(json.loads(answer.content), message, genres, shown)
    except (BackendError, ValueError):
        return None


def model_acts(data: dict, message: str, genres: list[str], shown: list[str]) -> list[TurnAct]:
    """The model's acts, keeping only what the message supports: places on the list on screen,
    titles the message writes, the catalog's genres, topics the message names. Raises ValueError
    when nothing usable is left."""
    text = normalise(message)
    out = []
    for raw in (data.get("acts") or [])[:3] if isinstance(data, dict) else []:
        try:
            act = TurnAct(act=raw["act"], genres=[g for g in raw.get("genres", []) if g in genres],
                          not_genres=[g for g in raw.get("not_genres", []) if g in genres],
                          tags=[t.lower() for t in raw.get("tags", []) if t.lower() in text],
                          not_tags=[t.lower() for t in raw.get("not_tags", []) if _stem_in(t, text)],
                          mood=raw.get("mood"), signal=raw.get("signal"), about=raw.get("about"),
                          era=Era(start=raw.get("era_start"), end=raw.get("era_end"))
                          if (raw.get("era_start") or raw.get("era_end")) and re.search(r"\d", text) else None)
        except (KeyError, TypeError, ValueError):
            continue
        refs = [r for r in (_checked_ref(x, text, shown) for x in [raw.get("ref"), *(raw.get("refs") or [])]) if r]
        if act.act in ("explain", "question", "more_like"):
            if not refs:
                continue
            act.ref = refs[0]
        if act.act == "feedback":
            if not refs or act.signal is None:
                continue
            act.refs = refs
        out.append(act)
    if not out:
        raise ValueError("no act the message supports")
    return out


def _stem_in(word: str, text: str) -> bool:
    return word.lower().rstrip("s") in text


def _checked_ref(raw, text: str, shown: list[str]) -> Ref | None:
    if not isinstance(raw, dict):
        return None
    if isinstance(pos := raw.get("position"), int) and (pos == -1 or 1 <= pos <= max(len(shown), 1)):
        return Ref(position=pos)
    if raw.get("anaphor") is True:
        return Ref(anaphor=True)
    if isinstance(title := raw.get("title"), str) and title.strip() and title.lower().strip() in text:
        return Ref(title=title.lower().strip())  # only a title the person wrote, never the model's own
    return None
