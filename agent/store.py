"""The catalog and the interactions (SQLite, or PostgreSQL for replicas): the source of truth
Chroma indexes and the item models are fitted on."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from agent.db import Database, open_database
from agent.migrations import migrate
from agent.types import Interaction, Item

ITEM_CACHE_MAX = 200_000


def content_hash(item: Item) -> str:
    return hashlib.sha256(item.model_dump_json().encode()).hexdigest()


class CatalogStore:
    """Items and interactions with idempotent upserts that report what changed."""

    def __init__(self, target: Path | str | Database):
        """`target`: an SQLite file, a postgresql:// URL, or an open Database."""
        self._db = target if isinstance(target, Database) else open_database(target)
        migrate(self._db, "catalog")
        self.version = 0  # bumped on this process's writes, so derived indexes know to rebuild
        self._items: dict[str, Item] = {}  # read cache; upserts evict what they change

    @property
    def database(self) -> Database:
        return self._db

    def close(self) -> None:
        self._db.close()

    # -- items -------------------------------------------------------------------------
    def upsert_items(self, items: list[Item]) -> dict[str, list[str]]:
        """Insert or update; returns item ids by outcome: added, updated, unchanged."""
        outcome: dict[str, list[str]] = {"added": [], "updated": [], "unchanged": []}
        if not items:
            return outcome
        with self._db.write() as tx:
            known = self._hashes(tx, [i.item_id for i in items])
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
            tx.executemany(self._db.upsert("items", ITEM_COLUMNS, ["item_id"]), rows)
            for row in rows:
                self._items.pop(row[0], None)
        if rows:
            self.version += 1
        return outcome

    @staticmethod
    def _hashes(tx, ids: list[str]) -> dict[str, str]:
        out = {}
        for chunk in _chunks(ids, 900):
            q = f"SELECT item_id, content_hash FROM items WHERE item_id IN ({','.join('?' * len(chunk))})"
            out.update(tx.execute(q, chunk).fetchall())
        return out

    def get_items(self, ids: Iterable[str]) -> dict[str, Item]:
        ids = list(dict.fromkeys(ids))
        out = {i: self._items[i] for i in ids if i in self._items}
        missing = [i for i in ids if i not in out]
        if missing:
            with self._db.read() as tx:
                for chunk in _chunks(missing, 900):
                    q = ("SELECT item_id, title, text, categories, tags FROM items "
                         f"WHERE item_id IN ({','.join('?' * len(chunk))})")
                    for row in tx.execute(q, chunk).fetchall():
                        out[row[0]] = _item(row)
        if len(self._items) > ITEM_CACHE_MAX:
            self._items.clear()
        self._items.update((i, out[i]) for i in missing if i in out)
        return out

    def get_item(self, item_id: str) -> Item | None:
        return self.get_items([item_id]).get(item_id)

    def all_items(self) -> list[Item]:
        with self._db.read() as tx:
            rows = tx.execute("SELECT item_id, title, text, categories, tags FROM items").fetchall()
        return [_item(r) for r in rows]

    def search_titles(self, text: str, limit: int = 5) -> list[Item]:
        """Items whose title contains `text` (case-insensitive), shortest titles first."""
        needle = "%" + text.strip().lower().replace("%", "").replace("_", "") + "%"
        with self._db.read() as tx:
            rows = tx.execute("SELECT item_id, title, text, categories, tags FROM items WHERE lower(title) LIKE ? "
                              "ORDER BY length(title) LIMIT ?", (needle, limit)).fetchall()
        return [_item(r) for r in rows]

    def item_ids(self) -> set[str]:
        with self._db.read() as tx:
            return {r[0] for r in tx.execute("SELECT item_id FROM items").fetchall()}

    def count_items(self) -> int:
        with self._db.read() as tx:
            return tx.execute("SELECT COUNT(*) FROM items").fetchone()[0]

    # -- interactions --------------------------------------------------------------------
    def upsert_interactions(self, rows: list[Interaction]) -> dict[str, int]:
        outcome = {"added": 0, "updated": 0, "unchanged": 0}
        if not rows:
            return outcome
        with self._db.write(serial=True) as tx:
            stored = self._stored_interactions(tx, rows)
            writes = []
            for r in rows:
                old = stored.get((r.user_id, r.item_id))
                if old is not None and old == (r.rating, r.timestamp):
                    outcome["unchanged"] += 1
                    continue
                outcome["added" if old is None else "updated"] += 1
                writes.append((r.user_id, r.item_id, r.rating, r.timestamp, None))
            tx.executemany(self._db.upsert("interactions", INTERACTION_COLUMNS, ["user_id", "item_id"]), writes)
            if writes:
                self._interactions_written(tx, outcome["added"])
        if writes:
            self.version += 1
        return outcome

    @staticmethod
    def _stored_interactions(tx, rows: list[Interaction]) -> dict[tuple[str, str], tuple]:
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
                for item, rating, timestamp in tx.execute(q, [user, *chunk]).fetchall():
                    out[(user, item)] = (rating, timestamp)
        return out

    @staticmethod
    def _interactions_written(tx, added: int) -> None:
        """Inside a write transaction: a new generation, and the count moved by `added`."""
        tx.execute("INSERT INTO meta VALUES ('interactions_generation', 1) ON CONFLICT (key) "
                   "DO UPDATE SET value = meta.value + 1")
        tx.execute("UPDATE meta SET value = value + ? WHERE key = 'interactions_count'", (added,))

    def _meta(self, key: str) -> int | None:
        with self._db.read() as tx:
            row = tx.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def generation(self) -> int:
        """Bumped by every write to the interactions, by any process or replica: fits are keyed by it."""
        return self._meta("interactions_generation") or 0

    def user_interactions(self, user_id: str) -> list[Interaction]:
        with self._db.read() as tx:
            rows = tx.execute(
                "SELECT user_id, item_id, rating, timestamp FROM interactions WHERE user_id=? "
                "ORDER BY timestamp, item_id", (user_id,)).fetchall()
        # validated when written (ingest, feedback): not checked again at every read
        return [Interaction.model_construct(user_id=r[0], item_id=r[1], rating=r[2], timestamp=r[3]) for r in rows]

    # -- users -----------------------------------------------------------------------------------
    def add_user(self, user_id: str) -> bool:
        """Register a user (one with no interactions yet); False when the id is already known.
        Registering a deleted id on purpose starts a new user under it."""
        with self._db.write(serial=True) as tx:
            if _known(tx, user_id):
                return False
            tx.execute("INSERT INTO users VALUES (?, ?)", (user_id, time.time()))
            tx.execute("DELETE FROM tombstones WHERE user_id = ?", (user_id,))
        return True

    def has_user(self, user_id: str) -> bool:
        with self._db.read() as tx:
            return _known(tx, user_id)

    def record(self, row: Interaction, writer: str | None, create: bool = False) -> bool:
        """Write one interaction of a known user (feedback), checked and written in one serial
        transaction, so a delete that began first wins: False (nothing written) when the user is
        unknown or deleted. `create` registers an unknown id first (a chat session's own user),
        unless that id was deleted. `writer` (a service key's name) starts the trust rule's clock
        for this user."""
        with self._db.write(serial=True) as tx:
            if not _known(tx, row.user_id):
                tombstoned = tx.execute("SELECT 1 FROM tombstones WHERE user_id=?", (row.user_id,)).fetchone()
                if not create or tombstoned:
                    return False
                tx.execute("INSERT INTO users VALUES (?, ?)", (row.user_id, time.time()))
            added = tx.execute("SELECT 1 FROM interactions WHERE user_id=? AND item_id=?",
                               (row.user_id, row.item_id)).fetchone() is None
            tx.execute(self._db.upsert("interactions", INTERACTION_COLUMNS, ["user_id", "item_id"]),
                       (row.user_id, row.item_id, row.rating, row.timestamp, writer))
            if writer is not None:
                tx.execute("INSERT INTO writers VALUES (?, ?, ?) ON CONFLICT DO NOTHING", (row.user_id, writer, time.time()))
            self._interactions_written(tx, int(added))
        self.version += 1
        return True

    def delete_user(self, user_id: str) -> int | None:
        """Forget a user in one transaction: their interactions, registration, writers and grants,
        and the cached LLM profile summaries (keyed by content, not by user, so all of them go); a
        tombstone keeps any write already under way from reviving the id. Returns the interactions
        deleted, or None for an unknown user."""
        with self._db.write(serial=True) as tx:
            if not _known(tx, user_id):
                return None
            tx.execute(self._db.upsert("tombstones", ["user_id", "deleted"], ["user_id"]), (user_id, time.time()))
            n = tx.execute("DELETE FROM interactions WHERE user_id=?", (user_id,)).rowcount
            for table in ("users", "writers", "grants"):
                tx.execute(f"DELETE FROM {table} WHERE user_id=?", (user_id,))
            self._interactions_written(tx, -n)
            tx.execute("DELETE FROM kv_cache WHERE key LIKE 'profile:%'")
        self._db.forget(["interactions", "users", "writers", "grants", "kv_cache"])
        self.version += 1
        return n

    def grant(self, user_id: str, key_name: str) -> bool:
        """Let the app key `key_name` act for `user_id` (a user it did not create); False for an unknown user."""
        with self._db.write(serial=True) as tx:
            if not _known(tx, user_id):
                return False
            tx.execute("INSERT INTO grants VALUES (?, ?, ?) ON CONFLICT DO NOTHING", (user_id, key_name, time.time()))
        return True

    def granted(self, user_id: str, key_name: str) -> bool:
        with self._db.read() as tx:
            return tx.execute("SELECT 1 FROM grants WHERE user_id=? AND key_name=?",
                              (user_id, key_name)).fetchone() is not None

    def trusted_interactions(self, min_age_s: float, min_count: int, chunk: int = 100_000
                             ) -> Iterator[tuple[str, str, float | None, int | None]]:
        """The interactions the shared item models learn from (the trust rule): every ingested row,
        and a row written through the service or chat, whatever the user, only once its writer has
        written for that user for `min_age_s` and the user has `min_count` interactions (registered
        users' rows from before writers were recorded: once the account is that old). A flood of
        fresh accounts, or of writes for people an app key was granted, moves nobody else's list;
        the writes count at once in the person's own list. Streamed `chunk` rows at a time: a fit
        over 25M rows neither holds them all nor stalls the store."""
        cutoff = time.time() - min_age_s
        with self._db.read() as tx:
            established = {r[0] for r in tx.execute(
                "SELECT user_id FROM interactions WHERE user_id IN (SELECT user_id FROM users UNION "
                "SELECT user_id FROM writers) GROUP BY user_id HAVING COUNT(*) >= ?", (min_count,)).fetchall()}
        rows = self._db.stream(
            "SELECT i.user_id, i.item_id, i.rating, i.timestamp, i.source, u.created, w.since "
            "FROM interactions i LEFT JOIN users u ON u.user_id = i.user_id LEFT JOIN writers w "
            "ON w.user_id = i.user_id AND w.writer = i.source", table="i", chunk=chunk)
        for user, item, rating, stamp, source, created, since in rows:
            if source is None and created is None:  # ingested
                yield user, item, rating, stamp
                continue
            clock = created if source is None else since
            if clock is not None and clock <= cutoff and user in established:
                yield user, item, rating, stamp

    def all_interactions(self) -> list[tuple[str, str, float | None, int | None]]:
        with self._db.read() as tx:
            return tx.execute("SELECT user_id, item_id, rating, timestamp FROM interactions").fetchall()

    def count_interactions(self) -> int:
        """Kept in the same transaction as every write, so reading it is one row, at any size."""
        return self._meta("interactions_count") or 0

    # -- LLM-written item text (recagent enrich) -----------------------------------------------
    def put_enrichment(self, item: Item, version: str, description: str, tags: list[str]) -> None:
        with self._db.write() as tx:
            tx.execute(self._db.upsert("enrichments", ENRICHMENT_COLUMNS, ["item_id", "version"]),
                       (item.item_id, version, content_hash(item), description, json.dumps(tags), time.time()))

    def enrichments(self, version: str | None = None) -> dict[str, tuple[str, list[str]]]:
        """item id -> (description, tags) of `version` (default: each item's newest), for
        items unchanged since they were described: an edited item's text is stale."""
        q = ("SELECT e.item_id, e.description, e.tags FROM enrichments e JOIN items i USING (item_id) "
             "WHERE e.item_hash = i.content_hash" + (" AND e.version = ?" if version is not None else "") +
             " ORDER BY e.created")
        with self._db.read() as tx:
            rows = tx.execute(q, (version,) if version is not None else ()).fetchall()
        return {item_id: (text, json.loads(tags)) for item_id, text, tags in rows}  # newest wins

    # -- small persistent cache (LLM-written profiles) -----------------------------------------
    def cache_get(self, key: str) -> str | None:
        with self._db.read() as tx:
            row = tx.execute("SELECT value FROM kv_cache WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def cache_put(self, key: str, value: str) -> None:
        with self._db.write() as tx:
            tx.execute(self._db.upsert("kv_cache", ["key", "value"], ["key"]), (key, value))


ITEM_COLUMNS = ["item_id", "title", "text", "categories", "tags", "content_hash"]
INTERACTION_COLUMNS = ["user_id", "item_id", "rating", "timestamp", "source"]
ENRICHMENT_COLUMNS = ["item_id", "version", "item_hash", "description", "tags", "created"]


def _known(tx, user_id: str) -> bool:
    return tx.execute("SELECT 1 FROM users WHERE user_id=? UNION ALL "
                      "SELECT 1 FROM interactions WHERE user_id=? LIMIT 1", (user_id, user_id)).fetchone() is not None


def _item(row) -> Item:
    # rows were validated as Items when they were written: not checked again at every read
    return Item.model_construct(item_id=row[0], title=row[1], text=row[2], categories=json.loads(row[3]),
                                tags=json.loads(row[4]))


def _chunks(seq: list, n: int):
    for i in range(0, len(seq), n):
        yield seq[i:i + n]
