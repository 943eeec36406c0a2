"""`memchat serve mcp`: the memory as a Model Context Protocol server over stdio, built on the
official SDK's `MCPServer`. An MCP client (a coding agent, a desktop chat app, an editor) starts
it as a subprocess; every tool call is recorded in a session labelled with the client's own
name (`agent.tool_calls`), so memchat's inspector shows which program read or wrote what.

Standard output carries the protocol only: news goes to stderr."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from importlib.metadata import version
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp.types import PARSE_ERROR, ErrorData, JSONRPCError, ToolAnnotations
from pydantic import Field

from agent.callers import caller_label
from agent.errors import MemchatError
from storage.errors import StorageError
from tui import render

if TYPE_CHECKING:
    from agent.core import Agent
    from storage.models import Memory, Proposal

T = TypeVar("T")
MAX_RESULTS = 100

INSTRUCTIONS = (
    "memchat is the user's local, long-term memory: preferences, facts and past conversation "
    "turns, kept on this machine. Call search_memory before answering anything about the user "
    "or the past; call remember when the user states something about themselves worth keeping. "
    "Every call is recorded, with your client's name, where the user can inspect it."
)
READ = ToolAnnotations(readOnlyHint=True, openWorldHint=False)
WRITE = ToolAnnotations(readOnlyHint=False, destructiveHint=False, openWorldHint=False)
FORGET = ToolAnnotations(readOnlyHint=False, destructiveHint=True, openWorldHint=False)

Kind = Literal["turn", "preference", "fact", "note"]
WritableKind = Literal["fact", "preference", "note"]
Count = Annotated[int, Field(ge=1, le=MAX_RESULTS)]
MemoryId = Annotated[int, Field(ge=1, le=2**63 - 1, description="a memory id, as search gives it")]


class MemoryTools:
    """The tools, over one agent (one profile). Calls take turns on one lock: the agent is not
    thread-safe and the SDK runs each synchronous tool on a worker thread."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.lock = threading.Lock()

    def call(self, action: Callable[[], T]) -> T:
        """Run `action` alone; a failure the user can act on becomes the tool's error text."""
        with self.lock:
            try:
                return action()
            except (MemchatError, StorageError) as exc:
                raise ToolError(str(exc)) from exc

    def search_memory(
        self,
        query: Annotated[str, Field(description="what to look for, in plain words")],
        ctx: Context,
        k: Count = 5,
    ) -> dict[str, Any]:
        """Search the user's memory with memchat's attention read: the k memories with the most
        weight (softmax over all of them), each with its id, kind, key, value, weight and
        dates. Use it before answering anything about the user or the past."""

        def search() -> dict[str, Any]:
            read, turn_id = self.agent.call_search(caller(ctx), query, k)
            dates = self.agent.memory_dates([i.id for hop in read.hops for i in hop])
            return {**render.search_json(query, read, dates), "turn_id": turn_id}

        return self.call(search)

    def remember(
        self,
        text: Annotated[str, Field(description="what the user said, in their words")],
        ctx: Context,
    ) -> dict[str, Any]:
        """Remember a statement from the user ("I moved to Lyon", "I am vegetarian"), as if
        said in memchat's chat: preferences and facts are extracted and an old value for the
        same thing is updated, keeping its history (in review mode they wait for the user's
        approval). Returns what was written or proposed."""

        def write() -> dict[str, Any]:
            turn = self.agent.call_remember(caller(ctx), text)
            return {
                "turn_id": turn.turn_id,
                "written": [w.as_json() for w in turn.written],
                "forgotten": [w.as_json() for w in turn.forgotten],
                "proposed": [proposal_json(p) for p in turn.proposed],
            }

        return self.call(write)

    def add_memory(
        self,
        key: Annotated[str, Field(description='what the memory is about, e.g. "home city"')],
        value: Annotated[str, Field(description='what it holds, e.g. "Lyon"')],
        ctx: Context,
        kind: WritableKind = "fact",
    ) -> dict[str, Any]:
        """Add a memory by hand; a memory with the same key (case ignored) is updated instead,
        its old value kept in its history."""
        return self.call(lambda: self.agent.call_add(caller(ctx), key, value, kind).as_json())

    def forget_memory(self, id: MemoryId, ctx: Context) -> dict[str, Any]:
        """Forget one memory by id (its history is kept, marked forgotten)."""
        memory = self.call(lambda: self.agent.call_forget(caller(ctx), id))
        return {"forgotten": render.memory_json(memory)}

    def list_memories(
        self, ctx: Context, kind: Kind | None = None, limit: Count = 20
    ) -> dict[str, Any]:
        """The newest memories (of one kind: turn, preference, fact or note), newest first."""
        memories = self.call(lambda: self.agent.call_list(caller(ctx), kind, limit))
        return {"memories": [render.memory_json(m) for m in memories]}

    def memory_history(self, id: MemoryId, ctx: Context) -> dict[str, Any]:
        """Every change of one memory: added, updated (old and new value), forgotten."""
        events = self.call(lambda: self.agent.call_history(caller(ctx), id))
        return {"history": [render.event_json(e) for e in events]}

    def profile(self, ctx: Context) -> dict[str, Any]:
        """The user's preferences and facts: what memchat's chat prompt holds about them."""
        memories = self.call(lambda: self.agent.call_profile(caller(ctx)))
        return {"profile": self.agent.profile_name, **profile_json(memories)}

    def profile_summary(self) -> str:
        """The preferences and facts as lines of text (the resource; not recorded as a call:
        a resource read names no client)."""
        memories = self.call(self.agent.profile_memories)
        return profile_text(self.agent.profile_name, memories)


