"""An embedded Chroma store that another process adds items to (`recagent items add`, a
second `recagent serve`): this process's reads must see them, not fail on their ids."""

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agent.retrieval.chroma import ChromaRetriever
from agent.types import Item

ROOT = Path(__file__).parents[2]


def embed(texts: list[str]) -> np.ndarray:
    """A fixed unit vector per text, the same in every process."""
    rows = [np.random.default_rng(int(hashlib.sha1(t.encode()).hexdigest()[:8], 16)).normal(size=16)
            for t in texts]
    return np.asarray([r / np.linalg.norm(r) for r in rows], dtype=np.float32)


def items(prefix: str, n: int) -> list[Item]:
    return [Item(item_id=f"{prefix}{i}", title=f"{prefix} title {i}") for i in range(n)]


@pytest.fixture
def stale(tmp_path) -> ChromaRetriever:
    """A retriever that has read its store, after which another process added b0..b19."""
    index = ChromaRetriever(tmp_path / "chroma", embed)
    index.upsert(items("a", 20))
    assert index.search("a title 1", 1)[0][0] == "a1"  # its in-memory index is loaded now
    code = ("from pathlib import Path\n"
            "from agent.retrieval.chroma import ChromaRetriever\n"
            "from tests.integration.test_chroma_reopen import embed, items\n"
            f"ChromaRetriever(Path({str(tmp_path / 'chroma')!r}), embed).upsert(items('b', 20))\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)
    return index


def test_reads_reopen_the_store_and_see_the_other_process_items(stale):
    assert set(stale.embeddings(["a1", "b1"])) == {"a1", "b1"}  # was chromadb "Error finding id"
    assert stale.search("b title 3", 3)[0][0] == "b3"
    assert stale.count() == 40


def test_filtered_search_reopens_the_store(stale):
    assert stale.search("b title 3", 5, where={"categories": "-"})[0][0] == "b3"


def test_ids_still_unreadable_after_reopening_are_left_out(stale, monkeypatch):
    monkeypatch.setattr(ChromaRetriever, "_reopen", lambda self: None)  # a reopen that does not help
    assert set(stale.embeddings(["a1", "b1", "a2"])) == {"a1", "a2"}
