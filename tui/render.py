"""Plain-text and JSON renderings of agent results for the command line."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agent.text import counted
from tui.terminal import neutralise

if TYPE_CHECKING:
    from agent.memories import MemoryDetail
    from agent.memory.store import ReadItem, ReadResult
    from storage.models import ChatSession, Memory, MemoryEvent, Turn, TurnRead
    from storage.repo import ProfileCounts


def counts_text(row: ProfileCounts) -> str:
    """'12 memories and 30 turns', '1 memory and 1 turn'."""
    return f"{counted(row.memories, 'memory', 'memories')} and {counted(row.turns, 'turn')}"


def iso(value: Any) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


def memory_json(m: Memory) -> dict[str, Any]:
    return {
        "id": m.id,
        "kind": m.kind,
        "key": m.key_text,
        "value": m.value_text,
        "usage": round(m.usage, 6),
        "used_at": iso(m.used_at),
        "pinned": m.pinned,
        "created_at": iso(m.created_at),
        "updated_at": iso(m.updated_at),
        "source_turn_id": m.source_turn_id,
        "slot": m.slot,
        "prev_id": m.prev_id,
        "next_id": m.next_id,
    }


def event_json(e: MemoryEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "memory_id": e.memory_id,
        "action": e.action,
        "old_key": e.old_key,
        "old_value": e.old_value,
        "new_key": e.new_key,
        "new_value": e.new_value,
        "turn_id": e.turn_id,
        "at": iso(e.created_at),
    }


def read_json(r: TurnRead, reader: str | None = None) -> dict[str, Any]:
    """One read of a memory; `reader`: the other program that made it (None: the chat)."""
    return {
        "turn_id": r.turn_id,
        "reader": reader,
        "rank": r.rank,
        "weight": round(r.weight, 6),
        "score": round(r.score, 6),
    }


def search_json(
    query: str, result: ReadResult, dates: dict[int, tuple[datetime, datetime]] | None = None
) -> dict[str, Any]:
    """A read as `memories search --json` gives it; `dates`: each memory's (created, updated)."""

    def item(i: ReadItem) -> dict[str, Any]:
        created, updated = (dates or {}).get(i.id, (None, None))
        return {**i.as_json(), "created_at": iso(created), "updated_at": iso(updated)}

    return {
        "query": query,
        "results": [item(i) for i in result.results],
        "hops": [{"results": [item(i) for i in hop]} for hop in result.hops],
        "elapsed_ms": round(result.elapsed_ms, 2),
    }


def detail_json(d: MemoryDetail) -> dict[str, Any]:
    return {
        **memory_json(d.memory),
        "history": [event_json(e) for e in d.history],
        "reads": [read_json(r, d.callers.get(r.turn_id)) for r in d.reads],
        "source_turn": turn_json(d.source_turn) if d.source_turn else None,
        "derived": [memory_json(m) for m in d.siblings],
        "previous": memory_json(d.previous) if d.previous else None,
        "next": memory_json(d.next) if d.next else None,
        "conversation": conversation_json(d.conversation) if d.conversation else None,
    }


# How each export format is named to people.
SOURCE_NAMES = {"chatgpt": "ChatGPT", "claude": "Claude", "transcript": "transcript"}


def conversation_json(c: ChatSession) -> dict[str, Any]:
    """A session as `conversations list --json` and `memories show --json` give it."""
    return {
        "id": c.id,
        "label": c.label,
        "title": c.title,
        "started_at": iso(c.started_at),
        "source": c.source or None,
        "source_id": c.source_id,
        "source_file": c.source_file,
        "forgotten_at": iso(c.forgotten_at),
    }


def imported_from(c: ChatSession) -> str:
    """'ChatGPT conversation "Trip to Lyon" of 2024-03-05, from /path/conversations.json'."""
    title = f' "{one_line(c.title, 60)}"' if c.title else ""
    where = f", from {one_line(c.source_file or '', 80)}" if c.source_file else ""
    name = SOURCE_NAMES.get(c.source, c.source)
    return f"{name} conversation{title} of {c.started_at:%Y-%m-%d}{where} (session {c.id})"


