"""The prompt: preferences always, memories by weight within the budget, message cut to fit."""

from __future__ import annotations

from agent.memory.store import ReadItem
from agent.prompt import build_prompt, cut_to_tokens, fit_lines


def words(text: str) -> int:
    return len(text.split())


def item(i: int, weight: float, value: str, kind: str = "fact") -> ReadItem:
    return ReadItem(i, kind, f"key{i}", value, weight, 0.0)


def test_fit_lines_keeps_order_and_skips_what_does_not_fit() -> None:
    lines = ["a b c", "d e f g h i", "j"]  # 3, 6, 1 tokens
    assert fit_lines(lines, 5, words) == [0, 2]
    assert fit_lines(lines, 100, words) == [0, 1, 2]
    assert fit_lines(lines, 0, words) == []


def test_cut_to_tokens() -> None:
    assert cut_to_tokens("one two three", 5, words) == "one two three"
    cut = cut_to_tokens("one two three four five six", 3, words)
    assert cut.startswith("one two three") and cut.endswith("[…cut]")
    assert "four" not in cut


def test_prompt_order_and_budget() -> None:
    read = [
        item(1, 0.10, "low weight memory " * 3),
        item(2, 0.60, "the most relevant memory"),
        item(3, 0.30, "a long memory " * 40),  # 120 tokens: over the budget
        item(4, 0.05, "already a preference"),
    ]
    prompt = build_prompt(
        preferences=[("diet", "vegetarian"), ("key4", "already a preference")],
        read=read,
        recent=[("user", "hello"), ("assistant", "hi there")],
        message="What should I cook?",
        count_tokens=words,
        memory_budget=40,
        context_tokens=2048,
        reply_tokens=100,
    )
    system = prompt.messages[0]["content"]
    assert "- diet: vegetarian" in system  # preferences always
    assert prompt.memory_ids == [2, 1]  # by weight; 3 does not fit; 4 is in the profile block
    assert system.index("most relevant") < system.index("low weight")
    assert [m["role"] for m in prompt.messages] == ["system", "user", "assistant", "user"]
    assert prompt.messages[-1]["content"] == "What should I cook?"


def test_huge_message_is_cut_to_the_context() -> None:
    prompt = build_prompt(
        preferences=[],
        read=[],
        recent=[],
        message="word " * 10_000,
        count_tokens=words,
        memory_budget=100,
        context_tokens=1000,
        reply_tokens=200,
    )
    assert prompt.tokens <= 1000 - 200
    assert prompt.messages[-1]["content"].endswith("[…cut]")
