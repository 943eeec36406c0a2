"""The LongMemEval run: each question's haystack into a fresh profile through the chat's write
path, then the question read with the product's read and the dense and BM25 baselines over the
same memories (turn and session recall, NDCG), and, unless retrieval-only, answered.

Every metric is over the turns of the top memories of a read, each memory mapped to the
(session, turn) of its source turn (a preference or fact to the turn that stated it), each
turn counted once, at its best memory's rank; the top k of these:

- turn recall@k: |has_answer turns among them| / |has_answer turns|;
- session recall_any@k / recall_all@k: any / all answer sessions among their sessions;
- NDCG@10: their sessions, first occurrences in order, gain 1 for an answer session, with the
  DCG of the LongMemEval code (`rel_1 + sum_{i>=2} rel_i / log2(i)`).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch

from agent.core import Agent
from agent.eval.ingest import Ingested, fresh_profile, memory_map
from agent.eval.locomo import (
    TOP_K,
    AgentRead,
    Method,
    MethodContext,
    method_factories,
    read_with_each,
)
from agent.eval.locomo import prompt_tokens as count_prompt_tokens
from agent.eval.longmemeval_data import LmeQuestion, LmeSession, parse_lme_date
from agent.eval.scorer import f1_score, normalize_answer
from agent.history.turns import PastTurn, past_turn, write_past_turn
from agent.memory.batch_encode import encode_batched
from agent.memory.store import ReadItem
from agent.text import clean_text
from agent.turn import (
    elapsed_ms,
)
from storage import repo

RECALL_KS = (1, 5, 10)
SESSION_KS = (5, 10)
NDCG_K = 10
METHODS = ("default", "dense", "bm25")  # the product's read, then the baselines

Position = tuple[int, int]  # (session index, turn index) in the question's haystack


class EncodingCache:
    """Vectors by text for the whole run: LongMemEval's haystack sessions repeat across
    questions, so most of a question's texts have been encoded for an earlier one."""

    def __init__(
        self,
        encode: Callable[[list[str]], torch.Tensor],
        sizes: Callable[[list[str]], list[int]] | None = None,
    ) -> None:
        self.model_encode, self.sizes = encode, sizes
        self.table: dict[str, torch.Tensor] = {}

    def add(self, texts: Iterable[str]) -> None:
        """Encode the texts not seen yet, in batches of similar length."""
        missing = list(dict.fromkeys(t for t in texts if t not in self.table))
        if missing:
            vectors = encode_batched(self.model_encode, missing, sizes=self.sizes)
            self.table.update(zip(missing, vectors, strict=True))

    def __call__(self, texts: list[str]) -> torch.Tensor:
        """An `encode` for the write path: (len(texts), d)."""
        self.add(texts)
        return torch.stack([self.table[t] for t in texts])


# ------------------------------------------------------------------ ingest


def plan_session(session: LmeSession) -> list[tuple[int, PastTurn]]:
    """The session's non-empty turns, each with its index in the session, dated with the
    session's day."""
    planned = []
    for i, turn in enumerate(session.turns):
        said = clean_text(turn.content)
        if said:
            planned.append((i, past_turn(turn.role, said, session.day)))
    return planned


def write_session(
    agent: Agent,
    profile_id: int,
    at: tuple[int, LmeSession],
    planned: list[tuple[int, PastTurn]],
    vectors: EncodingCache,
) -> dict[int, Position]:
    """Haystack session `at` (index, session) as one chat session labelled with its date, in
    one transaction. Returns Turn row id -> (session index, turn index)."""
    index, session = at
    rows: dict[int, Position] = {}
    with agent.store.unit(profile_id) as unit:
        session_id = repo.start_session(unit.session, profile_id, session.date).id
        for position, turn in planned:
            row, _ = write_past_turn(unit, session_id, turn, vectors)
            rows[row.id] = (index, position)
    return rows


