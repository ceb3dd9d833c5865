"""The second hardening round, each hole as a hostile client found it: writers under the trust
rule, per-key namespaces, deletes that stay deleted, slow clients, fair model slots, audits,
Host checks. Real loopback HTTP (uvicorn on a free port); a scripted fake model."""

import asyncio
import shutil
import socket
import threading
import time

import httpx
import pytest

from agent import service as service_module
from agent.access import FairSlots, SlotsBusy
from agent.backends.fake import ScriptedFakeBackend, explain_from_facts, rank_in_order
from agent.conversation import SESSION_USER, ChatSessions
from agent.service import BackgroundServer, create_app
from agent.store import CatalogStore
from agent.types import Interaction
from tests.conftest import make_recommender
from tests.unit.test_service import assert_error

ADMIN, SHOP, RIVAL = "admin-key", "shop-key", "rival-key"


def copy_of(ingested, tmp_path):
    shutil.copytree(ingested.data_dir, tmp_path / "data")
    return ingested.model_copy(update={"data_dir": tmp_path / "data"})


def clients(url: str):
    return {name: httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60)
            for name, key in (("admin", ADMIN), ("shop", SHOP), ("rival", RIVAL))}


@pytest.fixture
def keyed_service(ingested, embedder, tmp_path):
    """Admin, two named app keys, a fast scripted model, no rate limits but the sign-up one."""
    backend = ScriptedFakeBackend([rank_in_order], repeat_last=True)
    agent = ChatSessions(make_recommender(copy_of(ingested, tmp_path), embedder, backend), use_llm=True, k=3)
    app = create_app(agent, api_key=ADMIN, app_keys=[f"shop={SHOP}", f"rival={RIVAL}"], rate_limit=None,
                     signup_limit="4/hour")
    with BackgroundServer(app) as url:
        yield clients(url), agent
    agent.close()


# -- 1, 2: namespaces and the trust rule per writer ------------------------------------------------
def test_an_app_key_reads_and_writes_only_its_own_users(keyed_service):
    c, agent = keyed_service
    item = agent.recommender.store.all_items()[0].item_id
    for body in ({"user_id": "user-18", "use_llm": False}, {"user_id": "nobody", "use_llm": False}):
        assert_error(c["shop"].post("/v1/recommend", json=body), 404, "not_found", "unknown user")  # the same answer
    assert_error(c["shop"].post("/v1/feedback", json={"user_id": "user-18", "item_id": item, "signal": "like"}),
                 404, "not_found", "unknown user")
    # the same id is each key's own person: creating it reveals nothing about anyone else's
    assert c["shop"].post("/v1/users", json={"user_id": "user-18"}).status_code == 201
    assert c["rival"].post("/v1/users", json={"user_id": "user-18"}).status_code == 201
    assert c["shop"].post("/v1/feedback", json={"user_id": "user-18", "item_id": item, "signal": "like"}).json()[
        "user_id"] == "user-18"
    store = agent.recommender.store
    assert [r.item_id for r in store.user_interactions("shop:user-18")] == [item]
    assert store.user_interactions("rival:user-18") == [] and item not in {
        r.item_id for r in store.user_interactions("user-18") if r.rating == 5.0 and r.timestamp > time.time() - 60}
    # a session is continued, and written through, only by the key that opened it
    session = c["shop"].post("/v1/chat", json={"user_id": "user-18", "message": "comedies"}).json()["session_id"]
    assert_error(c["rival"].post("/v1/chat", json={"session_id": session, "message": "like 1"}),
                 404, "not_found", "no session")
    assert_error(c["rival"].post("/v1/feedback", json={"session_id": session, "item_id": item, "signal": "like"}),
                 404, "not_found", "no session")
    assert c["admin"].post("/v1/chat", json={"session_id": session, "message": "dramas"}).status_code == 200


