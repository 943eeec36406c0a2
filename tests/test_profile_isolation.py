"""Profile isolation, as a property: whatever is done to one profile leaves every row of the
others as it was, and what one profile reads, searches, lists, shows and exports is its own.

A rule-based state machine runs random sequences of what users do (a turn, add, edit, forget,
pin and unpin, search, show, history, review proposals, export, reset, import of an export,
an MCP client's calls, a chat front end's turn through `serve openai` naming a profile)
on three profiles of one database. Each profile has its own agent, as separate processes
would; a fourth agent roams between profiles, so key caches of several profiles live in one
process while others write. After every step the rows of every other profile (profiles,
sessions, turns, memories, events, turn reads, proposals, and the rows a reader caches) are
compared with before, and the acting profile's answers are checked to hold only its rows.
Everything runs on SQLite and on PostgreSQL (each_engine).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from mcp import Client
from mcp.types import Implementation
from sqlalchemy import select

from agent.core import Agent
from agent.errors import NotFoundError, UsageError
from serve.mcp_server import build_server
from serve.openai_app import build_app
from storage import cache_rows, repo
from storage.db import StorageError
from storage.models import ChatSession, Memory, MemoryEvent, Profile, Proposal, Turn, TurnRead
from tests import engines, postgres
from tests.conftest import make_fake_agent

pytestmark = pytest.mark.usefixtures("each_engine")

PROFILES = ("alice", "bob", "carol")
# bob runs at a small capacity: freeing must pick among bob's memories only.
CAPACITY = {"alice": 0, "bob": 5, "carol": 0}
# Messages the extractor turns into preferences and facts; the same slots in every profile.
MESSAGES = (
    "My name is Sam and I am vegetarian.",
    "I like jazz.",
    "My sister is Alice.",
    "Actually I'm vegan now.",
    "I love [bold]tea[/bold].",
    "What should I cook tonight?",
    "Please forget that I like jazz.",
    "I don't like jazz anymore.",
)
KEYS = ("city", "教父", "[b]x[/b]", "City")  # "City" updates "city": the same slot
WORDS = ("jazz", "tea", "city Paris", "sister", "教父", "name")

profiles = st.sampled_from(PROFILES)
picks = st.integers(0, 10**6)  # an index into whatever list the rule picks from


Rows = dict[str, list[Any]]  # table -> its rows (column -> value), by id


def _rows(s: Any, query: Any) -> list[Any]:
    return sorted((dict(row) for row in s.execute(query).mappings()), key=lambda r: r["id"])


def owned(s: Any, profile_id: int) -> Rows:
    """Every row that belongs to the profile, in every table, as plain tuples; and what a
    reader of its memory caches (storage/cache_rows.py)."""
    snapshot = {
        model.__tablename__: _rows(
            s, select(model.__table__).where(model.__table__.c.profile_id == profile_id)
        )
        for model in (ChatSession, Turn, Memory, MemoryEvent, Proposal)
    }
    snapshot["profiles"] = _rows(s, select(Profile.__table__).where(Profile.id == profile_id))
    snapshot["turn_reads"] = _rows(
        s,
        select(TurnRead.__table__)
        .join(Turn, Turn.id == TurnRead.turn_id)
        .where(Turn.profile_id == profile_id),
    )
    snapshot["cache_rows"] = sorted(cache_rows.cache_rows(s, profile_id))  # plain tuples
    return snapshot


class Isolation(RuleBasedStateMachine):
    """Three profiles in one database; see the module docstring."""

    def __init__(self) -> None:
        super().__init__()
        self.home = Path(tempfile.mkdtemp(prefix="memchat-isolation-"))
        self.agents: dict[str, Agent] = {
            name: make_fake_agent(self.home, name, capacity=CAPACITY[name]) for name in PROFILES
        }
        self.reviewers = {name: make_fake_agent(self.home, name, review=True) for name in PROFILES}
        self.roamer = make_fake_agent(self.home, "default")
        for agent in self.agents.values():
            agent.profile_id(create=True)
        with self.agents["alice"].sessions() as s:
            self.ids = {p.name: p.id for p in s.scalars(select(Profile))}
        self.exports = 0

    def teardown(self) -> None:
        for agent in (*self.agents.values(), *self.reviewers.values(), self.roamer):
            agent.sessions.kw["bind"].dispose()
        db = engines.database(self.home)
        if isinstance(db, str):  # each example has its own: gone with it
            postgres.drop(db)
        shutil.rmtree(self.home, ignore_errors=True)

    # ------------------------------------------------------------ helpers

    def actor(self, name: str, roam: bool) -> Agent:
        """The profile's own agent, or the roaming one switched to the profile."""
        if not roam:
            return self.agents[name]
        self.roamer.switch_profile(name)
        return self.roamer

    def snapshot(self, name: str) -> Rows:
        with self.agents[name].sessions() as s:
            return owned(s, self.ids[name])

    def sessions_gone(self, name: str) -> None:
        """The profile's chat sessions were deleted (reset, import): the agents that held
        one start another, as a new process would. An agent still holding the deleted id
        would start a new one itself (test_a_turn_after_a_reset_elsewhere)."""
        for agent in (self.agents[name], self.reviewers[name], self.roamer):
            if agent.profile_name == name:
                agent._session_id = None

    @contextlib.contextmanager
    def only(self, name: str) -> Iterator[None]:
        """The body may change `name`'s rows; every other profile's must stay as they were."""
        before = {other: self.snapshot(other) for other in PROFILES if other != name}
        yield
        for other, rows in before.items():
            assert self.snapshot(other) == rows, f"acting on {name} changed {other}'s rows"

    def memory_ids(self, name: str) -> list[int]:
        return [row["id"] for row in self.snapshot(name)["memories"]]

    def foreign_id(self, name: str, pick: int) -> int | None:
        """A memory id of another profile, if there is one."""
        others = sorted(i for o in PROFILES if o != name for i in self.memory_ids(o))
        return others[pick % len(others)] if others else None

    # ------------------------------------------------------------ rules

    @initialize()
    def start(self) -> None:
        self.agents["alice"].ask("My sister is Alice and I like jazz.")

    @rule(name=profiles, message=st.sampled_from(MESSAGES), roam=st.booleans())
    def ask(self, name: str, message: str, roam: bool) -> None:
        with self.only(name):
            self.actor(name, roam).ask(message)

    @rule(
        name=profiles,
        key=st.sampled_from(KEYS),
        value=st.sampled_from(("Paris", "Lyon", "犯罪片")),
        roam=st.booleans(),
    )
    def add(self, name: str, key: str, value: str, roam: bool) -> None:
        with self.only(name):
            self.actor(name, roam).add_memory(key, value, "fact")

    @rule(name=profiles, pick=picks, value=st.sampled_from(("Rome", "tea")), roam=st.booleans())
    def edit(self, name: str, pick: int, value: str, roam: bool) -> None:
        ids = self.memory_ids(name)
        with self.only(name):
            if ids:
                self.actor(name, roam).edit_memory(ids[pick % len(ids)], "edited", value)

    @rule(name=profiles, pick=picks, derived=st.booleans(), roam=st.booleans())
    def forget(self, name: str, pick: int, derived: bool, roam: bool) -> None:
        ids = self.memory_ids(name)
        with self.only(name):
            if ids:
                self.actor(name, roam).forget(ids[pick % len(ids)], with_derived=derived)

    @rule(name=profiles, roam=st.booleans())
    def forget_newest(self, name: str, roam: bool) -> None:
        """Forget the profile's newest memory (often the newest of all: its id is the one
        the database would hand out next)."""
        ids = self.memory_ids(name)
        with self.only(name):
            if ids:
                self.actor(name, roam).forget(max(ids))

    @rule(name=profiles, pick=picks, pinned=st.booleans(), roam=st.booleans())
    def pin(self, name: str, pick: int, pinned: bool, roam: bool) -> None:
        ids = self.memory_ids(name)
        with self.only(name):
            if ids:
                self.actor(name, roam).set_pinned(ids[pick % len(ids)], pinned)

    @rule(name=profiles, pick=picks, roam=st.booleans())
    def reach_into_another_profile(self, name: str, pick: int, roam: bool) -> None:
        """Another profile's memory id, used from this one: not found, and nothing changes."""
        memory_id = self.foreign_id(name, pick)
        if memory_id is None:
            return
        agent = self.actor(name, roam)
        with self.only("nobody"):  # no profile may change
            for action in (
                agent.show,
                agent.history,
                agent.forget,
                lambda i: agent.set_pinned(i, True),
                lambda i: agent.edit_memory(i, "k", "v"),
            ):
                with pytest.raises(NotFoundError):
                    action(memory_id)

    @rule(name=profiles, query=st.sampled_from(WORDS), hops=st.integers(1, 2), roam=st.booleans())
    def search(self, name: str, query: str, hops: int, roam: bool) -> None:
        with self.only(name):
            result = self.actor(name, roam).search(query, 8, hops)
        rows = {r["id"]: (r["key_text"], r["value_text"]) for r in self.snapshot(name)["memories"]}
        for hop in result.hops:
            assert {item.id for item in hop} <= set(rows)
        assert all(rows[item.id] == (item.key, item.value) for item in result.results)
        assert sum(item.weight for item in result.results) <= 1.0 + 1e-5

    @rule(name=profiles, query=st.sampled_from(WORDS), key=st.sampled_from(KEYS), pick=picks)
    def mcp_client(self, name: str, query: str, key: str, pick: int) -> None:
        """An MCP client of the profile's server: searches, remembers and adds within it; any
        other profile's memory id is not found."""
        foreign = self.foreign_id(name, pick)
        rows = {r["id"]: (r["key_text"], r["value_text"]) for r in self.snapshot(name)["memories"]}
        with self.only(name):
            found, refusals = asyncio.run(mcp_session(self.agents[name], query, key, foreign))
        assert all(rows[r["id"]] == (r["key"], r["value"]) for r in found["results"])
        assert all(f"no memory {foreign} in profile {name!r}" in text for text in refusals)

    @rule(name=profiles, message=st.sampled_from(MESSAGES), by=st.sampled_from(("user", "header")))
    def chat_front_end(self, name: str, message: str, by: str) -> None:
        """A turn through `serve openai` (serving alice) for the profile the request names:
        only that profile changes, and what it read is its own."""
        rows = {r["id"] for r in self.snapshot(name)["memories"]}  # what the turn can read
        with self.only(name):
            reply = asyncio.run(api_turn(self.agents["alice"], name, message, by))
        assert {r["id"] for r in reply["memchat"]["read"]} <= rows

    @rule(name=profiles, roam=st.booleans())
    def read_everything(self, name: str, roam: bool) -> None:
        """list, show and history of every memory: the profile's own rows only."""
        agent = self.actor(name, roam)
        mine = self.snapshot(name)
        memory_ids, turn_ids, event_ids = (
            {row["id"] for row in mine[table]} for table in ("memories", "turns", "memory_events")
        )
        with self.only("nobody"):
            listed = agent.list_memories()
            assert {m.id for m in listed} == memory_ids
            for memory_id in memory_ids:
                detail = agent.show(memory_id)
                assert {e.id for e in detail.history} <= event_ids
                assert {r.turn_id for r in detail.reads} <= turn_ids
                assert detail.source_turn is None or detail.source_turn.id in turn_ids
                linked = [detail.previous, detail.next, *detail.siblings]
                assert {m.id for m in linked if m is not None} <= memory_ids
                assert {e.id for e in agent.history(memory_id)} <= event_ids
            assert {p.id for p in agent.proposals(None)} == {r["id"] for r in mine["proposals"]}

    @rule(name=profiles)
    def propose(self, name: str) -> None:
        with self.only(name):
            self.reviewers[name].ask("I'm vegetarian and I like jazz.")

    @rule(name=profiles, pick=picks, accept=st.booleans())
    def decide(self, name: str, pick: int, accept: bool) -> None:
        """Accept or reject one of the profile's pending proposals; another profile's
        proposal id is not found from here."""
        agent = self.reviewers[name]
        pending = [p.id for p in agent.proposals()]
        with self.only(name):
            if pending:
                chosen = pending[pick % len(pending)]
                if accept:
                    agent.accept_proposal(chosen)
                else:
                    agent.reject_proposal(chosen)
        foreign = [
            p.id for other in PROFILES if other != name for p in self.reviewers[other].proposals()
        ]
        if foreign:
            with self.only("nobody"), pytest.raises(NotFoundError):
                agent.reject_proposal(foreign[pick % len(foreign)])

    @rule(name=profiles, roam=st.booleans())
    def export(self, name: str, roam: bool) -> None:
        """The export holds the profile's rows and nothing else."""
        path = self.home / f"export-{self.exports}.jsonl"
        self.exports += 1
        with self.only(name):
            counts = self.actor(name, roam).export(path)
        mine = self.snapshot(name)
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()][1:-1]
        turn_ids = {row["id"] for row in mine["turns"]}
        for row in rows:
            if row["type"] == "profiles":
                assert row["id"] == self.ids[name]
            elif row["type"] == "turn_reads":
                assert row["turn_id"] in turn_ids
            else:
                assert row["profile_id"] == self.ids[name]
        for table, n in counts.items():
            assert n == len(mine[table]), table

    @rule(name=profiles, roam=st.booleans())
    def reset(self, name: str, roam: bool) -> None:
        with self.only(name):
            self.actor(name, roam).reset_profile(name)
        self.sessions_gone(name)
        assert all(rows == [] for table, rows in self.snapshot(name).items() if table != "profiles")

    @rule(name=profiles, roam=st.booleans())
    def export_reset_import(self, name: str, roam: bool) -> None:
        """An export imports only into an empty profile, and then brings back what it held."""
        agent = self.actor(name, roam)
        path = self.home / f"export-{self.exports}.jsonl"
        self.exports += 1
        agent.export(path)
        before = self.snapshot(name)
        if before["memories"] or before["turns"]:
            with self.only("nobody"), pytest.raises(StorageError, match="not empty"):
                agent.import_file(path)
        with self.only(name):
            agent.reset_profile(name)
            agent.import_file(path)
        self.sessions_gone(name)
        after = self.snapshot(name)
        for table in ("memories", "turns", "memory_events", "proposals", "sessions"):
            assert len(after[table]) == len(before[table]), table

        def texts(rows: Rows) -> list[tuple[Any, ...]]:
            return sorted(
                (r["slot"] or "", r["key_text"], r["value_text"]) for r in rows["memories"]
            )

        assert texts(after) == texts(before)

    # ------------------------------------------------------------ invariants

    @invariant()
    def references_stay_inside_each_profile(self) -> None:
        """Events, turn reads and proposals name memories and turns of their own profile
        (a memory id reused by another profile would make them name that profile's)."""
        snapshots = {name: self.snapshot(name) for name in PROFILES}
        for name, mine in snapshots.items():
            others = {r["id"] for o in PROFILES if o != name for r in snapshots[o]["memories"]}
            for table in ("memory_events", "turn_reads", "proposals"):
                assert not {r["memory_id"] for r in mine[table]} & others, table
            memories = {r["id"] for r in mine["memories"]}
            turns = {r["id"] for r in mine["turns"]}
            links = {r[c] for r in mine["memories"] for c in ("prev_id", "next_id")} - {None}
            assert links <= memories
            sources = {r["source_turn_id"] for r in mine["memories"]} - {None}
            assert sources <= turns
            sessions = {r["id"] for r in mine["sessions"]}
            assert {r["session_id"] for r in mine["turns"]} <= sessions
            assert {row[0] for row in mine["cache_rows"]} == memories

    @invariant()
    def database_is_sound(self) -> None:
        """Every foreign key holds: SQLite's check (PostgreSQL checks each at every
        statement)."""
        db = engines.database(self.home)
        if isinstance(db, Path):
            with contextlib.closing(sqlite3.connect(db)) as c:
                assert c.execute("PRAGMA foreign_key_check").fetchall() == []


