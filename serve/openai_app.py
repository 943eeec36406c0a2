"""The Starlette app of `memchat serve openai` (serve/openai_api.py says what it does): the
routes, the one lock turns take, the replies streamed from a turn's thread."""

from __future__ import annotations

import asyncio
import hmac
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from agent.core import Agent
from agent.errors import MemchatError, NotFoundError, UsageError
from agent.text import clean_message, clean_name
from serve.openai_wire import (
    SSE_DONE,
    ApiError,
    ChatRequest,
    Chunks,
    bad,
    client_label,
    completion_json,
    header_text,
    model_list,
    parse_chat,
    sse,
)
from storage.errors import StorageError

if TYPE_CHECKING:
    from agent.turn import TurnResult

MAX_BODY_BYTES = 8 * 1024 * 1024
PROFILE_HEADER = "X-Memchat-Profile"
MAX_AGENTS = 64  # (profile, client) agents kept; one evicted starts a new session when back


class Turns:
    """The agents, one per (profile, client label), and the one lock every use of them
    takes. They share the served agent's database sessions, models and memory store (its
    caches are per profile), so another profile or client costs no model and no cache."""

    def __init__(self, agent: Agent) -> None:
        self.served = agent
        self.lock = threading.Lock()
        self.agents: OrderedDict[tuple[str, str], Agent] = OrderedDict()
        self.running: set[threading.Event] = set()  # the stops of the replies in flight

    def agent_for(self, profile: str, label: str) -> Agent:
        """The agent of `profile` for the client `label` (call with the lock held)."""
        key = (profile, label)
        if key not in self.agents:
            base = self.served
            agent = Agent(replace(base.settings, profile=profile), base.sessions, base.models)
            agent.store = base.store
            self.agents[key] = agent
            if len(self.agents) > MAX_AGENTS:
                self.agents.popitem(last=False)
        self.agents.move_to_end(key)
        return self.agents[key]

    def prepare(self, profile: str, label: str, text: str) -> tuple[Agent, str]:
        """The agent for a turn, and its chat model's name; refuses what the turn would refuse
        (an unknown profile, a bad message) before a reply starts streaming."""
        with self.lock:
            agent = self.agent_for(profile, label)
            agent.profile_id()  # NotFoundError, but the default profile is made on demand
            clean_message(text, agent.settings.max_message_chars)
            return agent, agent.models.generator.name

    def ask(
        self,
        agent: Agent,
        text: str,
        label: str,
        on_token: Callable[[str], None] | None,
        stop: threading.Event,
    ) -> tuple[TurnResult, int]:
        """One turn, as `memchat ask` takes it; with the reply's length in tokens."""
        with self.lock:
            result = agent.ask(text, on_token=on_token, stop=stop, label=label)
            return result, agent.models.generator.count_tokens(result.reply)

    def stop_all(self) -> None:
        for stop in list(self.running):
            stop.set()


def turn_error(exc: Exception) -> ApiError:
    """What the client is told of a failed turn: the agent's one-line message."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, UsageError):
        return bad(str(exc))
    if isinstance(exc, NotFoundError):
        return ApiError(404, str(exc), "not_found")
    if isinstance(exc, MemchatError | StorageError):
        return ApiError(500, str(exc), "memchat_error")
    print(f"memchat: serve openai: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    return ApiError(500, f"internal error ({type(exc).__name__})", "internal_error")


async def in_thread(call: Callable[..., Any], *args: Any) -> Any:
    """`call(*args)` on the loop's default executor, its failure as an ApiError. A thread
    is never interrupted: a turn whose caller went away still ends and stores its reply, and
    the loop waits for it before the server exits."""
    try:
        return await asyncio.get_running_loop().run_in_executor(None, call, *args)
    except Exception as exc:
        raise turn_error(exc) from exc


async def read_body(request: Request) -> bytes:
    """The request body, refused past MAX_BODY_BYTES (413) before it is all read."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise too_large()
    return bytes(body)


def too_large() -> ApiError:
    return ApiError(413, f"the request body is over {MAX_BODY_BYTES:,} bytes", "too_large")


def requested_profile(chat: ChatRequest, request: Request, served: str) -> str:
    """The `user` field, else the X-Memchat-Profile header, else the served profile (a blank
    one names none); a name holding escape sequences or control characters is refused, not
    cleaned into another profile's name."""
    header = header_text(request.headers.get(PROFILE_HEADER))
    for where, given in (("user", chat.user), (PROFILE_HEADER, header)):
        if given is not None and given.strip():
            try:
                name = clean_name(given)
            except UsageError as exc:
                raise bad(str(exc), where) from exc
            if name != given.strip():
                raise bad("the profile name holds control characters", where)
            return name
    return served


