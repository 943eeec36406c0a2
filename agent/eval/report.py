"""The LoCoMo report: one JSON document, a Markdown page and a PNG plot of recall@k.

The top-level figures are the product's read ("default"); every other method is a baseline
run in the same run over the same memories. Recall is over categories 1-4 (questions with at
least one evidence turn); category 5 (adversarial) is reported apart.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from agent.eval.locomo import RECALL_KS, QuestionResult, RunResult, mean_recall
from agent.eval.locomo_data import CATEGORIES
from agent.text import counted

MAIN_CATEGORIES = (1, 2, 3, 4)


def mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def percentile(values: Iterable[float | None], p: float) -> float | None:
    """The p-th percentile (0-100), linear between the closest ranks; None if empty."""
    data = sorted(v for v in values if v is not None)
    if not data:
        return None
    rank = (len(data) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return data[low] + (data[high] - data[low]) * (rank - low)


def rounded(value: float | None, digits: int = 4) -> float | None:
    """`value` rounded to `digits` (None stays None)."""
    return None if value is None else round(value, digits)


def _recall(rows: list[QuestionResult], method: str) -> dict[str, float | None]:
    table = mean_recall((r.ranked.get(method, []), r.evidence) for r in rows)
    return {k: rounded(v) for k, v in table.items()}


def _by_category(rows: list[QuestionResult], method: str) -> dict[str, dict[str, float | None]]:
    return {str(c): _recall([r for r in rows if r.category == c], method) for c in MAIN_CATEGORIES}


def _latency(rows: list[QuestionResult], method: str) -> dict[str, float | None]:
    reads = [r.read_ms.get(method) for r in rows]
    return {
        "read_p50": rounded(percentile(reads, 50), 2),
        "read_p95": rounded(percentile(reads, 95), 2),
    }


def _split_recall(rows: list[QuestionResult]) -> dict[str, Any]:
    """The untrained and the learned read's recall over `rows`, overall and by category."""
    return {
        "conversations": sorted({r.sample_id for r in rows}),
        "questions": len(rows),
        **{
            name: {"recall_at": _recall(rows, m), "recall_at_by_category": _by_category(rows, m)}
            for name, m in (("untrained", "reader untrained"), ("learned", "reader learned"))
        },
    }


def learned_reader(main: list[QuestionResult], reader: dict[str, Any]) -> dict[str, Any]:
    """The learned reader against the untrained read, on the conversations it was not trained
    on ("held_out": the figure that counts) and on those it was ("trained_on": fit, not
    generalisation), told apart by the sample ids stored in its weights file."""
    seen = set(reader["trained_on"])
    return {
        **reader,
        "held_out": _split_recall([r for r in main if r.sample_id not in seen]),
        "trained_on_figures": _split_recall([r for r in main if r.sample_id in seen]),
    }


def _share(results: list[QuestionResult], source_kind: str) -> float | None:
    """The share of `results` answered from `source_kind` (None without results)."""
    if not results:
        return None
    return rounded(sum(r.answered_from == source_kind for r in results) / len(results))


def _answered_from(results: list[QuestionResult]) -> dict[str, float | None]:
    """How the answers were made: from memory, abstained ("nothing"), or generated."""
    return {kind: _share(results, kind) for kind in ("memory", "nothing", "model")}