@dataclass(frozen=True)
class LmeIngested:
    """A question's haystack in its profile: `base` for the methods (its `dia_of` labels each
    memory "session:turn"), and where each memory's source turn is."""

    base: Ingested
    position_of: dict[int, Position]


def ingest_question(
    agent: Agent,
    question: LmeQuestion,
    vectors: EncodingCache,
    on_session: Callable[[int], None] | None = None,
) -> LmeIngested:
    """The haystack of `question` into a fresh profile `lme-<question_id>` (made active).
    `on_session(turns)` is told after each session is written."""
    profile_id = fresh_profile(agent, f"lme-{question.question_id}")
    agent.store.cache(profile_id)  # loaded once: each write then updates it in place
    plans = [plan_session(s) for s in question.sessions]
    # all the question's new texts in one go: batches of similar length across sessions
    vectors.add(t for plan in plans for _, turn in plan for t in turn.texts())
    rows: dict[int, Position] = {}
    for index, (session, plan) in enumerate(zip(question.sessions, plans, strict=True)):
        rows.update(write_session(agent, profile_id, (index, session), plan, vectors))
        if on_session is not None:
            on_session(len(session.turns))
    position_of, key_of = memory_map(agent, profile_id, rows)
    labels = {m: f"{s}:{t}" for m, (s, t) in position_of.items()}
    base = Ingested(profile_id, labels, key_of, len(rows), len(question.sessions))
    return LmeIngested(base, position_of)


# ------------------------------------------------------------------ metrics (pure)


def gold_turns(question: LmeQuestion) -> list[Position]:
    """The (session, turn) of every turn marked has_answer."""
    return [
        (s, t)
        for s, session in enumerate(question.sessions)
        for t, turn in enumerate(session.turns)
        if turn.has_answer
    ]


def gold_sessions(question: LmeQuestion) -> list[int]:
    """The haystack indices of the answer sessions."""
    answers = set(question.answer_session_ids)
    return [i for i, s in enumerate(question.sessions) if s.session_id in answers]


def turn_recall(ranked: list[Position], gold: list[Position], k: int) -> float | None:
    """|gold turns among the first k| / |gold turns|; None without gold turns."""
    wanted = set(gold)
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else None


def session_recall(ranked: list[Position], gold: list[int], k: int) -> tuple[float, float] | None:
    """(recall_any, recall_all) of the gold sessions among the first k memories' sessions."""
    if not gold:
        return None
    found = {s for s, _ in ranked[:k]}
    return float(any(s in found for s in gold)), float(all(s in found for s in gold))


def dcg(gains: list[float]) -> float:
    """The LongMemEval code's DCG: the first gain, then gain_i / log2(i), i >= 2."""
    return sum(g if i == 0 else g / math.log2(i + 1) for i, g in enumerate(gains))


def session_ndcg(ranked: list[Position], gold: list[int], k: int = NDCG_K) -> float | None:
    """NDCG@k of the sessions of the first k memories, first occurrences in order."""
    if not gold:
        return None
    sessions = list(dict.fromkeys(s for s, _ in ranked[:k]))
    ideal = dcg([1.0] * min(len(set(gold)), k))
    return dcg([1.0 if s in gold else 0.0 for s in sessions]) / ideal


# ------------------------------------------------------------------ one question


@dataclass
class LmeResult:
    question_id: str
    question_type: str
    question: str
    answer: str
    abstention: bool
    gold_turns: list[Position]
    gold_sessions: list[int]
    ranked: dict[str, list[Position]] = field(default_factory=dict)  # method -> memories' turns
    read_ms: dict[str, float] = field(default_factory=dict)
    prediction: str | None = None
    f1: float | None = None
    contains: float | None = None  # 1 if the normalised answer is in the normalised reply
    answer_ms: float | None = None  # read + answer
    prompt_tokens: int | None = None
    answered_from: str | None = None  # memory | nothing (abstained) | model


