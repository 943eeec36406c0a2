"""The time prior: a question that points at a time ("two weeks ago") favours what was said then."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import torch

from agent.eval.longmemeval import EncodingCache, ingest_question, question_methods
from agent.eval.longmemeval_data import load_longmemeval
from agent.memory.time_prior import day_number, time_match, when_asked
from tests.conftest import make_fake_agent


@pytest.mark.parametrize(
    ("question", "asked"),
    [
        ("What did I cook a couple of days ago?", (2.0, 1.0)),
        ("I mentioned a sports event two weeks ago. Which?", (14.0, 3.5)),
        ("What did I do with Rachel 3 months ago?", (3 * 30.44, 3 * 30.44 / 4)),
        ("Where did Caroline move from 4 years ago?", (4 * 365.25, 365.25)),
        ("What was the event a week ago?", (7.0, 1.75)),
        ("What did I eat yesterday?", (1.0, 1.0)),
        ("How many weeks ago did I attend the workshop?", None),  # asks for the time itself
        ("How many events did I attend in the past month?", None),  # a span, not a point
        ("What is my dog's name?", None),
    ],
)
def test_when_asked(question: str, asked: tuple[float, float] | None) -> None:
    got = when_asked(question)
    if asked is None:
        assert got is None
    else:
        assert got is not None and math.isclose(got[0], asked[0]) and math.isclose(got[1], asked[1])


def test_day_numbers_and_the_match() -> None:
    assert day_number(datetime(1970, 1, 2, 12)) == 1.5
    aware = datetime(1970, 1, 2, 14, tzinfo=timezone(timedelta(hours=2)))
    assert day_number(aware) == day_number(datetime(1970, 1, 2, 12, tzinfo=UTC)) == 1.5
    assert math.isnan(day_number(None))
    said_on = torch.tensor([100.0, 98.0, 90.0, math.nan], dtype=torch.float64)
    match = time_match(said_on, 100.0, (2.0, 1.0))  # "two days ago" from day 100
    assert match.dtype == torch.float32 and match.shape == (4,)
    assert match[1] == 1.0 and match[3] == 0.0  # exactly then; unknown
    assert 0.0 < match[0] < 0.2 and match[2] < 1e-6  # today is 2 widths off; day 90 is far


def _dated_question(text: str, asked_on: str) -> dict[str, Any]:
    dishes = ["pasta", "curry", "soup"]
    dates = ["2023/05/20 (Sat) 10:00", "2023/05/27 (Sat) 10:00", "2023/06/01 (Thu) 10:00"]
    return {
        "question_id": "t1",
        "question_type": "temporal-reasoning",
        "question": text,
        "question_date": asked_on,
        "answer": "soup",
        "answer_session_ids": ["s2"],
        "haystack_session_ids": ["s0", "s1", "s2"],
        "haystack_dates": dates,
        "haystack_sessions": [
            [{"role": "user", "content": f"I cooked {dish} for my friend.", "has_answer": True}]
            for dish in dishes
        ],
    }


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What did I cook for my friend a couple of days ago?", "soup"),
        ("What did I cook for my friend a week ago?", "curry"),
        ("What did I cook for my friend two weeks ago?", "pasta"),
    ],
)
def test_the_read_favours_what_was_said_when_the_question_points(
    tmp_path: Path, question: str, expected: str
) -> None:
    """Three turns alike but for the dish, said on three days: the question's "ago" (counted
    from its own date, as the evaluation asks it) picks the one said then."""
    path = tmp_path / "t.json"
    path.write_text(json.dumps([_dated_question(question, "2023/06/03 (Sat) 09:00")]), "utf-8")
    q = load_longmemeval(path)[0]
    agent = make_fake_agent(tmp_path)
    ingested = ingest_question(agent, q, EncodingCache(agent.store.encoder.encode))
    ranked = question_methods(agent, ingested, q)["default"](q.question)
    top = agent.list_memories("turn")
    words = {m.id: m.value_text for m in top}
    assert expected in words[ranked[0]]
    # asked today instead (the clock's now), the same words point at no memory: the read is
    # the one without the prior
    profile = agent.profile_id()
    today = agent.store.search(profile, question, 3)
    unaware = agent.store.search(
        profile, question, 3, params=dataclasses.replace(agent.store.hybrid, time_boost=0.0)
    )
    assert [i.id for i in today.results] == [i.id for i in unaware.results]
    assert [i.weight for i in today.results] == pytest.approx([i.weight for i in unaware.results])