ISOLATION = settings(
    max_examples=10,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    # No shrinking: a step takes milliseconds, and shrinking a 30-step failure took minutes.
    # The failing steps are printed all the same; add Phase.shrink here to shrink locally.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)


async def mcp_session(
    agent: Agent, query: str, key: str, foreign: int | None
) -> tuple[dict[str, Any], list[str]]:
    """search_memory, remember, add_memory, then forget_memory and memory_history of another
    profile's memory id: (the search's result, the refusals' texts)."""
    info = Implementation(name="isolation", version="1")
    async with Client(build_server(agent), client_info=info) as client:
        found = await client.call_tool("search_memory", {"query": query, "k": 8})
        await client.call_tool("remember", {"text": f"I like {query}."})
        await client.call_tool("add_memory", {"key": key, "value": query})
        refusals = []
        for tool in ("forget_memory", "memory_history") if foreign is not None else ():
            refused = await client.call_tool(tool, {"id": foreign})
            assert refused.is_error
            refusals.append(" ".join(getattr(part, "text", "") for part in refused.content))
    assert not found.is_error and found.structured_content is not None
    return found.structured_content, refusals


async def api_turn(served: Agent, profile: str, message: str, by: str) -> dict[str, Any]:
    """One POST /v1/chat/completions naming `profile` by the `user` field or the header."""
    body: dict[str, Any] = {"model": "memchat", "messages": [{"role": "user", "content": message}]}
    headers = {"X-Memchat-Profile": profile} if by == "header" else {}
    body.update({"user": profile} if by == "user" else {})
    transport = httpx.ASGITransport(app=build_app(served))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        response = await client.post("/v1/chat/completions", json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["memchat"]["profile"] == profile
    return response.json()


def test_random_steps_keep_profiles_isolated() -> None:
    """The state machine above, on the engine of this run (a unittest TestCase, as
    `Isolation.TestCase`, would take no parametrised fixture)."""
    run_state_machine_as_test(Isolation, settings=ISOLATION)


def test_a_deleted_profiles_cache_does_not_pass_for_a_new_one(tmp_path: Path) -> None:
    """Profile ids are reused after a delete. Another process that cached the deleted
    profile's keys must not read them as those of the new profile with the same id (every
    profile started at memory version 0, so the new one soon had the cached version)."""
    viewer = make_fake_agent(tmp_path)
    viewer.create_profile("alice")
    viewer.switch_profile("alice")
    viewer.ask("My sister is Alice and I like jazz.")
    assert viewer.search("jazz").results  # alice's keys are cached in the viewer
    other = make_fake_agent(tmp_path)
    other.delete_profile("alice")
    other.create_profile("carol")
    other.switch_profile("carol")
    carol = other.add_memory("hobby", "chess")
    viewer.switch_profile("carol")  # carol has alice's old id
    result = viewer.search("jazz")
    assert [(r.id, r.key, r.value) for r in result.results] == [(carol.id, "hobby", "chess")]
    assert result.results[0].weight == pytest.approx(1.0)  # no weight left on alice's keys


def test_a_forgotten_memorys_id_is_not_given_to_another(tmp_path: Path) -> None:
    """A forgotten memory's history and reads stay under its id; a new memory (of this or
    another profile) never gets that id, or its history and reads would show the old one's."""
    alice = make_fake_agent(tmp_path, "alice")
    alice.add_memory("jazz", "music")
    asked = alice.ask("Do I like jazz?")  # reads the jazz memory; writes a turn memory
    newest = max(w.id for w in asked.written)
    alice.forget(newest)
    alice.forget(next(m.id for m in alice.list_memories() if m.key_text == "jazz"))
    bob = make_fake_agent(tmp_path, "bob")
    fresh = bob.add_memory("city", "Paris")
    assert fresh.id > newest
    detail = bob.show(fresh.id)
    assert [e.action for e in detail.history] == ["add"] and detail.reads == []
    again = alice.add_memory("x", "y")
    assert [e.action for e in alice.history(again.id)] == ["add"]


def test_unknown_profile_names_write_nothing(tmp_path: Path) -> None:
    agent = make_fake_agent(tmp_path, "alice")
    agent.add_memory("k", "v")
    with pytest.raises(NotFoundError):
        agent.switch_profile("nobody")
    with pytest.raises(NotFoundError):
        agent.reset_profile("nobody")
    with pytest.raises(UsageError):
        agent.create_profile("alice")
    assert [m.key_text for m in agent.list_memories()] == ["k"]


def test_a_turn_after_a_reset_elsewhere(tmp_path: Path) -> None:
    """The chat is open on alice; `memchat profiles reset alice --yes` runs in another
    terminal; the next message starts a new session of alice's instead of failing on the
    deleted one (or landing in another profile's session that took its id)."""
    chat = make_fake_agent(tmp_path, "alice")
    chat.ask("I like jazz.")
    make_fake_agent(tmp_path, "alice").reset_profile("alice")
    make_fake_agent(tmp_path, "bob").ask("Hello from bob.")  # may take the deleted ids
    result = chat.ask("I like tea.")
    with chat.sessions() as s:
        turn = s.get(Turn, result.user_turn_id)
        assert turn is not None
        assert repo.has_session(s, chat.profile_id(), turn.session_id)
