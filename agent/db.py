"""The two SQL engines the stores run on, behind one small interface: SQLite (a file in the data
dir, the embedded default) and PostgreSQL (psycopg 3 with a connection pool, selected by
`RECAGENT_STORE_URL=postgresql://…`: what service replicas share).

Queries are written once, with `?` placeholders, in the SQL both engines speak; the few
statements that differ (replacing upserts, streaming a large read, cleaning up after a delete)
are methods here. A write transaction is `serial` when a check and the write that depends on it
must see the same data in every process: SQLite takes its write lock at once (BEGIN IMMEDIATE),
PostgreSQL an advisory transaction lock."""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from agent.errors import ConfigError, StoreError
from agent.privacy import private_file

SERIAL_WRITES_LOCK = 0x7265636167  # PostgreSQL advisory lock key of serial write transactions
STREAM_CHUNK = 100_000
POOL_WAIT_S = 5.0  # a request waits this long for a PostgreSQL connection, then is a StoreError (503)


class Transaction:
    """A cursor in an open transaction: `execute(sql, args)` with `?` placeholders."""

    def __init__(self, cursor, postgres: bool):
        self._cursor, self._postgres = cursor, postgres

    def execute(self, sql: str, args: Sequence = ()):
        if self._postgres:
            return self._cursor.execute(*_pg(sql, args))
        return self._cursor.execute(sql, args)

    def executemany(self, sql: str, rows: Sequence[Sequence]) -> None:
        if not rows:
            return
        if self._postgres:
            self._cursor.executemany(_pg(sql, rows[0])[0], rows)
        else:
            self._cursor.executemany(sql, rows)

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterator[Sequence]) -> int:
        """Bulk-insert rows (PostgreSQL's COPY; SQLite in batches); returns how many."""
        n = 0
        if self._postgres:
            with self._cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    n += 1
            return n
        insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        batch: list[Sequence] = []
        for row in rows:
            batch.append(row)
            if len(batch) == 10_000:
                self._cursor.executemany(insert, batch)
                n, batch = n + len(batch), []
        self._cursor.executemany(insert, batch)
        return n + len(batch)

    def script(self, sql: str) -> None:
        """Several statements without parameters, one at a time (`;`-separated, none inside a string)."""
        for statement in filter(str.strip, re.sub(r"--[^\n]*", "", sql).split(";")):
            self._cursor.execute(statement)


def _pg(sql: str, args: Sequence) -> tuple[str, Sequence | None]:
    if not args:
        return sql, None  # psycopg reads % signs only when there are parameters
    return sql.replace("%", "%%").replace("?", "%s"), args


class Database:
    dialect: str
    row_lock = ""  # appended to a SELECT that locks its rows until the transaction ends

    def read(self):
        raise NotImplementedError

    def write(self, serial: bool = False):
        raise NotImplementedError

    def upsert(self, table: str, columns: Sequence[str], key: Sequence[str]) -> str:
        """An insert that replaces the row with the same `key`."""
        raise NotImplementedError

    def stream(self, sql: str, args: Sequence = (), table: str = "", chunk: int = STREAM_CHUNK) -> Iterator[tuple]:
        """The rows of a large read (`SELECT … FROM {table} …`, no ORDER BY or LIMIT), `chunk` at a
        time, without holding them all; `table` names the table (or its alias) that orders the pages."""
        raise NotImplementedError

    def forget(self, tables: Sequence[str]) -> None:
        """After deleting a person's rows: leave no copy of them in the engine's files."""

    @contextmanager
    def exclusive(self, key: int, wait: bool = False) -> Iterator[bool]:
        """Work one process does at a time (a refit): True when this one may do it (with `wait`,
        once the holder is done). SQLite: always True (one machine; two processes refitting at
        once only repeat the work)."""
        yield True

    def close(self) -> None:
        raise NotImplementedError

    @property
    def where(self) -> str:
        raise NotImplementedError


class SQLiteDatabase(Database):
    """One connection shared by the process's threads under a lock (owner-only file)."""

    dialect = "sqlite"

    def __init__(self, path: Path, *, wal: bool = False, timeout: float = 5.0):
        self.path = private_file(path)  # personal data: owner-only (SQLite's -wal/-shm follow)
        self._conn = sqlite3.connect(path, check_same_thread=False, timeout=timeout)
        self._lock = threading.Lock()
        self.wal = wal
        with self._lock:
            if wal:
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA secure_delete = ON")  # deleted rows are overwritten, not left in free pages

    @property
    def where(self) -> str:
        return str(self.path)

    @contextmanager
    def read(self) -> Iterator[Transaction]:
        with self._lock:
            yield Transaction(self._conn, postgres=False)

    @contextmanager
    def write(self, serial: bool = False) -> Iterator[Transaction]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE" if serial else "BEGIN")
            try:
                yield Transaction(self._conn, postgres=False)
            except BaseException:
                self._conn.rollback()
                raise
            self._conn.commit()

    def upsert(self, table: str, columns: Sequence[str], key: Sequence[str]) -> str:
        return f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"

    def stream(self, sql: str, args: Sequence = (), table: str = "", chunk: int = STREAM_CHUNK) -> Iterator[tuple]:
        """Pages in `table`'s rowid order, the lock held per page: a long read never stalls the store."""
        where = "AND" if " WHERE " in sql.upper() else "WHERE"
        paged = f"SELECT {table}.rowid, {sql.strip()[len('SELECT'):]} {where} {table}.rowid > ? ORDER BY 1 LIMIT ?"
        after = 0
        while True:
            with self._lock:
                rows = self._conn.execute(paged, (*args, after, chunk)).fetchall()
            for row in rows:
                yield row[1:]
            if len(rows) < chunk:
                return
            after = rows[-1][0]

    def forget(self, tables: Sequence[str]) -> None:
        if self.wal:  # the write-ahead log still holds the deleted rows' pages until truncated
            with self._lock:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        self._conn.close()


