"""A persistent response cache in front of any backend: the same request to the same
model is answered from disk, so a rerun of an eval makes no LLM calls (and, when the model
id and context window are given, never even starts the server)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from agent.backends.base import ChatBackend, ChatRequest, ChatResponse, continues_answers
from agent.errors import BackendError


def request_key(request: ChatRequest, model: str) -> str:
    """sha256 over everything that decides the answer: the rendered messages, the model id,
    the sampling parameters and the response schema."""
    payload = {"model": model, **request.model_dump(exclude={"timeout_s"})}
    for added in ("top_logprobs", "stop", "prefix", "banned"):  # keys of requests made before these fields existed stay valid
        if payload[added] is None:
            del payload[added]
    return _sha256(payload)


def _sha256(payload) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class CachingBackend:
    """Wraps a backend, or a function that creates one on the first cache miss.
    `live_calls` and `hits` count what was really sent and what was not. Failures are
    never cached. Token counts are cached too (they come from the server's tokenizer)."""

    def __init__(self, backend: ChatBackend | Callable[[], ChatBackend], path: Path, *,
                 model: str | None = None, context_window: int | None = None, endpoint: str = "",
                 read: bool = True):
        """`read=False` asks the backend every time (and refreshes the cache)."""
        self._inner = backend if hasattr(backend, "complete") else None
        self._factory = None if self._inner is not None else backend
        self.model = model or self._inner.model
        self.endpoint = endpoint or getattr(self._inner, "endpoint", "")
        self._window = context_window
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, response TEXT NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS token_counts (key TEXT PRIMARY KEY, n INTEGER NOT NULL)")
        self._lock = threading.Lock()
        self.read = read
        self.live_calls = self.hits = 0

    @property
    def inner(self) -> ChatBackend:
        with self._lock:
            if self._inner is None:
                self._inner = self._factory()
                self.endpoint = self._inner.endpoint
            return self._inner

    @property
    def context_window(self) -> int:
        return self._window or self.inner.context_window

    @property
    def continues_answers(self) -> bool:
        return continues_answers(self.inner)

    def _open_db(self) -> sqlite3.Connection:
        """The connection, under the lock. A worker thread that outlives its request (an explain
        pool left running after a failure) may call after `close`: it gets an error, never a
        closed SQLite handle (that crashes the process)."""
        if self._db is None:
            raise BackendError("the response cache was closed", kind="unavailable")
        return self._db

    def count_tokens(self, messages: list[dict[str, str]]) -> int:
        key = _sha256({"model": self.model, "messages": messages})
        with self._lock:
            row = self._open_db().execute("SELECT n FROM token_counts WHERE key = ?", (key,)).fetchone()
        if row is not None:
            return row[0]
        n = self.inner.count_tokens(messages)
        with self._lock, self._open_db() as db:
            db.execute("INSERT OR REPLACE INTO token_counts VALUES (?, ?)", (key, n))
        return n

    def complete(self, request: ChatRequest) -> ChatResponse:
        key = request_key(request, self.model)
        with self._lock:
            db = self._open_db()
            row = db.execute("SELECT response FROM responses WHERE key = ?", (key,)).fetchone() if self.read else None
            if row is not None:
                self.hits += 1
                return ChatResponse.model_validate_json(row[0]).model_copy(update={"cached": True})
            self.live_calls += 1
        response = self.inner.complete(request)
        with self._lock, self._open_db() as db:
            db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?)", (key, response.model_dump_json()))
        return response

    def close(self) -> None:
        if self._inner is not None and hasattr(self._inner, "close"):
            self._inner.close()
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def cached_connect(settings, fake=None, read: bool = True):
    """The settings' model (the embedded server, or the endpoint at base_url) behind the response
    cache in the settings' cache dir; the server starts on the first cache miss only. `fake`
    (tests: a scripted fake) replaces the endpoint; the cache still applies. An endpoint whose
    model id is not named is asked uncached (the id keys the cache)."""
    from agent.backends.connect import connect

    if settings.embedded:
        from agent.bundled_models import get_model

        spec = get_model(settings.model_name)  # an unknown name fails here, before any work
        model_id, window = spec.name, spec.n_ctx
    else:
        model_id, window = settings.model, settings.context_window
    factory = lambda: connect(settings)  # noqa: E731
    if fake is not None:
        factory, model_id, window = (lambda: fake), fake.model, fake.context_window
    if not model_id:
        return factory()
    return CachingBackend(factory, Path(settings.cache_dir) / "responses.sqlite", model=model_id,
                          context_window=window, endpoint=settings.base_url or "embedded", read=read)
