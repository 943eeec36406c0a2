"""`memchat eval longmemeval` with fake models: loading, ingest, the metrics and the command."""

from __future__ import annotations

import argparse
import gzip
import json
import lzma
import math
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from agent.core import Agent
from agent.errors import MemchatError, UsageError
from agent.eval.longmemeval import (
    EncodingCache,
    LmeResult,
    LmeRun,
    dcg,
    ingest_question,
    session_ndcg,
    session_recall,
    turn_recall,
)
from agent.eval.longmemeval_data import (
    LongMemEvalFormatError,
    load_longmemeval,
    parse_lme_date,
    select_questions,
)
from agent.eval.longmemeval_report import summarize
from storage.models import ChatSession, Memory, Turn
from tests.conftest import make_fake_agent
from tests.test_eval_locomo import builder, no_user_agent
from tui.eval_command import add_eval_parser, eval_longmemeval

DATES = ["2023/05/20 (Sat) 02:21", "2023/05/22 (Mon) 10:04", "2023/06/01 (Thu) 18:30"]


def _session(*turns: tuple[str, str, bool]) -> list[dict[str, Any]]:
    rows = [{"role": r, "content": c} for r, c, _ in turns]
    for row, (_, _, answer) in zip(rows, turns, strict=True):
        if answer:
            row["has_answer"] = True
    return rows


PUPPY = _session(
    ("user", "I adopted a puppy named Biscuit last week.", True),
    ("assistant", "Congratulations on Biscuit! Puppies need lots of sleep.", False),
)
VIOLIN = _session(
    ("user", "I started learning the violin in March.", False),
    ("assistant", "The violin is a lovely instrument to learn.", False),
)
RECIPE = _session(
    ("user", "Can you suggest a pasta recipe?", False),
    ("assistant", "Try spaghetti carbonara with guanciale and pecorino.", True),
)


def question(qid: str, qtype: str, text: str, answer: Any, answers: list[int]) -> dict[str, Any]:
    """A question over the three sessions above; `answers`: the answer sessions' indices."""
    ids = ["s_puppy", "s_violin", "s_recipe"]
    return {
        "question_id": qid,
        "question_type": qtype,
        "question": text,
        "question_date": "2023/06/10 (Sat) 09:00",
        "answer": answer,
        "answer_session_ids": [ids[i] for i in answers],
        "haystack_session_ids": ids,
        "haystack_dates": DATES,
        "haystack_sessions": [PUPPY, VIOLIN, RECIPE],
    }


def questions() -> list[dict[str, Any]]:
    return [
        question("q1", "single-session-user", "What is the name of my puppy?", "Biscuit", [0]),
        question(
            "q2",
            "single-session-assistant",
            "Which pasta recipe did you suggest?",
            "carbonara",
            [2],
        ),
        question("q3", "multi-session", "How many hobbies and pets do I have?", 2, [0, 1]),
        question("q4_abs", "single-session-user", "What is the name of my cat?", "None", [0]),
    ]


@pytest.fixture(params=["json", "json.gz", "json.xz"])
def data_file(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    path = tmp_path / f"lme.{request.param}"
    text = json.dumps(questions()).encode()
    opener = {"json": None, "json.gz": gzip.compress, "json.xz": lzma.compress}[request.param]
    path.write_bytes(opener(text) if opener else text)
    return path


def lme_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="memchat")
    add_eval_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["eval", "longmemeval", *argv])


# ------------------------------------------------------------------ data


def test_load_reads_plain_gzip_and_xz(data_file: Path) -> None:
    qs = load_longmemeval(data_file)
    assert [q.question_id for q in qs] == ["q1", "q2", "q3", "q4_abs"]
    assert [q.abstention for q in qs] == [False, False, False, True]
    assert qs[2].answer == "2" and qs[0].turn_count == 6
    assert qs[0].sessions[0].turns[0].has_answer and not qs[0].sessions[0].turns[1].has_answer
    assert qs[0].sessions[2].date == DATES[2]
    assert parse_lme_date(DATES[0]).isoformat() == "2023-05-20T02:21:00"  # type: ignore[union-attr]


