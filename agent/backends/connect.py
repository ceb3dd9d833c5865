"""Settings → a ready backend: the embedded llama.cpp server or a remote endpoint."""

from __future__ import annotations

from pathlib import Path

from agent.backends.base import ChatBackend, continues_answers
from agent.config import Settings


class OwnedBackend:
    """A backend plus the embedded server it runs on (if any); `close` stops both."""

    def __init__(self, backend: ChatBackend, server=None):
        self.backend, self.server = backend, server
        self.model, self.endpoint = backend.model, backend.endpoint

    @property
    def context_window(self) -> int:
        return self.backend.context_window

    @property
    def continues_answers(self) -> bool:
        return continues_answers(self.backend)

    def count_tokens(self, messages):
        return self.backend.count_tokens(messages)

    def complete(self, request):
        return self.backend.complete(request)

    def close(self) -> None:
        if hasattr(self.backend, "close"):
            self.backend.close()
        if self.server is not None:
            self.server.stop()


def connect(settings: Settings) -> OwnedBackend:
    """With no base URL, start the bundled model on a free loopback port."""
    from agent.backends.openai_compat import OpenAICompatBackend

    s = settings
    if not s.embedded:
        return OwnedBackend(OpenAICompatBackend(s.base_url, s.model, api_key=s.llm_api_key, timeout_s=s.timeout_s,
                                                max_retries=s.max_retries, context_window=s.context_window,
                                                cache_dir=Path(s.cache_dir)))
    from agent.backends.embedded import EmbeddedLlamaServer
    from agent.bundled_models import get_model, pull

    spec = get_model(s.model_name)
    server = EmbeddedLlamaServer(pull(spec, Path(s.cache_dir)), alias=spec.name, n_ctx=spec.n_ctx,
                                 threads=s.threads, parallel=s.parallel)
    url = server.start()
    return OwnedBackend(OpenAICompatBackend(url, spec.name, api_key=server.api_key, timeout_s=s.timeout_s,
                                            max_retries=s.max_retries, context_window=spec.n_ctx,
                                            cache_dir=Path(s.cache_dir)), server)
