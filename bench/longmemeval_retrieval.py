"""LongMemEval turn-level retrieval: the hybrid read's mechanisms, one at a time, against the
dense and BM25 baselines.

Each haystack turn (the user's and the assistant's) becomes one memory as `memchat eval
longmemeval` stores it: key text "<day> User|Assistant: words", the words' vector (the
product's encoder), BM25 over the key text, temporal links in write order, its speaker and the
day it was said. For every question with `has_answer` turns (abstention questions left out),
every variant scores all memories of the question's haystack, read at the question's date:
turn recall@k = |has_answer turns in the top k| / |has_answer turns|, and session
recall_any@5, overall and by question type. (The product's evaluation also writes the facts
each user turn states; over the same read they change no figure here by more than 0.01.)

    .venv/bin/python bench/longmemeval_retrieval.py \\
        --data ../shared/data/longmemeval/longmemeval_s_dev.json.xz
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.eval.longmemeval_data import (  # noqa: E402
    LmeQuestion,
    load_longmemeval,
    parse_lme_date,
)
from agent.memory.batch_encode import encode_batched  # noqa: E402
from agent.memory.hybrid import (  # noqa: E402
    ASSISTANT_SPEAKER,
    HybridParams,
    assistant_discount,
    hybrid_scores,
    key_lengths,
    speaker_match,
)
from agent.memory.lexical import LexicalIndex  # noqa: E402
from agent.memory.time_prior import day_number, time_match, when_asked  # noqa: E402
from agent.text import clean_text  # noqa: E402
from agent.turn import USER_SPEAKER, turn_key  # noqa: E402

KS = (1, 5, 10)
SESSION_K = 5


# ----------------------------------------------------------------------------- memories


class Embedder:
    """The product's encoder, with every vector kept in one file by text (the cost is the
    encoder: about ten minutes for the dev file's 47k texts on 2 cores)."""

    def __init__(self, path: Path | None) -> None:
        from agent.models.encoder import FORWARD_DTYPE, MAX_TOKENS

        self.path, self.table, self._encoder = path, {}, None
        self.how = f"{MAX_TOKENS}:{FORWARD_DTYPE}"  # vectors of another setting are not reused
        if path is not None and path.exists():
            saved = torch.load(path)
            if saved.get("how") == self.how:
                self.table = dict(zip(saved["texts"], saved["vectors"].float(), strict=True))

    def add(self, texts: list[str]) -> None:
        missing = sorted({t for t in texts if t not in self.table}, key=len)
        if not missing:
            return
        from tqdm import tqdm

        if self._encoder is None:
            from agent.models.encoder import load_encoder
            from agent.settings import load_settings

            self._encoder = load_encoder(load_settings())
        with tqdm(total=len(missing), desc="encoding", unit="text", file=sys.stderr) as bar:
            vectors = encode_batched(
                self._encoder.encode, missing, done=bar.update, sizes=self._encoder.sizes
            )
        self.table.update(zip(missing, vectors, strict=True))
        if self.path is not None:
            texts_all = list(self.table)
            stacked = torch.stack([self.table[t] for t in texts_all]).half()
            torch.save({"texts": texts_all, "vectors": stacked, "how": self.how}, self.path)

    def __call__(self, texts: list[str]) -> torch.Tensor:
        return torch.stack([self.table[t] for t in texts])  # (len(texts), d)


@dataclass
class Features:
    """One question's memories (n) and what every variant may use."""

    question_type: str
    dense: torch.Tensor  # (n,) cosine(question, words)
    lexical: torch.Tensor  # (n,) BM25 of the key texts
    speaker: torch.Tensor  # (n,) bool: speaker named in the question
    discounted: torch.Tensor  # (n,) bool: the assistant's words, not asked about
    timed: torch.Tensor | None  # (n,) time match, None when the question names no time
    lengths: torch.Tensor  # (n,)
    prev_row: torch.Tensor  # (n,)
    next_row: torch.Tensor  # (n,)
    gold: torch.Tensor  # (n,) bool: has_answer
    session: torch.Tensor  # (n,) long: haystack session index
    gold_sessions: set[int]


def turns_of(question: LmeQuestion) -> list[tuple[int, str, str, bool, float]]:
    """(session index, speaker, words, has_answer, day said) of every non-empty turn."""
    found = []
    for index, session in enumerate(question.sessions):
        for turn in session.turns:
            words = clean_text(turn.content)
            if words:
                speaker = USER_SPEAKER if turn.role == "user" else ASSISTANT_SPEAKER
                found.append((index, speaker, words, turn.has_answer, day_number(session.day)))
    return found


def features(question: LmeQuestion, embed: Embedder) -> Features:
    turns = turns_of(question)
    n = len(turns)
    days = [question.sessions[s].day for s, *_ in turns]
    keys = [turn_key(day, sp, words) for day, (_, sp, words, _, _) in zip(days, turns, strict=True)]
    words = [t[2] for t in turns]
    dense = embed(words) @ embed([clean_text(question.question)])[0]  # (n,)
    index = LexicalIndex()
    for i, key in enumerate(keys):
        index.put(i, key)
    lexical = torch.zeros(n)
    for i, score in index.scores(question.question).items():
        lexical[i] = score
    # the product's speakers: the user's turns have no name, the assistant's are named
    speakers = ["" if t[1] == USER_SPEAKER else ASSISTANT_SPEAKER for t in turns]
    asked = when_asked(question.question)
    now = day_number(parse_lme_date(question.question_date))
    said_on = torch.tensor([t[4] for t in turns], dtype=torch.float64)
    rows = torch.arange(n)
    answers = set(question.answer_session_ids)
    return Features(
        question.question_type,
        dense,
        lexical,
        speaker_match(question.question, speakers),
        assistant_discount(question.question, speakers),
        None if asked is None else time_match(said_on, now, asked),
        key_lengths(keys),
        torch.where(rows > 0, rows - 1, -1),
        torch.where(rows < n - 1, rows + 1, -1),
        torch.tensor([t[3] for t in turns]),
        torch.tensor([t[0] for t in turns]),
        {i for i, s in enumerate(question.sessions) if s.session_id in answers},
    )


