"""Who called: the session label that names another program using this memory ("mcp: Claude
Code", "openai: OpenAI"), so that every read and write it made can be traced back to it."""

from __future__ import annotations

from agent.text import clean_text

# The kinds of server a program reaches the memory through (`memchat serve KIND`).
CALLER_KINDS = ("mcp", "openai")
MAX_CALLER_CHARS = 60


def caller_label(kind: str, name: str | None) -> str:
    """`"mcp: Claude Code"`: the kind of server, then the client's own name (cleaned of
    control characters and escape sequences, on one line, cut to MAX_CALLER_CHARS; "client"
    when it gave none)."""
    assert kind in CALLER_KINDS, kind
    flat = " ".join(clean_text(name or "").split())[:MAX_CALLER_CHARS]
    return f"{kind}: {flat or 'client'}"


def is_caller_label(label: str) -> bool:
    """True for a session label made by `caller_label` (the chat's own say "chat", "cli ask")."""
    kind, sep, _ = label.partition(": ")
    return bool(sep) and kind in CALLER_KINDS