def summarize(run: RunResult, data: str = "", settings: dict[str, Any] | None = None) -> dict:
    """The report document (report.json, and what `--json` prints)."""
    main = [r for r in run.results if r.category in MAIN_CATEGORIES]
    adversarial = [r for r in run.results if r.category == 5]
    qa = not run.retrieval_only
    answers = [r.answer_ms for r in main]
    latency = _latency(main, "default")
    latency["answer_p50"] = rounded(percentile(answers, 50), 2) if qa else None
    latency["answer_p95"] = rounded(percentile(answers, 95), 2) if qa else None
    return {
        "recall_at": _recall(main, "default"),
        "recall_at_by_category": _by_category(main, "default"),
        "f1": rounded(mean(r.f1 for r in main)) if qa else None,
        "f1_by_category": {
            str(c): (rounded(mean(r.f1 for r in main if r.category == c)) if qa else None)
            for c in MAIN_CATEGORIES
        },
        "latency_ms": latency,
        "prompt_tokens_mean": rounded(mean(r.prompt_tokens for r in main), 1) if qa else None,
        "answered_from": _answered_from(main) if qa else None,
        "baselines": {
            m: {
                "recall_at": _recall(main, m),
                "recall_at_by_category": _by_category(main, m),
                "latency_ms": _latency(main, m),
            }
            for m in run.methods
            if m != "default"
        },
        "questions": len(main),
        "conversations": run.conversations,
        "category_5": {
            "count": len(adversarial),
            "f1": rounded(mean(r.f1 for r in adversarial)) if qa else None,
            "abstained": _share(adversarial, "nothing") if qa else None,
            "recall_at": _recall(adversarial, "default"),
        },
        "questions_with_evidence": sum(1 for r in main if r.evidence),
        "questions_by_category": {
            str(c): sum(1 for r in main if r.category == c) for c in MAIN_CATEGORIES
        },
        "methods": run.methods,
        "retrieval_only": run.retrieval_only,
        "turns": run.turns,
        "memories": run.memories,
        "elapsed_s": round(run.elapsed_s, 1),
        "data": data,
        "settings": settings or {},
        "learned_reader": learned_reader(main, run.reader) if run.reader else None,
    }


def fmt(value: float | None, digits: int = 3) -> str:
    """`value` with `digits` decimals for a table; "-" for None."""
    return "-" if value is None else f"{value:.{digits}f}"


def _recall_rows(doc: dict) -> list[tuple[str, int, dict[str, dict[str, float | None]]]]:
    """(label, questions, {method: recall table}) for overall and each category."""
    methods = {"default": doc, **doc["baselines"]}
    rows = [("1-4 (all)", doc["questions"], {m: d["recall_at"] for m, d in methods.items()})]
    for c in MAIN_CATEGORIES:
        label, n = f"{c} {CATEGORIES[c]}", doc["questions_by_category"][str(c)]
        rows.append((label, n, {m: d["recall_at_by_category"][str(c)] for m, d in methods.items()}))
    return rows


def markdown(doc: dict) -> str:
    """A short Markdown report: recall@k of every method side by side, then QA figures."""
    methods = doc["methods"]
    head = ["category", "n"] + [f"{m} @{k}" for k in RECALL_KS for m in methods]
    lines = [
        "# LoCoMo evaluation",
        "",
        f"{counted(doc['conversations'], 'conversation')}, {counted(doc['turns'], 'turn')}, "
        f"{counted(doc['memories'], 'memory', 'memories')}, "
        f"{counted(doc['questions'], 'question')} in categories 1-4 "
        f"({doc['questions_with_evidence']} with "
        f"evidence), {doc['category_5']['count']} in category 5; {doc['elapsed_s']} s. "
        f"Data: `{doc['data']}`.",
        "",
        "## Recall@k of the evidence turns",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * 2 + "---:|" * (len(head) - 2),
    ]
    for label, n, tables in _recall_rows(doc):
        cells = [fmt(tables[m][str(k)]) for k in RECALL_KS for m in methods]
        lines.append(f"| {label} | {n} | " + " | ".join(cells) + " |")
    lines += ["", "| method | read p50 ms | read p95 ms |", "|---|---:|---:|"]
    for m in methods:
        lat = doc["latency_ms"] if m == "default" else doc["baselines"][m]["latency_ms"]
        lines.append(f"| {m} | {fmt(lat['read_p50'], 1)} | {fmt(lat['read_p95'], 1)} |")
    lines.append(
        "\nThe default read's latency includes encoding the question; dense encodes all "
        "questions of a conversation beforehand in one batch."
    )
    lines += _reader_lines(doc.get("learned_reader"))
    lines += ["", "## Answers (default read)", ""]
    if doc["retrieval_only"]:
        lines.append("Not run (--retrieval-only).")
    else:
        lat, f1 = doc["latency_ms"], doc["f1_by_category"]
        lines += [
            f"- F1 (official scorer), categories 1-4: {fmt(doc['f1'])}; by category: "
            + ", ".join(f"{c} {CATEGORIES[int(c)]} {fmt(v)}" for c, v in f1.items()),
            f"- category 5 (says not mentioned): {fmt(doc['category_5']['f1'])}, "
            f"abstained: {fmt(doc['category_5']['abstained'])}",
            "- categories 1-4 answered from: "
            + ", ".join(f"{k} {fmt(v)}" for k, v in doc["answered_from"].items()),
            f"- answer latency p50 {fmt(lat['answer_p50'], 0)} ms, "
            f"p95 {fmt(lat['answer_p95'], 0)} ms",
            f"- prompt tokens per question (mean): {fmt(doc['prompt_tokens_mean'], 1)}",
        ]
    settings = ", ".join(f"{k}={v}" for k, v in doc["settings"].items())
    return "\n".join(lines + ["", f"Settings: {settings or '-'}", ""])


