"""`memchat eval locomo` with fake models: loading, ingest, recall math and the whole run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
import torch
from sqlalchemy import select

from agent.core import Agent
from agent.errors import MemchatError
from agent.eval.ingest import ingest_sample
from agent.eval.locomo import QuestionResult, RunResult, dia_ranking, mean_recall, recall_at
from agent.eval.locomo_data import (
    LocomoFormatError,
    load_locomo,
    parse_date,
    parse_evidence,
)
from agent.eval.report import percentile, summarize
from agent.memory.batch_encode import encode_batched
from agent.memory.write import address_text
from agent.settings import Settings
from storage.models import ChatSession, Memory, Turn
from tests.conftest import make_fake_agent
from tests.fakes import FakeEncoder, FakeGenerator
from tui.eval_command import add_eval_parser, eval_locomo

SESSION_1 = [
    ("Alice", "Hi Bob! I adopted a puppy named Biscuit last week."),
    ("Bob", "Congrats Alice! I started learning the violin."),
    ("Alice", "Here is Biscuit at the beach."),
    ("Bob", "So cute. I am vegetarian, by the way."),
    ("Alice", "Good to know. My sister lives in Paris."),
]
SESSION_2 = [
    ("Bob", "Hey Alice, my violin recital is next Friday."),
    ("Alice", "Amazing! I took Biscuit hiking in the Alps."),
    ("Bob", "I painted a sunset over the lake."),
    ("Alice", "I love pottery, I made a blue bowl."),
    ("Bob", "See you soon!"),
]
CAPTION = "a dog running on a sandy beach"


def _turns(session: int, turns: list[tuple[str, str]]) -> list[dict[str, Any]]:
    rows = [
        {"speaker": s, "dia_id": f"D{session}:{i + 1}", "text": t} for i, (s, t) in enumerate(turns)
    ]
    return rows


def sample(sample_id: str = "conv-t") -> dict[str, Any]:
    """A tiny LoCoMo sample: 2 sessions, 10 turns, one photo, 6 questions (one category 5)."""
    session_1 = _turns(1, SESSION_1)
    session_1[2].update(blip_caption=CAPTION, img_url="http://example.invalid/1.jpg")
    qa = [
        {"question": "What is the name of Alice's puppy?", "answer": "Biscuit",
         "evidence": ["D1:1"], "category": 4},
        {"question": "What hobbies does Bob have?", "answer": "violin, painting",
         "evidence": ["D1:2; D2:3"], "category": 1},
        {"question": "When is Bob's violin recital?", "answer": "the Friday after 12 June 2023",
         "evidence": ["D2:1"], "category": 2},
        {"question": "Would Alice enjoy a beach trip?", "answer": "Yes; she took her dog there",
         "evidence": ["D1:3", "D9:99"], "category": 3},
        {"question": "What did Alice make out of clay?", "answer": 1,
         "evidence": [" D2:04 ", "D"], "category": 4},
        {"question": "What instrument does Alice play?", "adversarial_answer": "violin",
         "evidence": ["D1:2"], "category": 5},
    ]  # fmt: skip
    return {
        "sample_id": sample_id,
        "conversation": {
            "speaker_a": "Alice",
            "speaker_b": "Bob",
            "session_1_date_time": "1:56 pm on 8 May, 2023",
            "session_1": session_1,
            "session_2_date_time": "10:04 am on 12 June, 2023",
            "session_2": _turns(2, SESSION_2),
            "session_3_date_time": "9:00 am on 1 July, 2023",  # a date without turns
        },
        "qa": qa,
        "observation": {},
    }


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "locomo.json"
    path.write_text(json.dumps([sample()]), encoding="utf-8")
    return path


def builder(home: Path, built: list[Agent] | None = None, reply: str | None = None) -> Any:
    """Builds the evaluation's agent with fake models on the database it is given."""

    def build(settings: Settings) -> Agent:
        agent = make_fake_agent(home, db=settings.db)
        if reply is not None:
            agent.models.generator.reply = reply  # type: ignore[attr-defined]
        if built is not None:
            built.append(agent)
        return agent

    return build