def test_writes_through_the_service_shape_the_shared_models_only_under_the_trust_rule(store_target):
    store = CatalogStore(store_target)
    ingested = [Interaction(user_id=f"u{u}", item_id=f"i{i}", rating=4.0, timestamp=i) for u in range(3) for i in range(4)]
    store.upsert_interactions(ingested)
    hostile = Interaction(user_id="u0", item_id="HOSTILE", rating=5.0, timestamp=99)
    assert store.record(hostile, writer="shop")  # an app key granted u0 (an ingested person)
    assert store.record(Interaction(user_id="u1", item_id="i9", rating=5.0, timestamp=99), writer=None)  # the operator
    fresh = list(store.trusted_interactions(min_age_s=3600, min_count=2))
    assert len(fresh) == 13 and ("u0", "HOSTILE", 5.0, 99) not in fresh and ("u1", "i9", 5.0, 99) in fresh
    aged = list(store.trusted_interactions(min_age_s=0, min_count=2))
    assert ("u0", "HOSTILE", 5.0, 99) in aged  # once the writer has written for them that long
    assert ("u0", "HOSTILE", 5.0, 99) not in store.trusted_interactions(min_age_s=0, min_count=99)


# -- 4, 5, 6: deletes ------------------------------------------------------------------------------
def test_no_write_for_a_deleted_user_is_accepted_once_the_delete_began(store_target):
    store = CatalogStore(store_target)
    assert store.add_user("leaving")
    stop, accepted = threading.Event(), []

    def writer(n: int):
        i = 0
        while not stop.is_set():
            i += 1
            if store.record(Interaction(user_id="leaving", item_id=f"w{n}-{i}", rating=5.0, timestamp=i), "shop"):
                accepted.append(time.monotonic())

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    deleted = store.delete_user("leaving")
    began = time.monotonic()
    time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join()
    assert deleted > 0 and store.user_interactions("leaving") == [] and not store.has_user("leaving")
    assert not [t for t in accepted if t > began]
    # an anonymous session's user is not revived by a write already under way
    assert not store.record(Interaction(user_id="leaving", item_id="x", rating=5.0), "shop", create=True)
    assert store.add_user("leaving")  # registering the id on purpose starts a new user


def test_a_delete_answers_at_once_while_the_fit_before_serves(ingested, embedder, tmp_path, monkeypatch):
    from agent import parts as parts_module

    r = make_recommender(copy_of(ingested, tmp_path), embedder)
    r.fit_now()
    r.store.upsert_interactions([Interaction(user_id="leaving", item_id=i.item_id, rating=5.0, timestamp=1)
                                 for i in r.store.all_items()[:40]])
    release, real_fit = threading.Event(), parts_module.Parts._fit_rows

    def slow_fit(self):
        release.wait(30)
        return real_fit(self)

    monkeypatch.setattr(parts_module.Parts, "_fit_rows", slow_fit)
    before = r.fitted()
    t0 = time.perf_counter()
    assert r.delete_user("leaving") == 40
    assert r.fitted() is before and time.perf_counter() - t0 < 2  # no request waits on the refit
    release.set()
    r.wait_for_refit(60)
    assert r.fitted() is not before and r.fitted().rows == r.store.count_interactions()


def test_deleting_an_anonymous_sessions_user_deletes_the_session_and_truncates_the_log(ingested, embedder, tmp_path):
    agent = ChatSessions(make_recommender(copy_of(ingested, tmp_path), embedder), use_llm=False, k=3)
    session = agent.start()
    first = agent.chat(session, "something funny, my email is someone@example.com")
    agent.chat(session, "like 1")
    user = f"{SESSION_USER}{session}"
    assert agent.recommender.history(user)[0].item_id == first.items[0].item_id
    assert agent.delete_user(user) == {"interactions": 1, "sessions": 1}
    with pytest.raises(Exception, match="no session"):
        agent.chat(session, "more")
    wal = tmp_path / "data" / "sessions.sqlite-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    agent.close()


# -- 7: sign-ups ------------------------------------------------------------------------------------
def test_an_anonymous_chat_session_counts_as_a_sign_up(keyed_service):
    c, _ = keyed_service
    for n in range(2):
        assert c["shop"].post("/v1/users", json={"user_id": f"signed-{n}"}).status_code == 201
    for _ in range(2):
        assert c["shop"].post("/v1/chat", json={"message": "comedies"}).status_code == 200
    assert_error(c["shop"].post("/v1/chat", json={"message": "comedies"}), 429, "rate_limited", "anonymous session")
    assert_error(c["shop"].post("/v1/users", json={"user_id": "signed-3"}), 429, "rate_limited", "retry in")
    assert c["rival"].post("/v1/chat", json={"message": "comedies"}).status_code == 200  # another key's budget