def _broken(change: dict[str, Any]) -> str:
    qs = questions()
    qs[1].update(change)
    return json.dumps(qs)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("{not json", "not valid JSON"),
        ('{"a": 1}', "non-empty list"),
        ("[3]", "question 1: a question must be an object"),
        (_broken({"question": 5}), "question 2: 'question' must be a string"),
        (_broken({"haystack_dates": DATES[:2]}), "question 2 (q2): 'haystack_sessions' (3)"),
        (_broken({"haystack_dates": ["x", "y", "z"]}), "question 2 (q2): 'haystack_dates' 1"),
        (_broken({"answer": None}), "question 2 (q2): 'answer' must be"),
        (_broken({"answer_session_ids": "s"}), "'answer_session_ids' must be a list"),
        (_broken({"haystack_sessions": [[{"role": "bot", "content": "x"}], [], []]}), "'role'"),
    ],
)
def test_malformed_files_fail_with_one_line(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(LongMemEvalFormatError) as info:
        load_longmemeval(path)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, MemchatError)


def test_a_missing_field_is_named(tmp_path: Path) -> None:
    qs = questions()
    del qs[2]["haystack_session_ids"]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(qs), encoding="utf-8")
    with pytest.raises(LongMemEvalFormatError, match="question 3: 'haystack_session_ids' is"):
        load_longmemeval(path)


def test_a_broken_xz_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json.xz"
    path.write_bytes(b"not xz at all")
    with pytest.raises(LongMemEvalFormatError, match="cannot read"):
        load_longmemeval(path)


def test_types_then_limit(tmp_path: Path) -> None:
    path = tmp_path / "q.json"
    path.write_text(json.dumps(questions()), encoding="utf-8")
    qs = load_longmemeval(path)
    assert [q.question_id for q in select_questions(qs, None, 2)] == ["q1", "q2"]
    kept = select_questions(qs, ["single-session-user", "multi-session"], None)
    assert [q.question_id for q in kept] == ["q1", "q3", "q4_abs"]
    with pytest.raises(UsageError, match="unknown question type nope; known: single-session-user"):
        select_questions(qs, ["nope"], None)


# ------------------------------------------------------------------ ingest


def test_ingest_writes_both_roles_like_the_chat(tmp_path: Path) -> None:
    path = tmp_path / "q.json"
    path.write_text(json.dumps(questions()), encoding="utf-8")
    q = load_longmemeval(path)[0]
    agent = make_fake_agent(tmp_path)
    vectors = EncodingCache(agent.store.encoder.encode)
    ingested = ingest_question(agent, q, vectors)
    assert agent.profile_name == "lme-q1" and ingested.base.turns == 6
    with agent.sessions() as db:
        turns = db.scalars(select(Turn).order_by(Turn.id)).all()
        labels = db.scalars(select(ChatSession.label).order_by(ChatSession.id)).all()
        memories = db.scalars(select(Memory).order_by(Memory.id)).all()
    assert [t.role for t in turns] == ["user", "assistant"] * 3
    assert [t.created_at.date().isoformat() for t in turns[::2]] == [
        "2023-05-20",
        "2023-05-22",
        "2023-06-01",
    ]
    assert labels == DATES
    keys = [m.key_text for m in memories if m.kind == "turn"]
    assert keys[0] == "20 May 2023 User: I adopted a puppy named Biscuit last week."
    assert keys[5] == (
        "1 June 2023 Assistant: Try spaghetti carbonara with guanciale and pecorino."
    )
    turn_values = [m.value_text for m in memories if m.kind == "turn"]
    assert turn_values[0] == "I adopted a puppy named Biscuit last week."
    assert sorted(ingested.position_of[m.id] for m in memories if m.kind == "turn") == [
        (s, t) for s in range(3) for t in range(2)
    ]
    # extracted statements map to their (user) source turn
    assert all(ingested.position_of[m.id][1] == 0 for m in memories if m.kind != "turn")
    # a second question over the same sessions encodes nothing new
    before = len(vectors.table)
    ingest_question(agent, load_longmemeval(path)[1], vectors)
    assert len(vectors.table) == before


# ------------------------------------------------------------------ metrics