class PostgresDatabase(Database):
    """A psycopg 3 connection pool; each read or write takes a connection for its transaction."""

    dialect = "postgresql"
    row_lock = " FOR UPDATE"

    def __init__(self, url: str, *, max_size: int = 8, connect_timeout_s: float = 10.0):
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError:
            raise ConfigError("RECAGENT_STORE_URL names PostgreSQL but psycopg is not installed: "
                              "install the extra (`pip install 'recagent[replicas]'`)") from None
        self.url = url
        timeout = {"connect_timeout": max(1, int(connect_timeout_s))}
        self._pool = ConnectionPool(url, min_size=1, max_size=max_size, open=False, name="recagent-store",
                                    kwargs=timeout, timeout=POOL_WAIT_S)
        try:  # one connection first: a refused or misnamed server fails at once, with the server's reason
            psycopg.connect(url, **timeout).close()
            self._pool.open(wait=True, timeout=connect_timeout_s)
        except Exception as e:
            self._pool.close()
            raise ConfigError(f"cannot connect to PostgreSQL at {self.where} ({type(e).__name__}: {e}): check that the "
                              "server runs and RECAGENT_STORE_URL is right (postgresql://user:password@host:port/db)") from None

    @property
    def where(self) -> str:
        return re.sub(r"//[^@/]*@", "//…@", self.url)  # never the password

    @contextmanager
    def _answering(self) -> Iterator[None]:
        """A lost server or connection as a StoreError that says so (the pool replaces broken
        connections: the next request gets a fresh one once the server is back)."""
        from psycopg import InterfaceError, OperationalError
        from psycopg_pool import PoolTimeout

        try:
            yield
        except (OperationalError, InterfaceError, PoolTimeout) as e:
            raise StoreError(f"the database at {self.where} did not answer ({type(e).__name__}: "
                             f"{str(e).strip().splitlines()[0] if str(e).strip() else 'no detail'}): check that "
                             "PostgreSQL is running and reachable; the request can be retried") from None

    @contextmanager
    def read(self) -> Iterator[Transaction]:
        with self._answering(), self._pool.connection() as conn:
            yield Transaction(conn.cursor(), postgres=True)

    @contextmanager
    def write(self, serial: bool = False) -> Iterator[Transaction]:
        with self._answering(), self._pool.connection() as conn:  # commits on leaving, rolls back on an error
            cursor = conn.cursor()
            if serial:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", (SERIAL_WRITES_LOCK,))
            yield Transaction(cursor, postgres=True)

    @contextmanager
    def exclusive(self, key: int, wait: bool = False) -> Iterator[bool]:
        """A session-level advisory lock on one connection for the block: True when this process
        holds it; without `wait`, False at once when another session does."""
        with self._answering(), self._pool.connection() as conn:
            conn.autocommit = True
            try:
                if wait:
                    conn.execute("SELECT pg_advisory_lock(%s)", (key,))
                    taken = True
                else:
                    taken = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]
                try:
                    yield taken
                finally:
                    if taken:
                        conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
            finally:
                conn.autocommit = False

    def upsert(self, table: str, columns: Sequence[str], key: Sequence[str]) -> str:
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
        return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
                f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}")

    def stream(self, sql: str, args: Sequence = (), table: str = "", chunk: int = STREAM_CHUNK) -> Iterator[tuple]:
        """A server-side cursor over one snapshot, `chunk` rows per round trip."""
        with self._answering(), self._pool.connection() as conn, conn.transaction():
            with conn.cursor(name="recagent_stream") as cursor:
                cursor.itersize = chunk
                cursor.execute(*_pg(sql, args))
                yield from cursor

    def forget(self, tables: Sequence[str]) -> None:
        """VACUUM the tables, so deleted rows' tuples are reclaimed now, not at the next autovacuum.
        (The server's write-ahead log keeps them until its next checkpoint recycles the segment.)"""
        with self._answering(), self._pool.connection() as conn:
            conn.autocommit = True
            try:
                conn.execute(f"VACUUM {', '.join(tables)}")
            finally:
                conn.autocommit = False

    def close(self) -> None:
        self._pool.close()


def open_database(target: str | Path, *, wal: bool = False, timeout: float = 5.0) -> Database:
    """PostgreSQL for a postgresql:// URL, else an SQLite file at the path."""
    text = str(target)
    if text.startswith(("postgresql://", "postgres://")):
        return PostgresDatabase(text)
    if "://" in text:
        raise ConfigError(f"unsupported store URL {text.split('://')[0]}://…: use postgresql://user:password@host/db, "
                          "or leave RECAGENT_STORE_URL unset for SQLite files in the data dir")
    return SQLiteDatabase(Path(target), wal=wal, timeout=timeout)
