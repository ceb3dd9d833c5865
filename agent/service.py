"""The HTTP service: recommend, chat (optionally streamed), feedback, users, items, a health
check and a browser chat page, behind admin and app keys (agent/access.py) with per-key rate
limits, size limits, a deadline for LLM calls, an access log and one error shape."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import json
import re
import threading
import time
from collections import OrderedDict
from pathlib import Path
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import ConfigDict, Field, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from agent.access import Caller, FairSlots, RateLimits, ServiceKeys, SlotsBusy, access_log, allowed
from agent.conversation import ChatReply, ChatSessions
from agent.options import RecommendOptions
from agent.errors import AgentError, ConfigError, InputError, NotFoundError, StoreError
from agent.session import SessionState, UnknownSessionError
from agent.types import (ITEM_ID, FeedbackResult, HistoryEvent, Item, ItemId, Recommendation, RecommendedItem,
                         Signal, TextInput, UserId)

WEB = Path(__file__).parent / "web"
MAX_BODY = 1_000_000  # bytes
MAX_HISTORY = 2000
MAX_ITEMS = 1000
MAX_HEADERS = 16_384  # bytes of request headers (names and values)
MAX_LLM_WAITING = 8  # requests waiting for a model slot before the service says 503
PER_KEY_LLM = 2  # requests one key may have running or waiting for the model (the others' share stays free)
RETRY_AFTER_S = 5
DEFAULT_RATE = "300/minute"  # per key
DEFAULT_SIGNUPS = "60/hour"  # users created per key
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
OPEN_WRITER = "local"  # who writes through a service without keys (loopback only)


class RecommendRequest(RecommendOptions):
    model_config = ConfigDict(strict=True)  # "3" is not a k and "yes" is not a bool: a clear 422, no guessing
    audit: bool = Field(False, description="include the model's raw answers and the LLM endpoint (for audits)")
    user_id: str | None = Field(None, max_length=200)
    history: list[HistoryEvent] | None = Field(None, max_length=MAX_HISTORY)

    @model_validator(mode="after")
    def _one_of(self):
        if (self.user_id is None) == (self.history is None):
            raise ValueError("give exactly one of user_id or history")
        return self


class ChatRequestBody(TextInput):
    model_config = ConfigDict(strict=True)
    session_id: str | None = Field(None, max_length=64, description="omit to start a session")
    user_id: str | None = Field(None, max_length=200, description="for a new session: whose history to use")
    message: str = Field(max_length=4000)
    stream: bool = Field(False, description="answer as server-sent events")


class FeedbackRequest(TextInput):
    model_config = ConfigDict(strict=True)
    user_id: str | None = Field(None, max_length=200)
    session_id: str | None = Field(None, max_length=64, description="instead of user_id: the session's user")
    item_id: ItemId
    signal: Signal

    @model_validator(mode="after")
    def _one_of(self):
        if (self.user_id is None) == (self.session_id is None):
            raise ValueError("give exactly one of user_id or session_id")
        return self


class ItemsRequest(TextInput):
    items: list[Item] = Field(max_length=MAX_ITEMS)


class UserRequest(TextInput):
    model_config = ConfigDict(strict=True, extra="forbid")
    user_id: UserId


_URL = re.compile(r"https?://\S+")


def without_urls(text: str | None) -> str | None:
    return _URL.sub("<the LLM endpoint>", text) if text else text


def public_view(rec: Recommendation) -> Recommendation:
    """What a caller sees without `audit`: no raw model output (a misbehaving model may echo its
    prompt) and no internal LLM address, in the endpoint field or in any message."""
    return rec.model_copy(update={
        "endpoint": None, "fallback_reason": without_urls(rec.fallback_reason),
        "warnings": [without_urls(w) for w in rec.warnings],
        "llm_calls": [c.model_copy(update={"raw": ""}) for c in rec.llm_calls]})


def public_reply(reply: ChatReply) -> ChatReply:
    """A chat reply without the LLM's address (its text never quotes the failure itself)."""
    return reply.model_copy(update={"fallback_reason": without_urls(reply.fallback_reason)})


