"""`memchat eval locomo` and `memchat eval longmemeval`: the memory evaluations from the
command line (DESIGN section 7).

A run never touches the user's data: it builds its own agent on `<out>/locomo.db` (one profile
`locomo-<sample_id>` per conversation) or `<out>/longmemeval.db` (one profile
`lme-<question_id>` per question), each profile reset first, with the configured models. With
`--db` a PostgreSQL URL, the run uses that database instead (its locomo-* / lme-* profiles reset
the same way): an evaluation of the memory on the engine a team runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from agent.errors import MemchatError, UsageError
from agent.settings import Settings, load_settings
from agent.text import counted
from tui.args import positive_int

if TYPE_CHECKING:
    from agent.core import Agent

BuildAgent = Callable[[Settings], "Agent"]


def add_eval_parser(sub: argparse._SubParsersAction) -> None:
    """Add `eval locomo` and `eval longmemeval` to the top-level subcommands `sub`."""
    evals = sub.add_parser("eval", help="evaluate the memory on a benchmark (LoCoMo, LongMemEval)")
    esub = evals.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = esub.add_parser(
        "locomo",
        help="retrieval recall@k and QA F1 on LoCoMo conversations",
        description="Ingest each LoCoMo conversation into a fresh profile of a separate "
        "database (<out>/locomo.db, or the PostgreSQL database --db names; --profile is refused), "
        "read every question "
        "with the product's read and the dense and BM25 baselines, and answer it. Writes "
        "report.json, report.md, recall.png and questions.jsonl to --out.",
    )
    _add_run_options(
        p, "a LoCoMo JSON file", "locomo-report", "the first N conversations of the file"
    )
    p.add_argument(
        "--retrieval-only",
        action="store_true",
        help="recall only: no answers generated (F1, answer latency and prompt tokens are null)",
    )
    p.add_argument(
        "--reader-weights",
        type=Path,
        metavar="FILE",
        help="read with this learned reader (as the setting reader_weights does) and report it "
        "against the untrained read, apart on the conversations it was not trained on",
    )
    _add_longmemeval_parser(esub)


def _add_run_options(p: argparse.ArgumentParser, data: str, out: str, limit: str) -> None:
    """--data, --out, --json and --limit, which every evaluation takes."""
    p.add_argument("--data", type=Path, required=True, metavar="FILE", help=data)
    p.add_argument(
        "--out",
        type=Path,
        default=Path(out),
        metavar="DIR",
        help=f"output folder, also holding the evaluation database (default: ./{out})",
    )
    p.add_argument("--json", action="store_true", help="print the report as one JSON document")
    p.add_argument(
        "--limit", type=positive_int, metavar="N", help=f"evaluate only {limit} (default: all)"
    )


def _add_longmemeval_parser(esub: argparse._SubParsersAction) -> None:
    """`eval longmemeval`: its options (see `eval_longmemeval`)."""
    p = esub.add_parser(
        "longmemeval",
        help="turn and session recall (and token F1) on LongMemEval questions",
        description="Ingest each LongMemEval question's haystack into a fresh profile of a "
        "separate database (<out>/longmemeval.db, or the PostgreSQL database --db names; "
        "--profile is refused), read the "
        "question with the product's read and the dense and BM25 baselines, and answer it. "
        "Writes report.json, report.md, recall.png and questions.jsonl to --out.",
    )
    _add_run_options(
        p,
        "a LongMemEval .json[.gz|.xz] file",
        "longmemeval-report",
        "the first N questions (after --types)",
    )
    p.add_argument(
        "--types",
        metavar="T,...",
        help="only these question types, comma-separated (e.g. multi-session,knowledge-update)",
    )
    p.add_argument(
        "--retrieval-only",
        action="store_true",
        help="recall only: no answers generated (F1 and contains-answer are null)",
    )


def _settings_used(settings: Settings) -> dict[str, object]:
    names = (
        "tau",
        "hops",
        "hop_lambda",
        "memory_token_budget",
        "generator",
        "encoder",
        "reader_weights",
        "model",
        "base_url",
    )
    shown: dict[str, object] = {n: getattr(settings, n) for n in names}
    shown["generator"] = shown["generator"] or "packaged"
    shown["encoder"] = shown["encoder"] or "packaged"
    return shown


def _progress(message: str) -> None:
    if sys.stderr.isatty():
        print(message, file=sys.stderr, flush=True)


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _summary_lines(doc: dict, paths: dict[str, Path]) -> list[str]:
    def row(name: str, table: dict) -> str:
        cells = "  ".join(f"@{k} {_num(v)}" for k, v in table.items())
        return f"  {name:<8} {cells}"

    lines = [
        f"LoCoMo: {counted(doc['conversations'], 'conversation')}, "
        f"{counted(doc['questions'], 'question')} "
        f"(categories 1-4), {doc['elapsed_s']} s",
        "recall of evidence turns:",
        row("default", doc["recall_at"]),
        *(row(m, d["recall_at"]) for m, d in doc["baselines"].items()),
    ]
    if not doc["retrieval_only"]:
        lat = doc["latency_ms"]
        lines.append(
            f"F1 {_num(doc['f1'])}, category 5 {_num(doc['category_5']['f1'])}, "
            f"answer p50 {_num(lat['answer_p50'], 0)} ms, "
            f"prompt tokens {_num(doc['prompt_tokens_mean'], 0)}"
        )
    reader = doc.get("learned_reader")
    if reader is not None and reader["held_out"]["questions"]:
        held = reader["held_out"]
        lines.append(f"learned reader, held out ({', '.join(held['conversations'])}):")
        lines += [row(m, held[m]["recall_at"]) for m in ("untrained", "learned")]
    lines.append("report: " + ", ".join(str(p) for p in paths.values()))
    return lines


def _eval_agent(
    args: argparse.Namespace,
    db: Path | str,
    build: BuildAgent | None,
    reader_weights: str | None = None,
) -> Agent:
    """The evaluation's own agent on `db` (a file, its folder created; or a PostgreSQL URL),
    with the global --model / --base-url / --allow-remote; `build` makes it (default:
    `agent.bootstrap.build_agent`)."""
    if isinstance(db, Path):
        try:
            db.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MemchatError(f"cannot create {db.parent}: {exc.strerror}") from None
    settings = load_settings(
        db=str(db),
        reader_weights=reader_weights,
        model=getattr(args, "model", None),
        base_url=getattr(args, "base_url", None),
        allow_remote=getattr(args, "allow_remote", None),
    )
    if build is None:
        from agent.bootstrap import build_agent

        return build_agent(settings, progress=_progress)
    return build(settings)


def eval_locomo(
    args: argparse.Namespace, make_agent: Callable[[], Agent], build: BuildAgent | None = None
) -> int:
    """Run the LoCoMo evaluation. `make_agent` (the user's agent) is not used: the run has its
    own database in --out; `build` makes that agent (default: `agent.bootstrap.build_agent`)."""
    from agent.eval.locomo import run_locomo
    from agent.eval.locomo_data import load_locomo
    from agent.eval.report import summarize, write_questions, write_reports

    samples = load_locomo(args.data)
    if args.limit:
        samples = samples[: args.limit]
    out: Path = args.out
    if args.reader_weights and not args.reader_weights.is_file():  # before any work is done
        raise UsageError(f"--reader-weights: no such file {args.reader_weights}")
    weights = str(args.reader_weights) if args.reader_weights else None
    agent = _eval_agent(
        args, getattr(args, "db", None) or out / "locomo.db", build, reader_weights=weights
    )
    run = run_locomo(agent, samples, retrieval_only=args.retrieval_only)
    doc = summarize(run, data=str(args.data), settings=_settings_used(agent.settings))

    def write() -> dict[str, Path]:
        paths = write_reports(doc, out)
        write_questions(run.results, out / "questions.jsonl")
        return paths

    return _report(args, doc, write, _summary_lines)


def _report(
    args: argparse.Namespace,
    doc: dict,
    write: Callable[[], dict[str, Path]],
    summary_lines: Callable[[dict, dict[str, Path]], list[str]],
) -> int:
    """Write the report files (`write`), then print the JSON document or the summary."""
    try:
        paths = write()
    except OSError as exc:
        raise MemchatError(f"cannot write the report to {args.out}: {exc.strerror}") from None
    if args.json:
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        print("\n".join(summary_lines(doc, paths)))
    return 0


def _lme_summary_lines(doc: dict, paths: dict[str, Path]) -> list[str]:
    """The short text summary of a LongMemEval run."""

    def row(name: str, d: dict) -> str:
        turns = "  ".join(f"@{k} {_num(v)}" for k, v in d["recall_at"].items())
        sessions = "  ".join(f"any@{k} {_num(v)}" for k, v in d["session_recall_any_at"].items())
        return f"  {name:<8} turn {turns}   session {sessions}  NDCG@10 {_num(d['ndcg_at_10'])}"

    lines = [
        f"LongMemEval: {counted(doc['questions'], 'question')} "
        f"({doc['abstention']['questions']} abstention apart), {doc['elapsed_s']} s, "
        f"ingest {doc['ingest_turns_per_s']} turns/s",
        row("default", doc),
        *(row(m, d) for m, d in doc["baselines"].items()),
    ]
    if not doc["retrieval_only"]:
        lines.append(
            f"token F1 {_num(doc['f1'])}, contains answer {_num(doc['contains_answer'])} "
            "(the official score uses a GPT-4o judge, not available offline)"
        )
    lines.append("report: " + ", ".join(str(p) for p in paths.values()))
    return lines


def _types_arg(text: str | None) -> list[str] | None:
    """--types a,b -> ["a", "b"] (None when not given)."""
    if text is None:
        return None
    types = [t.strip() for t in text.split(",") if t.strip()]
    if not types:
        raise UsageError("--types: give at least one question type")
    return types


def eval_longmemeval(
    args: argparse.Namespace, make_agent: Callable[[], Agent], build: BuildAgent | None = None
) -> int:
    """Run the LongMemEval evaluation. `make_agent` (the user's agent) is not used: the run has
    its own database in --out; `build` makes that agent (default: `agent.bootstrap.build_agent`)."""
    from agent.eval.longmemeval import run_longmemeval
    from agent.eval.longmemeval_data import load_longmemeval, select_questions
    from agent.eval.longmemeval_report import summarize, write_questions, write_reports

    types = _types_arg(args.types)
    questions = select_questions(load_longmemeval(args.data), types, args.limit)
    out: Path = args.out
    agent = _eval_agent(args, getattr(args, "db", None) or out / "longmemeval.db", build)
    run = run_longmemeval(agent, questions, retrieval_only=args.retrieval_only)
    doc = summarize(run, data=str(args.data), settings=_settings_used(agent.settings))

    def write() -> dict[str, Path]:
        paths = write_reports(doc, out)
        write_questions(run.results, out / "questions.jsonl")
        return paths

    return _report(args, doc, write, _lme_summary_lines)