def no_user_agent() -> Agent:
    raise AssertionError("the evaluation must not build the user's agent")


def eval_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="memchat")
    add_eval_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["eval", "locomo", *argv])


# ------------------------------------------------------------------ data


def test_dates_and_evidence_are_parsed_robustly() -> None:
    assert parse_date("1:56 pm on 8 May, 2023") == "8 May 2023"
    assert parse_date("10:04 am on 19 December, 2023") == "19 December 2023"
    assert parse_date("sometime in spring") == "sometime in spring"
    assert parse_evidence(["D1:3; D2:4", " D10:05 ", "D:11:26", "D", "D1:3"]) == [
        "D1:3",
        "D2:4",
        "D10:5",
        "D11:26",
    ]


def test_load_keeps_existing_evidence_and_sessions_with_turns(data_file: Path) -> None:
    [s] = load_locomo(data_file)
    assert (s.sample_id, s.speaker_a, s.speaker_b, s.turn_count) == ("conv-t", "Alice", "Bob", 10)
    assert [(x.number, x.date) for x in s.sessions] == [(1, "8 May 2023"), (2, "12 June 2023")]
    assert s.sessions[0].turns[2].blip_caption == CAPTION
    evidence = [q.evidence for q in s.questions]
    assert evidence == [["D1:1"], ["D1:2", "D2:3"], ["D2:1"], ["D1:3"], ["D2:4"], ["D1:2"]]
    assert s.questions[4].answer == "1" and s.questions[5].answer == "violin"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("{not json", "not valid JSON"),
        ("[]", "non-empty list"),
        ('[{"qa": []}]', "'conversation' must be an object"),
        ('[{"conversation": {"session_1": []}}]', "'qa' must be a list"),
        ('[{"conversation": {}, "qa": []}]', "no 'session_N' lists"),
        ('[{"conversation": {"session_1": [{"speaker": "A"}]}, "qa": []}]', "'dia_id'"),
        (
            '[{"conversation": {"session_1": []}, "qa": [{"question": "q", "category": 9}]}]',
            "'category' must be 1 to 5",
        ),
    ],
)
def test_malformed_files_fail_with_one_line(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(LocomoFormatError) as info:
        load_locomo(path)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, MemchatError)


# ------------------------------------------------------------------ ingest


def test_ingest_writes_turns_sessions_keys_and_the_dia_map(tmp_path: Path, data_file: Path) -> None:
    agent = make_fake_agent(tmp_path)
    [s] = load_locomo(data_file)
    ingested = ingest_sample(agent, s)
    assert agent.profile_name == "locomo-conv-t" and ingested.turns == 10
    with agent.sessions() as db:
        turns = db.scalars(select(Turn).order_by(Turn.id)).all()
        labels = db.scalars(select(ChatSession.label).order_by(ChatSession.id)).all()
        memories = {m.id: m for m in db.scalars(select(Memory)).all()}
    assert [t.speaker for t in turns] == [sp for sp, _ in SESSION_1 + SESSION_2]
    assert {t.role for t in turns} == {"user"}
    assert labels == ["8 May 2023", "12 June 2023"]
    keys = [m.key_text for m in sorted(memories.values(), key=lambda m: m.id) if m.kind == "turn"]
    assert keys[0] == "8 May 2023 Alice: Hi Bob! I adopted a puppy named Biscuit last week."
    assert keys[2] == f"8 May 2023 Alice: Here is Biscuit at the beach. [shares a photo: {CAPTION}]"
    assert keys[5] == "12 June 2023 Bob: Hey Alice, my violin recital is next Friday."
    turn_dias = [ingested.dia_of[m.id] for m in memories.values() if m.kind == "turn"]
    assert sorted(turn_dias) == sorted(
        [f"D1:{i}" for i in range(1, 6)] + [f"D2:{i}" for i in range(1, 6)]
    )
    extracted = {m.key_text: ingested.dia_of[m.id] for m in memories.values() if m.kind != "turn"}
    # Alice (the first speaker) is the user; Bob's statements are about Bob
    assert extracted == {"Bob diet": "D1:4", "likes": "D2:4", "Bob violin recital date": "D2:1"}
    assert set(ingested.key_of) == set(memories)