async def chat_completions(request: Request) -> Response:
    turns: Turns = request.app.state.turns
    chat = parse_chat(await read_body(request))
    profile = requested_profile(chat, request, turns.served.profile_name)
    label = client_label(request.headers.get("user-agent"))  # mojibake at worst: harmless
    agent, model = await in_thread(turns.prepare, profile, label, chat.text)
    stop = threading.Event()
    if chat.stream:
        events = stream_reply(turns, agent, chat, label, Chunks(model), stop)
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(events, media_type="text/event-stream", headers=headers)
    turns.running.add(stop)
    watcher = asyncio.ensure_future(stop_on_disconnect(request.receive, stop))
    try:
        result, used = await in_thread(turns.ask, agent, chat.text, label, None, stop)
    finally:
        watcher.cancel()
        turns.running.discard(stop)
    return JSONResponse(completion_json(result, agent.profile_name, used, int(time.time())))


async def stop_on_disconnect(receive: Receive, stop: threading.Event) -> None:
    """Stop the reply when the client goes away (the body is read: what comes is the end)."""
    while (await receive())["type"] != "http.disconnect":
        pass
    stop.set()


async def stream_reply(
    turns: Turns, agent: Agent, chat: ChatRequest, label: str, chunks: Chunks, stop: threading.Event
) -> AsyncIterator[str]:
    """The reply as server-sent events, each piece as the model says it. The pieces come from
    the turn's thread through a queue; when the client goes away, this generator is closed
    and the reply stopped."""
    loop = asyncio.get_running_loop()
    pieces: asyncio.Queue[str | None] = asyncio.Queue()

    def put(piece: str | None) -> None:  # in the turn's thread
        try:
            loop.call_soon_threadsafe(pieces.put_nowait, piece)
        except RuntimeError:  # the loop has closed: nobody is listening
            stop.set()

    def turn() -> tuple[TurnResult, int]:
        try:
            return turns.ask(agent, chat.text, label, put, stop)
        finally:
            put(None)

    turns.running.add(stop)
    done = asyncio.ensure_future(in_thread(turn))
    done.add_done_callback(lambda f: f.cancelled() or f.exception())  # retrieved, not logged
    try:
        yield chunks.delta({"role": "assistant", "content": ""})
        while (piece := await pieces.get()) is not None:
            yield chunks.delta({"content": piece})
        try:
            result, used = await asyncio.shield(done)
        except ApiError as exc:
            yield sse(exc.as_json())
            return
        yield chunks.end(result, agent.profile_name)
        if chat.include_usage:
            yield chunks.usage(result, used)
        yield SSE_DONE
    finally:
        stop.set()  # a no-op once the reply is stored
        turns.running.discard(stop)


async def list_models(request: Request) -> Response:
    return JSONResponse(models_json(request))


async def get_model(request: Request) -> Response:
    model = models_json(request)["data"][0]
    if request.path_params["model"] != model["id"]:
        raise ApiError(404, f"model {request.path_params['model']!r} not found", "not_found")
    return JSONResponse(model)


def models_json(request: Request) -> dict[str, Any]:
    """The model list, naming the chat model without loading it (the server has loaded it
    before it serves; an app in a test may not have)."""
    agent: Agent = request.app.state.turns.served
    models = agent.models
    generator = models.generator.name if models.loaded else agent.settings.model or "packaged"
    return model_list(generator, agent.profile_name, request.app.state.started)


def error_response(error: ApiError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error.as_json(), error.status, headers)


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def on_http_error(request: Request, exc: Exception) -> Response:
    """An unknown route (404) or method (405), in OpenAI's shape."""
    assert isinstance(exc, HTTPException)
    what = f"{request.method} {request.url.path}"
    message = "no such route" if exc.status_code == 404 else "method not allowed"
    code = {404: "unknown_url", 405: "method_not_allowed"}.get(exc.status_code)
    return error_response(ApiError(exc.status_code, f"{message}: {what}", code), exc.headers)


class BearerAuth:
    """Every request needs `Authorization: Bearer <token>` (compared in constant time)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app, self.token = app, token.encode("utf-8")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.allowed(Headers(scope=scope)):
            error = ApiError(401, "a valid bearer token is required", "invalid_api_key")
            await error_response(error, {"WWW-Authenticate": "Bearer"})(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def allowed(self, headers: Headers) -> bool:
        scheme, _, given = headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode("latin-1"), self.token
        )


def build_app(agent: Agent, token: str = "") -> Starlette:
    """The API over `agent` (its profile is the one served when a request names none);
    `token`: the bearer token every request must send ("" for none)."""
    routes = [
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{model:path}", get_model, methods=["GET"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(BearerAuth, token=token)] if token else [],
        exception_handlers={ApiError: on_api_error, HTTPException: on_http_error},
    )
    app.state.turns, app.state.started = Turns(agent), int(time.time())
    return app