# -- 8, 11: fair model slots, cancellation, busy in one shape --------------------------------------
def test_one_key_holds_at_most_its_share_and_freed_slots_go_round_robin():
    async def scenario():
        slots, order = FairSlots(slots=1, per_key=3, max_waiting=8), []

        async def wait(key: str, label: str):
            await slots.acquire(key)
            order.append(label)

        await slots.acquire("greedy")
        waits = [asyncio.create_task(wait(k, label)) for k, label in (("greedy", "g1"), ("greedy", "g2"), ("polite", "p1"))]
        await asyncio.sleep(0.01)
        with pytest.raises(SlotsBusy, match="this key"):
            await slots.acquire("greedy")  # its fourth, while another key still gets in line
        for _ in waits:
            slots.release("greedy" if not order or order[-1].startswith("g") else "polite")
            await asyncio.sleep(0.01)
        return order

    assert asyncio.run(scenario()) == ["g1", "p1", "g2"]  # first come would be g1, g2, p1


def test_a_client_that_hangs_up_stops_its_work_and_busy_is_a_503_streamed_or_not(ingested, embedder, tmp_path):
    calls = []

    def slow(request):
        calls.append(time.monotonic())
        time.sleep(0.4)
        return rank_in_order(request) if "rank" in str(request.messages).lower() else explain_from_facts(request)

    agent = ChatSessions(make_recommender(copy_of(ingested, tmp_path), embedder, ScriptedFakeBackend([slow], repeat_last=True)),
                         use_llm=True, k=8)
    app = create_app(agent, api_key=ADMIN, app_keys=[f"shop={SHOP}", f"rival={RIVAL}"], rate_limit=None)
    with BackgroundServer(app) as url:
        c = clients(url)
        session = c["admin"].post("/v1/chat", json={"user_id": "user-18", "message": "hi", "stream": False}).json()[
            "session_id"]
        for stream in (True, False):  # hang up after one item, or before the answer
            calls.clear()
            if stream:
                with c["admin"].stream("POST", "/v1/chat", json={"session_id": session, "message": "comedies",
                                                                   "stream": True}) as r:
                    next(line for line in r.iter_lines() if line.startswith("event: item"))
            else:
                with pytest.raises(httpx.TimeoutException):
                    c["admin"].post("/v1/recommend", json={"user_id": "user-18", "k": 8}, timeout=1.5)
            left = time.monotonic()
            time.sleep(3)
            # the calls under way (one per explanation worker) finish; no new one starts for the 8 items
            assert len(calls) < 8 and len([t for t in calls if t > left + 0.2]) <= 2, (stream, calls, left)
        # one key's streams cannot take every slot; its third is refused in the plain error shape
        holders = [threading.Thread(target=c["shop"].post, args=("/v1/recommend",),
                                    kwargs={"json": {"user_id": "user-18", "k": 8}}) for _ in range(2)]
        c["admin"].put("/v1/users/user-18/grants/shop")
        for t in holders:
            t.start()
        time.sleep(0.3)
        for stream in (True, False):
            busy = c["shop"].post("/v1/chat", json={"session_id": session, "message": "x", "stream": stream})
            assert_error(busy, 404, "not_found", "no session")  # not its session: 404 before any slot
        busy = c["shop"].post("/v1/chat", json={"user_id": "user-18", "message": "dramas", "stream": True})
        assert_error(busy, 503, "busy", "this key")
        assert busy.headers["Retry-After"]
        for t in holders:
            t.join()
    agent.close()


