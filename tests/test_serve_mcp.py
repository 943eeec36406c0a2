"""`memchat serve mcp` in process: the SDK's own client drives the server over fake models.
The stdio subprocess with the real models is in tests/test_serve_mcp_stdio.py."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import CallToolResult, Implementation

from agent.core import Agent
from serve.mcp_server import READ_TOOLS, build_server
from storage.conversations import session_labels
from tests.conftest import make_fake_agent
from tests.test_tui_inspector import detail_text, open_inspector
from tui.app import MemchatApp

ALL_TOOLS = {*READ_TOOLS, "remember", "add_memory", "forget_memory"}


@asynccontextmanager
async def connected(
    agent: Agent, name: str = "Test Client", read_only: bool = False
) -> AsyncIterator[Client]:
    info = Implementation(name=name, version="1.0")
    async with Client(build_server(agent, read_only), client_info=info) as client:
        yield client


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """A successful call's structured result."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return result.structured_content


async def refused(client: Client, tool: str, **arguments: Any) -> str:
    """A call that must fail as a tool error (never a crash): its message."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, result.structured_content
    return text_of(result)


def text_of(result: CallToolResult) -> str:
    return " ".join(getattr(part, "text", "") for part in result.content)


async def test_tools_are_listed_with_descriptions_and_schemas(agent: Agent) -> None:
    async with connected(agent) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == ALL_TOOLS
    assert all(t.description and len(t.description) > 30 for t in tools.values())
    search = tools["search_memory"].input_schema
    assert search["required"] == ["query"]
    assert search["properties"]["k"]["type"] == "integer"
    assert search["properties"]["k"]["minimum"] == 1
    kinds = tools["add_memory"].input_schema["properties"]["kind"]["enum"]
    assert kinds == ["fact", "preference", "note"]
    assert tools["search_memory"].annotations.read_only_hint is True
    assert tools["forget_memory"].annotations.destructive_hint is True


async def test_read_only_offers_only_the_reads(agent: Agent) -> None:
    async with connected(agent, read_only=True) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert names == set(READ_TOOLS)
        message = await refused(client, "remember", text="I live in Lyon")
    assert "Unknown tool" in message
    assert agent.list_memories() == []


async def test_remember_search_forget_recorded_as_the_client(agent: Agent) -> None:
    async with connected(agent, "Claude Code") as client:
        said = await call(client, "remember", text="I am vegetarian and I live in Lyon.")
        kinds = {w["kind"]: w for w in said["written"]}
        assert kinds["preference"]["value"] == "vegetarian"
        found = await call(client, "search_memory", query="what is my diet", k=3)
        assert len(found["results"]) == 3
        top = {r["id"]: r for r in found["results"]}
        diet = kinds["preference"]["id"]
        assert diet in top and 0 < top[diet]["weight"] <= 1
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", top[diet]["created_at"])
        forgotten = await call(client, "forget_memory", id=diet)
        assert forgotten["forgotten"]["id"] == diet
        history = await call(client, "memory_history", id=diet)
        assert [e["action"] for e in history["history"]] == ["add", "forget"]
    assert diet not in {m.id for m in agent.list_memories()}
    # the read and the forgetting name the client; the turn it came from is its session's
    detail_reads = agent.show(kinds["fact"]["id"]).callers
    assert set(detail_reads.values()) == {"mcp: Claude Code"}
    forgetting = agent.history(diet)[-1]
    with agent.sessions() as s:
        labels = session_labels(s, agent.profile_id(), [forgetting.turn_id or 0])
    assert labels == {forgetting.turn_id: "mcp: Claude Code"}


async def test_add_list_and_profile(agent: Agent) -> None:
    async with connected(agent) as client:
        added = await call(client, "add_memory", key="home city", value="Lyon")
        assert added == {**added, "kind": "fact", "action": "add"}
        updated = await call(client, "add_memory", key="Home City", value="Paris")
        assert updated["id"] == added["id"] and updated["action"] == "update"
        await call(client, "add_memory", key="coffee", value="black", kind="preference")
        listed = await call(client, "list_memories", kind="fact", limit=5)
        assert [m["value"] for m in listed["memories"]] == ["Paris"]
        newest = await call(client, "list_memories", limit=2)  # newest first, 2 of 3
        assert [m["value"] for m in newest["memories"]] == ["black", "Paris"]
        profile = await call(client, "profile")
        assert profile["preferences"] == [{"id": 2, "key": "coffee", "value": "black"}]
        assert profile["facts"][0]["value"] == "Paris"
        resource = await client.read_resource("memchat://profile")
    text = resource.contents[0].text  # type: ignore[union-attr]
    assert "- coffee: black" in text and "- Home City: Paris" in text
    history = agent.history(added["id"])
    assert [e.action for e in history] == ["add", "update"]
    assert all(e.turn_id is not None for e in history)  # each change names the call's turn
    assert agent.show(added["id"]).memory.source_turn_id is None  # added, not extracted


async def test_tool_calls_stay_out_of_the_chat_prompt(agent: Agent) -> None:
    async with connected(agent) as client:
        await call(client, "search_memory", query="SECRET-SEARCH-WORDS")
    agent.ask("hello there")
    prompt = json.dumps(agent.models.generator.prompts[-1])
    assert "SECRET-SEARCH-WORDS" not in prompt


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    [
        ("search_memory", {"query": "x", "k": "many"}, "valid integer"),
        ("search_memory", {"query": "x", "k": 0}, "greater than or equal to 1"),
        ("search_memory", {"query": ["not", "text"]}, "valid string"),
        ("search_memory", {}, "Field required"),
        ("add_memory", {"key": "k", "value": "v", "kind": "turn"}, "Input should be"),
        ("forget_memory", {"id": "seven"}, "valid integer"),
        ("forget_memory", {"id": 2**64}, "less than or equal"),
        ("list_memories", {"limit": 10_000}, "less than or equal to 100"),
        ("no_such_tool", {}, "Unknown tool: no_such_tool"),
        ("search_memory", {"query": "x" * 1_000_000}, "the limit is 200,000"),
        ("remember", {"text": "   "}, "message is empty"),
        ("remember", {"text": "bad \ud800 byte"}, "not valid UTF-8"),
        ("search_memory", {"query": "\udcff"}, "not valid UTF-8"),
        ("memory_history", {"id": 12345}, "no memory 12345 in profile 'default'"),
    ],
)
async def test_bad_input_is_a_tool_error(
    agent: Agent, tool: str, arguments: dict[str, Any], expected: str
) -> None:
    async with connected(agent) as client:
        message = await refused(client, tool, **arguments)
        assert expected in message
        still = await call(client, "profile")  # the server goes on
    assert still["profile"] == "default"
    assert all(m.kind == "turn" for m in agent.list_memories())


async def test_markup_is_stored_and_returned_literally(agent: Agent) -> None:
    markup = "[bold]x[/bold] [link=http://e.com]y[/link] {{braces}} <b>z</b>"
    async with connected(agent) as client:
        added = await call(client, "add_memory", key="markup", value=markup)
        # escape sequences are removed, as from every message memchat stores
        escaped = await call(client, "add_memory", key="colour", value="\x1b[31mred\x1b[0m")
        found = await call(client, "search_memory", query="markup bold link braces", k=1)
    assert added["value"] == markup and found["results"][0]["value"] == markup
    assert escaped["value"] == "red"
    assert agent.show(added["id"]).memory.value_text == markup


async def test_profiles_stay_isolated(tmp_path: Path, each_engine: str) -> None:
    alice = make_fake_agent(tmp_path)
    alice.add_memory("secret", "alice's locker code is 4711")
    alice.create_profile("bob")
    bob = make_fake_agent(tmp_path, "bob")
    async with connected(bob) as client:
        found = await call(client, "search_memory", query="locker code secret", k=10)
        assert "4711" not in json.dumps(found)
        for tool in ("forget_memory", "memory_history"):
            assert "no memory 1 in profile 'bob'" in await refused(client, tool, id=1)
        listed = await call(client, "list_memories")
        assert listed["memories"] == []
    assert [m.value_text for m in alice.list_memories()] == ["alice's locker code is 4711"]


async def test_inspector_shows_the_mcp_client_as_reader(tmp_path: Path) -> None:
    agent = make_fake_agent(tmp_path)
    agent.add_memory("sister", "my sister lives in Lyon")  # memory 1, by hand
    async with connected(agent, "Zed Editor") as client:
        await call(client, "search_memory", query="where does my sister live")
        await call(client, "add_memory", key="sister", value="my sister lives in Paris")
    app = MemchatApp(agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        text = detail_text(await open_inspector(pilot))
    read = next(line for line in text.splitlines() if line.startswith("turn 1 "))
    pattern = r"turn 1 +[█·]{10} 1\.000  rank 1  score -?[\d.]+  by mcp: Zed Editor"
    assert re.fullmatch(pattern, read)
    assert re.search(r"update .*Lyon -> .*Paris \(turn 2, mcp: Zed Editor\)", text)


async def test_tool_turns_survive_export_and_import(tmp_path: Path) -> None:
    agent = make_fake_agent(tmp_path / "a")
    async with connected(agent, "Cursor") as client:
        await call(client, "add_memory", key="editor", value="Cursor")
        await call(client, "search_memory", query="which editor")
    exported = tmp_path / "export.jsonl"
    agent.export(exported)
    other = make_fake_agent(tmp_path / "b")
    counts = other.import_file(exported)
    assert counts["turns"] == 2
    restored = [c for c in other.conversations() if c.session.label == "mcp: Cursor"]
    assert len(restored) == 1 and restored[0].turns == 2


def test_serve_mcp_command_serves_the_chosen_profile(run: Any) -> None:
    """With its input closed at once, the server starts on the profile and ends cleanly."""
    assert run("profiles", "create", "bob")[0] == 0
    code, out, err = run("serve", "mcp", "--profile", "bob", "--read-only")
    assert code == 0, err
    assert "MCP server for profile 'bob' (read-only) on stdio" in err
    assert out == ""  # stdout is the protocol's: nothing else may go there


async def test_conversations_list_names_the_server(agent: Agent, run: Any) -> None:
    async with connected(agent, "Cursor") as client:  # the command line's database
        await call(client, "add_memory", key="editor", value="Cursor")
    code, out, _ = run("conversations", "list")
    assert code == 0
    assert re.search(r"^\s+1  mcp\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+1\s+0  mcp: Cursor$", out, re.M)


async def test_remember_in_review_mode_proposes(tmp_path: Path) -> None:
    agent = make_fake_agent(tmp_path, review=True)
    async with connected(agent) as client:
        said = await call(client, "remember", text="I am vegetarian.")
    assert said["proposed"] == [
        {"id": 1, "kind": "preference", "key": "diet", "value": "vegetarian"}
    ]
    assert [w["kind"] for w in said["written"]] == ["turn"]  # the statement waits for the user
    assert [p.value_text for p in agent.proposals()] == ["vegetarian"]
