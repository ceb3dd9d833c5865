"""A small real workspace for the reliability suites: the shipped synthetic bookshop catalog
ingested into a fresh data dir (real SQLite store, real Chroma index, real embeddings)."""

from __future__ import annotations

from pathlib import Path

from agent.config import Settings, load_settings
from agent.ingest import Source, ingest
from agent.recommender import Recommender

BOOKSHOP = Path(__file__).resolve().parents[1] / "suites" / "bookshop"
BOOKSHOP_MAP = {"sku": "item_id", "name": "title", "blurb": "text", "shelves": "categories",
                "reader": "user_id", "stars": "rating", "read_at": "timestamp"}


def bookshop_source() -> Source:
    return Source(items=BOOKSHOP / "books.csv", interactions=BOOKSHOP / "reads.csv", column_map=BOOKSHOP_MAP)


def build(data_dir: Path, cache_dir: Path | None = None, **settings) -> Settings:
    """Ingest the bookshop into `data_dir` and return settings that point at it."""
    s = load_settings(data_dir=data_dir, cache_dir=cache_dir, **settings)
    with Recommender(s) as rec:
        ingest(bookshop_source(), rec.store, rec.index)
        rec.store.close()
    return s


def some_user(settings: Settings) -> str:
    with Recommender(settings) as rec:
        users = sorted({u for u, *_ in rec.store.all_interactions()})
        rec.store.close()
    return users[0]
