"""LLM backends: one protocol, one OpenAI-compatible client, the embedded server, a fake."""

from agent.backends.base import ChatBackend, ChatRequest, ChatResponse

__all__ = ["ChatBackend", "ChatRequest", "ChatResponse"]
