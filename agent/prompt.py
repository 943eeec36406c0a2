"""The prompt: preferences always, then read memories by weight within a token budget, then the
recent turns, then the message (cut to what the model's context can hold)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agent.memory.store import ReadItem

SYSTEM = (
    "You are memchat, a helpful assistant with a long-term memory of the user. "
    "Use what you know about the user when it helps; do not invent facts about them."
)
BRIEF = " Reply in one or two short sentences."
# Longest piece of one remembered or recent turn placed in the prompt, in characters.
MAX_ITEM_CHARS = 600


@dataclass(frozen=True)
class Prompt:
    messages: list[dict[str, str]]
    memory_ids: list[int]  # the read memories that fit the budget, in prompt order
    tokens: int


def _shorten(text: str, limit: int = MAX_ITEM_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _memory_line(item: ReadItem) -> str:
    if item.kind == "turn":
        return f"- (earlier, the user said) {_shorten(item.value)}"
    return f"- {item.key}: {_shorten(item.value)}"


def fit_lines(lines: list[str], budget: int, count_tokens: Callable[[str], int]) -> list[int]:
    """Indices of the lines kept, in order, while their summed token count fits `budget`."""
    kept, used = [], 0
    for i, line in enumerate(lines):
        cost = count_tokens(line)
        if used + cost > budget:
            continue  # a shorter, lower-weighted line may still fit
        kept.append(i)
        used += cost
    return kept


def cut_to_tokens(text: str, budget: int, count_tokens: Callable[[str], int]) -> str:
    """The longest prefix of `text` within `budget` tokens (binary search on characters)."""
    if count_tokens(text) <= budget:
        return text
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if count_tokens(text[:mid]) <= budget:
            low = mid
        else:
            high = mid - 1
    return text[:low] + " […cut]"


def build_prompt(
    *,
    preferences: list[tuple[str, str]],
    read: list[ReadItem],
    recent: list[tuple[str, str]],
    message: str,
    count_tokens: Callable[[str], int],
    memory_budget: int,
    context_tokens: int,
    reply_tokens: int,
    brief: bool = False,
) -> Prompt:
    """Messages for the chat template; `recent` is (role, text) oldest first; `brief` asks for
    a short reply (a question, small talk or a statement; not a request)."""
    system = SYSTEM + (BRIEF if brief else "")
    if preferences:
        system += "\n\nWhat you know about the user:\n" + "\n".join(
            f"- {k}: {_shorten(v)}" for k, v in preferences
        )
    pref_keys = {(k, v) for k, v in preferences}
    recent_texts = {t for _, t in recent}
    candidates = [
        i
        for i in sorted(read, key=lambda i: -i.weight)
        if (i.key, i.value) not in pref_keys and i.value not in recent_texts
    ]
    lines = [_memory_line(i) for i in candidates]
    kept = fit_lines(lines, memory_budget, count_tokens)
    if kept:
        system += "\n\nMemories that may be relevant (most relevant first):\n" + "\n".join(
            lines[i] for i in kept
        )
    history = [{"role": role, "content": _shorten(text)} for role, text in recent]
    used = count_tokens(system) + sum(count_tokens(m["content"]) for m in history)
    room = max(64, context_tokens - reply_tokens - used - 32)
    user = {"role": "user", "content": cut_to_tokens(message, room, count_tokens)}
    messages = [{"role": "system", "content": system}, *history, user]
    tokens = used + count_tokens(user["content"])
    return Prompt(messages, [candidates[i].id for i in kept], tokens)
