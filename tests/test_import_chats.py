"""Importing past conversations (agent/history/importer.py) with fake models, on both engines:
provenance and dates, repeat imports, newer exports, what a statement may overwrite, review
mode, dry runs, damage, --since, and forgetting an imported conversation."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from agent.core import Agent
from agent.errors import MemchatError
from agent.history.conversation import Conversation, Damaged, Message
from agent.history.formats import Export
from agent.history.importer import ImportOptions, import_export
from storage.models import ChatSession, MemoryEvent, Turn
from tests.conftest import make_fake_agent

pytestmark = pytest.mark.usefixtures("each_engine")

FILE = "/exports/conversations.json"


def at(day: int, minute: int = 0) -> datetime:
    return datetime(2024, 3, day, 10, minute)


def lyon(*extra: Message) -> Conversation:
    """A conversation of 5 March 2024: the user lives in Lyon and likes jazz."""
    return Conversation(
        "conv-lyon",
        "Moving to Lyon",
        at(5),
        [
            Message("m1", "user", "I live in Lyon and I like jazz.", at(5, 0)),
            Message("m2", "assistant", "I live in Paris myself. Lyon has jazz clubs.", at(5, 1)),
            *extra,
        ],
    )


def run(agent: Agent, *items: Conversation | Damaged, **options: object) -> dict:
    export = Export("chatgpt", list(items))
    return import_export(agent, export, ImportOptions(FILE, **options)).as_json()  # type: ignore[arg-type]


def stated(agent: Agent) -> dict[str, str]:
    return {m.key_text: m.value_text for m in agent.list_memories() if m.kind != "turn"}


def test_import_keeps_dates_sources_and_states_only_the_users_facts(agent: Agent) -> None:
    done = run(agent, lyon())
    assert (done["conversations"], done["turns"], done["skipped"]) == (1, 2, 0)
    assert done["memories"] == 4  # two turn memories, and where the user lives and what they like
    assert stated(agent) == {"lives in": "Lyon", "likes": "jazz"}  # never the assistant's Paris
    with agent.sessions() as s:
        session = s.scalars(select(ChatSession)).one()
        assert (session.source, session.source_id, session.source_file) == (
            "chatgpt",
            "conv-lyon",
            FILE,
        )
        assert (session.title, session.started_at) == ("Moving to Lyon", at(5))
        turns = s.scalars(select(Turn).order_by(Turn.id)).all()
        assert [(t.role, t.source_id, t.created_at) for t in turns] == [
            ("user", "m1", at(5, 0)),
            ("assistant", "m2", at(5, 1)),
        ]
    memories = agent.list_memories()
    assert all(m.created_at in (at(5, 0), at(5, 1)) for m in memories)
    turn_keys = [m.key_text for m in memories if m.kind == "turn"]
    assert turn_keys[0] == "5 March 2024 User: I live in Lyon and I like jazz."
    assert turn_keys[1].startswith("5 March 2024 Assistant: ")
    first, second = (m for m in memories if m.kind == "turn")
    assert (first.next_id, second.prev_id) == (second.id, first.id)  # linked in order


def test_the_same_export_again_adds_nothing_and_a_newer_one_only_what_is_new(agent: Agent) -> None:
    run(agent, lyon())
    again = run(agent, lyon())
    assert (again["conversations"], again["turns"], again["memories"]) == (0, 0, 0)
    assert again["skipped_because"]["already imported"] == 1
    newer = run(agent, lyon(Message("m3", "user", "My sister is called Alice.", at(5, 2))))
    assert (newer["conversations"], newer["grown"], newer["turns"]) == (1, 1, 1)
    with agent.sessions() as s:
        assert len(s.scalars(select(ChatSession)).all()) == 1
        assert [t.source_id for t in s.scalars(select(Turn).order_by(Turn.id))] == [
            "m1",
            "m2",
            "m3",
        ]


def test_an_older_statement_never_overwrites_a_newer_one(agent: Agent) -> None:
    agent.ask("I live in Berlin.")  # said today
    run(agent, lyon())  # said in 2024
    assert stated(agent)["lives in"] == "Berlin"
    assert stated(agent)["likes"] == "jazz"
    future = Conversation(
        "conv-2030", "Later", datetime(2030, 1, 1),
        [Message("x", "user", "I live in Oslo.", datetime(2030, 1, 1))],
    )  # fmt: skip
    run(agent, future)
    assert stated(agent)["lives in"] == "Oslo"


def test_a_later_conversation_updates_an_earlier_one_whatever_the_file_order(
    agent: Agent,
) -> None:
    later = Conversation(
        "conv-b", "Paris", at(20), [Message("p", "user", "I live in Paris now.", at(20))]
    )
    run(agent, later, lyon())  # the file lists the newer first
    assert stated(agent)["lives in"] == "Paris"


def test_review_mode_makes_proposals(tmp_path) -> None:  # type: ignore[no-untyped-def]
    agent = make_fake_agent(tmp_path, review=True)
    done = run(agent, lyon())
    assert (done["memories"], done["proposals"]) == (2, 2)
    assert stated(agent) == {}
    assert {(p.key_text, p.value_text) for p in agent.proposals()} == {
        ("lives in", "Lyon"),
        ("likes", "jazz"),
    }


def test_dry_run_counts_what_a_real_run_adds_and_writes_nothing(agent: Agent) -> None:
    dry = run(agent, lyon(), dry_run=True)
    assert agent.list_memories() == [] and agent.conversations() == []
    real = run(agent, lyon())
    assert {k: dry[k] for k in ("conversations", "turns", "memories", "skipped")} == {
        k: real[k] for k in ("conversations", "turns", "memories", "skipped")
    }
    assert dry["dry_run"] is True


def test_a_damaged_conversation_costs_only_itself_unless_strict(agent: Agent) -> None:
    giant = Conversation("conv-big", "Big", at(6), [Message("g", "user", "x" * 200_001, at(6))])
    broken = Damaged("conv-cycle", "Loop", "node a: a cycle in the parent links")
    with pytest.raises(MemchatError, match="nothing was imported"):
        run(agent, lyon(), giant, broken, strict=True)
    assert agent.conversations() == []
    done = run(agent, lyon(), giant, broken)
    assert (done["conversations"], done["skipped_because"]["damaged"]) == (1, 2)
    reasons = {d["conversation"]: d["reason"] for d in done["damaged"]}
    assert "200,001 characters" in reasons["conv-big"]
    assert "cycle" in reasons["conv-cycle"]


def test_since_leaves_out_older_messages(agent: Agent) -> None:
    old = Conversation("old", "Old", at(1), [Message("o", "user", "I like tea.", at(1))])
    done = run(agent, old, lyon(), since=at(3))
    assert done["skipped_because"]["before --since"] == 1
    assert "likes" in stated(agent) and stated(agent)["likes"] == "jazz"


def test_forgetting_an_imported_conversation_forgets_what_came_from_it(agent: Agent) -> None:
    agent.ask("My name is Sam.")
    run(agent, lyon())
    imported = next(r for r in agent.conversations() if r.session.source)
    assert (imported.turns, imported.memories) == (2, 4)
    done = agent.forget_conversation(imported.session.id)
    assert (done.turns, len(done.memories)) == (2, 4)
    assert stated(agent) == {"name": "Sam"}  # the chat's own memories stay
    with agent.sessions() as s:
        forgets = s.scalars(select(MemoryEvent).where(MemoryEvent.action == "forget")).all()
        assert {e.memory_id for e in forgets} == {w.id for w in done.memories}
        assert s.scalars(select(Turn).where(Turn.session_id == imported.session.id)).all() == []
    again = run(agent, lyon())  # the export imported again does not bring it back
    assert (again["turns"], again["skipped_because"]["forgotten"]) == (0, 1)
    row = next(r for r in agent.conversations() if r.session.source)
    assert row.session.forgotten_at is not None and row.session.title == ""


def test_a_request_to_forget_said_elsewhere_is_neither_remembered_nor_obeyed(
    agent: Agent,
) -> None:
    request = Message("m3", "user", "Forget that I like jazz.", at(5, 2))
    done = run(agent, lyon(request))
    assert done["turns"] == 3
    assert stated(agent)["likes"] == "jazz"
    assert not any("Forget" in m.key_text for m in agent.list_memories())


def test_no_longer_true_statements_retire_what_they_name(agent: Agent) -> None:
    moved = Message("m3", "user", "I don't live in Lyon anymore.", at(5, 3))
    done = run(agent, lyon(moved))
    assert done["forgotten"] == 1
    assert "lives in" not in stated(agent)


def test_markup_and_control_characters(agent: Agent) -> None:
    odd = Conversation(
        "odd\x1b[31m", "[bold]Title[/bold]\x07", at(7),
        [Message("z", "user", "I like [bold]tea[/bold]\x1b[2J\x00 a lot.", at(7))],
    )  # fmt: skip
    run(agent, odd)
    turn = next(m for m in agent.list_memories() if m.kind == "turn")
    assert turn.value_text == "I like [bold]tea[/bold] a lot."
    assert agent.conversations()[0].session.title == "[bold]Title[/bold]"


def test_search_finds_an_imported_fact_and_show_names_its_conversation(agent: Agent) -> None:
    run(agent, lyon())
    found = agent.search("where does the user live, Lyon?")
    top = next(i for i in found.results if i.kind == "fact")
    detail = agent.show(top.id)
    assert detail.conversation is not None and detail.conversation.title == "Moving to Lyon"
    assert detail.source_turn is not None and detail.source_turn.created_at == at(5, 0)


def test_empty_conversations_are_skipped_as_empty(agent: Agent) -> None:
    blank = Conversation("blank", "Nothing", at(8), [Message("b", "user", "  \x07 ", at(8))])
    nothing = Conversation("none", "No messages", at(8), [])
    done = run(agent, blank, nothing, lyon())
    assert (done["conversations"], done["skipped_because"]["empty"]) == (1, 2)
    assert [r.session.source_id for r in agent.conversations()] == ["conv-lyon"]