def test_metrics_against_hand_computed_values() -> None:
    ranked = [(2, 1), (0, 0), (2, 0), (1, 1), (0, 1)]
    assert turn_recall(ranked, [(0, 0), (1, 0)], 1) == 0.0
    assert turn_recall(ranked, [(0, 0), (1, 0)], 5) == 0.5
    assert turn_recall(ranked, [], 5) is None
    assert session_recall(ranked, [0, 1], 1) == (0.0, 0.0)
    assert session_recall(ranked, [0, 1], 2) == (1.0, 0.0)
    assert session_recall(ranked, [0, 1], 5) == (1.0, 1.0)
    assert session_recall(ranked, [], 5) is None
    # sessions in order: 2, 0, 1; gains 0, 1, 1 -> 0 + 1/log2(2) + 1/log2(3); ideal 1 + 1
    assert dcg([1.0, 1.0, 1.0]) == pytest.approx(2 + 1 / math.log2(3))
    expected = (1 + 1 / math.log2(3)) / 2
    assert session_ndcg(ranked, [0, 1]) == pytest.approx(expected)
    assert session_ndcg([(0, 0)], [0]) == 1.0 and session_ndcg(ranked, []) is None


def _row(qid: str, qtype: str, ranked: list[tuple[int, int]], gold: list[tuple[int, int]],
         sessions: list[int], abstention: bool = False) -> LmeResult:  # fmt: skip
    return LmeResult(
        qid, qtype, "q", "a", abstention, gold, sessions,
        {"default": ranked, "dense": ranked[::-1], "bm25": []},
        {"default": 1.0, "dense": 2.0, "bm25": 3.0},
    )  # fmt: skip


def test_summary_by_type_with_abstention_apart() -> None:
    rows = [
        _row("a", "single-session-user", [(0, 0), (1, 0)], [(0, 0)], [0]),
        _row("b", "multi-session", [(1, 0), (2, 0)], [(0, 0), (2, 0)], [0, 2]),
        _row("c", "multi-session", [(1, 0)], [], [1]),  # no has_answer turn: no turn recall
        _row("d_abs", "multi-session", [(5, 5)], [(0, 0)], [0], abstention=True),
    ]
    doc = summarize(LmeRun(rows, ["default", "dense", "bm25"], 30, 40, True, 2.0, 1.5))
    assert doc["questions"] == 3 and doc["abstention"]["questions"] == 1
    # turn @1: a 1, b 0 -> 0.5; @5: a 1, b 1/2 -> 0.75 (c skipped)
    assert doc["recall_at"] == {"1": 0.5, "5": 0.75, "10": 0.75}
    # any@5: a 1, b 1, c 1; all@5: a 1, b 0, c 1
    assert doc["session_recall_any_at"]["5"] == 1.0
    assert doc["session_recall_all_at"]["5"] == pytest.approx(0.6667)
    # NDCG: a 1; b sessions 1, 2 -> (0 + 1) / 2; c 1
    assert doc["ndcg_at_10"] == pytest.approx(round(2.5 / 3, 4))
    assert doc["recall_at_by_type"]["multi-session"]["5"] == 0.5
    assert doc["baselines"]["dense"]["recall_at"]["1"] == 0.25  # a: (1, 0) first 0; b: (2, 0) 1/2
    assert doc["baselines"]["bm25"]["recall_at"]["10"] == 0.0
    assert doc["abstention"]["recall_at"]["10"] == 0.0 and doc["f1"] is None
    assert doc["ingest_turns_per_s"] == 20.0


# ------------------------------------------------------------------ the command

JSON_KEYS = {
    "questions",
    "recall_at",
    "session_recall_any_at",
    "session_recall_all_at",
    "recall_at_by_type",
    "baselines",
    "ingest_turns_per_s",
}


