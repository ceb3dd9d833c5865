"""The catalog's item vectors as one memory-mapped matrix beside the Chroma store, so that a request
reads the vectors of its liked items and candidates from memory instead of asking Chroma for them.

A snapshot is a folder of two arrays: the item ids, sorted, and their vectors in the same order
(float32). It is written whole or not at all (a temporary folder, then a rename) by whatever
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

IDS, VECTORS = "ids.npy", "vectors.npy"


class VectorSnapshot:
    def __init__(self, ids: np.ndarray, vectors: np.ndarray):
        self.ids, self.vectors = ids, vectors

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def load(cls, folder: Path) -> VectorSnapshot | None:
        """The snapshot in `folder`, memory-mapped; None if absent or unreadable."""
        try:
            ids = np.load(folder / IDS, mmap_mode="r")
            vectors = np.load(folder / VECTORS, mmap_mode="r")
        except (OSError, ValueError):
            return None
        return cls(ids, vectors) if len(ids) == len(vectors) else None

    def get(self, ids: list[str]) -> dict[str, np.ndarray]:
        """The vectors of the `ids` the snapshot holds (copies, float32)."""
        if not ids or not len(self.ids):
            return {}
        wanted = np.asarray(ids, dtype=str)
        at = np.minimum(np.searchsorted(self.ids, wanted), len(self.ids) - 1)
        hit = self.ids[at] == wanted
        rows = np.asarray(self.vectors[at[hit]], dtype=np.float32)
        return dict(zip((i for i, h in zip(ids, hit) if h), rows))


def write_snapshot(folder: Path, pages: Iterable[tuple[list[str], np.ndarray]], dim: int | None = None) -> int:
    """Write the (ids, vectors) `pages` as one snapshot in `folder`; returns the items written."""
    tmp = folder.with_name(f"{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    ids: list[str] = []
    chunks: list[np.ndarray] = []
    for page_ids, page_vectors in pages:
        ids.extend(page_ids)
        chunks.append(np.asarray(page_vectors, dtype=np.float32))
    order = np.argsort(np.asarray(ids, dtype=str), kind="stable")
    vectors = np.concatenate(chunks) if chunks else np.zeros((0, dim or 0), dtype=np.float32)
    np.save(tmp / IDS, np.asarray(ids, dtype=str)[order])
    np.save(tmp / VECTORS, vectors[order])
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
