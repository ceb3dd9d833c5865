"""LLM scores for candidates from first-token logprobs, instead of a generated ranking.

Two modes, both through the OpenAI-compatible `logprobs` / `top_logprobs` options (llama.cpp,
vLLM and OpenAI serve them):

- "labels" (the verbalizer approach): one prompt lists the candidates under letters and asks
  for the best one; the logprob of each letter as the first answer token is its score. Small
  models favour early letters, so `orders` > 1 scores the list again reversed (and then
  shuffled) and averages. How much that helps depends on the model: for SmolLM2-135M,
  `recagent eval position-bias` measured that mirroring turns a first-letter bias into an
  edge bias rather than removing it.
- "pointwise": one call per candidate asking Yes or No; the score is logprob(Yes) -
  logprob(No). No order, so no position bias, at one (mostly cached-prefix) call per item.

Scores are log-probabilities normalised over the candidates (labels) or log-odds (pointwise):
comparable within one user's list, which is all that score fusion needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from agent.backends.base import ChatRequest
from agent.errors import BackendError
from agent.pipeline.grounding import candidate_labels
from agent.types import Candidate, HistoryEvent, ProfileSummary, Usage

ScoringMode = Literal["labels", "pointwise"]
DEFAULT_PROMPTS: dict[str, str] = {"labels": "pick@v1", "pointwise": "judge@v1"}
EXTRA_TOP_LOGPROBS = 20  # alternatives asked beyond the labels: other tokens crowd the top
MISSING_MARGIN = 1.0  # a label absent from the top alternatives scores this far below the lowest seen
YES, NO = ("yes",), ("no",)


@dataclass
class LLMScores:
    """Per-item scores (items the model could not score are absent) and what it cost."""
    scores: dict[str, float] = field(default_factory=dict)
    calls: int = 0
    usage: Usage = field(default_factory=Usage)
    latency_ms: float = 0.0
    cached: bool = True
    error: str | None = None  # why scoring failed (then `scores` is empty)
    prompt: str = ""


def score_candidates(rec, history: list[HistoryEvent], profile: ProfileSummary, candidates: list[Candidate],
                     mode: ScoringMode = "labels", prompt: str | None = None, orders: int = 1,
                     seed: int = 0) -> LLMScores:
    """Score `candidates` for this user with `rec`'s backend. A backend failure is reported in
    `.error` with empty scores (the caller ranks without the LLM), never raised."""
    prompt = prompt or DEFAULT_PROMPTS[mode]
    out = LLMScores(prompt=prompt)
    try:
        if mode == "labels":
            per_order = [_label_scores(rec, history, profile, order, prompt, out)
                         for order in candidate_orders(candidates, orders, seed)]
            ids = [c.item.item_id for c in candidates]
            out.scores = {i: float(np.mean([s[i] for s in per_order if i in s]))
                          for i in ids if any(i in s for s in per_order)}
        elif mode == "pointwise":
            for c in candidates:
                value = _yes_no_score(rec, history, profile, c, prompt, out)
                if value is not None:
                    out.scores[c.item.item_id] = value
        else:
            raise ValueError(f"unknown scoring mode {mode!r}: use labels or pointwise")
    except BackendError as e:
        out.scores, out.error = {}, f"LLM call failed ({e.kind}): {e}"
    return out


def candidate_orders(candidates: list[Candidate], n: int, seed: int) -> list[list[Candidate]]:
    """The given order, then reversed (every item's position mirrored), then seeded shuffles."""
    orders = [list(candidates)]
    if n >= 2:
        orders.append(list(reversed(candidates)))
    rng = np.random.default_rng(seed)
    while len(orders) < n:
        orders.append([candidates[i] for i in rng.permutation(len(candidates))])
    return orders


def _ask(rec, messages: list[dict], n_alternatives: int, out: LLMScores) -> dict[str, float]:
    resp = rec.backend.complete(ChatRequest(messages=messages, max_tokens=1, temperature=0.0, seed=0,
                                            top_logprobs=n_alternatives))
    out.calls += 1
    out.usage = out.usage + resp.usage
    out.latency_ms += resp.latency_ms
    out.cached = out.cached and resp.cached
    if not resp.first_token_logprobs:
        raise BackendError(f"{rec.backend.endpoint} returned no logprobs: the labels and pointwise scoring "
                           "modes need a server with `logprobs` support (llama.cpp, vLLM, OpenAI)",
                           kind="bad_response")
    return resp.first_token_logprobs


def _label_scores(rec, history, profile, candidates: list[Candidate], prompt: str,
                  out: LLMScores) -> dict[str, float]:
    fitted = rec.prompts(history).fit(prompt, profile, candidates, 1, 1, rec.backend)
    rendered, shown = fitted.rendered, fitted.shown
    labels = candidate_labels(len(shown))
    alternatives = _ask(rec, rendered.messages, len(labels) + EXTRA_TOP_LOGPROBS, out)
    raw = token_mass(alternatives, {label: (label.lower(),) for label in labels})
    return {c.item.item_id: v for c, v in zip(shown, normalised(raw, labels))}


def _yes_no_score(rec, history, profile, candidate: Candidate, prompt: str, out: LLMScores) -> float | None:
    rendered = rec.prompts(history).fit(prompt, profile, [candidate], 1, 1, rec.backend).rendered
    alternatives = _ask(rec, rendered.messages, EXTRA_TOP_LOGPROBS, out)
    mass = token_mass(alternatives, {"yes": YES, "no": NO})
    if not mass:
        return None
    floor = min(alternatives.values()) - MISSING_MARGIN
    return mass.get("yes", floor) - mass.get("no", floor)


def token_mass(alternatives: dict[str, float], classes: dict[str, tuple[str, ...]]) -> dict[str, float]:
    """Log of the total probability of the tokens that spell each class ("A", " A", "a" …),
    for the classes that appear among the alternatives."""
    out: dict[str, list[float]] = {}
    for token, logprob in alternatives.items():
        word = token.strip().strip(".):").lower()
        for name, spellings in classes.items():
            if word in spellings:
                out.setdefault(name, []).append(logprob)
    return {name: float(np.logaddexp.reduce(v)) for name, v in out.items()}


def normalised(raw: dict[str, float], labels: list[str]) -> list[float]:
    """Log-softmax over the labels; a label the server did not list gets a floor below the
    lowest listed one (or 0 for every label when none was listed)."""
    if not raw:
        return [0.0] * len(labels)
    floor = min(raw.values()) - MISSING_MARGIN
    values = np.array([raw.get(label, floor) for label in labels])
    return (values - np.logaddexp.reduce(values)).tolist()