def _reader_lines(reader: dict | None) -> list[str]:
    """The learned reader's section: untrained against learned, held-out conversations first."""
    if reader is None:
        return []
    head = ["questions", "n"] + [f"{m} @{k}" for k in RECALL_KS for m in ("untrained", "learned")]
    lines = [
        "",
        "## Learned reader",
        "",
        f"Weights `{reader['weights']}`, trained on {', '.join(reader['trained_on']) or '-'}. "
        "The same read without and with its query map, over the same memories; only the "
        "held-out conversations tell whether it generalises. The rows above (default, hops, "
        "links) read with the map too, on the conversations it was trained on as well.",
        "",
        "| " + " | ".join(head) + " |",
        "|---|" + "---:|" * (len(head) - 1),
    ]
    for label, part in (("held out", "held_out"), ("trained on (seen)", "trained_on_figures")):
        split = reader[part]
        if not split["questions"]:
            continue
        name = f"{label}: {', '.join(split['conversations'])}"
        cells = [
            fmt(split[m]["recall_at"][str(k)]) for k in RECALL_KS for m in ("untrained", "learned")
        ]
        lines.append(f"| {name} | {split['questions']} | " + " | ".join(cells) + " |")
    return lines


def plot(doc: dict, path: Path) -> None:
    """Recall@k per category, one panel per k, one bar per method (matplotlib, Agg)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows, methods = _recall_rows(doc), doc["methods"]
    fig = Figure(figsize=(11, 7), layout="constrained")
    FigureCanvasAgg(fig)
    width = 0.8 / max(1, len(methods))
    for panel, k in enumerate(RECALL_KS):
        ax = fig.add_subplot(2, 2, panel + 1)
        for i, m in enumerate(methods):
            values = [tables[m][str(k)] or 0.0 for _, _, tables in rows]
            xs = [x + (i - (len(methods) - 1) / 2) * width for x in range(len(rows))]
            ax.bar(xs, values, width, label=m)
        ax.set_xticks(range(len(rows)), [label for label, _, _ in rows], fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_title(f"recall@{k}")
        ax.grid(axis="y", alpha=0.3)
    fig.axes[0].legend(fontsize=8)
    fig.suptitle(f"LoCoMo evidence recall ({counted(doc['conversations'], 'conversation')})")
    fig.savefig(path, dpi=110)


def write_report_files(
    doc: dict,
    out: Path,
    as_markdown: Callable[[dict], str],
    draw: Callable[[dict, Path], None],
) -> dict[str, Path]:
    """report.json, report.md (`as_markdown`) and recall.png (`draw`) in `out` (created if
    missing): the files every evaluation writes."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "md": out / "report.md", "png": out / "recall.png"}
    paths["json"].write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    paths["md"].write_text(as_markdown(doc), encoding="utf-8")
    draw(doc, paths["png"])
    return paths


def write_reports(doc: dict, out: Path) -> dict[str, Path]:
    """The LoCoMo report files in `out`."""
    return write_report_files(doc, out, markdown, plot)


def write_questions(results: list[QuestionResult], path: Path) -> None:
    """One JSON line per question: rankings, latencies, the answer and its score."""
    with path.open("w", encoding="utf-8") as f:
        for r in results:
            f.write(json.dumps(r.__dict__, ensure_ascii=False) + "\n")
