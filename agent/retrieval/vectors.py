"""The catalog's item vectors as one memory-mapped matrix beside the Chroma store, so that a request
reads the vectors of its liked items and candidates from memory instead of asking Chroma for them.

A snapshot is a folder of three arrays: the item ids, sorted; the row of each in the vectors
(float32, in the order Chroma pages them out). It is written whole or not at all (a temporary folder, then a rename) by whatever
wrote the vectors (`recagent ingest`, `reindex`, `enrich`, after their upserts), and removed
before any later upsert: a snapshot present on disk always holds Chroma's vectors. A process
that mapped it earlier reads its own upserts from Chroma, as it did before; other processes'
later upserts it sees after a restart (the same rule as the in-memory vector cache)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

IDS, ROWS, VECTORS = "ids.npy", "rows.npy", "vectors.npy"


class VectorSnapshot:
    """`ids` sorted, `rows[i]` the row of `ids[i]` in `vectors` (written in Chroma's page order)."""

    def __init__(self, ids: np.ndarray, rows: np.ndarray, vectors: np.ndarray):
        self.ids, self.rows, self.vectors = ids, rows, vectors
        self._unit: np.ndarray | None = None  # the vectors normalised, in memory (exact search)
        self._id_of_row: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def load(cls, folder: Path) -> VectorSnapshot | None:
        """The snapshot in `folder`, memory-mapped; None if absent or unreadable."""
        try:
            ids = np.load(folder / IDS, mmap_mode="r")
            rows = np.load(folder / ROWS, mmap_mode="r")
            vectors = np.load(folder / VECTORS, mmap_mode="r")
        except (OSError, ValueError):
            return None
        if len(ids) != len(rows) or (len(rows) and int(rows.max()) >= len(vectors)):
            return None
        return cls(ids, rows, vectors)

    def get(self, ids: list[str]) -> dict[str, np.ndarray]:
        """The vectors of the `ids` the snapshot holds (copies, float32)."""
        if not ids or not len(self.ids):
            return {}
        wanted = np.asarray(ids, dtype=str)
        at = np.minimum(np.searchsorted(self.ids, wanted), len(self.ids) - 1)
        hit = self.ids[at] == wanted
        vectors = np.asarray(self.vectors[np.asarray(self.rows[at[hit]])], dtype=np.float32)
        return dict(zip((i for i, h in zip(ids, hit) if h), vectors))

    def nearest(self, queries: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
        """The `k` items of highest cosine similarity to each query, best first, by an exact
        search over every vector (the first call reads the whole matrix into memory)."""
        if self._unit is None:
            vectors = np.asarray(self.vectors, dtype=np.float32)
            self._unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            id_of_row = np.empty(len(vectors), dtype=object)
            id_of_row[np.asarray(self.rows)] = self.ids.tolist()
            self._id_of_row = id_of_row
        if k <= 0:
            return [[] for _ in queries]
        queries = np.asarray(queries, dtype=np.float32)
        queries = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
        sims = queries @ self._unit.T
        k = min(k, sims.shape[1])
        out = []
        for row in sims:
            top = np.argpartition(-row, k - 1)[:k] if k < len(row) else np.arange(len(row))
            top = top[np.argsort(-row[top], kind="stable")]
            out.append(list(zip(self._id_of_row[top].tolist(), row[top].tolist())))
        return out


def write_snapshot(folder: Path, pages: Iterable[tuple[list[str], np.ndarray]], count: int) -> int:
    """Write the (ids, vectors) `pages` of a collection of `count` items as one snapshot in `folder`,
    a page at a time into a memory-mapped file (a million vectors never sit in memory twice);
    returns the items written."""
    tmp = folder.with_name(f"{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    ids: list[str] = []
    vectors = None
    for page_ids, page_vectors in pages:
        page_vectors = np.asarray(page_vectors, dtype=np.float32)
        if vectors is None:
            vectors = np.lib.format.open_memmap(tmp / VECTORS, mode="w+", dtype=np.float32,
                                                shape=(count, page_vectors.shape[1]))
        n = min(len(page_ids), count - len(ids))  # items added while paging wait for the next snapshot
        vectors[len(ids):len(ids) + n] = page_vectors[:n]
        ids.extend(page_ids[:n])
    if vectors is None:
        np.save(tmp / VECTORS, np.zeros((0, 0), dtype=np.float32))
    else:
        vectors.flush()
        del vectors
    names = np.asarray(ids, dtype=str)
    order = np.argsort(names, kind="stable")
    np.save(tmp / IDS, names[order])
    np.save(tmp / ROWS, order.astype(np.int64))
    remove_snapshot(folder)
    try:
        tmp.rename(folder)
    except OSError:  # another process wrote one at the same moment: theirs is as good
        shutil.rmtree(tmp, ignore_errors=True)
    return len(ids)


def remove_snapshot(folder: Path) -> None:
    """Drop the snapshot (before vectors change). A process that mapped it keeps its pages."""
    if folder.exists():
        gone = folder.with_name(f"{folder.name}.{os.getpid()}.old")
        shutil.rmtree(gone, ignore_errors=True)
        folder.rename(gone)
        shutil.rmtree(gone, ignore_errors=True)


def pages_of(get, count: int, page: int = 5000) -> Iterator[tuple[list[str], np.ndarray]]:
    """(ids, vectors) pages of a collection of `count` items: `get(offset, limit)` returns Chroma's
    `get(include=["embeddings"])` dict."""
    for offset in range(0, count, page):
        got = get(offset, page)
        if got["ids"]:
            yield list(got["ids"]), np.asarray(got["embeddings"], dtype=np.float32)
