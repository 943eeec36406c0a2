"""The LongMemEval report: one JSON document, a Markdown page and a PNG plot.

The top-level figures are the product's read ("default") over the questions that are not
abstention questions (ids ending in `_abs`), which are reported apart; "dense" and "bm25" are
baselines read in the same run over the same memories. Metrics: see agent/eval/longmemeval.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.eval.longmemeval import (
    NDCG_K,
    RECALL_KS,
    SESSION_KS,
    LmeResult,
    LmeRun,
    session_ndcg,
    session_recall,
    turn_recall,
)
from agent.eval.longmemeval_data import QUESTION_TYPES
from agent.eval.report import fmt, mean, percentile, rounded, write_report_files
from agent.text import counted

JUDGE_NOTE = (
    "The official LongMemEval QA score uses a GPT-4o judge, not available offline; F1 and "
    "contains-answer here are token-level stand-ins and not comparable to it."
)
Table = dict[str, float | None]


def _mean_of(rows: list[LmeResult], value: Callable[[LmeResult], float | None]) -> float | None:
    return rounded(mean(value(r) for r in rows))


def turn_recall_table(rows: list[LmeResult], method: str) -> Table:
    """Mean turn recall@k over the rows with has_answer turns (the others are skipped)."""
    return {
        str(k): _mean_of(
            rows, lambda r, k=k: turn_recall(r.ranked.get(method, []), r.gold_turns, k)
        )
        for k in RECALL_KS
    }


def session_table(rows: list[LmeResult], method: str, part: int) -> Table:
    """Mean session recall_any@k (`part` 0) or recall_all@k (`part` 1) over rows with answer
    sessions."""

    def value(r: LmeResult, k: int) -> float | None:
        found = session_recall(r.ranked.get(method, []), r.gold_sessions, k)
        return None if found is None else found[part]

    return {str(k): _mean_of(rows, lambda r, k=k: value(r, k)) for k in SESSION_KS}


def method_figures(rows: list[LmeResult], method: str) -> dict[str, Any]:
    """Every retrieval figure of one method over `rows`."""
    reads = [r.read_ms.get(method) for r in rows]
    return {
        "recall_at": turn_recall_table(rows, method),
        "session_recall_any_at": session_table(rows, method, 0),
        "session_recall_all_at": session_table(rows, method, 1),
        f"ndcg_at_{NDCG_K}": _mean_of(
            rows, lambda r: session_ndcg(r.ranked.get(method, []), r.gold_sessions)
        ),
        "read_latency_ms": {
            "p50": rounded(percentile(reads, 50), 2),
            "p95": rounded(percentile(reads, 95), 2),
        },
    }


def _types(rows: list[LmeResult]) -> list[str]:
    """The known question types present, in the paper's order, then any others."""
    present = {r.question_type for r in rows}
    return [t for t in QUESTION_TYPES if t in present] + sorted(present - set(QUESTION_TYPES))


def _answers(rows: list[LmeResult]) -> dict[str, Any]:
    """QA figures of `rows`: F1, contains-answer, how the answers were made."""
    shares = {
        k: _mean_of(rows, lambda r, k=k: float(r.answered_from == k))
        for k in ("memory", "nothing", "model")
    }
    return {
        "f1": _mean_of(rows, lambda r: r.f1),
        "contains_answer": _mean_of(rows, lambda r: r.contains),
        "answered_from": shares,
        "prompt_tokens_mean": rounded(mean(r.prompt_tokens for r in rows), 1),
        "answer_latency_ms": {
            "p50": rounded(percentile([r.answer_ms for r in rows], 50), 2),
            "p95": rounded(percentile([r.answer_ms for r in rows], 95), 2),
        },
    }


def by_type(rows: list[LmeResult], methods: list[str], qa: bool) -> dict[str, dict[str, Any]]:
    """For each question type: its count, every method's figures and (with QA) its answers."""
    out = {}
    for t in _types(rows):
        part = [r for r in rows if r.question_type == t]
        out[t] = {"questions": len(part), **{m: method_figures(part, m) for m in methods}}
        if qa:
            out[t]["answers"] = _answers(part)
    return out