def test_ingest_keeps_each_speaker_s_facts_apart(tmp_path: Path) -> None:
    """Both speakers state a diet and a job: four memories, none overwriting another (the
    ingest once put both speakers' statements in the same slots)."""
    data = sample()
    data["conversation"]["session_1"] = _turns(
        1,
        [
            ("Alice", "I am vegetarian and I work as a nurse."),
            ("Bob", "I am vegan and I work as a pilot."),
            ("Alice", "I love jazz."),
            ("Bob", "I hate jazz."),
        ],
    )
    data["conversation"]["session_2"] = _turns(2, [("Bob", "I work as a baker now.")])
    data["qa"] = []
    path = tmp_path / "two.json"
    path.write_text(json.dumps([data]), encoding="utf-8")
    agent = make_fake_agent(tmp_path)
    ingested = ingest_sample(agent, load_locomo(path)[0])
    with agent.sessions() as db:
        memories = db.scalars(select(Memory).where(Memory.kind != "turn")).all()
    found = {m.slot: (m.key_text, m.value_text, ingested.dia_of[m.id]) for m in memories}
    assert found == {
        "diet": ("diet", "vegetarian", "D1:1"),
        "job": ("job", "nurse", "D1:1"),
        "likes:jazz": ("likes", "jazz", "D1:3"),
        "person:bob:diet": ("Bob diet", "vegan", "D1:2"),
        "person:bob:job": ("Bob job", "baker", "D2:1"),  # Bob's own update, not Alice's job
        "person:bob:dislikes:jazz": ("Bob dislikes", "jazz", "D1:4"),  # Alice still likes it
    }


def test_keys_are_encoded_in_length_sorted_batches_in_the_given_order() -> None:
    texts = ["a b c", "x", "hello world there", "q r", "one"] * 7
    calls: list[int] = []

    def encode(batch: list[str]) -> torch.Tensor:
        calls.append(len(batch))
        return FakeEncoder().encode(batch)

    assert torch.equal(encode_batched(encode, texts, batch=8), FakeEncoder().encode(texts))
    assert calls == [8, 8, 8, 8, 3]


def test_batches_are_sorted_by_the_model_s_sizes_when_given() -> None:
    """With `sizes` (tokens), texts of a similar size share a batch though their characters
    differ: a long word is one size, three short words three."""
    texts = ["a b c", "extraordinarily", "x y z", "unbelievably"]
    batches: list[list[str]] = []

    def encode(batch: list[str]) -> torch.Tensor:
        batches.append(batch)
        return FakeEncoder().encode(batch)

    got = encode_batched(encode, texts, batch=2, sizes=FakeEncoder().sizes)
    assert torch.equal(got, FakeEncoder().encode(texts))  # rows in the order given
    assert sorted(map(sorted, batches)) == [["a b c", "x y z"], ["extraordinarily", "unbelievably"]]


