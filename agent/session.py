"""Chat sessions that survive a restart: accumulated constraints, what was shown, the turns."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from pydantic import BaseModel, Field

from agent.db import Database, open_database
from agent.errors import NotFoundError
from agent.intent import Era
from agent.migrations import migrate


class Constraints(BaseModel):
    include_categories: list[str] = Field(default_factory=list)
    exclude_categories: list[str] = Field(default_factory=list)
    exclude_tags: list[str] = Field(default_factory=list, description="topics to leave out ('superhero')")
    era: Era | None = None
    more_like: list[str] = Field(default_factory=list, description="item ids")
    not_like: list[str] = Field(default_factory=list, description="item ids")
    query: str = ""
    mood: str | None = Field(None, description="the mood in force ('lighter'), kept as the genres it added")
    mood_genres: list[str] = Field(default_factory=list, description="genres the mood asked for (not the person)")
    mood_not_genres: list[str] = Field(default_factory=list, description="genres the mood left out (not the person)")

    def describe(self, titles: dict[str, str]) -> str:
        """'lighter Comedy, from 1990 to 1999, without Horror' for the reply's first line."""
        parts = []
        if self.include_categories:
            parts.append(" / ".join(self.include_categories[:4]))
        if self.era and (self.era.start or self.era.end):
            if self.era.start and self.era.end:
                parts.append(f"from {self.era.start} to {self.era.end}")
            elif self.era.start:
                parts.append(f"from {self.era.start} on")
            else:
                parts.append(f"up to {self.era.end}")
        if self.more_like:
            parts.append("like " + ", ".join(titles.get(i, i) for i in self.more_like[:2]))
        if self.exclude_categories or self.exclude_tags:
            parts.append("without " + ", ".join(self.exclude_categories[:4] + self.exclude_tags[:3]))
        return "; ".join(parts)


class SessionState(BaseModel):
    session_id: str
    user_id: str | None = None
    owner: str | None = Field(None, description="the service key that opened it (only it continues it)")
    constraints: Constraints = Field(default_factory=Constraints)
    shown: list[str] = Field(default_factory=list)
    last_list: list[str] = Field(default_factory=list)
    said: dict[str, str] = Field(default_factory=dict, description="the explanation shown for each item of the last list")
    focus: str | None = Field(None, description="the item last talked about: what 'that one' means")
    turns: int = 0


class Turn(BaseModel):
    role: str
    text: str
    items: list[str] = Field(default_factory=list)
    at: float = Field(default_factory=time.time)


class UnknownSessionError(NotFoundError):
    def __init__(self, session_id: str):
        super().__init__(f"no session {session_id!r}: start a new one (omit --session) or check the id")


class SessionStore:
    """Chat sessions in an SQLite file (owner-only: it holds what people wrote), or in the
    PostgreSQL database replicas share (a postgresql:// URL), so a chat continues on any replica.
    Every write is its own transaction, so a crash loses at most the turn being written. Sessions
    untouched for `retention_days` are deleted (at open and as new ones start); None keeps them."""

    def __init__(self, target: Path | str | Database, retention_days: float | None = None):
        self._db = target if isinstance(target, Database) else open_database(target, wal=True, timeout=30)
        self.retention_days = retention_days
        migrate(self._db, "sessions")
        self.expire()

    @property
    def database(self) -> Database:
        return self._db

    def create(self, user_id: str | None = None, owner: str | None = None) -> SessionState:
        self.expire()
        state = SessionState(session_id=uuid.uuid4().hex[:12], user_id=user_id, owner=owner)
        with self._db.write() as tx:
            tx.execute("INSERT INTO sessions (id, state, updated, user_id) VALUES (?, ?, ?, ?)",
                       (state.session_id, state.model_dump_json(), time.time(), user_id))
        return state

    def get(self, session_id: str) -> SessionState:
        with self._db.read() as tx:
            row = tx.execute("SELECT state FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise UnknownSessionError(session_id)
        return SessionState.model_validate_json(row[0])

    def save(self, state: SessionState) -> None:
        """Update a session; one deleted meanwhile (its user's data deleted) stays deleted."""
        with self._db.write() as tx:
            updated = tx.execute("UPDATE sessions SET state = ?, updated = ?, user_id = ? WHERE id = ?",
                                 (state.model_dump_json(), time.time(), state.user_id, state.session_id)).rowcount
        if not updated:
            raise UnknownSessionError(state.session_id)

    def add_turns(self, session_id: str, turns: list[Turn]) -> None:
        with self._db.write() as tx:
            # the session's row locked for this transaction: two replicas adding turns to one
            # session number them one after the other
            if tx.execute(f"SELECT 1 FROM sessions WHERE id = ?{self._db.row_lock}", (session_id,)).fetchone() is None:
                raise UnknownSessionError(session_id)
            n = tx.execute("SELECT COALESCE(MAX(n), 0) FROM turns WHERE session_id = ?", (session_id,)).fetchone()[0]
            tx.executemany("INSERT INTO turns VALUES (?, ?, ?)",
                           [(session_id, n + i + 1, t.model_dump_json()) for i, t in enumerate(turns)])

    def turns(self, session_id: str) -> list[Turn]:
        with self._db.read() as tx:
            rows = tx.execute("SELECT turn FROM turns WHERE session_id = ? ORDER BY n", (session_id,)).fetchall()
        return [Turn.model_validate_json(r[0]) for r in rows]

    def expire(self) -> int:
        """Delete sessions (and their turns) untouched for longer than the retention period."""
        if self.retention_days is None:
            return 0
        return self._delete("updated < ?", (time.time() - self.retention_days * 86400,))

    def delete_user(self, user_id: str, anonymous_prefix: str = "session:") -> int:
        """Delete every session of `user_id` (or the anonymous session `user_id` names), turns
        included, and leave no copy of what they wrote in the engine's files (SQLite's write-ahead
        log truncated; PostgreSQL's tables vacuumed). Returns how many sessions."""
        own = user_id.removeprefix(anonymous_prefix) if user_id.startswith(anonymous_prefix) else None
        n = self._delete("user_id = ? OR (user_id IS NULL AND id = ?)", (user_id, own or ""))
        self._db.forget(["sessions", "turns"])
        return n

    def _delete(self, where: str, args: tuple) -> int:
        with self._db.write() as tx:
            ids = [r[0] for r in tx.execute(f"SELECT id FROM sessions WHERE {where}", args).fetchall()]
            tx.executemany("DELETE FROM turns WHERE session_id = ?", [(i,) for i in ids])
            tx.executemany("DELETE FROM sessions WHERE id = ?", [(i,) for i in ids])
        return len(ids)

    def close(self) -> None:
        self._db.close()