def contains_answer(prediction: str, answer: str) -> float:
    """1.0 if the normalised answer text is in the normalised prediction, else 0.0."""
    gold = normalize_answer(answer)
    return 1.0 if gold and gold in normalize_answer(prediction) else 0.0


def answer_lme(agent: Agent, result: LmeResult, read: list[ReadItem]) -> None:
    """Answer from the read through the chat's own answer path and score it (fills `result`)."""
    started = time.perf_counter()
    answered, prompt = agent.answer(agent.profile_id(), result.question, read)
    result.prediction = answered.reply
    result.answer_ms = result.read_ms["default"] + elapsed_ms(started)
    result.prompt_tokens = count_prompt_tokens(agent.models.generator, prompt.messages)
    result.answered_from = answered.source_kind
    result.f1 = f1_score(result.prediction, result.answer)
    result.contains = contains_answer(result.prediction, result.answer)


def evaluate_lme_question(
    agent: Agent, question: LmeQuestion, methods: dict[str, Method], ingested: LmeIngested, qa: bool
) -> LmeResult:
    """Every method's top memories (as turn positions) and latency; the answer when `qa`."""
    result = LmeResult(
        question.question_id,
        question.question_type,
        question.question,
        question.answer,
        question.abstention,
        gold_turns(question),
        gold_sessions(question),
    )
    where = ingested.position_of
    result.read_ms, result.ranked = read_with_each(
        methods,
        question.question,
        # a turn once, at its best memory's rank (a fact stated in it may rank too)
        lambda ids: list(dict.fromkeys(where[i] for i in ids if i in where)),
    )
    reader = methods["default"]
    if qa and isinstance(reader, AgentRead):
        answer_lme(agent, result, reader.last.results)
    return result


# ------------------------------------------------------------------ the run


@dataclass
class LmeRun:
    results: list[LmeResult]
    methods: list[str]
    turns: int
    memories: int
    retrieval_only: bool
    elapsed_s: float
    ingest_s: float  # writing the haystacks, encoding included


def question_methods(
    agent: Agent, ingested: LmeIngested, question: LmeQuestion
) -> dict[str, Method]:
    """The product's read (at the question's date) and the dense and BM25 baselines over the
    question's memories."""
    asked = parse_lme_date(question.question_date)
    ctx = MethodContext(agent, ingested.base, [question.question], TOP_K, asked)
    factories = method_factories(agent)
    return {name: factories[name](ctx) for name in METHODS}


def run_longmemeval(
    agent: Agent, questions: list[LmeQuestion], retrieval_only: bool = False, progress: bool = True
) -> LmeRun:
    """Ingest and evaluate each question in turn (a tqdm bar on stderr when `progress`)."""
    from tqdm import tqdm

    started = time.perf_counter()
    if not retrieval_only:
        agent.models.generator  # noqa: B018 - a missing model fails before any work is done
    total = sum(q.turn_count + 1 for q in questions)
    bar = tqdm(total=total, file=sys.stderr, disable=not progress, unit="step", mininterval=1.0)
    vectors = EncodingCache(agent.store.encoder.encode, agent.store.encoder.sizes)
    results: list[LmeResult] = []
    turns = memories = 0
    ingest_s = 0.0
    try:
        for question in questions:
            bar.set_description(f"{question.question_id} ingest")
            t0 = time.perf_counter()
            ingested = ingest_question(agent, question, vectors, bar.update)
            ingest_s += time.perf_counter() - t0
            turns, memories = turns + ingested.base.turns, memories + len(ingested.base.key_of)
            bar.set_description(f"{question.question_id} read")
            methods = question_methods(agent, ingested, question)
            results.append(
                evaluate_lme_question(agent, question, methods, ingested, not retrieval_only)
            )
            # one profile per question: hundreds of caches held to the end would fill memory
            agent.store.forget_cache(ingested.base.profile_id)
            bar.update(1)
    finally:
        bar.close()
    elapsed = time.perf_counter() - started
    return LmeRun(results, list(METHODS), turns, memories, retrieval_only, elapsed, ingest_s)
