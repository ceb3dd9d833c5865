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
    prefix: str | None = Field(None, description="the answer's opening, continued by the server (only for a backend "
                                                 "whose `continues_answers` is true); the response holds what follows it")
    banned: list[str] | None = Field(None, description="words the answer may not contain: llama.cpp bans their tokens "
                                                      "while decoding; other servers ignore this")
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


def continues_answers(backend: ChatBackend) -> bool:
    """Whether the backend continues an answer's given opening (`ChatRequest.prefix`): then a
    JSON frame costs no generated tokens and no grammar. Backends without the attribute do not."""
    return bool(getattr(backend, "continues_answers", False))
