"""The catalog and the interactions, in SQLite: the source of truth Chroma indexes."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from agent.privacy import private_file
from agent.types import Interaction, Item

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    item_id TEXT PRIMARY KEY, title TEXT NOT NULL, text TEXT NOT NULL,
    categories TEXT NOT NULL, tags TEXT NOT NULL, content_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS interactions (
    user_id TEXT NOT NULL, item_id TEXT NOT NULL, rating REAL, timestamp INTEGER,
    PRIMARY KEY (user_id, item_id));
CREATE INDEX IF NOT EXISTS interactions_item ON interactions(item_id);
CREATE TABLE IF NOT EXISTS users (user_id TEXT PRIMARY KEY, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS kv_cache (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS enrichments (
    item_id TEXT NOT NULL, version TEXT NOT NULL, item_hash TEXT NOT NULL,
    description TEXT NOT NULL, tags TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (item_id, version));
"""


ITEM_CACHE_MAX = 200_000


def content_hash(item: Item) -> str:
    return hashlib.sha256(item.model_dump_json().encode()).hexdigest()


class CatalogStore:
    """Items and interactions with idempotent upserts that report what changed."""

    def __init__(self, path: Path):
        self.path = private_file(path)  # interactions are personal data: owner-only (SQLite's -wal/-shm follow)
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.executescript(_SCHEMA)
            if self._meta("interactions_count") is None:  # a store from before the counter: count once
                n = self._db.execute("SELECT COUNT(*) FROM interactions").fetchone()[0]
                self._db.execute("INSERT INTO meta VALUES ('interactions_count', ?)", (n,))
        self.version = 0  # bumped on every write, so derived indexes know to rebuild
        self._items: dict[str, Item] = {}  # read cache; upserts evict what they change

    def close(self) -> None:
        self._db.close()

    # -- items -------------------------------------------------------------------------
    def upsert_items(self, items: list[Item]) -> dict[str, list[str]]:
        """Insert or update; returns item ids by outcome: added, updated, unchanged."""
        outcome: dict[str, list[str]] = {"added": [], "updated": [], "unchanged": []}
        if not items:
            return outcome
        with self._lock, self._db:
            known = self._hashes([i.item_id for i in items])
            rows = []
            for item in items:
                h = content_hash(item)
                old = known.get(item.item_id)
                if old == h:
                    outcome["unchanged"].append(item.item_id)
                    continue
                outcome["added" if old is None else "updated"].append(item.item_id)
                rows.append((item.item_id, item.title, item.text, json.dumps(item.categories),
                             json.dumps(item.tags), h))
            self._db.executemany("INSERT OR REPLACE INTO items VALUES (?,?,?,?,?,?)", rows)
            for row in rows:
                self._items.pop(row[0], None)
        if rows:
            self.version += 1
        return outcome

    def _hashes(self, ids: list[str]) -> dict[str, str]:
        out = {}
        for chunk in _chunks(ids, 900):
            q = f"SELECT item_id, content_hash FROM items WHERE item_id IN ({','.join('?' * len(chunk))})"
            out.update(self._db.execute(q, chunk).fetchall())
        return out

    def get_items(self, ids: Iterable[str]) -> dict[str, Item]:
        ids = list(dict.fromkeys(ids))
        out = {i: self._items[i] for i in ids if i in self._items}
        missing = [i for i in ids if i not in out]
        with self._lock:
            for chunk in _chunks(missing, 900):
                q = ("SELECT item_id, title, text, categories, tags FROM items "
                     f"WHERE item_id IN ({','.join('?' * len(chunk))})")
                for row in self._db.execute(q, chunk):
                    out[row[0]] = _item(row)
        if len(self._items) > ITEM_CACHE_MAX:
            self._items.clear()
        self._items.update((i, out[i]) for i in missing if i in out)
        return out

    def get_item(self, item_id: str) -> Item | None:
        return self.get_items([item_id]).get(item_id)

    def all_items(self) -> list[Item]:
        with self._lock:
            rows = self._db.execute("SELECT item_id, title, text, categories, tags FROM items").fetchall()
        return [_item(r) for r in rows]

    def search_titles(self, text: str, limit: int = 5) -> list[Item]:
        """Items whose title contains `text` (case-insensitive), shortest titles first."""
        needle = "%" + text.strip().lower().replace("%", "").replace("_", "") + "%"
        with self._lock:
            rows = self._db.execute("SELECT item_id, title, text, categories, tags FROM items WHERE lower(title) LIKE ? "
                                    "ORDER BY length(title) LIMIT ?", (needle, limit)).fetchall()
        return [_item(r) for r in rows]

    def item_ids(self) -> set[str]:
        with self._lock:
            return {r[0] for r in self._db.execute("SELECT item_id FROM items")}

    def count_items(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM items").fetchone()[0]

    # -- interactions --------------------------------------------------------------------
    def upsert_interactions(self, rows: list[Interaction]) -> dict[str, int]:
        outcome = {"added": 0, "updated": 0, "unchanged": 0}
        if not rows:
            return outcome
        with self._lock, self._db:
            stored = self._stored_interactions(rows)
            writes = []
            for r in rows:
                old = stored.get((r.user_id, r.item_id))
                if old is not None and old == (r.rating, r.timestamp):
                    outcome["unchanged"] += 1
                    continue
                outcome["added" if old is None else "updated"] += 1
                writes.append((r.user_id, r.item_id, r.rating, r.timestamp))
            self._db.executemany("INSERT OR REPLACE INTO interactions VALUES (?,?,?,?)", writes)
            if writes:
                self._interactions_written(outcome["added"])
        if writes:
            self.version += 1
        return outcome

    def _stored_interactions(self, rows: list[Interaction]) -> dict[tuple[str, str], tuple]:
        """(rating, timestamp) of each of `rows` already stored: one query per user and 900 items,
        not one per row (an ingest file lists a user's rows together)."""
        by_user: dict[str, list[str]] = {}
        for r in rows:
            by_user.setdefault(r.user_id, []).append(r.item_id)
        out = {}
        for user, items in by_user.items():
            for chunk in _chunks(list(dict.fromkeys(items)), 900):
                q = ("SELECT item_id, rating, timestamp FROM interactions WHERE user_id=? "
                     f"AND item_id IN ({','.join('?' * len(chunk))})")
                for item, rating, timestamp in self._db.execute(q, [user, *chunk]):
                    out[(user, item)] = (rating, timestamp)
        return out

    def _interactions_written(self, added: int) -> None:
        """Inside a write transaction: a new generation, and the count moved by `added`."""
        self._db.execute("INSERT INTO meta VALUES ('interactions_generation', 1) ON CONFLICT(key) "
                         "DO UPDATE SET value = value + 1")
        self._db.execute("UPDATE meta SET value = value + ? WHERE key = 'interactions_count'", (added,))

    def _meta(self, key: str) -> int | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def generation(self) -> int:
        """Bumped by every write to the interactions, by any process: fits on disk are keyed by it."""
        with self._lock:
            return self._meta("interactions_generation") or 0

    def user_interactions(self, user_id: str) -> list[Interaction]:
        with self._lock:
            rows = self._db.execute(
                "SELECT user_id, item_id, rating, timestamp FROM interactions WHERE user_id=? "
                "ORDER BY timestamp", (user_id,)).fetchall()
        # validated when written (ingest, feedback): not checked again at every read
        return [Interaction.model_construct(user_id=r[0], item_id=r[1], rating=r[2], timestamp=r[3]) for r in rows]

    # -- users -----------------------------------------------------------------------------------
    def add_user(self, user_id: str) -> bool:
        """Register a user (one with no interactions yet); False when the id is already known."""
        with self._lock, self._db:
            if self._known(user_id):
                return False
            self._db.execute("INSERT INTO users VALUES (?, ?)", (user_id, time.time()))
        return True

    def has_user(self, user_id: str) -> bool:
        with self._lock:
            return self._known(user_id)

    def _known(self, user_id: str) -> bool:
        return self._db.execute("SELECT 1 FROM users WHERE user_id=? UNION ALL "
                                "SELECT 1 FROM interactions WHERE user_id=? LIMIT 1", (user_id, user_id)).fetchone() is not None

    def delete_user(self, user_id: str) -> int:
        """Forget a user: their interactions and registration, and the cached LLM profile summaries
        (keyed by content, not by user, so all of them go). Returns the interactions deleted."""
        with self._lock, self._db:
            n = self._db.execute("DELETE FROM interactions WHERE user_id=?", (user_id,)).rowcount
            self._db.execute("DELETE FROM users WHERE user_id=?", (user_id,))
            self._interactions_written(-n)
            self._db.execute("DELETE FROM kv_cache WHERE key LIKE 'profile:%'")
        self.version += 1
        return n

    def trusted_interactions(self, min_age_s: float, min_count: int, chunk: int = 100_000
                             ) -> Iterator[tuple[str, str, float | None, int | None]]:
        """The interactions the shared item models learn from: every ingested user's, and those of
        users registered here (add_user, chat sessions) once the account is `min_age_s` old and
        has `min_count` interactions. A flood of fresh accounts moves nobody else's list; their
        own lists use their history at once. Read `chunk` rows at a time in rowid order, the lock
        held per chunk: a fit over 25M rows neither holds them all as tuples nor stalls the store."""
        created_by = time.time() - min_age_s
        after = 0
        while True:
            with self._lock:
                rows = self._db.execute(  # the registered users' counts are taken once per chunk, not per row
                    "SELECT rowid, user_id, item_id, rating, timestamp FROM interactions WHERE rowid > ? AND ("
                    "user_id NOT IN (SELECT user_id FROM users) OR user_id IN ("
                    "SELECT u.user_id FROM users u JOIN interactions j ON j.user_id = u.user_id "
                    "WHERE u.created <= ? GROUP BY u.user_id HAVING COUNT(*) >= ?)) ORDER BY rowid LIMIT ?",
                    (after, created_by, min_count, chunk)).fetchall()
            for row in rows:
                yield row[1:]
            if len(rows) < chunk:
                return
            after = rows[-1][0]

    def all_interactions(self) -> list[tuple[str, str, float | None, int | None]]:
        with self._lock:
            return self._db.execute("SELECT user_id, item_id, rating, timestamp FROM interactions").fetchall()

    def count_interactions(self) -> int:
        """Kept in the same transaction as every write, so reading it is one row, at any size."""
        with self._lock:
            return self._meta("interactions_count") or 0

    # -- LLM-written item text (recagent enrich) -----------------------------------------------
    def put_enrichment(self, item: Item, version: str, description: str, tags: list[str]) -> None:
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO enrichments VALUES (?,?,?,?,?,?)",
                             (item.item_id, version, content_hash(item), description, json.dumps(tags), time.time()))

    def enrichments(self, version: str | None = None) -> dict[str, tuple[str, list[str]]]:
        """item id -> (description, tags) of `version` (default: each item's newest), for
        items unchanged since they were described: an edited item's text is stale."""
        with self._lock:
            rows = self._db.execute(
                "SELECT e.item_id, e.description, e.tags FROM enrichments e JOIN items i USING (item_id) "
                "WHERE e.item_hash = i.content_hash AND (? IS NULL OR e.version = ?) ORDER BY e.created",
                (version, version)).fetchall()
        return {item_id: (text, json.loads(tags)) for item_id, text, tags in rows}  # newest wins

    # -- small persistent cache (LLM-written profiles) -----------------------------------------
    def cache_get(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM kv_cache WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def cache_put(self, key: str, value: str) -> None:
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO kv_cache VALUES (?,?)", (key, value))


def _item(row) -> Item:
    # rows were validated as Items when they were written: not checked again at every read
    return Item.model_construct(item_id=row[0], title=row[1], text=row[2], categories=json.loads(row[3]),
                                tags=json.loads(row[4]))


def _chunks(seq: list, n: int):
    for i in range(0, len(seq), n):
        yield seq[i:i + n]