def checked_items(items: list[Item]) -> list[Item]:
    """The catalog rules of `recagent ingest` (an id and a title, bounded fields, no repeated
    id), applied before anything is written: a bad item rejects the request, whole."""
    from agent.ingest import parse_item

    out, seen = [], set()
    for n, item in enumerate(items):
        try:
            checked = parse_item(item.model_dump())
        except ValueError as e:
            raise InputError(f"items[{n}]: {e}") from None
        if checked.item_id in seen:
            raise InputError(f"items[{n}]: item_id {checked.item_id!r} appears twice in this request")
        seen.add(checked.item_id)
        out.append(checked)
    return out


def error(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    """Every error: {"error": {"code", "message"}}."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def body_too_large(limit: int) -> JSONResponse:
    return error(413, "body_too_large", f"request body over {limit} bytes: send fewer items per call")


class BusyError(AgentError):
    """Too many requests are already waiting for the language model."""


class DeadlineError(AgentError):
    """The request ran past its deadline."""


class ForbiddenError(AgentError):
    """This key may not do that."""


class ClientClosedError(AgentError):
    """The client hung up before its answer (logged as 499; nobody reads the answer)."""


class RateLimitedError(AgentError):
    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class ClientGone(BaseException):
    """The client hung up: the work for it stops at the next item (not an Exception, so no
    fallback catches it)."""


def error_of(exc: AgentError) -> tuple[int, str, dict | None]:
    """The status, code and headers of an error: one table for plain and streamed answers."""
    if isinstance(exc, NotFoundError):
        return 404, "not_found", None
    if isinstance(exc, InputError):
        return 400, "bad_input", None
    if isinstance(exc, BusyError):
        return 503, "busy", {"Retry-After": str(RETRY_AFTER_S)}
    if isinstance(exc, DeadlineError):
        return 504, "deadline", None
    if isinstance(exc, ForbiddenError):
        return 403, "forbidden", None
    if isinstance(exc, ClientClosedError):
        return 499, "client_closed", None
    if isinstance(exc, RateLimitedError):
        return 429, "rate_limited", {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, StoreError):
        return 503, "store_unavailable", {"Retry-After": str(RETRY_AFTER_S)}
    return 503, "unavailable", None


def host_of(header: str) -> str:
    """The host of a Host header, without the port ("[::1]:8000" → "::1")."""
    if header.startswith("["):
        return header[1:].partition("]")[0]
    return header.rpartition(":")[0] if header.count(":") == 1 else header


def is_loopback(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, api_key: str | None, app_keys: list[str] | tuple[str, ...] = ()) -> None:
    if not is_loopback(host) and not ServiceKeys(api_key, app_keys):
        raise ConfigError(f"refusing to listen on {host} without a service key: set --api-key or "
                          "RECAGENT_SERVICE_KEY, or bind to 127.0.0.1")


def create_app(agent: ChatSessions, api_key: str | None = None, app_keys: list[str] | tuple[str, ...] = (),
               rate_limit: str | None = DEFAULT_RATE, signup_limit: str | None = DEFAULT_SIGNUPS,
               deadline_s: float | None = None) -> FastAPI:
    """The service. `api_key` is the admin key; `app_keys` may recommend, chat, send feedback
    and create users, not write the catalog or delete data, and each sees only the users it
    created or was granted. With keys, each is rate-limited (`rate_limit`, and `signup_limit`
    for new users), counted per process or, with the `limits_url` setting, shared by every
    replica on that store (`RateLimits` says what happens when it fails). A request that may
    call the LLM answers 504 past `deadline_s` (default: the LLM timeout plus the explanation
    budget). Without keys, only requests naming a loopback host are served (no DNS rebinding
    into an open service)."""
    settings, store = agent.recommender.settings, agent.recommender.store
    keys, limits = ServiceKeys(api_key, app_keys), RateLimits(rate_limit, signup_limit, settings.limits_url)
    deadline_s = deadline_s or settings.timeout_s + settings.explain_budget_s
    app = FastAPI(title="recagent", version="0.1.0", docs_url=None, redoc_url=None,
                  description="Grounded, explained recommendations; chat; feedback; catalog upserts. "
                              "Send `Authorization: Bearer <key>` on /v1/* when the service has keys.")
    # Generation is the scarce part (one model on a few cores): calls that may ask the LLM take
    # one of its slots, shared fairly between keys; past that the service answers 503 with
    # Retry-After. No-LLM recommendations and chats, feedback and catalog writes never wait behind it.
    slots = FairSlots(max(1, settings.parallel), PER_KEY_LLM, MAX_LLM_WAITING)

    async def run(fn, *args, **kwargs):
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def admit(key: str) -> None:
        try:
            await slots.acquire(key)
        except SlotsBusy as e:
            raise BusyError(f"{e}: retry in a few seconds, or ask with use_llm=false for an answer now") from None

    async def run_admitted(key: str, stop: threading.Event, fn, *args, **kwargs):
        """`fn` in a worker thread with the slot `admit` took, held while the work runs (past the
        deadline too: a thread cannot be killed, only told to stop at its next item)."""
        if stop.is_set():
            slots.release(key)
            raise ClientGone()
        work = asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args, **kwargs))
        work.add_done_callback(lambda _: slots.release(key))
        try:
            return await asyncio.wait_for(asyncio.shield(work), deadline_s)
        except ClientGone:
            raise ClientClosedError("the client closed the connection; the work for it stopped") from None
        except asyncio.TimeoutError:
            stop.set()
            raise DeadlineError(f"no answer within the {deadline_s:g} s deadline (the language model is slow): "
                                "ask with use_llm=false for an answer now") from None

    async def run_llm(request: Request, stop: threading.Event, fn, *args, **kwargs):
        """`run_admitted` once this caller has a slot."""
        await admit(writer_of(request))
        return await run_admitted(writer_of(request), stop, fn, *args, **kwargs)

    def stop_of(request: Request) -> threading.Event:
        """Set when the client hangs up (or the deadline passes): the work for it stops at its next item."""
        return request.scope.get(GONE) or threading.Event()

    def caller_of(request: Request) -> Caller | None:
        return getattr(request.state, "caller", None)

    def writer_of(request: Request) -> str:
        """The name writes and model slots are counted under: the key's, or OPEN_WRITER."""
        caller = caller_of(request)
        return caller.name if caller else OPEN_WRITER

    def person(request: Request, user_id: str) -> str:
        """The stored id `user_id` means for this caller: an app key's own users live under its
        name ("shop:alice"), so another key's users, and ingested ones it was not granted, are
        unknown to it (404, the same as an id nobody has)."""
        caller = caller_of(request)
        if caller is None or caller.scope == "admin" or store.granted(user_id, caller.name):
            return user_id
        inner = f"{caller.name}:{user_id}"
        if not ITEM_ID.fullmatch(inner):
            raise InputError(f"user id {user_id[:40]!r} is too long: at most {127 - len(caller.name)} characters "
                             "with this key")
        return inner

    def shown(request: Request, user_id: str | None) -> str | None:
        caller = caller_of(request)
        if user_id and caller is not None and caller.scope == "app":
            return user_id.removeprefix(f"{caller.name}:")
        return user_id

    def own_session(request: Request, session_id: str) -> SessionState:
        """A session this caller may continue: the key that opened it (or the admin)."""
        state = agent.sessions.get(session_id)
        caller = caller_of(request)
        if caller is not None and caller.scope == "app" and state.owner != caller.name:
            raise UnknownSessionError(session_id)
        return state

    def for_caller(request: Request, reply: ChatReply) -> ChatReply:
        feedback = [f.model_copy(update={"user_id": shown(request, f.user_id)}) for f in reply.feedback]
        return public_reply(reply).model_copy(update={"feedback": feedback})

    @app.middleware("http")
    async def guard(request: Request, call_next):
        started = time.perf_counter()
        caller, response = None, None
        try:
            if sum(len(k) + len(v) for k, v in request.scope["headers"]) > MAX_HEADERS:
                response = error(431, "headers_too_large", f"request headers over {MAX_HEADERS} bytes")
                return response
            if not keys and host_of(request.headers.get("host", "")) not in LOOPBACK_HOSTS:
                response = error(400, "bad_host", "this service has no keys and answers only requests for a loopback "
                                                  "host: use http://127.0.0.1, or start it with --api-key")
                return response
            length = request.headers.get("content-length")
            if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
                response = body_too_large(MAX_BODY)
                return response
            if keys and request.url.path.startswith("/v1/"):
                caller = keys.caller(request.headers.get("authorization", ""))
                if caller is None:
                    response = error(401, "unauthorized", "missing or wrong service key: send 'Authorization: Bearer <key>'")
                    return response
                route = _route_of(app, request)
                if not allowed(caller, request.method, route):
                    response = error(403, "forbidden", f"{request.method} {route} needs the admin key; this key "
                                                       "may recommend, chat, send feedback and create users")
                    return response
                wait = limits.retry_after(caller.name, signup=(request.method, route) == ("POST", "/v1/users"))
                if wait is not None:
                    response = error(429, "rate_limited", f"too many requests with this key: retry in {wait} s",
                                     headers={"Retry-After": str(wait)})
                    return response
                request.state.caller = caller
            try:
                response = await call_next(request)
            except Exception as exc:  # answered here, not re-raised: the connection stays open for its next request
                access_log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
                response = error(500, "internal", f"{type(exc).__name__}: the request failed; see the server log")
            return response
        finally:  # one line per request: no body, no query, no key, no client address
            route = request.scope.get("route")
            status = (request.scope.get(REFUSED) or (response.status_code if response is not None else 500))
            access_log.info("%s %s %s %.0fms %s", request.method, getattr(route, "path", None) or "-", status,
                            (time.perf_counter() - started) * 1000, caller.name if caller else "-")

    @app.exception_handler(RequestValidationError)
    async def invalid(_, exc: RequestValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"] if p != "body") or "body"
        return error(422, "invalid_request", f"{where}: {first['msg']}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_, exc: StarletteHTTPException):
        return error(exc.status_code, "http_error", str(exc.detail))

    @app.exception_handler(AgentError)
    async def agent_error(_, exc: AgentError):
        status, code, headers = error_of(exc)
        return error(status, code, str(exc), headers=headers)

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok", "items": agent.recommender.store.count_items(),
                "fit_generation": agent.recommender.fit_generation}

    @app.post("/v1/recommend", response_model=Recommendation)
    async def recommend(body: RecommendRequest, request: Request) -> Recommendation:
        caller = caller_of(request)
        if body.audit and caller is not None and caller.scope != "admin":
            raise ForbiddenError("audit (the model's raw answers and address) needs the admin key")
        options = RecommendOptions.of(body, use_llm=body.use_llm and agent.options.use_llm)
        stop = stop_of(request)
        on_item = _stopper(stop)
        if body.user_id is not None:
            fn, args = agent.recommender.recommend, (person(request, body.user_id), options)
        else:
            fn, args = agent.recommender.recommend_for_history, (body.history, options)
        if options.use_llm:
            result = await run_llm(request, stop, fn, *args, on_item=on_item)
        else:
            result = await run(fn, *args)
        result = result.model_copy(update={"user_id": shown(request, result.user_id)})
        return result if body.audit else public_view(result)

    @app.post("/v1/chat", response_model=ChatReply)
    async def chat(body: ChatRequestBody, request: Request):
        if body.session_id is not None:
            session = own_session(request, body.session_id).session_id
        else:
            if body.user_id is None and keys and (wait := limits.signup_retry_after(writer_of(request))) is not None:
                raise RateLimitedError(f"too many new users with this key (an anonymous session is one): retry in "
                                       f"{wait} s", wait)
            user = person(request, body.user_id) if body.user_id is not None else None
            session = await run(agent.start, user, writer_of(request))
        stop = stop_of(request)
        if not agent.options.use_llm:  # rules and no model: no slot to wait for
            if not body.stream:
                return for_caller(request, await run(agent.chat, session, body.message))
        elif not body.stream:
            return for_caller(request, await run_llm(request, stop, agent.chat, session, body.message, _stopper(stop)))
        else:
            await admit(writer_of(request))  # "busy" is a 503 before the stream starts, as without it
        # items go out as they are written; the reply's text and `done` follow
        loop, queue = asyncio.get_running_loop(), asyncio.Queue()

        def on_item(item) -> None:
            if stop.is_set():
                raise ClientGone()
            loop.call_soon_threadsafe(queue.put_nowait, ("item", item))

        async def turn() -> None:
            try:
                if agent.options.use_llm:
                    reply = await run_admitted(writer_of(request), stop, agent.chat, session, body.message, on_item)
                else:
                    reply = await run(agent.chat, session, body.message, on_item)
                await queue.put(("done", for_caller(request, reply)))
            except AgentError as e:
                await queue.put(("error", e))
            except ClientGone:
                await queue.put(("gone", None))

        task = asyncio.create_task(turn())
        return StreamingResponse(_events(queue, task, stop), media_type="text/event-stream")

    @app.post("/v1/feedback", response_model=FeedbackResult)
    async def feedback(body: FeedbackRequest, request: Request) -> FeedbackResult:
        if body.user_id is not None:
            result = await run(agent.feedback, person(request, body.user_id), body.item_id, body.signal,
                               writer_of(request))
        else:
            result = await run(agent.session_feedback, own_session(request, body.session_id), body.item_id, body.signal)
        return result.model_copy(update={"user_id": shown(request, result.user_id)})

    @app.post("/v1/items")
    async def upsert_items(body: ItemsRequest) -> dict:
        items = checked_items(body.items)

        def upsert():
            outcome = agent.recommender.store.upsert_items(items)
            changed = set(outcome["added"]) | set(outcome["updated"])
            agent.recommender.index.upsert([it for it in items if it.item_id in changed])
            return {k: len(v) for k, v in outcome.items()}
        return await run(upsert)

    @app.post("/v1/users", status_code=201)
    async def add_user(body: UserRequest, request: Request) -> dict:
        """Register a user before their first feedback (feedback for an unknown id is 404). An
        app key's users are its own: another key may use the same id for someone else."""
        if not await run(agent.recommender.add_user, person(request, body.user_id)):
            return JSONResponse({"user_id": body.user_id, "created": False}, status_code=200)
        return {"user_id": body.user_id, "created": True}

    @app.delete("/v1/users/{user_id}")
    async def delete_user(user_id: str) -> dict:
        """Delete a user's interactions (feedback included), registration and chat sessions (an
        anonymous session's user, `session:<id>`, with that session). An app key's users are
        stored as `<key name>:<id>`."""
        return {"user_id": user_id, "deleted": await run(agent.delete_user, user_id)}

    @app.put("/v1/users/{user_id}/grants/{key_name}")
    async def grant(user_id: str, key_name: str) -> dict:
        """Let an app key act for a user it did not create (an ingested one): it then reads their
        list and writes their feedback, which shapes the shared models under the trust rule."""
        if key_name not in keys.app_names():
            raise NotFoundError(f"no app key named {key_name!r}: name keys as --app-key NAME=KEY")
        await run(agent.recommender.grant, user_id, key_name)
        return {"user_id": user_id, "key_name": key_name, "granted": True}

    @app.get("/v1/items/{item_id}", response_model=Item)
    async def get_item(item_id: str) -> Item:
        return agent.recommender.item(item_id)

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(WEB / "index.html")

    @app.get("/docs", include_in_schema=False)
    async def docs():  # Swagger UI served from the swagger-ui-bundle package: works offline
        return get_swagger_ui_html(openapi_url="/openapi.json", title="recagent API",
                                   swagger_js_url="/docs-static/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-static/swagger-ui.css",
                                   swagger_favicon_url="/docs-static/favicon-32x32.png")

    from swagger_ui_bundle import swagger_ui_path

    app.mount("/static", StaticFiles(directory=WEB), name="static")
    app.mount("/docs-static", StaticFiles(directory=swagger_ui_path), name="docs-static")
    app.openapi = functools.partial(_openapi_with_bearer, app)
    app.add_middleware(BodyLimit, limit=MAX_BODY)
    return app


def _stopper(stop: threading.Event):
    """An `on_item` that ends the work once `stop` is set (the client left, or the deadline passed)."""
    def on_item(_item: RecommendedItem) -> None:
        if stop.is_set():
            raise ClientGone()
    return on_item


def _route_of(app: FastAPI, request: Request) -> str:
    """The route template a request will reach ("/v1/users/{user_id}"), before routing runs."""
    from starlette.routing import Match

    for route in app.router.routes:
        if route.matches(request.scope)[0] == Match.FULL:
            return getattr(route, "path", request.url.path)
    return request.url.path


def _openapi_with_bearer(app: FastAPI) -> dict:
    """The schema, declaring the bearer key on every /v1 path."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        # OpenAPI 3.0: the bundled Swagger UI (4.15, offline) cannot render a 3.1 document
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes,
                             openapi_version="3.0.3")
        schema.setdefault("components", {})["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "description": "the service key (admin or app)"}}
        for path, operations in schema["paths"].items():
            if path.startswith("/v1/"):
                for op in operations.values():
                    op["security"] = [{"bearer": []}]
        app.openapi_schema = schema
    return app.openapi_schema


REFUSED = "recagent.refused"  # the status sent in place of the app's answer (413, 408), for the access log
GONE = "recagent.gone"  # a threading.Event in the request scope, set when the client hangs up
BODY_TIMEOUT_S = 15.0  # a request body must arrive within this (slow bodies hold a connection and a task)


class BodyLimit:
    """Holds request bodies to a size and a time, counting the bytes actually read (a chunked
    body without Content-Length too): past `limit` bytes, or when the whole body has not come
    within `timeout_s`, the app reads a disconnect (nothing is parsed or written) and the client
    gets 413 or 408 in place of whatever the app would have answered. Also notes in the scope
    when the client hangs up (`GONE`)."""

    def __init__(self, app, limit: int, timeout_s: float | None = None):
        self.app, self.limit, self.timeout_s = app, limit, timeout_s or BODY_TIMEOUT_S

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        state = {"read": 0, "refusal": None, "answered": False, "watch": None}
        deadline = time.monotonic() + self.timeout_s
        gone = scope[GONE] = threading.Event()

        def watch_for_disconnect() -> None:
            """Once the body is in, the next message is the disconnect: it is awaited now, so work
            for a client that hung up is told to stop (`GONE`) without waiting to send to it."""
            state["watch"] = asyncio.ensure_future(receive())
            state["watch"].add_done_callback(
                lambda t: t.cancelled() or t.exception() or t.result()["type"] != "http.disconnect" or gone.set())

        async def counted():
            if state["watch"] is not None:
                return await asyncio.shield(state["watch"])
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                return refuse(error(408, "body_timeout", f"the request body did not arrive within {self.timeout_s:g} s"))
            state["read"] += len(message.get("body", b""))
            if state["read"] > self.limit:
                return refuse(body_too_large(self.limit))
            if not message.get("more_body", False):
                watch_for_disconnect()
            return message

        def refuse(response):
            state["refusal"], scope[REFUSED] = response, response.status_code
            return {"type": "http.disconnect"}

        async def answer(message):
            if state["refusal"] is None:
                return await send(message)
            if not state["answered"]:  # the app's own answer is dropped
                state["answered"] = True
                await state["refusal"](scope, receive, send)

        try:
            await self.app(scope, counted, answer)
        except Exception:
            if state["refusal"] is None:
                raise
        finally:
            if state["watch"] is not None:
                state["watch"].cancel()
        if state["refusal"] is not None and not state["answered"]:
            await answer({})


HEAD_TIMEOUT_S = 10.0  # a connection must send a whole request head within this (slowloris)
KEEP_ALIVE_S = 5.0  # an idle keep-alive connection is closed after this
MAX_CONNECTIONS = 1000  # open connections; past it the oldest one still sending its head is closed


def max_connections(wanted: int | None = None) -> int:
    """`wanted` (MAX_CONNECTIONS), kept under three quarters of this process's file descriptors (sockets are files)."""
    import resource

    wanted = wanted or MAX_CONNECTIONS
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(16, min(wanted, soft * 3 // 4)) if soft != resource.RLIM_INFINITY else wanted


def _guarded_protocol():
    """uvicorn's h11 protocol with what it lacks against slow clients: a deadline for each request
    head (a connection trickling header lines, or idle before its next request, is closed), and a
    cap on open connections that sheds the oldest connection still without a request head, so a
    flood of idle sockets cannot take every file descriptor while real requests go on."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11Protocol(H11Protocol):
        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            waiting = _waiting_heads(self.server_state)
            self._awaiting_head()
            cap = self.config.limit_concurrency - 1 if self.config.limit_concurrency else None
            while cap is not None and len(self.connections) > cap and waiting:
                oldest, _ = waiting.popitem(last=False)
                oldest._close("too many open connections")

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.cycle is not None and not self.cycle.response_complete:
                self._head_arrived()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._awaiting_head()  # idle until the next request: the same deadline again

        def connection_lost(self, exc) -> None:
            self._head_arrived()
            super().connection_lost(exc)

        def _awaiting_head(self) -> None:
            self._head_arrived()
            self._head_timer = self.loop.call_later(HEAD_TIMEOUT_S, self._close, "no request head in time")
            _waiting_heads(self.server_state)[self] = None

        def _head_arrived(self) -> None:
            if (timer := getattr(self, "_head_timer", None)) is not None:
                timer.cancel()
                self._head_timer = None
            _waiting_heads(self.server_state).pop(self, None)

        def _close(self, _why: str) -> None:
            self._head_arrived()
            if not self.transport.is_closing():
                self.transport.close()

    return GuardedH11Protocol


def _waiting_heads(server_state) -> OrderedDict:
    """The server's connections still without a request head, oldest first."""
    if not hasattr(server_state, "recagent_waiting"):
        server_state.recagent_waiting = OrderedDict()
    return server_state.recagent_waiting


def server_config(app: FastAPI, host: str, port: int, **kwargs):
    """The uvicorn config every way of serving uses (`recagent serve`, BackgroundServer)."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, http=_guarded_protocol(), timeout_keep_alive=KEEP_ALIVE_S,
                          limit_concurrency=max_connections() + 1, h11_max_incomplete_event_size=MAX_HEADERS,
                          **kwargs)


class BackgroundServer:
    """The app served by uvicorn in a thread on a free loopback port (tests, benchmarks):
    `with BackgroundServer(app) as url: ...`."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int | None = None):
        import uvicorn

        from agent.backends.embedded import free_port

        self.port = port or free_port()
        self.url = f"http://{host}:{self.port}"
        self._server = uvicorn.Server(server_config(app, host, self.port, log_level="error"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise ConfigError(f"the service did not start on port {self.port}")
            time.sleep(0.05)
        return self.url

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(10)


async def _events(queue: asyncio.Queue, task: asyncio.Task, stop: threading.Event):
    """Server-sent events: one `item` per recommendation as soon as it is written, then one
    `line` per reply line and `done` with the whole reply, or one `error` in the shape of a plain
    answer's error (with its HTTP status). A client that hangs up stops the work."""
    try:
        while True:
            kind, value = await queue.get()
            if kind == "gone":
                break
            if kind == "item":
                yield f"event: item\ndata: {value.model_dump_json()}\n\n"
            elif kind == "error":
                status, code, _ = error_of(value)
                body = {"error": {"code": code, "message": str(value), "status": status}}
                yield f"event: error\ndata: {json.dumps(body)}\n\n"
                break
            else:
                for line in value.reply.splitlines():
                    yield f"event: line\ndata: {json.dumps(line)}\n\n"
                yield f"event: done\ndata: {value.model_dump_json()}\n\n"
                break
        await task
    finally:
        stop.set()
