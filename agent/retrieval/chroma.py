"""Semantic retrieval over the catalog with a Chroma collection (embedded or client/server)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from agent.errors import RetrievalError
from agent.offline import quiet_chroma
from agent.retrieval.vectors import VectorSnapshot, pages_of, remove_snapshot, write_snapshot
from agent.types import Item

COLLECTION = "items"
SNAPSHOT_SUFFIX = ".vectors"  # the snapshot's folder: the Chroma folder's name and this, beside it


def document_text(item: Item, max_chars: int = 600) -> str:
    """What gets embedded for an item: title, categories, tags, description."""
    parts = [item.title]
    if item.categories:
        parts.append("Genres: " + ", ".join(item.categories))
    if item.tags:
        parts.append("Tags: " + ", ".join(item.tags[:10]))
    if item.text:
        parts.append(item.text)
    return ". ".join(parts)[:max_chars]


VECTOR_CACHE_ITEMS = 50_000  # about 75 MB of 384-dimensional vectors
# Up to this many items a query is an exact product over the vector snapshot: at 9,742 items a
# request's four queries take 3.6 ms p50 that way against 6.6 through Chroma (docs/benchmarks.md)
EXACT_SEARCH_MAX_ITEMS = 20_000
# chromadb 1.5 (embedded) when an id is in its SQLite but not in this process's in-memory index
STALE_INDEX = "Error finding id"


class ChromaRetriever:
    """`search(query, k, where)` and neighbours of items, returning (item_id, similarity)."""

    def __init__(self, path: Path | None, embed: Callable[[list[str]], np.ndarray],
                 url: str | None = None):
        quiet_chroma()
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        self._path, self._url = path, url
        self._settings = ChromaSettings(anonymized_telemetry=False)
        self._lock = threading.Lock()
        try:
            if url:
                from urllib.parse import urlparse

                u = urlparse(url)
                self._client = chromadb.HttpClient(host=u.hostname, port=u.port or 8000,
                                                   ssl=u.scheme == "https", settings=self._settings)
            else:
                path.mkdir(parents=True, exist_ok=True)
                self._client = chromadb.PersistentClient(path=str(path), settings=self._settings)
            # Embeddings are always computed by us and passed in: Chroma's own embedding
            # function (which downloads a model) is never called.
            self._col = self._client.get_or_create_collection(
                COLLECTION, embedding_function=None, metadata={"hnsw:space": "cosine"})
        except Exception as e:  # chromadb raises many types; translate here, once
            fix = ("check that the Chroma server is running (`chroma run`)" if url else
                   "rebuild it from the catalog with `recagent reindex` (the damaged copy is kept aside)")
            raise RetrievalError(f"cannot open the Chroma store at {url or path}: {e}; {fix}") from None
        self._embed = embed
        self._count: int | None = None  # cached; our own upserts refresh it
        # stored vectors already read, by id (our own upserts evict theirs; bounded)
        self._vectors: dict[str, np.ndarray] = {}
        # the memory-mapped snapshot of every item's vector (agent/retrieval/vectors.py); none with a server
        self.snapshot_dir = None if url else path.with_name(path.name + SNAPSHOT_SUFFIX)
        self._snapshot: VectorSnapshot | None | bool = False  # False: not looked for yet
        self._upserted: set[str] = set()  # ids this process upserted since: read from Chroma
        self.use_snapshot = True  # False: every vector from Chroma (benchmarks compare the two)
        self.exact_search_max_items = EXACT_SEARCH_MAX_ITEMS  # 0: every search through Chroma's index

    def _read(self, op: Callable):
        """`op(collection)`, retried once on a reopened store if another process added items.
        chromadb keeps one in-memory vector index per directory per process, loaded at open:
        another process's additions reach the shared SQLite but not that index, and a read
        that meets their ids fails with STALE_INDEX. A fresh client reloads both."""
        col = self._col
        try:
            return op(col)
        except Exception as e:
            if self._url or STALE_INDEX not in str(e):
                raise
        with self._lock:
            if self._col is col:  # not reopened by another thread meanwhile
                self._reopen()
        return op(self._col)

    def _reopen(self) -> None:
        import chromadb
        from chromadb.api.shared_system_client import SharedSystemClient

        # chromadb hands out one cached system per path: drop ours (the old one is freed once
        # unused; other holders keep theirs) so the new client loads the store from disk.
        SharedSystemClient._identifier_to_system.pop(self._client._identifier, None)
        self._client = chromadb.PersistentClient(path=str(self._path), settings=self._settings)
        self._col = self._client.get_collection(COLLECTION, embedding_function=None)
        self._count, self._vectors, self._snapshot = None, {}, False

    def count(self) -> int:
        if self._count is None:
            self._count = self._col.count()
        return self._count

    def existing_ids(self, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(ids), 2000):
            found.update(self._col.get(ids=ids[i:i + 2000], include=[])["ids"])
        return found

    def upsert(self, items: list[Item]) -> None:
        if not items:
            return
        docs = [document_text(i) for i in items]
        vectors = self._embed(docs)
        if self.snapshot_dir is not None:
            remove_snapshot(self.snapshot_dir)  # stale from now on (a writer saves a new one when done)
            self._upserted.update(i.item_id for i in items)
        self._col.upsert(
            ids=[i.item_id for i in items], embeddings=vectors, documents=docs,
            metadatas=[{"title": i.title, "categories": "|".join(i.categories) or "-"} for i in items])
        self._count = None
        for i in items:
            self._vectors.pop(i.item_id, None)

    def save_vectors(self) -> int:
        """Write the snapshot of every stored vector (after a writer's upserts); returns its items."""
        if self.snapshot_dir is None:
            return 0
        count = self._col.count()
        pages = pages_of(lambda offset, limit: self._col.get(include=["embeddings"], offset=offset, limit=limit), count)
        n = write_snapshot(self.snapshot_dir, pages, count)
        self._snapshot, self._upserted = False, set()
        return n

    def _vector_snapshot(self) -> VectorSnapshot | None:
        if self._snapshot is False:
            self._snapshot = VectorSnapshot.load(self.snapshot_dir) if self.snapshot_dir is not None else None
        return self._snapshot

    def _exact_searchable(self, count: int) -> VectorSnapshot | None:
        """The snapshot, where an exact search over it is both faster than Chroma's index and
        answers for the same items (no upserts of this process since it was written)."""
        if not self.use_snapshot or self._upserted or count > self.exact_search_max_items:
            return None
        snapshot = self._vector_snapshot()
        return snapshot if snapshot is not None and len(snapshot) == count else None

    def embeddings(self, ids: list[str]) -> dict[str, np.ndarray]:
        """Stored vectors by id (ids not in the index are left out): from the memory-mapped
        snapshot where it holds them, else from Chroma. Vectors read from Chroma are kept in
        memory (up to VECTOR_CACHE_ITEMS): retrieval asks for the same popular and co-occurring
        items again and again. A vector another process changes is seen after a restart."""
        ids = list(dict.fromkeys(ids))  # Chroma refuses repeated ids
        snapshot = self._vector_snapshot() if self.use_snapshot else None
        out = snapshot.get([i for i in ids if i not in self._upserted]) if snapshot is not None else {}
        out.update({i: self._vectors[i] for i in ids if i not in out and i in self._vectors})
        missing = [i for i in ids if i not in out]
        if missing:
            try:
                got = self._read(lambda col: col.get(ids=missing, include=["embeddings"]))
                pairs = zip(got["ids"], got["embeddings"])
            except Exception as e:  # still stale after reopening: leave the unreadable ids out
                if STALE_INDEX not in str(e):
                    raise
                pairs = self._readable_vectors(missing)
            fetched = {i: np.asarray(e, dtype=np.float32) for i, e in pairs}
            if len(self._vectors) + len(fetched) > VECTOR_CACHE_ITEMS:
                self._vectors = {}
            self._vectors.update(fetched)
            out.update(fetched)
        return out

    def _readable_vectors(self, ids: list[str]) -> list[tuple[str, list[float]]]:
        """(id, vector) for the ids this process's index can read, one id at a time."""
        pairs = []
        for i in ids:
            try:
                got = self._col.get(ids=[i], include=["embeddings"])
            except Exception as e:
                if STALE_INDEX not in str(e):
                    raise
                continue
            pairs += zip(got["ids"], got["embeddings"])
        return pairs

    def embed_text(self, text: str) -> np.ndarray:
        """A query's embedding, comparable with the stored items' (normalised)."""
        return np.asarray(self._embed([text])[0], dtype=np.float32)

    def search(self, query: str, k: int, where: dict | None = None) -> list[tuple[str, float]]:
        return self.search_vectors(self._embed([query]), k, where)[0]

    def search_vectors(self, vectors: np.ndarray, k: int,
                       where: dict | None = None) -> list[list[tuple[str, float]]]:
        """Nearest items for each query vector, as (item_id, cosine similarity)."""
        n = self.count()
        if n == 0 or len(vectors) == 0:
            return [[] for _ in range(len(vectors))]
        if where is None and (snapshot := self._exact_searchable(n)) is not None:
            return snapshot.nearest(vectors, k)
        try:
            res = self._read(lambda col: col.query(query_embeddings=np.asarray(vectors), n_results=min(k, n),
                                                   where=where, include=["distances"]))
        except Exception as e:
            raise RetrievalError(f"Chroma query failed: {e}") from None
        return [[(i, 1.0 - d) for i, d in zip(ids, dists)]
                for ids, dists in zip(res["ids"], res["distances"])]
