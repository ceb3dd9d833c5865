"""What a caller may choose about one recommendation, with its bounds, in one place: the
Python API, the CLI, the HTTP service and the chat agent all take a RecommendOptions."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from agent.config import field_bounds
from agent.errors import InputError
from agent.types import TextInput

DEFAULT_PROMPT = "explain-why@v26"  # constrained: per-item sentences after a given first fact, hooks from the evidence (docs/explanations.md)
OPEN_PROMPT = "explain-open@v1"  # open: hook and sentence written freely, every claim checked; rerank@v1 is listwise
DEFAULT_PROMPTS = {"constrained": DEFAULT_PROMPT, "open": OPEN_PROMPT}


class RecommendOptions(TextInput):
    k: int = Field(10, ge=1, le=50, description="how many items")
    n_candidates: int = Field(20, ge=1, le=100, description="candidates retrieved for ordering and the LLM step")
    prompt: str | None = Field(None, min_length=1, max_length=60,
                               description=f"prompt ref, see `recagent prompts list`; default: the explain mode's "
                                           f"({DEFAULT_PROMPT} constrained, {OPEN_PROMPT} open)")
    explain_mode: Literal["auto", "constrained", "open"] = Field(
        "auto", description="constrained (small models) or open (capable ones); auto: the server's setting, which "
                            "by default follows the model (bundled: constrained)")
    diversity: float = Field(0.2, ge=0, le=1, description="0 = the ranking as is … 1 = most diverse (MMR)")
    use_llm: bool = Field(True, description="false: the pipeline's order with template explanations, no LLM call")
    profile_mode: Literal["deterministic", "llm"] = Field(
        "deterministic", description="llm: add an LLM-written taste summary to the profile (cached)")

    @classmethod
    def of(cls, options: RecommendOptions | None = None, **changes) -> RecommendOptions:
        """`options` (or the defaults) with `changes`, validated: a bad value is an InputError
        that says the allowed range."""
        unknown = sorted(set(changes) - set(cls.model_fields))
        if unknown:
            raise InputError(f"unknown option(s) {', '.join(unknown)}; known: {', '.join(cls.model_fields)}")
        try:
            given = options.model_dump(include=set(cls.model_fields)) if options else {}
            return cls.model_validate({**given, **changes})
        except ValidationError as e:
            raise InputError(describe_error(e, cls)) from None


def describe_error(e: ValidationError, model: type[BaseModel]) -> str:
    """The first error of `e` as 'field=value is out of range: use LOW to HIGH' or pydantic's words."""
    first = e.errors()[0]
    name = str(first["loc"][0]) if first["loc"] else "options"
    bounds = field_bounds(model.model_fields[name]) if name in model.model_fields else {}
    low, high = bounds.get("Ge"), bounds.get("Le")
    if low is not None and high is not None and first["type"] in ("greater_than_equal", "less_than_equal"):
        return f"{name}={first['input']!r} is out of range: use {low} to {high}"
    return f"{name}: {first['msg']}"
