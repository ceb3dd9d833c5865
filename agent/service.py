"""The HTTP service: recommend, chat (optionally streamed), feedback, users, items, a health
check and a browser chat page, behind admin and app keys (agent/access.py) with per-key rate
limits, size limits, a deadline for LLM calls, an access log and one error shape."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import json
import re
import time
from pathlib import Path
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import ConfigDict, Field, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from agent.access import RateLimits, ServiceKeys, access_log, allowed
from agent.conversation import ChatReply, ChatSessions
from agent.options import RecommendOptions
from agent.errors import AgentError, ConfigError, InputError, NotFoundError
from agent.types import FeedbackResult, HistoryEvent, Item, ItemId, Recommendation, Signal, TextInput, UserId

WEB = Path(__file__).parent / "web"
MAX_BODY = 1_000_000  # bytes
MAX_HISTORY = 2000
MAX_ITEMS = 1000
MAX_HEADERS = 16_384  # bytes of request headers (names and values)
MAX_LLM_WAITING = 8  # requests waiting for a model slot before the service says 503
RETRY_AFTER_S = 5
DEFAULT_RATE = "300/minute"  # per key
DEFAULT_SIGNUPS = "60/hour"  # users created per key


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
    and create users, not write the catalog or delete data. With keys, each is rate-limited
    (`rate_limit`, and `signup_limit` for new users). A request that may call the LLM answers
    504 past `deadline_s` (default: the LLM timeout plus the explanation budget)."""
    keys, limits = ServiceKeys(api_key, app_keys), RateLimits(rate_limit, signup_limit)
    settings = agent.recommender.settings
    deadline_s = deadline_s or settings.timeout_s + settings.explain_budget_s
    app = FastAPI(title="recagent", version="0.1.0", docs_url=None, redoc_url=None,
                  description="Grounded, explained recommendations; chat; feedback; catalog upserts. "
                              "Send `Authorization: Bearer <key>` on /v1/* when the service has keys.")
    # Generation is the scarce part (one model on a few cores): calls that may ask the LLM take
    # one of its slots, and past MAX_LLM_WAITING waiting ones the service answers 503 with
    # Retry-After. No-LLM recommendations, feedback and catalog writes never wait behind it.
    llm_slots = asyncio.Semaphore(max(1, settings.parallel))
    waiting = 0

    async def run(fn, *args, **kwargs):
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def run_llm(fn, *args, **kwargs):
        nonlocal waiting
        if waiting >= MAX_LLM_WAITING:
            raise BusyError(f"the language model is busy ({waiting} requests waiting): retry in a few seconds, "
                            "or ask with use_llm=false for an answer now")
        waiting += 1
        try:
            await llm_slots.acquire()
        finally:
            waiting -= 1
        work = asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args, **kwargs))
        work.add_done_callback(lambda _: llm_slots.release())  # the slot is held while the work runs
        try:
            return await asyncio.wait_for(asyncio.shield(work), deadline_s)
        except asyncio.TimeoutError:
            raise DeadlineError(f"no answer within the {deadline_s:g} s deadline (the language model is slow): "
                                "ask with use_llm=false for an answer now") from None

    @app.middleware("http")
    async def guard(request: Request, call_next):
        started = time.perf_counter()
        caller, response = None, None
        try:
            if sum(len(k) + len(v) for k, v in request.scope["headers"]) > MAX_HEADERS:
                response = error(431, "headers_too_large", f"request headers over {MAX_HEADERS} bytes")
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
            response = await call_next(request)
            return response
        finally:  # one line per request: no body, no query, no key, no client address
            route = request.scope.get("route")
            status = (413 if request.scope.get(BODY_OVER) else response.status_code if response is not None else 500)
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
        if isinstance(exc, NotFoundError):
            return error(404, "not_found", str(exc))
        if isinstance(exc, InputError):
            return error(400, "bad_input", str(exc))
        if isinstance(exc, BusyError):
            return error(503, "busy", str(exc), headers={"Retry-After": str(RETRY_AFTER_S)})
        if isinstance(exc, DeadlineError):
            return error(504, "deadline", str(exc))
        return error(503, "unavailable", str(exc))

    @app.exception_handler(Exception)
    async def unexpected(_, exc: Exception):  # never a traceback to the client
        return error(500, "internal", f"{type(exc).__name__}: the request failed; see the server log")

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok", "items": agent.recommender.store.count_items()}

    @app.post("/v1/recommend", response_model=Recommendation)
    async def recommend(body: RecommendRequest) -> Recommendation:
        options = RecommendOptions.of(body, use_llm=body.use_llm and agent.options.use_llm)
        call = run_llm if options.use_llm else run
        if body.user_id is not None:
            result = await call(agent.recommender.recommend, body.user_id, options)
        else:
            result = await call(agent.recommender.recommend_for_history, body.history, options)
        return result if body.audit else public_view(result)

    @app.post("/v1/chat", response_model=ChatReply)
    async def chat(body: ChatRequestBody):
        session = body.session_id or await run(agent.start, body.user_id)
        if not body.stream:
            return public_reply(await run_llm(agent.chat, session, body.message))
        # items go out as they are written; the reply's text and `done` follow
        loop, queue = asyncio.get_running_loop(), asyncio.Queue()

        def on_item(item) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, ("item", item))

        async def turn() -> None:
            try:
                await queue.put(("done", public_reply(await run_llm(agent.chat, session, body.message, on_item))))
            except AgentError as e:
                await queue.put(("error", e))

        task = asyncio.create_task(turn())
        return StreamingResponse(_events(queue, task), media_type="text/event-stream")

    @app.post("/v1/feedback", response_model=FeedbackResult)
    async def feedback(body: FeedbackRequest) -> FeedbackResult:
        user = body.user_id
        if user is None:
            user = agent.session_user(agent.sessions.get(body.session_id))
        return await run(agent.feedback, user, body.item_id, body.signal)

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
    async def add_user(body: UserRequest) -> dict:
        """Register a user before their first feedback (feedback for an unknown id is 404)."""
        if not await run(agent.recommender.add_user, body.user_id):
            return JSONResponse({"user_id": body.user_id, "created": False}, status_code=200)
        return {"user_id": body.user_id, "created": True}

    @app.delete("/v1/users/{user_id}")
    async def delete_user(user_id: str) -> dict:
        """Delete a user's interactions (feedback included), registration and chat sessions."""
        return {"user_id": user_id, "deleted": await run(agent.delete_user, user_id)}

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

        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schema.setdefault("components", {})["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "description": "the service key (admin or app)"}}
        for path, operations in schema["paths"].items():
            if path.startswith("/v1/"):
                for op in operations.values():
                    op["security"] = [{"bearer": []}]
        app.openapi_schema = schema
    return app.openapi_schema


BODY_OVER = "recagent.body_over"  # set in the request scope once a body went past the limit


class BodyLimit:
    """Counts the bytes actually read, so a body without Content-Length (chunked) is held to
    the same limit: past it, the app reads a disconnect (nothing is parsed or written) and the
    client gets 413 in place of whatever the app would have answered."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        state = {"read": 0, "over": False, "answered": False}

        async def counted():
            message = await receive()
            state["read"] += len(message.get("body", b""))
            if state["read"] > self.limit:
                state["over"] = scope[BODY_OVER] = True  # the access log reports the 413 sent, not the app's answer
                return {"type": "http.disconnect"}
            return message

        async def answer(message):
            if not state["over"]:
                return await send(message)
            if not state["answered"]:  # the app's own answer is dropped
                state["answered"] = True
                await body_too_large(self.limit)(scope, receive, send)

        try:
            await self.app(scope, counted, answer)
        except Exception:
            if not state["over"]:
                raise
        if state["over"] and not state["answered"]:
            await answer({})


class BackgroundServer:
    """The app served by uvicorn in a thread on a free loopback port (tests, benchmarks):
    `with BackgroundServer(app) as url: ...`."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int | None = None):
        import threading

        import uvicorn

        from agent.backends.embedded import free_port

        self.port = port or free_port()
        self.url = f"http://{host}:{self.port}"
        self._server = uvicorn.Server(uvicorn.Config(app, host=host, port=self.port, log_level="error"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> str:
        import time

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


async def _events(queue: asyncio.Queue, task: asyncio.Task):
    """Server-sent events: one `item` per recommendation as soon as it is written, then one
    `line` per reply line and `done` with the whole reply (or one `error`)."""
    while True:
        kind, value = await queue.get()
        if kind == "item":
            yield f"event: item\ndata: {value.model_dump_json()}\n\n"
        elif kind == "error":
            body = {"error": {"code": type(value).__name__, "message": str(value)}}
            yield f"event: error\ndata: {json.dumps(body)}\n\n"
            break
        else:
            for line in value.reply.splitlines():
                yield f"event: line\ndata: {json.dumps(line)}\n\n"
            yield f"event: done\ndata: {value.model_dump_json()}\n\n"
            break
    await task
