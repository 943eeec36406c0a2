"""Forgetting asked for in chat: "forget that ...", "forget everything about X", and statements
that something is no longer true ("I don't live in Lyon anymore").

A memory matches a request when its key and value together contain every content word of the
request (BM25 tokens: stemmed, stop words dropped): "forget that I like jazz" matches the
preference `likes = jazz` and the turn "I like jazz", not "I like jazz fusion bands"'s
neighbour about rock. "that ..." forgets the preferences, facts and notes that match and the
turns they came from (or, when none matches, the matching turns); "everything about X" forgets
every memory that mentions X. Each is logged as a `forget` event of the asking turn.
"""

from __future__ import annotations

from agent.extraction import ForgetRequest, Retraction
from agent.memory.lexical import tokens
from agent.memory.store import Written
from agent.memory.unit import Unit
from storage import repo
from storage.models import Memory


def mentions(memory: Memory, words: set[str]) -> bool:
    """Every content word of the request is in the memory's key or value."""
    return bool(words) and words <= set(tokens(f"{memory.key_text} {memory.value_text}"))


def matching_memories(memories: list[Memory], request: ForgetRequest) -> list[Memory]:
    """The memories a forget request covers (see the module docstring), by id."""
    words = set(tokens(request.about))
    matched = [m for m in memories if mentions(m, words)]
    if request.everything:
        return matched
    stated = [m for m in matched if m.kind != "turn"]
    if not stated:
        return matched
    sources = {m.source_turn_id for m in stated if m.source_turn_id is not None}
    turns = [m for m in memories if m.kind == "turn" and m.source_turn_id in sources]
    return sorted({m.id: m for m in stated + turns}.values(), key=lambda m: m.id)


def forget_requested(unit: Unit, requests: list[ForgetRequest], turn_id: int) -> list[Written]:
    """Forget what each request covers; returns what was forgotten."""
    memories = repo.list_memories(unit.session, unit.profile_id)
    gone: dict[int, Memory] = {}
    for request in requests:
        for memory in matching_memories([m for m in memories if m.id not in gone], request):
            gone[memory.id] = memory
    for memory in gone.values():
        unit.remove(memory, "forget", turn_id=turn_id)
    return [forgotten(m) for m in gone.values()]


def retract(unit: Unit, retractions: list[Retraction], turn_id: int) -> list[Written]:
    """Forget the slot of each retraction when it holds the value said to be no longer true
    (any value when the retraction names none)."""
    done = []
    for retraction in retractions:
        memory = repo.find_by_slot(unit.session, unit.profile_id, retraction.slot)
        if memory is None or memory.id in unit.removed:
            continue
        said = (retraction.value or "").casefold()
        if said and said not in memory.value_text.casefold():
            continue
        unit.remove(memory, "forget", turn_id=turn_id)
        done.append(forgotten(memory))
    return done


def forgotten(memory: Memory) -> Written:
    return Written(memory.id, memory.kind, memory.key_text, memory.value_text, "forget")


def forget_reply(forgotten: list[Written]) -> str:
    """What the agent says after a forget request: exactly what it forgot."""
    if not forgotten:
        return "I found nothing in my memory that matches that, so nothing was forgotten."
    lines = [f"- #{w.id} {w.kind}: {describe(w)}" for w in forgotten]
    noun = "memory" if len(forgotten) == 1 else "memories"
    return f"Forgotten ({len(forgotten)} {noun}):\n" + "\n".join(lines)


def describe(w: Written, limit: int = 80) -> str:
    text = w.key if w.kind == "turn" or w.key == w.value else f"{w.key} = {w.value}"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
