"""The LoCoMo run: ingest each conversation, then read each question with every retrieval
method over the same memories (recall@k of the evidence turns) and, unless retrieval-only,
answer it from the product's read (official F1, latency, prompt tokens).

Methods are pluggable: `METHODS` maps a name to a factory `MethodContext -> Method`, where a
Method maps a question to memory ids, best first. "default" is the product's read; add a row
(hops, temporal links, ...) by adding a factory.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import torch

from agent.core import Agent
from agent.eval.ingest import Ingested, Where, ingest_sample
from agent.eval.locomo_data import LocomoQuestion, LocomoSample
from agent.eval.scorer import score
from agent.memory.hybrid import HybridParams
from agent.memory.lexical import LexicalIndex
from agent.memory.store import ReadItem, ReadResult
from agent.turn import elapsed_ms

RECALL_KS = (1, 5, 10, 20)
TOP_K = max(RECALL_KS)  # memories each method returns (the default read: agent.search k)

Method = Callable[[str], list[int]]  # question -> memory ids, best first


class AgentRead:
    """The product's read, `agent.search(question, k)`; keeps the last result for the answer.

    `hops` and `links` change one mechanism of the settings' read (None: as configured);
    `learned` False reads without the learned reader's query map (the untrained read); `now`
    is when the questions are asked (None: the clock's), which a "two weeks ago" counts from.
    """

    def __init__(
        self,
        agent: Agent,
        k: int,
        hops: int | None = None,
        links: bool | None = None,
        hop_lambda: float | None = None,
        hop_terms: int | None = None,
        learned: bool = True,
        now: datetime | None = None,
    ) -> None:
        self.agent, self.k, self.learned, self.now = agent, k, learned, now
        self.last = ReadResult([], [[]], 0.0)
        st = agent.settings
        self.hops = hops or st.hops
        self.hop_lambda = st.hop_lambda if hop_lambda is None else hop_lambda
        params = agent.store.hybrid
        if links is not None:
            on = params.neighbour_hops or HybridParams().neighbour_hops
            params = replace(params, neighbour_hops=on if links else 0)
        if hop_terms is not None:
            params = replace(params, hop_terms=hop_terms)
        self.params = params

    def __call__(self, question: str) -> list[int]:
        st = self.agent.settings
        self.last = self.agent.store.search(
            self.agent.profile_id(),
            question,
            self.k,
            self.hops,
            st.tau,
            self.hop_lambda,
            self.params,
            self.learned,
            self.now,
        )
        return [item.id for item in self.last.results]


class MeanOfHops:
    """Ranks by the mean of each memory's weights over the hops of another method's last read
    (the memories in any hop's top k): what every hop found, not only the last."""

    def __init__(self, read: AgentRead) -> None:
        self.read = read

    def __call__(self, question: str) -> list[int]:
        items = {i.id: i for hop in self.read.last.hops for i in hop}
        ranked = sorted(items.values(), key=lambda i: -sum(i.hop_weights) / len(i.hop_weights))
        return [i.id for i in ranked]


@dataclass(frozen=True)
class MethodContext:
    """What a method factory may use: the agent, the ingested conversation, its questions
    (to prepare in one batch), how many memory ids to return and when they are asked (None:
    now)."""

    agent: Agent
    ingested: Ingested
    questions: list[str]
    k: int
    now: datetime | None = None


def dense_method(ctx: MethodContext) -> Method:
    """Cosine of the question's embedding with the cached memory keys, top k. The questions
    are encoded beforehand in one batch (so its latency is the read alone)."""
    cache = ctx.agent.store.cache(ctx.ingested.profile_id)
    encoder = ctx.agent.store.encoder
    unique = list(dict.fromkeys(ctx.questions))
    vectors = dict(zip(unique, encoder.encode(unique), strict=True)) if unique else {}

    def rank(question: str) -> list[int]:
        if len(cache) == 0:
            return []
        query = vectors[question] if question in vectors else encoder.encode([question])[0]
        scores = cache.cosines(query)  # (n,)
        rows = torch.topk(scores, min(ctx.k, len(cache))).indices
        return [cache.ids[r] for r in rows.tolist()]

    return rank


def bm25_method(ctx: MethodContext) -> Method:
    """BM25 over the memories' key texts, top k (ties by id)."""
    index = LexicalIndex()
    for memory_id, key in ctx.ingested.key_of.items():
        index.put(memory_id, key)

    def rank(question: str) -> list[int]:
        scores = index.scores(question)
        return sorted(scores, key=lambda i: (-scores[i], i))[: ctx.k]

    return rank


MethodFactory = Callable[[MethodContext], Method]
METHODS: dict[str, MethodFactory] = {
    "default": lambda ctx: AgentRead(ctx.agent, ctx.k, now=ctx.now),
    # the default with one mechanism changed: hops (MemN2N) and temporal links (DNC)
    "hops=1": lambda ctx: AgentRead(ctx.agent, ctx.k, hops=1, now=ctx.now),
    "hops=2": lambda ctx: AgentRead(ctx.agent, ctx.k, hops=2, now=ctx.now),
    "links on": lambda ctx: AgentRead(ctx.agent, ctx.k, links=True, now=ctx.now),
    "links off": lambda ctx: AgentRead(ctx.agent, ctx.k, links=False, now=ctx.now),
    "dense": dense_method,
    "bm25": bm25_method,
}
# With a learned reader (the setting reader_weights, or `eval locomo --reader-weights`): the
# same read without and with its query map, over the same memories.
READER_METHODS: dict[str, MethodFactory] = {
    "reader untrained": lambda ctx: AgentRead(ctx.agent, ctx.k, learned=False, now=ctx.now),
    "reader learned": lambda ctx: AgentRead(ctx.agent, ctx.k, now=ctx.now),
}


def method_factories(agent: Agent) -> dict[str, MethodFactory]:
    """METHODS, and READER_METHODS when the agent reads with a learned reader."""
    return {**METHODS, **(READER_METHODS if agent.store.query_map is not None else {})}


def reader_info(agent: Agent) -> dict[str, Any] | None:
    """The learned reader's weights file and training conversations (None without one)."""
    query_map = agent.store.query_map
    if query_map is None:
        return None
    return {"weights": query_map.path, "trained_on": list(query_map.trained_on)}


# ------------------------------------------------------------------ recall (pure)


def dia_ranking(memory_ids: Iterable[int], dia_of: dict[int, str], k: int) -> list[str]:
    """The dialogue ids of ranked memories: first occurrence kept, unknown ids skipped, k."""
    ranked: list[str] = []
    for memory_id in memory_ids:
        dia_id = dia_of.get(memory_id)
        if dia_id is not None and dia_id not in ranked:
            ranked.append(dia_id)
    return ranked[:k]


def recall_at(ranked: list[str], evidence: list[str], k: int) -> float | None:
    """|evidence in the first k| / |evidence|; None without evidence."""
    gold = set(evidence)
    if not gold:
        return None
    return len(gold & set(ranked[:k])) / len(gold)


def mean_recall(
    pairs: Iterable[tuple[list[str], list[str]]], ks: Iterable[int] = RECALL_KS
) -> dict[str, float | None]:
    """Mean recall@k over (ranked, evidence) pairs that have evidence; None if none has."""
    pairs = [(r, e) for r, e in pairs if e]
    return {
        str(k): (sum(recall_at(r, e, k) or 0.0 for r, e in pairs) / len(pairs) if pairs else None)
        for k in ks
    }


# ------------------------------------------------------------------ answers


def prompt_tokens(generator: object, messages: list[dict[str, str]]) -> int:
    """Tokens of the rendered prompt (the chat template) if the generator can tell, else the
    sum over the messages' contents."""
    if not messages:
        return 0  # answered from memory: no prompt
    counter = getattr(generator, "prompt_tokens", None)
    if callable(counter):
        return int(counter(messages))
    return sum(generator.count_tokens(m["content"]) for m in messages)  # type: ignore[attr-defined]


@dataclass
class QuestionResult:
    sample_id: str
    question: str
    category: int
    answer: str
    evidence: list[str]
    ranked: dict[str, list[str]] = field(default_factory=dict)  # method -> dialogue ids
    read_ms: dict[str, float] = field(default_factory=dict)  # method -> latency
    prediction: str | None = None
    f1: float | None = None
    answer_ms: float | None = None  # read + answer
    prompt_tokens: int | None = None
    answered_from: str | None = None  # memory | nothing (abstained) | model
    cited: list[int] = field(default_factory=list)


def answer_question(agent: Agent, result: QuestionResult, read: list[ReadItem]) -> None:
    """Answer from the read through the chat's own answer path, and score it (fills
    `result`). The agent's active profile is the conversation's."""
    profile_id = agent.profile_id()
    started = time.perf_counter()
    answered, prompt = agent.answer(profile_id, result.question, read)
    result.prediction = answered.reply
    result.answer_ms = result.read_ms["default"] + elapsed_ms(started)
    result.prompt_tokens = prompt_tokens(agent.models.generator, prompt.messages)
    result.answered_from, result.cited = answered.source_kind, answered.cited
    result.f1 = score(result.category, result.prediction, result.answer)


def read_with_each(
    methods: dict[str, Method], question: str, rank: Callable[[list[int]], list[Where]]
) -> tuple[dict[str, float], dict[str, list[Where]]]:
    """Every method's read of `question`: its latency in ms and `rank` of the memory ids it
    returned, by method name."""
    read_ms: dict[str, float] = {}
    ranked: dict[str, list[Where]] = {}
    for name, method in methods.items():
        started = time.perf_counter()
        ids = method(question)
        read_ms[name] = elapsed_ms(started)
        ranked[name] = rank(ids)
    return read_ms, ranked


def evaluate_question(
    agent: Agent,
    sample: LocomoSample,
    question: LocomoQuestion,
    methods: dict[str, Method],
    ingested: Ingested,
    qa: bool,
) -> QuestionResult:
    """Every method's ranking (and latency) for one question; the answer when `qa`."""
    result = QuestionResult(
        sample.sample_id, question.question, question.category, question.answer, question.evidence
    )
    result.read_ms, result.ranked = read_with_each(
        methods, question.question, lambda ids: dia_ranking(ids, ingested.dia_of, TOP_K)
    )
    reader = methods["default"]
    if qa and isinstance(reader, AgentRead):
        answer_question(agent, result, reader.last.results)
    return result


# ------------------------------------------------------------------ the run


@dataclass
class RunResult:
    results: list[QuestionResult]
    methods: list[str]
    conversations: int
    turns: int
    memories: int
    retrieval_only: bool
    elapsed_s: float
    reader: dict[str, Any] | None = None  # the learned reader's file and training conversations


def run_locomo(
    agent: Agent,
    samples: list[LocomoSample],
    retrieval_only: bool = False,
    progress: bool = True,
) -> RunResult:
    """Ingest and evaluate each sample in turn (a tqdm bar on stderr when `progress`)."""
    from tqdm import tqdm

    started = time.perf_counter()
    total = sum(s.turn_count + len(s.questions) for s in samples)
    if not retrieval_only:
        agent.models.generator  # noqa: B018 - a missing model fails before any work is done
    bar = tqdm(total=total, file=sys.stderr, disable=not progress, unit="step", mininterval=1.0)
    factories = method_factories(agent)
    results: list[QuestionResult] = []
    turns = memories = 0
    try:
        for sample in samples:
            bar.set_description(f"{sample.sample_id} ingest")
            ingested = ingest_sample(agent, sample, on_turn=lambda: bar.update(1))
            turns, memories = turns + ingested.turns, memories + len(ingested.key_of)
            ctx = MethodContext(agent, ingested, [q.question for q in sample.questions], TOP_K)
            methods = {name: make(ctx) for name, make in factories.items()}
            bar.set_description(f"{sample.sample_id} questions")
            for question in sample.questions:
                if question.question.strip():
                    results.append(
                        evaluate_question(
                            agent, sample, question, methods, ingested, not retrieval_only
                        )
                    )
                bar.update(1)
    finally:
        bar.close()
    elapsed = time.perf_counter() - started
    return RunResult(
        results,
        list(factories),
        len(samples),
        turns,
        memories,
        retrieval_only,
        elapsed,
        reader_info(agent),
    )