def _abstention(rows: list[LmeResult], qa: bool) -> dict[str, Any]:
    """Abstention questions: retrieval of their marked turns and, with QA, how often the
    answer path said it has nothing (the right answer to them)."""
    doc: dict[str, Any] = {"questions": len(rows), **method_figures(rows, "default")}
    doc["abstained"] = _mean_of(rows, lambda r: float(r.answered_from == "nothing")) if qa else None
    doc["answers"] = _answers(rows) if qa else None
    return doc


def summarize(run: LmeRun, data: str = "", settings: dict[str, Any] | None = None) -> dict:
    """The report document (report.json, and what `--json` prints)."""
    main = [r for r in run.results if not r.abstention]
    qa = not run.retrieval_only
    types = by_type(main, run.methods, qa)
    answers = _answers(main) if qa else None
    default = method_figures(main, "default")
    return {
        "questions": len(main),
        **default,  # recall_at, session_recall_*_at, ndcg_at_10, read_latency_ms
        "recall_at_by_type": {t: d["default"]["recall_at"] for t, d in types.items()},
        "baselines": {m: method_figures(main, m) for m in run.methods if m != "default"},
        "by_type": types,
        "abstention": _abstention([r for r in run.results if r.abstention], qa),
        "f1": answers["f1"] if answers else None,
        "contains_answer": answers["contains_answer"] if answers else None,
        "answers": answers,
        "judge_note": JUDGE_NOTE,
        "ingest_turns_per_s": rounded(run.turns / run.ingest_s, 1) if run.ingest_s else None,
        "questions_with_answer_turns": sum(1 for r in main if r.gold_turns),
        "methods": run.methods,
        "retrieval_only": run.retrieval_only,
        "turns": run.turns,
        "memories": run.memories,
        "ingest_s": round(run.ingest_s, 1),
        "elapsed_s": round(run.elapsed_s, 1),
        "data": data,
        "settings": settings or {},
    }


RECALL_COLUMNS = (
    [("recall_at", str(k), f"turn @{k}") for k in RECALL_KS]
    + [("session_recall_any_at", str(k), f"any @{k}") for k in SESSION_KS]
    + [("session_recall_all_at", str(k), f"all @{k}") for k in SESSION_KS]
    + [(f"ndcg_at_{NDCG_K}", None, f"NDCG@{NDCG_K}")]
)


def _cells(figures: dict[str, Any]) -> list[str]:
    return [fmt(figures[key] if k is None else figures[key][k]) for key, k, _ in RECALL_COLUMNS]


def _retrieval_lines(doc: dict) -> list[str]:
    """One table: each method overall, then each type's rows."""
    head = ["questions", "method", "n"] + [label for _, _, label in RECALL_COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]
    overall = {"default": doc, **doc["baselines"]}
    for m in doc["methods"]:
        lines.append(f"| all | {m} | {doc['questions']} | " + " | ".join(_cells(overall[m])) + " |")
    for t, d in doc["by_type"].items():
        for m in doc["methods"]:
            lines.append(f"| {t} | {m} | {d['questions']} | " + " | ".join(_cells(d[m])) + " |")
    return lines


def _answer_lines(doc: dict) -> list[str]:
    if doc["retrieval_only"]:
        return ["Not run (--retrieval-only).", "", doc["judge_note"]]
    a, ab = doc["answers"], doc["abstention"]
    lines = [
        f"- token F1 {fmt(a['f1'])}, contains the answer {fmt(a['contains_answer'])}",
        "- by type: "
        + "; ".join(
            f"{t} F1 {fmt(d['answers']['f1'])}, contains {fmt(d['answers']['contains_answer'])}"
            for t, d in doc["by_type"].items()
        ),
        "- answered from: " + ", ".join(f"{k} {fmt(v)}" for k, v in a["answered_from"].items()),
        f"- abstention questions: said it has nothing {fmt(ab['abstained'])}",
        f"- answer latency p50 {fmt(a['answer_latency_ms']['p50'], 0)} ms; prompt tokens "
        f"per question {fmt(a['prompt_tokens_mean'], 1)}",
    ]
    return lines + ["", doc["judge_note"]]


