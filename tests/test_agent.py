"""The agent with fake models: the turn loop, writes, updates, history, profiles, transfer."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch
from sqlalchemy import select

from agent.core import Agent
from agent.errors import NotFoundError, ReplyFailedError, UsageError
from storage.models import Memory, MemoryEvent, Turn, TurnRead
from tests.conftest import make_fake_agent
from tests.fakes import said

pytestmark = pytest.mark.usefixtures("each_engine")


def kinds(agent: Agent) -> dict[str, str]:
    return {m.key_text: m.value_text for m in agent.list_memories() if m.kind != "turn"}


def test_turn_writes_turn_preferences_and_reads(agent: Agent) -> None:
    first = agent.ask("My name is Sam and I am vegetarian.")
    assert first.reply == "Sure, here is a fine answer."
    assert [(w.kind, w.action) for w in first.written] == [
        ("turn", "add"),
        ("preference", "add"),
        ("preference", "add"),
    ]
    assert kinds(agent) == {"name": "Sam", "diet": "vegetarian"}
    second = agent.ask("What should I cook for dinner tonight?")
    assert {i.kind for i in second.read} >= {"preference", "turn"}
    assert sum(i.weight for i in second.read) <= 1.0 + 1e-6
    assert set(second.timings_ms) == {"encode", "read", "generate", "write", "total"}
    with agent.sessions() as s:
        turns = s.scalars(select(Turn).order_by(Turn.id)).all()
        assert [t.role for t in turns] == ["user", "assistant", "user", "assistant"]
        reads = s.scalars(select(TurnRead).where(TurnRead.turn_id == turns[2].id)).all()
        assert {r.memory_id for r in reads} == {i.id for i in second.read}
    # the generator saw the preferences in its system prompt
    system = agent.models.generator.prompts[-1][0]["content"]
    assert "- diet: vegetarian" in system and "- name: Sam" in system


def test_a_turn_encodes_its_message_and_statements_in_one_model_call(
    agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoder = agent.store.encoder
    calls: list[list[str]] = []
    real_encode = encoder.encode

    def counting_encode(texts: list[str]) -> torch.Tensor:
        calls.append(list(texts))
        return real_encode(texts)

    monkeypatch.setattr(encoder, "encode", counting_encode)
    agent.ask("My name is Sam and I am vegetarian.")
    assert len(calls) == 1 and len(calls[0]) == 5  # message (= turn memory), 2 addresses, 2 values
    with agent.sessions() as s:
        diet = s.scalars(select(Memory).where(Memory.key_text == "diet")).one()
    value = torch.frombuffer(bytearray(diet.value_emb), dtype=torch.float32)
    assert torch.allclose(value, real_encode(["vegetarian"])[0])


def test_turn_memories_are_linked_in_write_order(agent: Agent) -> None:
    agent.ask("first message")
    agent.ask("second message")
    turns = [m for m in agent.list_memories("turn")]
    assert turns[0].next_id == turns[1].id and turns[1].prev_id == turns[0].id
    assert turns[1].source_turn_id is not None


def test_new_value_updates_the_slot_and_logs_the_old(agent: Agent) -> None:
    agent.ask("I am vegetarian.")
    result = agent.ask("Actually I eat fish now, I'm pescatarian.")
    update = [w for w in result.written if w.kind == "preference"]
    assert [(w.key, w.value, w.action) for w in update] == [("diet", "pescatarian", "update")]
    events = agent.history(update[0].id)
    assert [(e.action, e.old_value, e.new_value) for e in events] == [
        ("add", None, "vegetarian"),
        ("update", "vegetarian", "pescatarian"),
    ]
    assert len([m for m in agent.list_memories("preference") if m.key_text == "diet"]) == 1


def test_user_turn_is_committed_before_generation(agent: Agent) -> None:
    class Boom(Exception):
        pass

    def explode(*_args: object, **_kw: object):
        raise Boom
        yield  # pragma: no cover

    agent.models.generator.stream = explode
    with pytest.raises(ReplyFailedError, match="your message is saved") as failed:
        agent.ask("I love hiking")
    assert isinstance(failed.value.__cause__, Boom)
    with agent.sessions() as s:
        assert [t.text for t in s.scalars(select(Turn))] == ["I love hiking"]
    assert kinds(agent) == {"likes": "hiking"}


def test_stop_keeps_what_was_said(agent: Agent) -> None:
    stop = threading.Event()
    pieces: list[str] = []

    def on_token(piece: str) -> None:
        pieces.append(piece)
        if len(pieces) == 2:
            stop.set()

    result = agent.ask("tell me a story", on_token=on_token, stop=stop)
    assert result.stopped and result.reply == "Sure, here"
    with agent.sessions() as s:
        reply = s.get(Turn, result.reply_turn_id)
        assert (reply.text, reply.status) == ("Sure, here", "stopped")


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("\x00\x01\x1b[31m", "empty"),
        ("x" * 300_000, "limit"),
        ("bad \udcff byte", "UTF-8"),
    ],
)
def test_bad_messages_write_nothing(agent: Agent, message: str, error: str) -> None:
    with pytest.raises(UsageError, match=error):
        agent.ask(message)
    with agent.sessions() as s:
        assert s.scalars(select(Turn)).all() == []


def test_control_characters_are_removed_markup_kept(agent: Agent) -> None:
    agent.ask("hello\x07 \x1b[1m[bold]world[/bold]\x1b[0m\r\nbye")
    with agent.sessions() as s:
        assert s.scalars(select(Turn.text)).first() == "hello [bold]world[/bold]\nbye"


def test_search_add_pin_forget(agent: Agent) -> None:
    movies = {
        "godfather": "crime film starring Marlon Brando",
        "star wars": "science fiction film starring Harrison Ford",
        "titanic": "romance film starring Leonardo DiCaprio",
    }
    ids = {k: agent.add_memory(k, v).id for k, v in movies.items()}
    again = agent.add_memory("Star  Wars", "space opera")  # same key, other spelling: update
    assert (again.id, again.action) == (ids["star wars"], "update")
    result = agent.search("star wars", k=3)
    assert result.results[0].id == ids["star wars"]
    assert result.results[0].weight > 0.9
    assert len(result.hops) == 1
    assert agent.set_pinned(ids["titanic"], True).pinned
    agent.forget(ids["godfather"])
    assert ids["godfather"] not in {m.id for m in agent.list_memories()}
    assert [e.action for e in agent.history(ids["godfather"])] == ["add", "forget"]
    assert ids["godfather"] not in {i.id for i in agent.search("godfather crime").results}
    with pytest.raises(NotFoundError):
        agent.forget(ids["godfather"])
    with pytest.raises(NotFoundError):
        agent.show(424242)


def test_profiles_are_isolated(tmp_path: Path) -> None:
    alice = make_fake_agent(tmp_path, "alice")
    bob = make_fake_agent(tmp_path, "bob")
    alice.ask("My name is Alice and I love jazz")
    bob.ask("My name is Bob and I love hiking")
    assert {i.value for i in alice.search("name", k=10).results}.isdisjoint({"Bob"})
    alice.reset_profile("alice")
    assert alice.list_memories() == []
    assert kinds(bob) == {"name": "Bob", "likes": "hiking"}
    with pytest.raises(NotFoundError):
        make_fake_agent(tmp_path, "carol").list_memories()
    bob.delete_profile("alice")
    assert [p.profile.name for p in bob.profiles()] == ["bob"]


def _snapshot(agent: Agent) -> list[tuple]:
    with agent.sessions() as s:
        return [
            [
                (
                    m.id,
                    m.kind,
                    m.slot,
                    m.key_text,
                    m.value_text,
                    m.key_emb,
                    m.value_emb,
                    m.usage,
                    m.pinned,
                    m.created_at,
                    m.updated_at,
                    m.source_turn_id,
                    m.prev_id,
                    m.next_id,
                )
                for m in s.scalars(select(Memory).order_by(Memory.id))
            ],
            [(t.id, t.role, t.text, t.status, t.created_at) for t in s.scalars(select(Turn))],
            [
                (e.memory_id, e.action, e.old_value, e.new_value, e.turn_id, e.created_at)
                for e in s.scalars(select(MemoryEvent).order_by(MemoryEvent.id))
            ],
            [(r.turn_id, r.memory_id, r.weight) for r in s.scalars(select(TurnRead))],
        ]


def test_export_import_round_trip_is_exact(tmp_path: Path) -> None:
    source = make_fake_agent(tmp_path / "a")
    source.ask("My name is Sam and I am vegetarian.")
    source.ask("Actually I eat fish now, I'm pescatarian.")
    forgotten = source.add_memory("old", "gone")
    source.forget(forgotten.id)
    source.set_pinned(source.list_memories("preference")[0].id, True)
    path = tmp_path / "export.jsonl"
    source.export(path)
    assert path.stat().st_mode & 0o777 == 0o600
    target = make_fake_agent(tmp_path / "b")
    target.import_file(path)
    assert _snapshot(target) == _snapshot(source)
    # the imported memories are readable at once
    assert target.search("diet pescatarian").results[0].value == "pescatarian"


def test_import_refuses_a_non_empty_profile_and_bad_files(tmp_path: Path) -> None:
    agent = make_fake_agent(tmp_path)
    agent.ask("I love tea")
    path = tmp_path / "x.jsonl"
    agent.export(path)
    from storage.db import StorageError

    with pytest.raises(StorageError, match="not empty"):
        agent.import_file(path)
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(path.read_bytes() + b'{"type": "memories", "id": 1\n')
    other = make_fake_agent(tmp_path / "other")
    with pytest.raises(StorageError, match=r"bad.jsonl:\d+: not valid JSON"):
        other.import_file(bad)
    assert other.list_memories() == []  # nothing half-written
    bad.write_bytes(b'{"type": "memchat-export", "version": 1}\n\xff\xfe\n')
    with pytest.raises(StorageError, match="not valid UTF-8"):
        other.import_file(bad)
    bad.write_text("hello\n")
    with pytest.raises(StorageError, match="not valid JSON"):
        other.import_file(bad)


def test_missing_generator_writes_nothing(tmp_path: Path) -> None:
    from agent.core import Models
    from agent.errors import ModelMissingError

    def missing():
        raise ModelMissingError("generator model is not installed: pip install ...")

    agent = make_fake_agent(tmp_path)
    agent.models = Models(agent.models._load_encoder, missing)
    with pytest.raises(ModelMissingError):
        agent.ask("I love hiking")
    assert agent.list_memories() == []


def test_a_reader_sees_writes_of_another_process(tmp_path: Path) -> None:
    """Two agents on one database (as the chat and the CLI are): caches never go stale."""
    chat, cli = make_fake_agent(tmp_path), make_fake_agent(tmp_path)
    first = cli.add_memory("tea", "green tea with jasmine")
    assert chat.search("green tea").results[0].id == first.id  # chat's cache now loaded
    cli.forget(first.id)
    second = cli.add_memory("coffee", "black coffee")
    cli.add_memory("coffee", "flat white")  # an edit in place
    found = chat.search("coffee").results
    assert [(i.id, i.value) for i in found] == [(second.id, "flat white")]


def test_edit_and_undo(agent: Agent) -> None:
    agent.ask("I am vegetarian.")
    update = agent.ask("Actually I eat fish now, I'm pescatarian.").written
    diet = next(w for w in update if w.key == "diet")
    assert "restored" in agent.undo(diet)
    assert kinds(agent)["diet"] == "vegetarian"
    added = agent.ask("I love hiking").written
    likes = next(w for w in added if w.key == "likes")
    assert "forgot" in agent.undo(likes)
    assert "likes" not in kinds(agent)
    edited = agent.edit_memory(diet.id, "diet", "vegan")
    assert edited.action == "update" and kinds(agent)["diet"] == "vegan"
    detail = agent.show(diet.id)
    assert detail.source_turn is not None and detail.source_turn.role == "user"
    assert [e.action for e in detail.history] == ["add", "update", "update", "update"]
    assert agent.search("diet vegan").results[0].id == diet.id  # the cache took the edit


def test_switching_to_an_unknown_profile_changes_nothing(agent: Agent) -> None:
    agent.create_profile("bob")
    agent.switch_profile("bob")
    with pytest.raises(NotFoundError):
        agent.switch_profile("nobody")
    assert agent.profile_name == "bob"


def test_hybrid_read_uses_names_and_links(agent: Agent) -> None:
    """BM25 finds a rare name the encoder blurs; the read stays a softmax over all memories."""
    for text in ["I went to the market", "Zanzibar was lovely this spring", "I like rain"]:
        agent.ask(text)
    result = agent.search("Tell me about Zanzibar", k=10)
    assert said(result.results[0].value) == "Zanzibar was lovely this spring"
    assert sum(i.weight for i in result.results) == pytest.approx(1.0, abs=1e-5)


def test_turns_written_in_one_unit_are_linked_in_the_read_cache(agent: Agent) -> None:
    """Several turn memories in one transaction (an evaluation's session, an imported
    conversation): each links to the next in the database and in the read cache, which the
    commit updates in place (a stale or unloaded link there once failed after the commit)."""
    from agent.memory.write import write_turn

    profile_id = agent.profile_id(create=True)
    agent.store.cache(profile_id)  # loaded: the commit updates it in place
    texts = ["first turn about tea", "second turn about coffee", "third turn about milk"]
    vectors = agent.store.encoder.encode(texts)
    with agent.store.unit(profile_id) as unit:
        ids = [write_turn(unit, t, v, None).id for t, v in zip(texts, vectors, strict=True)]
    with agent.sessions() as s:
        rows = {m.id: m for m in s.scalars(select(Memory))}
    assert [rows[i].next_id for i in ids] == [ids[1], ids[2], None]
    assert [rows[i].prev_id for i in ids] == [None, ids[0], ids[1]]
    text = agent.store._texts[profile_id]
    assert [int(text.next[i]) for i in ids] == [ids[1], ids[2], -1]
    assert agent.search("coffee").results[0].id == ids[1]
