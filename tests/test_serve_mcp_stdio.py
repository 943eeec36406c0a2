"""`memchat serve mcp` as a client runs it: a subprocess on stdio with the real packaged models,
driven by the MCP SDK's own client; then two clients and the UI on one database at once."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.types import Implementation

from agent.bootstrap import build_agent
from agent.core import Agent
from agent.settings import load_settings
from tests.test_tui_inspector import detail_text, open_inspector
from tests.waiting import until
from tui.app import MemchatApp

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
START_S = 300.0  # the encoder loads (and, the first time in a run, the cache fills)
# 2 clients x 3 rounds x 2 reads of the note (a search, a remembered turn's read) stay within
# the 20 latest reads the inspector lists
ROUNDS = 3


def environment(home: Path, cache: Path) -> dict[str, str]:
    env = {**os.environ, "MEMCHAT_HOME": str(home), "MEMCHAT_CACHE": str(cache)}
    env.pop("MEMCHAT_PROFILE", None)
    env.pop("MEMCHAT_DB", None)
    return env


@asynccontextmanager
async def mcp_client(
    home: Path, cache: Path, db: Path, name: str, *extra: str
) -> AsyncIterator[Client]:
    """`memchat --db DB serve mcp` started by the SDK's client, which names itself `name`."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "tui.cli", "--db", str(db), "serve", "mcp", *extra],
        env=environment(home, cache),
        cwd=ROOT,
    )
    info = Implementation(name=name, version="1.0")
    async with Client(params, client_info=info, read_timeout_seconds=START_S) as client:
        yield client


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


def real_agent(home: Path, cache: Path, db: Path) -> Agent:
    settings = load_settings(environ=environment(home, cache), db=str(db))
    return build_agent(settings)


async def test_stdio_round_trip_then_the_inspector_names_the_client(
    tmp_path: Path, model_cache: Path
) -> None:
    db = tmp_path / "memchat.db"
    async with mcp_client(tmp_path, model_cache, db, "Claude Desktop") as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"search_memory", "remember", "forget_memory"} <= names
        said = await call(client, "remember", text="I prefer green tea in the morning.")
        preference = next(w for w in said["written"] if w["kind"] == "preference")
        assert "green tea" in preference["value"]
        found = await call(client, "search_memory", query="what do I drink in the morning?")
        weights = {r["id"]: r["weight"] for r in found["results"]}
        assert preference["id"] in weights and weights[preference["id"]] > 0
        await call(client, "forget_memory", id=preference["id"])
        again = await call(client, "search_memory", query="what do I drink in the morning?")
        assert preference["id"] not in {r["id"] for r in again["results"]}
    agent = real_agent(tmp_path, model_cache, db)
    assert preference["id"] not in {m.id for m in agent.list_memories()}
    app = MemchatApp(agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        text = detail_text(await open_inspector(pilot))  # memory 1: the turn remembered
    assert "I prefer green tea in the morning." in text
    assert re.search(r"turn 1 · user · .*  via mcp: Claude Desktop\n", text)
    reads = [line for line in text.splitlines() if re.match(r"turn \d+ +[█·]{10} ", line)]
    assert len(reads) == 2 and all(line.endswith("by mcp: Claude Desktop") for line in reads)


async def test_two_clients_and_the_ui_share_one_database(tmp_path: Path, model_cache: Path) -> None:
    """Two MCP servers (one per client, as clients start them) write and read one profile while
    the UI has it open; afterwards every write is there once and the inspector names both."""
    db = tmp_path / "memchat.db"
    agent = real_agent(tmp_path, model_cache, db)
    agent.add_memory("shared", "both clients read this note", "note")  # memory 1

    async def work(name: str) -> None:
        async with mcp_client(tmp_path, model_cache, db, name) as client:
            for i in range(ROUNDS):
                await call(client, "add_memory", key=f"{name} item {i}", value=f"value {i}")
                await call(client, "remember", text=f"{name} says: my lucky number is {i}.")
                await call(client, "search_memory", query="the note both clients read")

    app = MemchatApp(agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_inspector(pilot)
        await asyncio.gather(work("Cursor"), work("Zed"))
        await pilot.press("f2", "f3")  # back to the inspector: it shows what changed meanwhile
        await until(pilot, lambda: "by mcp: Zed" in detail_text(screen), "the read by Zed shown")
        text = detail_text(screen)
    assert "by mcp: Cursor" in text and "by mcp: Zed" in text
    memories = agent.list_memories()
    for name in ("Cursor", "Zed"):
        items = [m for m in memories if m.key_text.startswith(f"{name} item")]
        assert sorted(m.value_text for m in items) == [f"value {i}" for i in range(ROUNDS)]
        turns = [m for m in memories if m.kind == "turn" and m.value_text.startswith(name)]
        assert len(turns) == ROUNDS
    turn_ids = [m.id for m in memories if m.kind == "turn"]
    linked = [m for m in memories if m.kind == "turn" and m.prev_id is not None]
    assert len(linked) == len(turn_ids) - 1  # one chain of the profile's turns


def test_lines_that_are_not_messages_get_a_parse_error(tmp_path: Path, model_cache: Path) -> None:
    """Raw lines on the server's stdin: bytes that are not UTF-8, text that is not JSON, a call
    with arguments of the wrong type; each gets an error back, and the server goes on."""
    server = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "--db", str(tmp_path / "m.db"), "serve", "mcp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
        env=environment(tmp_path, model_cache),
    )
    assert server.stdin is not None and server.stdout is not None
    lines: queue.Queue[bytes] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(b) for b in server.stdout], daemon=True).start()

    def send(line: bytes | dict[str, Any]) -> None:
        data = line if isinstance(line, bytes) else json.dumps(line).encode()
        server.stdin.write(data + b"\n")
        server.stdin.flush()

    def answer() -> dict[str, Any]:
        return json.loads(lines.get(timeout=START_S))

    try:
        hello = {"protocolVersion": "2025-06-18", "capabilities": {}}
        hello["clientInfo"] = {"name": "raw", "version": "1"}
        send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello})
        assert answer()["id"] == 1
        send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        for bad in (b"\xff\xfe{not utf-8", b"not json at all", b'{"id": 3}'):
            send(bad)
            error = answer()
            assert error["id"] is None and error["error"]["code"] == -32700
            assert "not a JSON-RPC message" in error["error"]["message"]
        arguments = {"name": "search_memory", "arguments": {"query": {"nested": 1}}}
        send({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": arguments})
        refused = answer()
        assert refused["id"] == 2 and refused["result"]["isError"] is True
        arguments = {"name": "add_memory", "arguments": {"key": "k", "value": "v"}}
        send({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": arguments})
        assert answer()["result"]["structuredContent"]["action"] == "add"
        server.stdin.close()
        assert server.wait(timeout=60) == 0  # input closed: the server ends cleanly
    finally:
        server.kill()
        server.wait()
