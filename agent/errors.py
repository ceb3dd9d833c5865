"""One error tree. Every message says what is wrong and what to do next."""

from __future__ import annotations


class AgentError(Exception):
    """Base class: the CLI prints `error: <message>` and exits non-zero, never a traceback."""

    exit_code = 2


class ConfigError(AgentError):
    """Missing or invalid configuration (endpoint, model, data directory)."""


class InputError(AgentError):
    """The caller's input cannot be used (unknown user, empty history, bad file)."""


class NotFoundError(InputError):
    """A named thing (user, item, session) does not exist."""


class UnknownUserError(NotFoundError):
    def __init__(self, user_id: str, hint: str | None = None):
        super().__init__(
            f"unknown user {user_id!r}: no interactions are stored for this id. " + (hint or
            "Ingest their interactions first, or call recommend_for_history(history) "
            "(CLI: pass --history FILE) for a new or anonymous user.")
        )
        self.user_id = user_id


class PromptError(AgentError):
    """A prompt template is missing or failed to render."""


class BackendError(AgentError):
    """The LLM endpoint failed. `kind` says how; retryable kinds may succeed later."""

    RETRYABLE = {"unavailable", "timeout", "rate_limited", "server_error"}

    def __init__(self, message: str, kind: str = "error"):
        super().__init__(message)
        self.kind = kind

    def is_retryable(self) -> bool:
        return self.kind in self.RETRYABLE


class RetrievalError(AgentError):
    """The vector store or the interaction data could not serve a query."""


class StoreError(AgentError):
    """The database (PostgreSQL) did not answer or lost the connection; the request may be retried."""
