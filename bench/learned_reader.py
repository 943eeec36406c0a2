"""LoCoMo dev: does a learned reader help on conversations it was not trained on?

The learned reader (agent/memnets/reader.py) trains the KV-MemNN's query and key maps A_Q, A_K
(384 x 384, from the identity) over frozen MiniLM embeddings, with the product's whole hybrid
read as the score and the evidence turns of each question (categories 1-4) as targets; the read
then uses M = A_K^T A_Q on the question (agent/memory/query_map.py). Turn memories, BM25,
speakers and links are built as in bench/locomo_retrieval.py (same embeddings cache).

Two held-out measurements, recall@1/5/10/20 of the untrained read against the learned read:
- split: train on conv-26, conv-30, conv-41; early-stop on conv-42, conv-43 and report those
  two (the stopping step is their only influence). These are the weights `--weights` saves.
- leave one conversation out: for each conversation, train on three others, early-stop on the
  fourth, score the held-out one (never seen); pooled over the five. The most honest figure.
Also, as diagnostics on the split: the map without normalisation, and the map trained on the
dense term alone (does it transfer at all, before BM25 and the rest have their say?).

    .venv/bin/python bench/learned_reader.py --data ../shared/data/locomo/locomo_dev.json \
        --weights /tmp/learned_reader.safetensors

Writes bench/results/learned_reader.json and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.memnets.reader import (  # noqa: E402
    KS,
    ReadingTask,
    TrainConfig,
    TrainResult,
    evaluate,
    save_reader,
    train_reader,
)
from agent.memory.query_map import encoder_name  # noqa: E402
from agent.settings import load_settings  # noqa: E402
from bench.locomo_retrieval import (  # noqa: E402
    CATEGORIES,
    Embedder,
    build_conversation,
    features,
)

TRAIN = ("conv-26", "conv-30", "conv-41")  # the split; the other conversations validate


def reading_tasks(data: Path, embed: Embedder) -> list[ReadingTask]:
    """One ReadingTask per conversation: its turn memories and its questions with evidence."""
    tasks = []
    for sample in json.loads(data.read_text()):
        conv = build_conversation(sample)
        f = features(conv, embed)
        tasks.append(
            ReadingTask(
                conv.sample_id,
                embed(conv.questions),  # cached by features(): no second encoding
                embed(conv.keys),
                f.lexical,
                f.speaker,
                f.lengths,
                f.prev_row,
                f.next_row,
                f.evidence,
                torch.tensor(conv.categories),
            )
        )
    return tasks


def table(per_q: torch.Tensor, cats: torch.Tensor) -> dict:
    """Mean recall@k over the questions (categories 1-4) and per category, with counts."""

    def means(rows: torch.Tensor) -> dict:
        values = rows.mean(0).tolist() if len(rows) else [None] * len(KS)
        return {"n": len(rows), **dict(zip(map(str, KS), values, strict=True))}

    return {"all": means(per_q)} | {str(c): means(per_q[cats == c]) for c in CATEGORIES}


def paired(before: torch.Tensor, after: torch.Tensor, resamples: int = 2000) -> dict:
    """Learned minus untrained recall@k over the same questions: the mean, a 95% bootstrap
    interval (questions resampled), and how many questions gained or lost at @5."""
    diff = after - before  # (q, len(KS))
    g = torch.Generator().manual_seed(0)
    picks = torch.randint(0, len(diff), (resamples, len(diff)), generator=g)
    means = diff[picks].mean(1)  # (resamples, len(KS))
    low, high = means.quantile(0.025, dim=0), means.quantile(0.975, dim=0)
    five = KS.index(5)
    return {
        "mean": dict(zip(map(str, KS), diff.mean(0).tolist(), strict=True)),
        "ci95": {str(k): [float(a), float(b)] for k, a, b in zip(KS, low, high, strict=True)},
        "questions_better_at_5": int((diff[:, five] > 0).sum()),
        "questions_worse_at_5": int((diff[:, five] < 0).sum()),
    }


def compare(
    trained: TrainResult | None,
    tasks: list[ReadingTask],
    config: TrainConfig,
    objective: str = "hybrid",
) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """Untrained and learned recall tables on `tasks`, and the per-question recalls."""
    cats = torch.cat([t.categories for t in tasks])
    before = evaluate(None, tasks, config, objective)
    after = before if trained is None else evaluate(trained.maps, tasks, config, objective)
    doc = {"untrained": table(before, cats), "learned": table(after, cats)}
    return doc, before, after


def fit(train: list[ReadingTask], valid: list[ReadingTask], config: TrainConfig) -> TrainResult:
    result = train_reader(train, valid, config)
    print(
        f"  trained on {[t.sample_id for t in train]}, stopped on {[t.sample_id for t in valid]}:"
        f" best step {result.best_step} of {result.steps}, {result.seconds:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    return result


def run_split(tasks: list[ReadingTask], config: TrainConfig) -> tuple[dict, TrainResult]:
    """Train on TRAIN, early-stop on the rest, report both sides."""
    train = [t for t in tasks if t.sample_id in TRAIN]
    valid = [t for t in tasks if t.sample_id not in TRAIN]
    result = fit(train, valid, config)
    held, before, after = compare(result, valid, config)
    seen, _, _ = compare(result, train, config)
    doc = {
        "config": {k: v for k, v in asdict(config).items() if k != "params"},
        "train": [t.sample_id for t in train],
        "valid": [t.sample_id for t in valid],
        "best_step": result.best_step,
        "steps": result.steps,
        "train_s": round(result.seconds, 1),
        "valid_recall": held,
        "valid_difference": paired(before, after),
        "train_recall": seen,
        "history": result.history,
    }
    if config.objective == "dense":  # the diagnostic: the dense term's own recall
        doc["valid_dense_recall"] = compare(result, valid, config, "dense")[0]
    return doc, result


def run_loco(tasks: list[ReadingTask], config: TrainConfig) -> dict:
    """Each conversation held out in turn: train on three of the others, stop on the fourth."""
    folds, before, after, cats, seconds = [], [], [], [], 0.0
    for i, held in enumerate(tasks):
        stop = tasks[(i + 1) % len(tasks)]
        train = [t for t in tasks if t is not held and t is not stop]
        result = fit(train, [stop], config)
        doc, b, a = compare(result, [held], config)
        before.append(b)
        after.append(a)
        cats.append(held.categories)
        seconds += result.seconds
        folds.append(
            {
                "held_out": held.sample_id,
                "stopped_on": stop.sample_id,
                "trained_on": [t.sample_id for t in train],
                "best_step": result.best_step,
                "train_s": round(result.seconds, 1),
                "untrained": doc["untrained"]["all"],
                "learned": doc["learned"]["all"],
            }
        )
    cat, before_q, after_q = torch.cat(cats), torch.cat(before), torch.cat(after)
    pooled = {"untrained": table(before_q, cat), "learned": table(after_q, cat)}
    return {
        "folds": folds,
        "pooled": pooled,
        "pooled_difference": paired(before_q, after_q),
        "train_s": round(seconds, 1),
    }


def row(label: str, t: dict) -> str:
    cells = [f"{t['all'][str(k)]:.3f}" for k in KS]
    cells += [f"{t[str(c)]['5']:.3f}" if t[str(c)]["5"] is not None else "-" for c in CATEGORIES]
    return f"| {label} | {t['all']['n']} | " + " | ".join(cells) + " |"


def markdown(report: dict) -> str:
    head = "| read | n | @1 | @5 | @10 | @20 | cat1 @5 | cat2 @5 | cat3 @5 | cat4 @5 |"
    lines = [head, "|---|---:|" + "---:|" * 8]
    split = report["split"]
    held = ", ".join(split["valid"])
    lines.append(row(f"untrained, {held}", split["valid_recall"]["untrained"]))
    lines.append(row(f"learned, {held}", split["valid_recall"]["learned"]))
    for name, d in report["diagnostics"].items():
        lines.append(row(f"learned ({name}), {held}", d["valid_recall"]["learned"]))
        if "valid_dense_recall" in d:
            dense = d["valid_dense_recall"]
            lines.append(row(f"dense term alone, untrained, {held}", dense["untrained"]))
            lines.append(row(f"dense term alone, learned ({name}), {held}", dense["learned"]))
    loco = report["leave_one_conversation_out"]
    if loco is not None:
        lines.append(row("untrained, leave-one-out pooled", loco["pooled"]["untrained"]))
        lines.append(row("learned, leave-one-out pooled", loco["pooled"]["learned"]))
        lines += ["", "| held out | stopped on | best step | untrained @5 | learned @5 |"]
        lines.append("|---|---|---:|---:|---:|")
        for f in loco["folds"]:
            lines.append(
                f"| {f['held_out']} | {f['stopped_on']} | {f['best_step']} | "
                f"{f['untrained']['5']:.3f} | {f['learned']['5']:.3f} |"
            )
    lines += ["", "Learned minus untrained (mean, 95% bootstrap interval over questions):"]
    parts = [("split", split["valid_difference"])]
    if loco is not None:
        parts.append(("leave-one-out pooled", loco["pooled_difference"]))
    for name, d in parts:
        cells = ", ".join(
            f"@{k} {d['mean'][str(k)]:+.3f} [{d['ci95'][str(k)][0]:+.3f}, "
            f"{d['ci95'][str(k)][1]:+.3f}]"
            for k in KS
        )
        better, worse = d["questions_better_at_5"], d["questions_worse_at_5"]
        lines.append(f"- {name}: {cells}; @5 better on {better} questions, worse on {worse}")
    seen = split["train_recall"]
    lines += ["", "The split's training conversations (seen in training: fit, not held out):"]
    lines += [head, "|---|---:|" + "---:|" * 8]
    lines.append(row(f"untrained, {', '.join(split['train'])}", seen["untrained"]))
    lines.append(row(f"learned, {', '.join(split['train'])}", seen["learned"]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/locomo/locomo_dev.json"))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--weights", type=Path, help="save the split's learned reader here")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "memchat-locomo-embeddings",
        help="embedding cache (shared with bench/locomo_retrieval.py)",
    )
    parser.add_argument("--no-loco", action="store_true", help="skip leave-one-out (5 trainings)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    embed = Embedder(args.cache_dir)
    tasks = reading_tasks(args.data, embed)
    config = TrainConfig()
    split, result = run_split(tasks, config)
    diagnostics = {
        "not normalised": run_split(tasks, replace(config, normalise=False))[0],
        "dense objective": run_split(tasks, replace(config, objective="dense"))[0],
    }
    loco = None if args.no_loco else run_loco(tasks, config)
    report = {
        "data": str(args.data),
        "what": "recall@k of the evidence turns (categories 1-4), untrained read vs learned "
        "query/key maps in the same hybrid read; held-out conversations only unless marked",
        "hybrid_params": asdict(config.params),
        "split": split,
        "diagnostics": diagnostics,
        "leave_one_conversation_out": loco,
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus, torch {torch.__version__}",
        "texts_encoded": embed.encoded,
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    if args.weights:
        encoder = encoder_name(load_settings().encoder)  # the encoder Embedder used
        extra = {"best_step": str(result.best_step), "valid": json.dumps(split["valid"])}
        save_reader(args.weights, result.maps, config, split["train"], encoder, extra)
        report["weights"] = str(args.weights)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "learned_reader.json").write_text(json.dumps(report, indent=2) + "\n")
    print(markdown(report))
    print(f"\n{report['elapsed_s']} s; {report['machine']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