def turn_json(t: Turn) -> dict[str, Any]:
    return {
        "id": t.id,
        "role": t.role,
        "speaker": t.speaker,
        "text": t.text,
        "status": t.status,
        "created_at": iso(t.created_at),
    }


def caller_note(callers: dict[int, str], turn_id: int | None) -> str:
    """' (mcp: Claude Code)' when another program made turn `turn_id`, else ''."""
    caller = callers.get(turn_id) if turn_id is not None else None
    return f" ({one_line(caller, 60)})" if caller else ""


def dump(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def one_line(text: str, width: int = 60) -> str:
    """Text on one line, cut to `width` characters (newlines shown as ⏎, terminal controls as
    \\uXXXX: the UI's widgets would pass them to the terminal)."""
    flat = neutralise(text.replace("\n", " ⏎ "))
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def bar(weight: float, width: int = 10) -> str:
    filled = round(max(0.0, min(1.0, weight)) * width)
    return "█" * filled + "·" * (width - filled)


def read_lines(items: list[ReadItem]) -> list[str]:
    return [
        f"  {bar(i.weight)} {i.weight:6.3f}  #{i.id:<5} {i.kind:<10} "
        f"{one_line(i.key, 24)} = {one_line(i.value, 50)}{hop_trail(i)}"
        for i in items
    ]


def hop_trail(item: ReadItem) -> str:
    """`  (hops 0.13 -> 0.20)`: the memory's weight at each hop, when there were several."""
    if len(item.hop_weights) < 2:
        return ""
    return "  (hops " + " -> ".join(f"{w:.2f}" for w in item.hop_weights) + ")"


def memory_lines(memories: list[Memory]) -> list[str]:
    if not memories:
        return ["(no memories)"]
    head = f"{'id':>6}  {'kind':<10} {'pin':<3} {'usage':>5}  {'key':<24} value"
    rows = [
        f"{m.id:>6}  {m.kind:<10} {'*' if m.pinned else '':<3} {m.usage:5.2f}  "
        f"{one_line(m.key_text, 24):<24} {one_line(m.value_text, 60)}"
        for m in memories
    ]
    return [head, *rows]


def event_lines(events: list[MemoryEvent], callers: dict[int, str] | None = None) -> list[str]:
    """One line per change; `callers`: the other programs behind some turns (by turn id)."""
    lines = []
    for e in events:
        change = {
            "add": f"= {one_line(e.new_value or '')}",
            "update": f"{one_line(e.old_value or '', 30)} -> {one_line(e.new_value or '', 30)}",
            "forget": f"(was {one_line(e.old_value or '')})",
            "free": f"(was {one_line(e.old_value or '')}; least used at capacity)",
        }.get(e.action, "")
        caller = (callers or {}).get(e.turn_id) if e.turn_id else None
        by = f", {one_line(caller, 60)}" if caller else ""
        turn = f" (turn {e.turn_id}{by})" if e.turn_id else ""
        lines.append(f"{iso(e.created_at)}  {e.action:<7} {change}{turn}")
    return lines


def chain_lines(d: MemoryDetail) -> list[str]:
    """Provenance and links: the source turn, what else came from it, the turns before/after."""
    lines = []
    if d.source_turn is not None:
        t = d.source_turn
        who = f"{t.speaker}, " if t.speaker else ""
        lines.append(f"source: turn {t.id} ({who}{iso(t.created_at)}): {one_line(t.text, 70)}")
    elif d.memory.source_turn_id is None:
        lines.append("source: added by hand")
    if d.conversation is not None and d.conversation.source:
        lines.append(f"imported: {imported_from(d.conversation)}")
    for m in d.siblings:
        lines.append(
            f"  from the same turn: #{m.id} {m.kind} {one_line(m.key_text, 24)} = "
            f"{one_line(m.value_text, 40)}"
        )
    if d.previous is not None:
        lines.append(f"previous turn: #{d.previous.id} {one_line(d.previous.key_text, 60)}")
    if d.next is not None:
        lines.append(f"next turn: #{d.next.id} {one_line(d.next.key_text, 60)}")
    return lines