def caller(ctx: Context) -> str:
    """The session label of the calling client: "mcp: " and the name it gave when it
    connected (clientInfo.name)."""
    params = ctx.session.client_params
    name = params.client_info.name if params is not None else None
    return caller_label("mcp", name)


def proposal_json(p: Proposal) -> dict[str, Any]:
    return {"id": p.id, "kind": p.kind, "key": p.key_text, "value": p.value_text}


def profile_json(memories: list[Memory]) -> dict[str, Any]:
    """{"preferences": [...], "facts": [...]}, each {"id", "key", "value"}."""
    out: dict[str, Any] = {"preferences": [], "facts": []}
    for m in memories:
        if m.kind in ("preference", "fact"):
            out[f"{m.kind}s"].append({"id": m.id, "key": m.key_text, "value": m.value_text})
    return out


def profile_text(name: str, memories: list[Memory]) -> str:
    """The profile resource: a heading, then the preferences and the facts, one a line."""
    lines = [f"memchat profile {name!r}"]
    for kind, title in (("preference", "Preferences"), ("fact", "Facts")):
        found = [f"- {m.key_text}: {m.value_text}" for m in memories if m.kind == kind]
        lines += [f"{title}:", *(found or ["- none"])]
    return "\n".join(lines)


READ_TOOLS = ("search_memory", "list_memories", "memory_history", "profile")
WRITE_TOOLS = {"remember": WRITE, "add_memory": WRITE, "forget_memory": FORGET}


def build_server(agent: Agent, read_only: bool = False) -> MCPServer:
    """The MCP server over `agent`'s profile; `read_only` offers only the reads."""
    tools = MemoryTools(agent)
    server = MCPServer(
        name="memchat",
        title="memchat memory",
        instructions=INSTRUCTIONS,
        version=version("memchat"),
        log_level="WARNING",  # stderr is the client's log: a line per call would flood it
    )
    for name in READ_TOOLS:
        server.add_tool(getattr(tools, name), name=name, annotations=READ)
    if not read_only:
        for name, annotations in WRITE_TOOLS.items():
            server.add_tool(getattr(tools, name), name=name, annotations=annotations)
    server.resource(
        "memchat://profile",
        name="profile",
        description="the user's preferences and facts, as text",
        mime_type="text/plain",
    )(tools.profile_summary)
    return server


def run_mcp(agent: Agent, read_only: bool = False) -> int:
    """Serve until the client closes stdin. The models and the profile's memories load first,
    so the first call is not slow and a broken setup fails before the client connects."""
    agent.profile_id(create=True)
    agent.store.cache(agent.profile_id())
    mode = "read-only" if read_only else "read and write"
    print(
        f"memchat: MCP server for profile {agent.profile_name!r} ({mode}) on stdio",
        file=sys.stderr,
        flush=True,
    )
    anyio.run(serve_stdio, build_server(agent, read_only))
    return 0


async def serve_stdio(server: MCPServer) -> None:
    """`server.run("stdio")`, except that a line that is not a JSON-RPC message (not JSON, not
    UTF-8, not a message) is answered with a parse error, as JSON-RPC 2.0 asks, where the SDK
    drops it silently: the client learns why it got no answer."""
    lowlevel = server._lowlevel_server  # the SDK's own run_stdio_async does the same
    async with stdio_server() as (from_client, to_client):
        checked_in, checked = anyio.create_memory_object_stream[SessionMessage | Exception](0)

        async def answer_bad_lines() -> None:
            async with checked_in:
                async for item in from_client:
                    if isinstance(item, Exception):
                        await to_client.send(SessionMessage(parse_error(item)))
                    else:
                        await checked_in.send(item)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(answer_bad_lines)
            await lowlevel.run(checked, to_client, lowlevel.create_initialization_options())


def parse_error(exc: Exception) -> JSONRPCError:
    """JSON-RPC's parse error (id null): the first line of what the parser said."""
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    message = f"Parse error: the line is not a JSON-RPC message ({reason[:200]})"
    error = ErrorData(code=PARSE_ERROR, message=message)
    return JSONRPCError(jsonrpc="2.0", id=None, error=error)