def test_ingest_encodes_in_a_few_batches_and_stores_each_text_s_own_vector(
    tmp_path: Path, data_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = make_fake_agent(tmp_path)
    [s] = load_locomo(data_file)
    batches: list[int] = []
    real_encode = agent.store.encoder.encode

    def counting_encode(texts: list[str]) -> torch.Tensor:
        batches.append(len(texts))
        return real_encode(texts)

    monkeypatch.setattr(agent.store.encoder, "encode", counting_encode)
    ingest_sample(agent, s)
    # 10 turn keys in one batch, then the 3 statements' address and value texts in one more
    assert batches == [10, 6]
    with agent.sessions() as db:
        memories = db.scalars(select(Memory)).all()
    fake = FakeEncoder()
    for m in memories:
        key = torch.frombuffer(bytearray(m.key_emb), dtype=torch.float32)
        value = torch.frombuffer(bytearray(m.value_emb), dtype=torch.float32)
        if m.kind == "turn":
            assert torch.allclose(key, fake.encode([m.key_text])[0])
        else:  # a statement: its value vector is its value's, its key the address text's
            assert torch.allclose(value, fake.encode([m.value_text])[0])
            address = address_text(m.key_text, m.value_text, True)
            assert torch.allclose(key, fake.encode([address])[0])


def test_ingest_again_resets_the_profile(tmp_path: Path, data_file: Path) -> None:
    agent = make_fake_agent(tmp_path)
    [s] = load_locomo(data_file)
    ingest_sample(agent, s)
    again = ingest_sample(agent, s)
    assert len(agent.list_memories("turn")) == 10 and again.turns == 10


# ------------------------------------------------------------------ recall math


def test_recall_against_hand_computed_values() -> None:
    dia_of = {1: "D1:1", 2: "D1:2", 3: "D1:1", 4: "D2:3", 5: "D2:1"}
    ranked = dia_ranking([3, 1, 9, 2, 4, 5], dia_of, 20)  # 1 repeats 3's turn; 9 is unknown
    assert ranked == ["D1:1", "D1:2", "D2:3", "D2:1"]
    assert recall_at(ranked, ["D1:2", "D2:3"], 1) == 0.0
    assert recall_at(ranked, ["D1:2", "D2:3"], 2) == 0.5
    assert recall_at(ranked, ["D1:2", "D2:3"], 3) == 1.0
    assert recall_at(ranked, [], 5) is None
    pairs = [(ranked, ["D1:1"]), (ranked, ["D1:2", "D2:3"]), (ranked, ["D9:9"]), (ranked, [])]
    # @1: (1 + 0 + 0) / 3; @5: (1 + 1 + 0) / 3; the pair without evidence does not count
    assert mean_recall(pairs, (1, 5)) == {"1": pytest.approx(1 / 3), "5": pytest.approx(2 / 3)}
    assert mean_recall([], (1,)) == {"1": None}
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5 and percentile([], 95) is None


def test_summary_by_category_and_baselines() -> None:
    def row(category: int, ranked: dict[str, list[str]], evidence: list[str]) -> QuestionResult:
        return QuestionResult("s", "q", category, "a", evidence, ranked, {m: 1.0 for m in ranked})

    rows = [
        row(1, {"default": ["D1:1", "D1:2"], "bm25": ["D1:2"]}, ["D1:1", "D1:2"]),
        row(4, {"default": ["D2:2", "D2:1"], "bm25": ["D2:1"]}, ["D2:1"]),
        row(5, {"default": ["D1:1"], "bm25": []}, ["D1:1"]),
    ]
    doc = summarize(RunResult(rows, ["default", "bm25"], 1, 10, 12, True, 1.0))
    assert doc["recall_at"]["1"] == 0.25  # (1/2 + 0) / 2
    assert doc["recall_at"]["5"] == 1.0
    assert doc["recall_at_by_category"]["1"]["1"] == 0.5
    assert doc["recall_at_by_category"]["2"]["1"] is None
    assert doc["baselines"]["bm25"]["recall_at"]["1"] == 0.75  # (1/2 + 1) / 2
    assert doc["questions"] == 2 and doc["category_5"]["count"] == 1
    assert doc["f1"] is None and doc["latency_ms"]["answer_p50"] is None


# ------------------------------------------------------------------ the command


REPORT_KEYS = {
    "recall_at",
    "recall_at_by_category",
    "f1",
    "f1_by_category",
    "latency_ms",
    "prompt_tokens_mean",
    "baselines",
    "questions",
    "conversations",
    "category_5",
}


def test_retrieval_only_run_writes_the_reports(
    tmp_path: Path, data_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    args = eval_args("--data", str(data_file), "--out", str(out), "--retrieval-only", "--json")
    assert eval_locomo(args, no_user_agent, builder(tmp_path)) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= REPORT_KEYS
    assert (doc["questions"], doc["conversations"], doc["category_5"]["count"]) == (5, 1, 1)
    assert set(doc["recall_at"]) == {"1", "5", "10", "20"}
    assert set(doc["recall_at_by_category"]) == {"1", "2", "3", "4"}
    assert set(doc["baselines"]) == {"dense", "bm25", "hops=1", "hops=2", "links on", "links off"}
    for baseline in doc["baselines"].values():
        assert set(baseline["recall_at"]) == {"1", "5", "10", "20"}
        assert set(baseline["recall_at_by_category"]) == {"1", "2", "3", "4"}
    # 10 turns: every method finds every evidence turn within 20
    assert doc["recall_at"]["20"] == 1.0 and doc["baselines"]["bm25"]["recall_at"]["20"] == 1.0
    assert doc["f1"] is None and doc["prompt_tokens_mean"] is None
    assert doc["latency_ms"]["answer_p95"] is None and doc["latency_ms"]["read_p50"] > 0
    assert json.loads((out / "report.json").read_text()) == doc
    md = (out / "report.md").read_text()
    assert "default @5" in md and "dense @5" in md and "bm25 @5" in md and "4 single-hop" in md
    assert (out / "recall.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len((out / "questions.jsonl").read_text().splitlines()) == 6
    assert (out / "locomo.db").is_file()


def test_qa_run_answers_through_the_chat_answer_path(
    tmp_path: Path, data_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The QA goes through `Agent.answer`: questions about the conversation are answered from
    the memories read, without the model (no prompt), dated from the session of the turn; a
    guess ("would Alice enjoy...?") goes to the model, as in the chat."""
    built: list[Agent] = []
    args = eval_args("--data", str(data_file), "--out", str(tmp_path / "r"), "--json")
    build = builder(tmp_path, built, reply="a generated reply the QA must not use")
    assert eval_locomo(args, no_user_agent, build) == 0
    doc = json.loads(capsys.readouterr().out)
    generator = built[0].models.generator
    assert isinstance(generator, FakeGenerator) and len(generator.prompts) == 1
    answers = {
        row["question"]: row
        for row in map(json.loads, (tmp_path / "r" / "questions.jsonl").read_text().splitlines())
    }
    puppy = answers["What is the name of Alice's puppy?"]
    assert puppy["prediction"] == "Biscuit." and puppy["f1"] == 1.0
    assert puppy["answered_from"] == "memory" and len(puppy["cited"]) == 1
    # "next Friday", said on 12 June 2023
    assert answers["When is Bob's violin recital?"]["prediction"] == "12 June 2023."
    guess = answers["Would Alice enjoy a beach trip?"]
    assert guess["answered_from"] == "model" and guess["prediction"] == generator.reply
    assert generator.prompts[0][-1]["content"] == "Would Alice enjoy a beach trip?"
    assert doc["f1"] > 0.3 and doc["prompt_tokens_mean"] > 0
    assert doc["answered_from"]["model"] == 0.2 and doc["latency_ms"]["answer_p50"] > 0
    # category 5: the violin is Bob's; asked about Alice, the answer is "not mentioned"
    assert doc["category_5"]["abstained"] == 1.0 and doc["category_5"]["f1"] == 1.0


def test_limit_is_a_number_of_conversations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "two.json"
    path.write_text(json.dumps([sample("a"), sample("b")]), encoding="utf-8")
    args = eval_args(
        "--data", str(path), "--out", str(tmp_path / "r"), "--retrieval-only", "--limit", "1"
    )
    eval_locomo(args, no_user_agent, builder(tmp_path))
    out = capsys.readouterr().out
    assert "1 conversation, 5 questions" in out and "bm25" in out


def test_bad_data_file_is_a_one_line_error(tmp_path: Path) -> None:
    args = eval_args("--data", str(tmp_path / "missing.json"), "--out", str(tmp_path / "r"))
    with pytest.raises(MemchatError, match="no such file"):
        eval_locomo(args, no_user_agent, builder(tmp_path))
    assert not (tmp_path / "r").exists()


def test_help_says_limit_counts_conversations(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        eval_args("--help")
    assert "first N conversations" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        eval_args("--data", "x", "--limit", "0")
