"""The read's row features are patched after a write instead of rebuilt: after any sequence of
writes and removals they must equal a rebuild from scratch."""

from __future__ import annotations

import random
from dataclasses import fields
from datetime import datetime, timedelta

import torch

from agent.memory.cache import KeyCache
from agent.memory.hybrid import follow
from agent.memory.row_features import IdColumns, RowFeatureBuffers, RowFeatures
from agent.memory.text_index import TextIndex


def rebuilt(text: TextIndex, cache: KeyCache) -> list[torch.Tensor]:
    """The features gathered for every row by a fresh buffer (no patching)."""
    columns = IdColumns(text.length, text.prev, text.next, text.speaker, text.said_on)
    return every_field(RowFeatureBuffers().update(columns, cache, None))


def every_field(features: RowFeatures) -> list[torch.Tensor]:
    return [getattr(features, f.name) for f in fields(features)]


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    pairs = zip(a, b, strict=True)
    return all(torch.equal(x, y) or torch.allclose(x, y, equal_nan=True) for x, y in pairs)


def test_patched_row_features_equal_a_rebuild_after_random_writes() -> None:
    rng = random.Random(0)
    cache, text = KeyCache(4), TextIndex()
    last_turn: int | None = None
    next_id, alive = 1, []
    start = datetime(2026, 1, 1)
    for step in range(400):
        action = rng.random()
        if action < 0.55 or not alive:  # a new turn, linked after the last one
            memory_id, next_id = next_id, next_id + 1
            prev = last_turn if last_turn in alive else None
            cache.put(memory_id, "turn", torch.randn(4), torch.randn(4))
            text.put(memory_id, f"turn {step} words", rng.choice(["Ann", "Bob", ""]), prev, None,
                     said_at=start + timedelta(days=step))  # fmt: skip
            last_turn = memory_id
        elif action < 0.75:  # a fact, no links
            memory_id, next_id = next_id, next_id + 1
            cache.put(memory_id, "fact", torch.randn(4), torch.randn(4))
            text.put(memory_id, f"fact {step}", "", None, None, value_text=f"value {step}")
        elif action < 0.9:  # an edit of a memory held (same row, new text and speaker)
            memory_id = rng.choice(alive)
            cache.put(memory_id, cache.kind(cache.row(memory_id)), torch.randn(4), torch.randn(4))
            prev, nxt = int(text.prev[memory_id]), int(text.next[memory_id])
            text.put(memory_id, f"edited {step} more words here", "Cy",
                     prev if prev >= 0 else None, nxt if nxt >= 0 else None)  # fmt: skip
        else:  # a removal: the last row moves into the hole
            memory_id = rng.choice(alive)
            cache.remove(memory_id)
            text.remove(memory_id)
        alive = list(cache.ids)
        if rng.random() < 0.5:  # reads happen after some writes, not all
            got = text.rows(cache)
            assert same(every_field(got), rebuilt(text, cache)), f"step {step}"
    got = text.rows(cache)
    assert len(got.lengths) == len(cache)
    assert torch.equal(got.prev2_row, follow(got.prev_row, got.prev_row))
    assert torch.equal(got.next2_row, follow(got.next_row, got.next_row))
    assert bool((got.prev2_row >= 0).any())  # the chain is long enough to have some


def test_a_write_regathers_only_what_it_touched() -> None:
    """A new turn changes its own row and its predecessor's next link, nothing else."""
    cache, text = KeyCache(2), TextIndex()
    for i in range(1, 6):
        cache.put(i, "turn", torch.ones(2), torch.ones(2))
        text.put(i, f"turn {i}", "Ann", i - 1 if i > 1 else None, None)
    text.rows(cache)
    cache.put(6, "turn", torch.ones(2), torch.ones(2))
    text.put(6, "turn 6", "Bob", 5, None)
    assert text._written == {6, 5}
    rows = text.rows(cache)
    assert rows.next_row[cache.row(5)].item() == cache.row(6)
    assert rows.prev_row[cache.row(6)].item() == cache.row(5)
    assert text._written == set()