def test_a_no_llm_chat_never_waits_for_a_model_slot(ingested, embedder, tmp_path):
    agent = ChatSessions(make_recommender(copy_of(ingested, tmp_path), embedder), use_llm=False, k=3)
    with BackgroundServer(create_app(agent, api_key=ADMIN, rate_limit=None)) as url:
        admin = clients(url)["admin"]
        results = []

        def chat():
            results.append(admin.post("/v1/chat", json={"user_id": "user-18", "message": "comedies"}).status_code)

        threads = [threading.Thread(target=chat) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == [200] * 20
    agent.close()


# -- 10, 12, 15: audit, prompt family, Host ---------------------------------------------------------
def test_audit_is_for_the_admin_key_and_a_wrong_family_prompt_is_a_400(keyed_service):
    c, _ = keyed_service
    c["admin"].put("/v1/users/user-18/grants/shop")
    assert_error(c["shop"].post("/v1/recommend", json={"user_id": "user-18", "audit": True}), 403, "forbidden",
                 "admin key")
    assert c["admin"].post("/v1/recommend", json={"user_id": "user-18", "audit": True, "k": 3}).status_code == 200
    assert_error(c["admin"].post("/v1/recommend", json={"user_id": "user-18", "prompt": "intent@v1"}), 400,
                 "bad_input", "intent@v1")


def test_without_keys_only_loopback_hosts_are_served(ingested, embedder, tmp_path):
    agent = ChatSessions(make_recommender(copy_of(ingested, tmp_path), embedder), use_llm=False, k=3)
    with BackgroundServer(create_app(agent)) as url:
        assert httpx.get(url + "/healthz").status_code == 200
        rebound = httpx.post(url + "/v1/recommend", json={"user_id": "user-18"}, headers={"Host": "evil.example:8000"})
        assert_error(rebound, 400, "bad_host", "loopback")
        assert httpx.get(url + "/", headers={"Host": "evil.example"}, follow_redirects=False).status_code == 400
        assert httpx.get(url + "/healthz", headers={"Host": "localhost:1234"}).status_code == 200
    agent.close()


# -- 3: slow clients --------------------------------------------------------------------------------
def closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed `sock`, or None if it is still open after `seconds`."""
    t0 = time.monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
        return time.monotonic() - t0
    except (TimeoutError, socket.timeout):
        return None
    except ConnectionResetError:
        return time.monotonic() - t0


def test_slow_heads_and_bodies_are_cut_off_and_idle_sockets_cannot_take_every_connection(
        ingested, embedder, tmp_path, monkeypatch):
    monkeypatch.setattr(service_module, "HEAD_TIMEOUT_S", 1.0)
    monkeypatch.setattr(service_module, "BODY_TIMEOUT_S", 1.0)
    monkeypatch.setattr(service_module, "MAX_CONNECTIONS", 30)
    agent = ChatSessions(make_recommender(copy_of(ingested, tmp_path), embedder), use_llm=False, k=3)
    with BackgroundServer(create_app(agent, api_key=ADMIN)) as url:
        host, port = url.removeprefix("http://").split(":")
        head = socket.create_connection((host, int(port)))
        head.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n")  # and never the blank line
        assert (closed_within(head, 5) or 99) < 3
        body = socket.create_connection((host, int(port)))
        body.sendall(b"POST /v1/feedback HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer admin-key\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        t0 = time.monotonic()
        body.settimeout(5)
        answer = body.recv(4096)
        assert b"408" in answer.split(b"\r\n")[0] and time.monotonic() - t0 < 3
        idle = [socket.create_connection((host, int(port))) for _ in range(120)]  # four times the cap
        assert httpx.get(url + "/healthz", timeout=5).status_code == 200
        time.sleep(0.2)
        shed = sum(closed_within(s, 0.05) is not None for s in idle)
        assert shed >= 120 - 30
        for s in [head, body, *idle]:
            s.close()
    agent.close()


# -- 9: an unexpected error keeps the connection --------------------------------------------------
def test_an_unexpected_error_is_a_500_that_keeps_the_connection(ingested, embedder, tmp_path, monkeypatch):
    agent = ChatSessions(make_recommender(copy_of(ingested, tmp_path), embedder), use_llm=False, k=3)
    with BackgroundServer(create_app(agent, api_key=ADMIN)) as url:
        host, port = url.removeprefix("http://").split(":")
        ask = f"GET /v1/items/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {ADMIN}\r\n\r\n".encode()
        with socket.create_connection((host, int(port))) as sock:
            sock.settimeout(5)
            with monkeypatch.context() as m:
                m.setattr(agent.recommender, "item", lambda _: (_ for _ in ()).throw(RuntimeError("Error finding id")))
                sock.sendall(ask)
                first = sock.recv(65536)
            sock.sendall(ask)  # the same connection, after the 500
            second = sock.recv(65536)
    assert first.startswith(b"HTTP/1.1 500") and b'"internal"' in first and b"Error finding id" not in first
    assert second.startswith(b"HTTP/1.1 200")
    agent.close()
