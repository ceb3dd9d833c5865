"""Versioned schema changes of the stores, for SQLite and PostgreSQL alike. Each store (a
"component": the catalog, the chat sessions) has an ordered list of migrations; the versions
applied are kept in `schema_migrations`, and opening a store applies the rest in one serial write
transaction, so two replicas starting at once apply each migration once. A store from before
migrations were kept (an SQLite file) gets version 1, whose statements only create what is missing.

The schema is written in the SQL both engines read (TEXT, BIGINT, DOUBLE PRECISION); a
migration gives one statement list per dialect only where they differ."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from agent.db import Database, Transaction

Step = str | Callable[[Transaction, str], None]  # SQL for both dialects, or a function of (tx, dialect)


@dataclass(frozen=True)
class Migration:
    version: int
    about: str
    step: Step


def _catalog_v1(tx: Transaction, dialect: str) -> None:
    tx.script(CATALOG_TABLES)
    if dialect == "sqlite":  # a store from before writers were recorded
        if "source" not in {r[1] for r in tx.execute("PRAGMA table_info(interactions)")}:
            tx.execute("ALTER TABLE interactions ADD COLUMN source TEXT")
    if tx.execute("SELECT value FROM meta WHERE key = 'interactions_count'").fetchone() is None:  # count once
        n = tx.execute("SELECT COUNT(*) FROM interactions").fetchone()[0]
        tx.execute("INSERT INTO meta VALUES ('interactions_count', ?)", (n,))


CATALOG_TABLES = """
CREATE TABLE IF NOT EXISTS items (
    item_id TEXT PRIMARY KEY, title TEXT NOT NULL, text TEXT NOT NULL,
    categories TEXT NOT NULL, tags TEXT NOT NULL, content_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS interactions (
    user_id TEXT NOT NULL, item_id TEXT NOT NULL, rating DOUBLE PRECISION, timestamp BIGINT, source TEXT,
    PRIMARY KEY (user_id, item_id));
CREATE INDEX IF NOT EXISTS interactions_item ON interactions(item_id);
CREATE TABLE IF NOT EXISTS users (user_id TEXT PRIMARY KEY, created DOUBLE PRECISION NOT NULL);
-- who wrote through the service for whom, since when (the trust rule's clock), and which app
-- keys the admin let act for a user they did not create; deleted ids, so no write revives them
CREATE TABLE IF NOT EXISTS writers (user_id TEXT NOT NULL, writer TEXT NOT NULL, since DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (user_id, writer));
CREATE TABLE IF NOT EXISTS grants (user_id TEXT NOT NULL, key_name TEXT NOT NULL, since DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (user_id, key_name));
CREATE TABLE IF NOT EXISTS tombstones (user_id TEXT PRIMARY KEY, deleted DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS kv_cache (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS enrichments (
    item_id TEXT NOT NULL, version TEXT NOT NULL, item_hash TEXT NOT NULL,
    description TEXT NOT NULL, tags TEXT NOT NULL, created DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (item_id, version));
"""

CATALOG = [Migration(1, "items, interactions, users, writers, grants, tombstones, meta, caches", _catalog_v1)]


def _sessions_v2(tx: Transaction, dialect: str) -> None:
    tx.execute("ALTER TABLE sessions ADD COLUMN user_id TEXT")
    read = "json_extract(state, '$.user_id')" if dialect == "sqlite" else "(state::json ->> 'user_id')"
    tx.execute(f"UPDATE sessions SET user_id = {read}")
    tx.execute("CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id)")


SESSIONS = [
    Migration(1, "sessions and their turns", """
        CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, state TEXT NOT NULL, updated DOUBLE PRECISION NOT NULL);
        CREATE TABLE IF NOT EXISTS turns (session_id TEXT NOT NULL, n BIGINT NOT NULL, turn TEXT NOT NULL,
            PRIMARY KEY (session_id, n));
        CREATE INDEX IF NOT EXISTS sessions_updated ON sessions(updated)"""),
    Migration(2, "a session's user as a column (deleting a person's sessions is one indexed query)", _sessions_v2),
]

COMPONENTS = {"catalog": CATALOG, "sessions": SESSIONS}


def migrate(db: Database, component: str) -> list[int]:
    """Apply `component`'s migrations not yet applied; returns the versions applied now."""
    done = []
    with db.write(serial=True) as tx:
        tx.execute("CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT NOT NULL, version BIGINT NOT NULL, "
                   "about TEXT NOT NULL, applied DOUBLE PRECISION NOT NULL, PRIMARY KEY (component, version))")
        applied = {r[0] for r in tx.execute("SELECT version FROM schema_migrations WHERE component = ?", (component,))}
        for m in COMPONENTS[component]:
            if m.version in applied:
                continue
            if callable(m.step):
                m.step(tx, db.dialect)
            else:
                tx.script(m.step)
            tx.execute("INSERT INTO schema_migrations VALUES (?, ?, ?, ?)", (component, m.version, m.about, time.time()))
            done.append(m.version)
    return done


def applied_versions(db: Database, component: str) -> list[int]:
    with db.read() as tx:
        return [r[0] for r in tx.execute("SELECT version FROM schema_migrations WHERE component = ? ORDER BY version",
                                         (component,))]


# what `copy_store` moves: every table of each component (meta last: the counters of the rows above it)
TABLES = {"catalog": ["items", "interactions", "users", "writers", "grants", "tombstones", "kv_cache",
                      "enrichments", "meta"],
          "sessions": ["sessions", "turns"]}


def copy_store(source: Database, target: Database, component: str, replace: bool = False,
               progress: Callable[[str, int, int], None] | None = None) -> dict[str, tuple[int, int]]:
    """Copy a component's tables from `source` into `target` (both brought to the latest schema
    first) in one transaction, then count every table on both sides: {table: (source, target)}.
    A target that already holds data is refused unless `replace`, which deletes it first.
    `progress(table, rows copied, rows in all)` is told as the rows go."""
    from agent.errors import ConfigError

    migrate(source, component)
    migrate(target, component)
    tables = TABLES[component]
    with target.write(serial=True) as tx:
        held = {t: tx.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables if t != "meta"}
        if any(held.values()) and not replace:
            rows = ", ".join(f"{t} {n}" for t, n in held.items() if n)
            raise ConfigError(f"{target.where} already holds {component} data ({rows}): copy into an empty "
                              "database, or pass --replace to delete what it holds first")
        for t in tables:
            tx.execute(f"DELETE FROM {t}")
        for t in tables:
            with source.read() as src:
                columns = [d[0] for d in src.execute(f"SELECT * FROM {t} LIMIT 0").description]
            rows = source.stream(f"SELECT {', '.join(columns)} FROM {t}", table=t)
            if progress is not None:
                rows = _counted(rows, t, _count(source, t), progress)
            tx.copy_rows(t, columns, rows)
    return {t: (_count(source, t), _count(target, t)) for t in tables}


def _counted(rows, table: str, total: int, progress: Callable[[str, int, int], None], every: int = 10_000):
    """`rows` passed through, with `progress(table, n, total)` every `every` rows and at the end."""
    n = 0
    for n, row in enumerate(rows, 1):
        if n % every == 0:
            progress(table, n, total)
        yield row
    progress(table, n, total)


def _count(db: Database, table: str) -> int:
    with db.read() as tx:
        return tx.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
