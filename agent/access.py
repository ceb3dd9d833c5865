"""Who may call the service and how often: bearer keys with a scope, per-key rate limits
(`limits`, moving window, in memory) and an access log without bodies or personal data."""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from typing import Literal

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from agent.errors import ConfigError

Scope = Literal["admin", "app"]
# what each scope may do: an app key serves people (recommend, chat, feedback, sign-ups);
# the admin key also writes the catalog and deletes users' data
ADMIN_ONLY = {("POST", "/v1/items"), ("DELETE", "/v1/users/{user_id}")}
access_log = logging.getLogger("recagent.access")


@dataclass(frozen=True)
class Caller:
    name: str  # logged and rate-limited by this, never the key itself
    scope: Scope


class ServiceKeys:
    """The admin key (`--api-key`, RECAGENT_SERVICE_KEY) and any app keys (`--app-key`,
    RECAGENT_APP_KEYS, comma-separated). Blank keys are no keys; with none, /v1/* is open
    (the service refuses to bind beyond loopback then)."""

    def __init__(self, admin: str | None = None, app: list[str] | tuple[str, ...] = ()):
        keys: dict[str, Caller] = {}
        if (admin or "").strip():
            keys[admin.strip()] = Caller("admin", "admin")
        for n, key in enumerate(k.strip() for k in app if k.strip()):
            if key in keys:
                raise ConfigError("an app key repeats another key: give each key once")
            keys[key] = Caller(f"app-{n + 1}", "app")
        self._keys = keys

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
                reset = self._limiter.get_window_stats(item, caller).reset_time
                return max(1, int(reset - time.time()) + 1)
        return None


def _parse(text: str | None, what: str) -> RateLimitItem | None:
    if not text or text.strip().lower() in ("none", "off", "0"):
        return None
    try:
        return parse(text)
    except ValueError:
        raise ConfigError(f"bad {what} {text!r}: write it like 300/minute or 20/hour, or none") from None
