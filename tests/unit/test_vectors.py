"""The memory-mapped item-vector snapshot (agent/retrieval/vectors.py): it holds Chroma's vectors,
requests read from it instead of Chroma, and an upsert never leaves a stale one on disk."""

import numpy as np

from agent.retrieval.vectors import VectorSnapshot, write_snapshot


def test_a_snapshot_returns_the_vectors_of_the_ids_it_holds(tmp_path):
    rng = np.random.default_rng(0)
    pages = [(["b", "a10", "c"], rng.normal(size=(3, 4))), (["a2", "a"], rng.normal(size=(2, 4)))]
    assert write_snapshot(tmp_path / "snap", pages, count=5) == 5
    snap = VectorSnapshot.load(tmp_path / "snap")
    assert len(snap) == 5 and list(snap.ids) == sorted(["b", "a10", "c", "a2", "a"])
    got = snap.get(["c", "zz", "a", "a1", ""])
    assert set(got) == {"c", "a"} and got["c"].dtype == np.float32
    np.testing.assert_array_equal(got["c"], pages[0][1][2].astype(np.float32))
    np.testing.assert_array_equal(got["a"], pages[1][1][1].astype(np.float32))
    assert VectorSnapshot.load(tmp_path / "absent") is None
    assert write_snapshot(tmp_path / "empty", [], count=0) == 0 and VectorSnapshot.load(tmp_path / "empty").get(["a"]) == {}
    # an item added while the pages were read waits for the next snapshot
    assert write_snapshot(tmp_path / "grown", pages, count=4) == 4 and "a" not in VectorSnapshot.load(tmp_path / "grown").get(["a"])


def test_requests_read_vectors_from_the_snapshot_and_an_upsert_never_leaves_it_stale(data_copy, embedder, monkeypatch):
    from pathlib import Path

    from agent.retrieval.chroma import ChromaRetriever
    from agent.types import Item

    index = ChromaRetriever(Path(data_copy.data_dir) / "chroma", embedder)
    assert index.snapshot_dir.exists()  # written by the ingest
    col = index._col
    everything = col.get(include=["embeddings"])
    truth = dict(zip(everything["ids"], np.asarray(everything["embeddings"], dtype=np.float32)))
    asked = []
    get = col.get
    monkeypatch.setattr(col, "get", lambda *a, **k: asked.append(k.get("ids")) or get(*a, **k), raising=False)
    ids = list(truth)[:50]
    got = index.embeddings(ids + ["not-an-item"])
    assert asked == [["not-an-item"]] and set(got) == set(ids)  # only the unknown id went to Chroma
    assert all(np.array_equal(got[i], truth[i]) for i in ids)

    changed = Item(item_id=ids[0], title="Something Else Entirely (2031)", categories=["Documentary"])
    index.upsert([changed])
    assert not index.snapshot_dir.exists()  # no stale snapshot on disk once vectors change
    asked.clear()
    again = index.embeddings(ids[:3])
    assert asked == [[ids[0]]] and not np.array_equal(again[ids[0]], truth[ids[0]])  # this process's upsert
    assert all(np.array_equal(again[i], truth[i]) for i in ids[1:3])  # the mapped snapshot still serves
    assert index.save_vectors() == len(truth)
    fresh = ChromaRetriever(Path(data_copy.data_dir) / "chroma", embedder)
    np.testing.assert_array_equal(fresh.embeddings([ids[0]])[ids[0]], again[ids[0]])


def test_reindex_and_a_rerun_ingest_write_the_snapshot(data_copy, embedder):
    import shutil
    from pathlib import Path

    from agent.ingest import Source, ingest, reindex
    from agent.retrieval.chroma import ChromaRetriever
    from agent.store import CatalogStore
    from tests.conftest import DATA

    index = ChromaRetriever(Path(data_copy.data_dir) / "chroma", embedder)
    store = CatalogStore(Path(data_copy.data_dir) / "catalog.sqlite")
    try:
        shutil.rmtree(index.snapshot_dir)
        assert ingest(Source(items=DATA / "items.csv"), store, index).indexed == 0 and index.snapshot_dir.exists()
        shutil.rmtree(index.snapshot_dir)
        assert reindex(store, index) == 300 and len(VectorSnapshot.load(index.snapshot_dir)) == 300
    finally:
        store.close()


def test_the_exact_search_ranks_every_item_by_cosine(tmp_path):
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(50, 8))
    names = [f"i{n}" for n in range(50)]
    write_snapshot(tmp_path / "snap", [(names[:20], vectors[:20]), (names[20:], vectors[20:])], count=50)
    snap = VectorSnapshot.load(tmp_path / "snap")
    queries = rng.normal(size=(3, 8))
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    for query, got in zip(queries, snap.nearest(queries, 7)):
        cosine = unit @ (query / np.linalg.norm(query))
        best = np.argsort(-cosine)[:7]
        assert [i for i, _ in got] == [names[b] for b in best]
        np.testing.assert_allclose([s for _, s in got], cosine[best], atol=1e-5)
    assert [len(hits) for hits in snap.nearest(queries, 500)] == [50, 50, 50] and snap.nearest(queries, 0) == [[], [], []]


def test_a_small_catalog_is_searched_exactly_until_this_process_upserts(data_copy, embedder):
    from pathlib import Path

    from agent.retrieval.chroma import ChromaRetriever
    from agent.types import Item

    index = ChromaRetriever(Path(data_copy.data_dir) / "chroma", embedder)
    queries = np.stack([index.embed_text("a space adventure"), index.embed_text("a quiet family drama")])
    assert index._exact_searchable(index.count()) is not None
    exact = index.search_vectors(queries, 10)
    index.exact_search_max_items = 0
    through_chroma = index.search_vectors(queries, 10)
    for a, b in zip(exact, through_chroma):  # the store is small enough for Chroma's index to be exact too
        assert [i for i, _ in a] == [i for i, _ in b]
        np.testing.assert_allclose([s for _, s in a], [s for _, s in b], atol=1e-5)
    assert index.search_vectors(queries, 10, where={"title": "no such title"}) == [[], []]  # filters go to Chroma

    index.exact_search_max_items = 10_000
    new = Item(item_id="space-1", title="Moon Harbour (2031)", categories=["Sci-Fi"], text="a space adventure")
    index.upsert([new])
    assert index._exact_searchable(index.count()) is None  # the snapshot lacks this process's upsert
    assert index.search("a space adventure", 3)[0][0] == "space-1"
