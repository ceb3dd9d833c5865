"""Who may call the service and how often: bearer keys with a scope and a stable name (each
app key's users are its own), per-key rate limits (`limits`, moving window, in memory or in a
store shared by replicas), the model's slots shared fairly between keys, and an access log
without bodies or personal data."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from limits import RateLimitItem, parse
from limits.errors import ConfigurationError, StorageError
from limits.storage import MemoryStorage, MovingWindowSupport, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from agent.errors import ConfigError

Scope = Literal["admin", "app"]
# what each scope may do: an app key serves people (recommend, chat, feedback, sign-ups);
# the admin key also writes the catalog and deletes users' data
ADMIN_ONLY = {("POST", "/v1/items"), ("DELETE", "/v1/users/{user_id}"), ("PUT", "/v1/users/{user_id}/grants/{key_name}")}
_NAMED = re.compile(r"([A-Za-z][A-Za-z0-9_-]{0,31})=(.+)")
access_log = logging.getLogger("recagent.access")
limits_log = logging.getLogger("recagent.limits")
SHARED_TIMEOUT_S = 0.5  # a shared count answers in a millisecond; a request never waits on it longer than this
SHARED_RETRY_S = 30.0  # after the shared store fails, count in memory this long before trying it again


@dataclass(frozen=True)
class Caller:
    name: str  # logged and rate-limited by this, never the key itself
    scope: Scope


class ServiceKeys:
    """The admin key (`--api-key`, RECAGENT_SERVICE_KEY) and any app keys (`--app-key`,
    RECAGENT_APP_KEYS, comma-separated). Blank keys are no keys; with none, /v1/* is open
    (the service refuses to bind beyond loopback then). An app key is named `NAME=KEY` or, bare,
    after a hash of itself: the name keeps its users and is what logs show, so name a key you
    will rotate."""

    def __init__(self, admin: str | None = None, app: list[str] | tuple[str, ...] = ()):
        keys: dict[str, Caller] = {}
        if (admin or "").strip():
            keys[admin.strip()] = Caller("admin", "admin")
        for given in (k.strip() for k in app if k.strip()):
            named = _NAMED.fullmatch(given)
            name, key = (named[1], named[2]) if named else ("app-" + hashlib.sha256(given.encode()).hexdigest()[:8], given)
            if key in keys or name in {c.name for c in keys.values()}:
                raise ConfigError(f"app key {name!r} repeats another key or name: give each key once")
            keys[key] = Caller(name, "app")
        self._keys = keys

    def app_names(self) -> set[str]:
        return {c.name for c in self._keys.values() if c.scope == "app"}

    def __bool__(self) -> bool:
        return bool(self._keys)

    def caller(self, authorization: str) -> Caller | None:
        """The caller a bearer header names, or None. Every key is compared in constant time."""
        scheme, _, given = authorization.partition(" ")
        found = None
        for key, caller in self._keys.items():
            if secrets.compare_digest(given.strip().encode(), key.encode()):
                found = caller
        return found if scheme.lower() == "bearer" else None


def allowed(caller: Caller, method: str, route: str) -> bool:
    return caller.scope == "admin" or (method, route) not in ADMIN_ONLY


class RateLimits:
    """Per caller: `rate` requests in a moving window (e.g. "300/minute"), and a separate,
    lower `signups` rate for creating users (fake accounts are the raw material of floods).

    Counted in this process's memory, or with `storage_url` (RECAGENT_LIMITS_URL, e.g.
    redis://host:6379) in that store, one count per caller shared by every replica on it. The
    store must answer at start (else ConfigError). If it fails while serving, requests are not
    refused for it: each replica counts in its own memory instead (a caller may then get the rate
    from every replica), logs a warning, and tries the store again after SHARED_RETRY_S. Losing
    the counters loosens the limits for a while; it neither takes the service down nor lifts
    them."""

    def __init__(self, rate: str | None, signups: str | None, storage_url: str | None = None):
        self.rate, self.signups = _parse(rate, "rate limit"), _parse(signups, "sign-up rate limit")
        self._local = MovingWindowRateLimiter(MemoryStorage())
        self._shared = MovingWindowRateLimiter(_shared_storage(storage_url)) if storage_url else None
        self._where = _without_password(storage_url or "")
        self._shared_down_until = 0.0  # monotonic time; nonzero while counting in memory for a failed store

    def retry_after(self, caller: str, signup: bool = False) -> int | None:
        """None if this request may go ahead (and counts it); else seconds until it may."""
        for item in (self.rate, self.signups if signup else None):
            if item is not None and (wait := self._wait(item, caller)) is not None:
                return wait
        return None

    def signup_retry_after(self, caller: str) -> int | None:
        """A sign-up made another way (an anonymous chat session, whose first feedback creates its
        user): counted against the same limit as POST /v1/users."""
        return self._wait(self.signups, caller) if self.signups is not None else None

    def _wait(self, item: RateLimitItem, caller: str) -> int | None:
        if self._shared is not None and time.monotonic() >= self._shared_down_until:
            try:
                wait = _hit(self._shared, item, caller)
            except StorageError as e:
                self._shared_down_until = time.monotonic() + SHARED_RETRY_S
                limits_log.warning("rate-limit store %s failed (%s): counting in this process's memory for the "
                                   "next %.0f s", self._where, _described(e.storage_error), SHARED_RETRY_S)
            else:
                if self._shared_down_until:
                    self._shared_down_until = 0.0
                    limits_log.warning("rate-limit store %s answers again: counts are shared again", self._where)
                return wait
        return _hit(self._local, item, caller)


def _hit(limiter: MovingWindowRateLimiter, item: RateLimitItem, caller: str) -> int | None:
    if limiter.hit(item, caller):
        return None
    return max(1, int(limiter.get_window_stats(item, caller).reset_time - time.time()) + 1)


def _shared_storage(url: str) -> Storage:
    """The `limits` storage at `url`, checked once: a ConfigError that says what to do if it is
    unusable or does not answer."""
    where, fix = _without_password(url), "fix RECAGENT_LIMITS_URL, or unset it to count in memory per process"
    options: dict = {"wrap_exceptions": True}
    if url.partition("://")[0] in ("redis", "rediss", "redis+unix"):
        try:
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError:
            raise ConfigError(f"rate-limit store {where} needs the redis client: pip install 'recagent[replicas]', "
                              f"or unset RECAGENT_LIMITS_URL") from None
        # fail fast while a request waits: one reconnect (the server restarted), no backoff
        options |= {"socket_timeout": SHARED_TIMEOUT_S, "socket_connect_timeout": SHARED_TIMEOUT_S,
                    "retry": Retry(NoBackoff(), 1)}
    try:
        storage = storage_from_string(url, **options)
    except (ConfigurationError, ValueError) as e:
        raise ConfigError(f"bad rate-limit store {where} ({e}): write it like redis://HOST:6379 or "
                          f"redis+unix:///PATH/redis.sock; {fix}") from None
    if not isinstance(storage, MovingWindowSupport):
        raise ConfigError(f"rate-limit store {where} keeps no moving windows: use redis://… ; {fix}")
    if not storage.check():
        raise ConfigError(f"rate-limit store {where} does not answer ({_why_not(storage)}): start Redis there, {fix}")
    return storage


def _why_not(storage: Storage) -> str:
    """The error that `check()` swallowed (refused, unknown host, wrong password), where it can be had."""
    try:
        storage.get_connection().ping()
    except Exception as e:
        return _described(e)
    return "no answer"


def _described(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"


def _without_password(url: str) -> str:
    """A URL fit for a message or a log line: any password replaced by ***."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
    except ValueError:
        return "(an unreadable URL)"
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(":" + parts.password + "@", ":***@", 1)))


class SlotsBusy(Exception):
    """No model slot for this request now (too many waiting, or this key holds its share)."""


class FairSlots:
    """The language model's slots, shared between keys: a key holds (running or waiting) at most
    `per_key` requests, at most `max_waiting` wait in all, and a freed slot goes to the keys in
    turn (round robin), not to whoever queued most."""

    def __init__(self, slots: int, per_key: int, max_waiting: int):
        self.free, self.per_key, self.max_waiting = slots, per_key, max_waiting
        self._queues: OrderedDict[str, deque[asyncio.Future]] = OrderedDict()
        self._held: dict[str, int] = {}

    def waiting(self) -> int:
        return sum(len(q) for q in self._queues.values())

    async def acquire(self, key: str) -> None:
        queued = len(self._queues.get(key, ()))
        if self._held.get(key, 0) + queued >= self.per_key:
            raise SlotsBusy(f"this key already has {self.per_key} requests for the language model running or waiting")
        if self.free > 0 and not self._queues:
            self.free -= 1
        else:
            if self.waiting() >= self.max_waiting:
                raise SlotsBusy(f"the language model is busy ({self.waiting()} requests waiting)")
            turn = asyncio.get_running_loop().create_future()
            self._queues.setdefault(key, deque()).append(turn)
            try:
                await turn
            except asyncio.CancelledError:  # the client left while waiting: give back a slot handed over
                if not self._forget(key, turn):
                    self.release_unowned()
                raise
        self._held[key] = self._held.get(key, 0) + 1

    def release(self, key: str) -> None:
        self._held[key] -= 1
        if not self._held[key]:
            del self._held[key]
        self.release_unowned()

    def release_unowned(self) -> None:
        """A slot comes free: hand it to the next key in turn, or keep it."""
        while self._queues:
            key, queue = next(iter(self._queues.items()))
            turn = queue.popleft()
            if queue:
                self._queues.move_to_end(key)  # this key waits again behind the others
            else:
                del self._queues[key]
            if not turn.done():
                turn.set_result(None)
                return
        self.free += 1

    def _forget(self, key: str, turn: asyncio.Future) -> bool:
        """Take a cancelled wait out of its queue; False when the slot was already handed to it."""
        queue = self._queues.get(key)
        if queue is None or turn not in queue:
            return False
        queue.remove(turn)
        if not queue:
            del self._queues[key]
        return True


def _parse(text: str | None, what: str) -> RateLimitItem | None:
    if not text or text.strip().lower() in ("none", "off", "0"):
        return None
    try:
        return parse(text)
    except ValueError:
        raise ConfigError(f"bad {what} {text!r}: write it like 300/minute or 20/hour, or none") from None
