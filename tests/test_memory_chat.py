"""Memory behaviour driven by chat: forget requests, retractions, review mode, provenance,
multi-hop reads (fake models; the real-model version of the two-hop read is an integration
test)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from sqlalchemy import select

from agent.core import Agent
from agent.errors import NotFoundError, UsageError
from agent.memory.cache import blob_to_vector
from storage.models import MemoryEvent
from tests.conftest import make_fake_agent
from tests.fakes import said

pytestmark = pytest.mark.usefixtures("each_engine")


def kinds_and_values(agent: Agent) -> set[tuple[str, str]]:
    return {(m.kind, m.value_text) for m in agent.list_memories()}


def events(agent: Agent, action: str) -> list[MemoryEvent]:
    with agent.sessions() as s:
        return list(s.scalars(select(MemoryEvent).where(MemoryEvent.action == action)))


def test_forget_that_removes_the_preference_and_its_turn(agent: Agent) -> None:
    agent.ask("I like jazz.")
    agent.ask("My sister is Alice.")
    prompts_before = len(agent.models.generator.prompts)
    result = agent.ask("Please forget that I like jazz.")
    gone = {(w.kind, said(w.value)) for w in result.forgotten}
    assert gone == {("preference", "jazz"), ("turn", "I like jazz.")}
    assert "Forgotten (2 memories)" in result.reply and "likes = jazz" in result.reply
    assert len(agent.models.generator.prompts) == prompts_before  # answered without the model
    left = kinds_and_values(agent)
    assert ("fact", "Alice") in left and not any("jazz" in v for _, v in left)
    # the request itself is not stored as a memory, and each forgetting names its turn
    assert not any("forget" in v.lower() for _, v in left)
    assert {e.turn_id for e in events(agent, "forget")} == {result.user_turn_id}


def test_forget_everything_about_a_name(agent: Agent) -> None:
    agent.ask("My sister is Alice.")
    agent.ask("Alice moved to Lyon last year.")
    agent.ask("I like jazz.")
    result = agent.ask("forget everything about Alice")
    assert result.forgotten and all("alice" in (w.key + w.value).lower() for w in result.forgotten)
    assert not any("Alice" in v for _, v in kinds_and_values(agent))
    assert ("preference", "jazz") in kinds_and_values(agent)


def test_forget_request_that_matches_nothing_says_so(agent: Agent) -> None:
    agent.ask("I like jazz.")
    result = agent.ask("forget that I own a boat")
    assert result.forgotten == [] and "nothing" in result.reply
    assert ("preference", "jazz") in kinds_and_values(agent)


def test_retraction_forgets_the_slot_only_when_the_value_matches(agent: Agent) -> None:
    agent.ask("I live in Lyon.")
    result = agent.ask("I don't live in Paris anymore.")
    assert result.forgotten == [] and ("fact", "Lyon") in kinds_and_values(agent)
    result = agent.ask("I don't live in Lyon anymore.")
    assert [(w.kind, w.value, w.action) for w in result.forgotten] == [("fact", "Lyon", "forget")]
    assert ("fact", "Lyon") not in kinds_and_values(agent)


def test_review_mode_proposes_and_waits(tmp_path: Path) -> None:
    agent = make_fake_agent(tmp_path, review=True)
    result = agent.ask("I'm vegetarian and I like jazz.")
    assert {(p.key_text, p.value_text) for p in result.proposed} == {
        ("diet", "vegetarian"),
        ("likes", "jazz"),
    }
    assert {m.kind for m in agent.list_memories()} == {"turn"}  # nothing used yet
    diet, jazz = sorted(agent.proposals(), key=lambda p: p.key_text)
    written = agent.accept_proposal(diet.id, value="vegan")  # edited before accepting
    assert (written.kind, written.key, written.value, written.action) == (
        "preference",
        "diet",
        "vegan",
        "add",
    )
    agent.reject_proposal(jazz.id)
    assert agent.proposals() == []
    assert {(p.status, p.value_text) for p in agent.proposals(None)} == {
        ("accepted", "vegan"),
        ("rejected", "jazz"),
    }
    assert ("preference", "vegan") in kinds_and_values(agent)
    assert not any(v == "jazz" for _, v in kinds_and_values(agent))
    (memory,) = agent.list_memories("preference")
    assert memory.source_turn_id == result.user_turn_id  # provenance kept through review
    with pytest.raises(UsageError, match="already accepted"):
        agent.accept_proposal(diet.id)
    with pytest.raises(NotFoundError):
        agent.reject_proposal(999)


def test_a_pending_proposal_is_not_in_the_prompt(tmp_path: Path) -> None:
    agent = make_fake_agent(tmp_path, review=True)
    agent.ask("I'm vegetarian.")
    agent.ask("What should I cook?")
    system = agent.models.generator.prompts[-1][0]["content"]
    assert "diet" not in system


def test_slots_longer_than_their_column_are_found_again_and_kept_apart(tmp_path: Path) -> None:
    """A slot is at most 300 characters (VARCHAR(300)): PostgreSQL refused a longer one, from
    a long key or a long liked thing; each is stored as its start and a digest instead."""
    agent = make_fake_agent(tmp_path, review=True)
    long_key = "favourite " + "x" * 400
    first = agent.add_memory(long_key, "one")
    assert agent.add_memory(long_key, "two").id == first.id  # the same slot: updated
    other = agent.add_memory(long_key + "y", "three")  # the same first 300 characters
    assert other.id != first.id
    values = {m.id: m.value_text for m in agent.list_memories()}
    assert values == {first.id: "two", other.id: "three"}
    agent.ask("I like " + "z" * 500 + ".")  # an extracted slot as long, proposed
    (proposal,) = agent.proposals()
    assert len(proposal.slot) == 300
    written = agent.accept_proposal(proposal.id)
    assert agent.show(written.id).memory.value_text == "z" * 500


def test_forgetting_a_turn_can_take_its_derived_memories(agent: Agent) -> None:
    result = agent.ask("My sister is Alice and I like jazz.")
    turn_id = next(w.id for w in result.written if w.kind == "turn")
    derived = agent.derived_from(turn_id)
    assert {m.value_text for m in derived} == {"Alice", "jazz"}
    assert agent.derived_from(derived[0].id) == []  # only a turn has derived memories
    agent.forget(turn_id, with_derived=True)
    assert agent.list_memories() == []


def test_show_gives_the_chain(agent: Agent) -> None:
    agent.ask("Hello there.")
    result = agent.ask("My sister is Alice.")
    agent.ask("Goodbye.")
    turn = next(w for w in result.written if w.kind == "turn")
    fact = next(w for w in result.written if w.kind == "fact")
    detail = agent.show(fact.id)
    assert detail.source_turn is not None and detail.source_turn.text == "My sister is Alice."
    assert [m.id for m in detail.siblings] == [turn.id]
    turn_detail = agent.show(turn.id)
    assert (
        turn_detail.previous is not None and said(turn_detail.previous.key_text) == "Hello there."
    )
    assert turn_detail.next is not None and said(turn_detail.next.key_text) == "Goodbye."


def test_every_hop_is_recorded_with_each_memorys_weights(agent: Agent) -> None:
    agent.ask("My sister is Alice.")
    agent.ask("Alice moved to Lyon last year.")
    result = agent.search("Where does my sister live?", hops=2)
    assert len(result.hops) == 2
    for item in result.results:
        assert len(item.hop_weights) == 2 and item.hop_weights[-1] == pytest.approx(item.weight)
    asked = agent.ask("Where does my sister live?", hops=2)
    with agent.sessions() as s:
        from storage.models import TurnRead

        hops = set(s.scalars(select(TurnRead.hop).where(TurnRead.turn_id == asked.user_turn_id)))
    assert hops == {0, 1}


def test_a_chat_turn_memory_is_keyed_by_day_and_speaker(agent: Agent, fixed_clock: None) -> None:
    """As the evaluation's turn keys: the day and the speaker before the words (issue 17,
    item 8), matched by words; the value is the words alone, so a turn the prompt holds
    verbatim is not repeated as a memory. Both vectors are the words' (issue 19: one model
    call fewer per turn; the day is found by the lexical score)."""
    result = agent.ask("I adopted a puppy named Biscuit.")
    turn = next(w for w in result.written if w.kind == "turn")
    assert turn.key == "2 January 2026 User: I adopted a puppy named Biscuit."
    assert turn.value == "I adopted a puppy named Biscuit."  # the words alone: what was said
    stored = agent.list_memories("turn")[0]
    (words_vec,) = agent.store.encoder.encode([turn.value])
    assert torch.allclose(blob_to_vector(stored.key_emb), words_vec)
    assert torch.allclose(blob_to_vector(stored.value_emb), words_vec)
    assert agent.search("what happened in January 2026", k=1).results[0].id == turn.id
    prompts = agent.models.generator.prompts  # type: ignore[attr-defined]
    before = len(prompts)
    reply = agent.ask("Tell me a story about my puppy.")  # a request: the model answers
    assert len(prompts) == before + 1 and turn.id in [i.id for i in reply.read]
    assert "adopted a puppy" not in prompts[-1][0]["content"]  # in the recent turns, not again