# ----------------------------------------------------------------------------- variants

Variant = Callable[[Features, HybridParams], torch.Tensor]  # -> (n,) scores
# the LoCoMo-tuned read of before: no length cap, no discount, no time prior
BEFORE = {"length_cap": math.inf, "assistant_penalty": 0.0, "time_boost": 0.0}


def default(f: Features, p: HybridParams) -> torch.Tensor:
    return hybrid_scores(
        f.dense,
        f.lexical,
        f.prev_row,
        f.next_row,
        f.speaker,
        p,
        f.lengths,
        f.discounted,
        f.timed,
    )


def with_params(**changes: float) -> Variant:
    return lambda f, p: default(f, replace(p, **changes))


VARIANTS: dict[str, tuple[str, Variant]] = {
    "dense": ("baseline", lambda f, p: f.dense),
    "bm25": ("baseline", lambda f, p: f.lexical),
    "LoCoMo-tuned read (before)": ("added", with_params(**BEFORE)),
    "+ length prior capped at L=32": (
        "added",
        with_params(assistant_penalty=0.0, time_boost=0.0),
    ),
    "+ assistant's words discounted (p=10)": ("added", with_params(time_boost=0.0)),
    "+ time prior (b_t=4) = default": ("added", default),
    "default - length cap": ("removed", with_params(length_cap=math.inf)),
    "default - discount": ("removed", with_params(assistant_penalty=0.0)),
    "default - time prior": ("removed", with_params(time_boost=0.0)),
    "default - neighbour lift": ("removed", with_params(neighbour_hops=0)),
    "default - length prior": ("removed", with_params(length_prior=0.0)),
    "default, discount p=6": ("not adopted", with_params(assistant_penalty=6.0)),
    "default, discount p=20": ("not adopted", with_params(assistant_penalty=20.0)),
    "default, neighbour decay 0.6": ("not adopted", with_params(neighbour_decay=0.6)),
    "default, lexical weight 0.7": ("not adopted", with_params(lexical_weight=0.7)),
}


# ----------------------------------------------------------------------------- metrics


def question_recall(scores: torch.Tensor, f: Features) -> dict[str, float]:
    top = torch.topk(scores, min(max(KS), len(scores))).indices  # (K,)
    found = {str(k): float(f.gold[top[:k]].sum() / f.gold.sum()) for k in KS}
    sessions = {int(s) for s in f.session[top[:SESSION_K]]}
    found["session_any@5"] = float(any(s in sessions for s in f.gold_sessions))
    return found


def summarise(rows: list[tuple[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Mean of each figure over all questions and by type, with each group's count."""
    groups: dict[str, list[dict[str, float]]] = defaultdict(list)
    for question_type, figures in rows:
        groups["all"].append(figures)
        groups[question_type].append(figures)
    return {
        name: {key: sum(r[key] for r in found) / len(found) for key in found[0]} | {"n": len(found)}
        for name, found in groups.items()
    }


def markdown(results: dict[str, dict], kinds: dict[str, str]) -> str:
    types = sorted(t for t in next(iter(results.values())) if t != "all")
    head = "| variant | kind | R@1 | R@5 | R@10 | session any@5 | " + " | ".join(
        f"{t} R@1/R@5" for t in types
    )
    lines = [head + " |", "|" + "---|" * (5 + len(types) + 1)]
    for name, by_type in results.items():
        a = by_type["all"]
        cells = " | ".join(f"{by_type[t]['1']:.2f}/{by_type[t]['5']:.2f}" for t in types)
        lines.append(
            f"| {name} | {kinds[name]} | {a['1']:.3f} | {a['5']:.3f} | {a['10']:.3f} | "
            f"{a['session_any@5']:.3f} | {cells} |"
        )
    counts = ", ".join(f"{t} {next(iter(results.values()))[t]['n']}" for t in types)
    return "\n".join(lines) + f"\n\nQuestions: {counts}.\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "memchat-longmemeval-embeddings.pt",
        help="the vectors by text, kept between runs",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    questions = [q for q in load_longmemeval(args.data) if not q.abstention and any_gold(q)]
    embed = Embedder(args.cache)
    embed.add(
        [t[2] for q in questions for t in turns_of(q)] + [clean_text(q.question) for q in questions]
    )
    feats = [features(q, embed) for q in questions]
    params = HybridParams()
    results = {
        name: summarise([(f.question_type, question_recall(v(f, params), f)) for f in feats])
        for name, (_, v) in VARIANTS.items()
    }
    kinds = {name: kind for name, (kind, _) in VARIANTS.items()}
    report = markdown(results, kinds)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "longmemeval_retrieval.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "longmemeval_retrieval.md").write_text(report)
    print(report)
    print(f"{len(feats)} questions in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


def any_gold(question: LmeQuestion) -> bool:
    return any(t.has_answer for s in question.sessions for t in s.turns)


if __name__ == "__main__":
    raise SystemExit(main())
