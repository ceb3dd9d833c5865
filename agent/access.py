"""Who may call the service and how often: bearer keys with a scope and a stable name (each
app key's users are its own), per-key rate limits (`limits`, moving window, in memory), the
model's slots shared fairly between keys, and an access log without bodies or personal data."""

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

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from agent.errors import ConfigError

Scope = Literal["admin", "app"]
# what each scope may do: an app key serves people (recommend, chat, feedback, sign-ups);
# the admin key also writes the catalog and deletes users' data
ADMIN_ONLY = {("POST", "/v1/items"), ("DELETE", "/v1/users/{user_id}"), ("PUT", "/v1/users/{user_id}/grants/{key_name}")}
_NAMED = re.compile(r"([A-Za-z][A-Za-z0-9_-]{0,31})=(.+)")
access_log = logging.getLogger("recagent.access")


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
    lower `signups` rate for creating users (fake accounts are the raw material of floods)."""

    def __init__(self, rate: str | None, signups: str | None):
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self.rate, self.signups = _parse(rate, "rate limit"), _parse(signups, "sign-up rate limit")

    def retry_after(self, caller: str, signup: bool = False) -> int | None:
        """None if this request may go ahead (and counts it); else seconds until it may."""
        for item in (self.rate, self.signups if signup else None):
            if item is not None and not self._limiter.hit(item, caller):
                return self._reset_in(item, caller)
        return None

    def signup_retry_after(self, caller: str) -> int | None:
        """A sign-up made another way (an anonymous chat session, whose first feedback creates its
        user): counted against the same limit as POST /v1/users."""
        if self.signups is not None and not self._limiter.hit(self.signups, caller):
            return self._reset_in(self.signups, caller)
        return None

    def _reset_in(self, item: RateLimitItem, caller: str) -> int:
        return max(1, int(self._limiter.get_window_stats(item, caller).reset_time - time.time()) + 1)


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