def markdown(doc: dict) -> str:
    """A short Markdown report: retrieval of every method by type, then the answers."""
    ab = doc["abstention"]
    lines = [
        "# LongMemEval evaluation",
        "",
        f"{counted(doc['questions'], 'question')} "
        f"({counted(ab['questions'], 'abstention question')} apart), "
        f"{counted(doc['turns'], 'turn')}, {counted(doc['memories'], 'memory', 'memories')}; "
        f"ingest {doc['ingest_turns_per_s']} turns/s; {doc['elapsed_s']} s. "
        f"Data: `{doc['data']}`.",
        "",
        "## Retrieval",
        "",
        "Over the top k memories of each read, mapped to their source turns: turn recall of the "
        "has_answer turns; session recall_any / recall_all of the answer sessions; NDCG@10 of "
        "their sessions.",
        "",
        *_retrieval_lines(doc),
        "",
        f"Abstention questions: turn @10 {fmt(ab['recall_at']['10'])}, "
        f"any @10 {fmt(ab['session_recall_any_at']['10'])}.",
        "",
        "| method | read p50 ms | read p95 ms |",
        "|---|---:|---:|",
    ]
    for m in doc["methods"]:
        lat = (doc if m == "default" else doc["baselines"][m])["read_latency_ms"]
        lines.append(f"| {m} | {fmt(lat['p50'], 1)} | {fmt(lat['p95'], 1)} |")
    lines += ["", "## Answers (default read)", "", *_answer_lines(doc)]
    settings = ", ".join(f"{k}={v}" for k, v in doc["settings"].items())
    return "\n".join(lines + ["", f"Settings: {settings or '-'}", ""])


PLOT_PANELS = (
    ("recall_at", "5", "turn recall@5"),
    ("recall_at", "10", "turn recall@10"),
    ("session_recall_any_at", "10", "session recall_any@10"),
    (f"ndcg_at_{NDCG_K}", None, f"session NDCG@{NDCG_K}"),
)


def plot(doc: dict, path: Path) -> None:
    """Four panels (turn recall@5/@10, session recall_any@10, NDCG@10) by question type, one
    bar per method (matplotlib, Agg)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    groups = [("all", {"default": doc, **doc["baselines"]})]
    groups += [(t, d) for t, d in doc["by_type"].items()]
    methods = doc["methods"]
    fig = Figure(figsize=(12, 8), layout="constrained")
    FigureCanvasAgg(fig)
    width = 0.8 / max(1, len(methods))
    for panel, (key, k, title) in enumerate(PLOT_PANELS):
        ax = fig.add_subplot(2, 2, panel + 1)
        for i, m in enumerate(methods):
            values = [(d[m][key] if k is None else d[m][key][k]) or 0.0 for _, d in groups]
            xs = [x + (i - (len(methods) - 1) / 2) * width for x in range(len(groups))]
            ax.bar(xs, values, width, label=m)
        ax.set_xticks(range(len(groups)), [g for g, _ in groups], fontsize=7, rotation=20)
        ax.set_ylim(0, 1)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    fig.axes[0].legend(fontsize=8)
    fig.suptitle(f"LongMemEval retrieval ({counted(doc['questions'], 'question')})")
    fig.savefig(path, dpi=110)


def write_reports(doc: dict, out: Path) -> dict[str, Path]:
    """The LongMemEval report files in `out` (created if missing)."""
    return write_report_files(doc, out, markdown, plot)


def write_questions(results: list[LmeResult], path: Path) -> None:
    """One JSON line per question: gold turns and sessions, each method's ranked turns,
    latencies, the answer and its scores."""
    with path.open("w", encoding="utf-8") as f:
        for r in results:
            f.write(json.dumps(r.__dict__, ensure_ascii=False) + "\n")