def test_retrieval_only_run_prints_the_json_and_writes_the_reports(
    tmp_path: Path, data_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    args = lme_args("--data", str(data_file), "--out", str(out), "--retrieval-only", "--json")
    assert eval_longmemeval(args, no_user_agent, builder(tmp_path)) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= JSON_KEYS
    assert set(doc["recall_at"]) == {"1", "5", "10"}
    assert set(doc["session_recall_any_at"]) == set(doc["session_recall_all_at"]) == {"5", "10"}
    assert set(doc["baselines"]) == {"dense", "bm25"}
    assert all(set(b["recall_at"]) == {"1", "5", "10"} for b in doc["baselines"].values())
    assert set(doc["recall_at_by_type"]) == {
        "single-session-user",
        "single-session-assistant",
        "multi-session",
    }
    assert doc["questions"] == 3 and doc["abstention"]["questions"] == 1
    # six turns: every has_answer turn and answer session is within the top 10
    assert doc["recall_at"]["10"] == 1.0 and doc["session_recall_all_at"]["10"] == 1.0
    assert doc["ingest_turns_per_s"] > 0 and doc["f1"] is None
    assert json.loads((out / "report.json").read_text()) == doc
    md = (out / "report.md").read_text()
    assert "turn @5" in md and "| multi-session | bm25 |" in md and "GPT-4o" in md
    assert (out / "recall.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len((out / "questions.jsonl").read_text().splitlines()) == 4
    assert (out / "longmemeval.db").is_file()


def test_qa_run_scores_f1_and_contains(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "q.json"
    path.write_text(json.dumps(questions()), encoding="utf-8")
    built: list[Agent] = []
    args = lme_args("--data", str(path), "--out", str(tmp_path / "r"), "--json", "--limit", "1")
    assert eval_longmemeval(args, no_user_agent, builder(tmp_path, built, reply="Biscuit")) == 0
    doc = json.loads(capsys.readouterr().out)
    row = json.loads((tmp_path / "r" / "questions.jsonl").read_text())
    assert row["question_id"] == "q1" and row["prediction"]
    assert doc["f1"] == row["f1"] and doc["contains_answer"] == row["contains"]
    assert "Biscuit" in row["prediction"] and row["contains"] == 1.0
    assert doc["answers"]["answered_from"] is not None and "GPT-4o" in doc["judge_note"]


def test_types_and_limit_choose_the_questions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "q.json"
    path.write_text(json.dumps(questions()), encoding="utf-8")
    out = tmp_path / "r"
    argv = ["--data", str(path), "--out", str(out), "--retrieval-only", "--json"]
    args = lme_args(*argv, "--types", "multi-session,single-session-assistant", "--limit", "1")
    assert eval_longmemeval(args, no_user_agent, builder(tmp_path)) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["questions"] == 1 and set(doc["recall_at_by_type"]) == {"single-session-assistant"}
    with pytest.raises(UsageError, match="known: single-session-user"):
        eval_longmemeval(lme_args(*argv, "--types", "bogus"), no_user_agent, builder(tmp_path))


# ------------------------------------------------------------------ whose words (issue 19)

GUITAR = _session(
    ("user", "I play at the festival. I got my guitar serviced at a shop on Main St.", True),
    (
        "assistant",
        "Getting a guitar serviced before a festival is wise: a serviced guitar stays in tune. "
        "When a guitar is serviced the shop checks the frets, the neck, the action, the "
        "intonation and the electronics of the guitar, and a well serviced guitar plays "
        "better on stage, so ask them what they serviced on the guitar and what it cost.",
        False,
    ),
)


def test_the_user_s_words_outrank_the_assistant_s_long_echo(tmp_path: Path) -> None:
    """The bug of issue 19: the assistant's long reply that repeats the user's fact ranked
    above the user's turn that states it (length prior, more shared words). A question about
    the user reads the user's words first; one about what the assistant said, the assistant's."""
    raw = question("g1", "knowledge-update", "Where did I get my guitar serviced?", "Main St", [0])
    raw["haystack_sessions"] = [GUITAR, VIOLIN, RECIPE]
    path = tmp_path / "g.json"
    path.write_text(json.dumps([raw]), encoding="utf-8")
    q = load_longmemeval(path)[0]
    agent = make_fake_agent(tmp_path)
    ingested = ingest_question(agent, q, EncodingCache(agent.store.encoder.encode))
    where = ingested.position_of
    about_me = agent.search("Where did I get my guitar serviced?", k=1).results
    assert [where[i.id] for i in about_me] == [(0, 0)]
    about_you = agent.search("What did you tell me about a guitar serviced?", k=1).results
    assert where[about_you[0].id] == (0, 1)
    with agent.sessions() as db:
        speakers = db.scalars(select(Turn.speaker).order_by(Turn.id)).all()
    assert speakers[:2] == ["", "Assistant"]
