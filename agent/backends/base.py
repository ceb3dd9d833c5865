"""The LLM seam: one typed request in, one typed response out."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from agent.types import Usage


class ChatRequest(BaseModel):
    messages: list[dict[str, str]]
    response_schema: dict[str, Any] | None = None
    schema_name: str = "response"
    max_tokens: int = 512
    temperature: float = 0.0
    seed: int | None = 0
    stop: list[str] | None = Field(None, description="generation ends before any of these strings")
    top_logprobs: int | None = Field(None, ge=1, description="also return the first answer token's N most likely tokens")
    timeout_s: float | None = Field(None, gt=0, description="this call's own time limit (never part of a cache key)")


class ChatResponse(BaseModel):
    content: str
    finish_reason: str | None = None
    usage: Usage = Field(default_factory=Usage)
    model: str = ""
    latency_ms: float = 0.0
    cached: bool = False  # answered from the response cache (latency is the original call's)
    first_token_logprobs: dict[str, float] | None = None  # token -> logprob, when the request asked


@runtime_checkable
class ChatBackend(Protocol):
    model: str
    endpoint: str

    def complete(self, request: ChatRequest) -> ChatResponse:
        """Raises BackendError (with a kind) when the endpoint fails."""

    def count_tokens(self, messages: list[dict[str, str]]) -> int: ...

    @property
    def context_window(self) -> int: ...
