"""The memory networks of agent/memnets/ trained and tested on the bAbI QA tasks, next to the
papers' figures.

Per task (one model per task) or joint (one model on all tasks' training questions). As in the
MemN2N paper (section 4.2): 10% of each task's training questions are held out for
validation, the most recent 50 statements are the memories, and of `--runs` restarts with
different seeds the one with the lowest training error is reported (every restart's per-task
test errors are kept too, with their mean and spread). MemN2N's restarts, and the KV-MemNN's in
its default form, train in lockstep (agent/memnets/restarts.py: 10 restarts cost about 4
times one). Each run ends with its last epoch's weights (`--keep-best`: those of its epoch
with the lowest validation error). The slots a story leaves empty are read as the authors'
code reads them, zero memories in the softmax (`--empty-slots masked`: left out of it).
Test error per task, mean error, and failed tasks (error > 5%) go to the table and to
`bench/results/babi.json`, which keeps the other models' entries:

    {"<model>": {"mean_error": .., "failed_tasks": .., "per_task": {"1": ..}, "setting":
     "en" | "en-10k", "joint": true | false, "config": {..}, "runs": [{"seed", "train_error",
     "valid_error", "curve", "per_task", "mean_error", ..}], "all_runs": {"mean", "sd", "min",
     "max"}, "training_seconds": .., "machine": {..}, "paper": {..}}}

Keys are the model name, with "_per_task" added for per-task runs, "_masked" with
`--empty-slots masked`, "_<setting>" for 10k, and
the KV-MemNN's choices that differ from its defaults (adjacent embeddings, sentence values,
tied output, maps at 0.1 of the learning rate).
Defaults are the paper's: 3 hops; joint d = 50, 30 linear-start epochs then 60, the learning
rate halved every 15; per task d = 20, 20 then 100, halved every 25; SGD at 0.005
(agent/memnets/train.py). The DNC trains with Adam, 20 epochs. `--table` prints the results
file as a markdown table and `--plot PNG` draws it; neither trains anything.

    .venv/bin/python bench/babi.py --model memn2n --joint          # MemN2N joint, en (1k)
    .venv/bin/python bench/babi.py --model kvmemnn --joint
    .venv/bin/python bench/babi.py --model memn2n --tasks 1 2 3    # per task
    .venv/bin/python bench/babi.py --model dnc --setting en-10k --tasks 1 4 15
    .venv/bin/python bench/babi.py --table
    .venv/bin/python bench/babi.py --plot bench/results/babi.png
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.memnets.babi import Batch, Example, Vocab, load_task, vectorize  # noqa: E402
from agent.memnets.kvmemnn import KeyValueMemoryNetwork  # noqa: E402
from agent.memnets.memn2n import MemN2N  # noqa: E402
from agent.memnets.restarts import MemN2NRestarts, train_restarts  # noqa: E402
from agent.memnets.train import accuracy, train  # noqa: E402
from bench.babi_report import (  # noqa: E402
    PAPER_NOTES,
    TASKS,
    markdown_table,
    paper_figures,
    plot,
    print_table,
    restart_spread,
    summarise,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "babi"
RESULTS = ROOT / "bench" / "results" / "babi.json"
KV_DEFAULTS = ("adjacent", "sentence", "tied")  # --kv-embeddings, --kv-values, --kv-output


@dataclass(frozen=True)
class TaskData:
    train: list[Example]
    valid: list[Example]
    test: list[Example]
    note: str = ""  # e.g. a 10k task trained on the 1k file


def load_setting(folder: Path, setting: str, task: int, valid_share: float = 0.1) -> TaskData:
    """One task's training questions (the last `valid_share` held out) and test questions.
    en-10k lacks qa3's training file in our copy: that task then trains on en's, and says so."""
    note = ""
    try:
        train_all = load_task(folder / setting, task, "train")
    except FileNotFoundError:
        if setting == "en":
            raise
        train_all, note = load_task(folder / "en", task, "train"), f"task {task} trained on en"
    cut = len(train_all) - max(1, int(len(train_all) * valid_share))
    return TaskData(
        train_all[:cut], train_all[cut:], load_task(folder / setting, task, "test"), note
    )


def build_model(name: str, vocab: int, slots: int, args: argparse.Namespace) -> nn.Module:
    """One model over `slots` memory slots (the most recent statements kept)."""
    read_empty = args.empty_slots == "read"
    if name == "memn2n":
        return MemN2N(
            vocab, dim=args.dim, hops=args.hops, memories=slots, read_empty_slots=read_empty
        )
    if name == "kvmemnn":
        return KeyValueMemoryNetwork(
            vocab, answers=vocab, dim=args.dim, hops=args.hops, memories=slots,
            embeddings=args.kv_embeddings, read_empty_slots=read_empty, values=args.kv_values,
            output=args.kv_output, map_lr=args.kv_map_lr,
        )  # fmt: skip
    if name == "dnc":
        from agent.memnets.dnc import DNCQA  # only this model needs it

        return DNCQA(vocab, hidden=args.hidden, slots=args.slots, word=args.word, reads=args.reads)
    raise SystemExit(f"unknown model {name!r}: memn2n, kvmemnn or dnc")


def train_runs(
    make: Callable[[], nn.Module],
    data: Batch,
    valid: Batch,
    args: argparse.Namespace,
    label: str,
) -> list[tuple[nn.Module, dict[str, Any]]]:
    """`args.runs` trainings with seeds seed, seed+1, ...: each trained model with a line
    saying how it trained (training and validation error, seconds)."""
    out = []
    for run in range(args.runs):
        seed = args.seed + run
        torch.manual_seed(seed)
        model = make()
        started = time.perf_counter()
        history = train(
            model, data, valid, epochs=args.epochs, lr=args.lr, anneal_every=args.anneal_every,
            linear_start_epochs=args.linear_start_epochs, noise=args.noise, seed=seed,
            optimiser=args.optimiser, keep_best=args.keep_best,
            on_epoch=partial(report, args, f"{label} run {run + 1}"),
        )  # fmt: skip
        kept = len(history.valid_loss) if history.best_epoch is None else history.best_epoch + 1
        line = describe_run(model, data, valid, seed, time.perf_counter() - started, kept)
        line["curve"] = [round(100 * e, 2) for e in history.valid_error]
        print(f"  {label} run {run + 1}: {summary_of(line)}", flush=True)
        out.append((model, line))
    return out


def train_lockstep(
    restarts: MemN2NRestarts, data: Batch, valid: Batch, args: argparse.Namespace, label: str
) -> list[tuple[nn.Module, dict[str, Any]]]:
    """MemN2N's `args.runs` restarts trained at once (agent/memnets/restarts.py): the same
    trainings as `train_runs`, each from its own initialisation and noise, in one pass."""
    started = time.perf_counter()
    history = train_restarts(
        restarts, data, valid, epochs=args.epochs, lr=args.lr, anneal_every=args.anneal_every,
        linear_start_epochs=args.linear_start_epochs, noise=args.noise, seed=args.seed,
        on_epoch=lambda epoch, losses: report(args, f"{label} restarts", epoch, min(losses)),
    )  # fmt: skip
    seconds = (time.perf_counter() - started) / restarts.restarts  # each restart's share
    out = []
    for r in range(restarts.restarts):
        model = restarts.restart(r)
        epochs = args.linear_start_epochs + args.epochs  # the last epoch's weights
        line = describe_run(model, data, valid, args.seed, seconds, epochs)
        line["restart"] = r
        line["curve"] = [round(100 * epoch[r], 2) for epoch in history.valid_error]
        print(f"  {label} restart {r + 1}: {summary_of(line)}", flush=True)
        out.append((model, line))
    return out


def describe_run(
    model: nn.Module, data: Batch, valid: Batch, seed: int, seconds: float, kept: int
) -> dict[str, Any]:
    return {
        "seed": seed,
        "valid_error": round(100 * (1 - accuracy(model, valid)), 2),
        "train_error": round(100 * (1 - accuracy(model, data)), 2),  # the paper picks by it
        "seconds": round(seconds, 1),
        "epoch_kept": kept,
    }


def summary_of(line: dict[str, Any]) -> str:
    return (
        f"valid error {line['valid_error']:.1f}%, training error {line['train_error']:.1f}%, "
        f"at epoch {line['epoch_kept']} ({line['seconds']:.0f} s)"
    )


def trained(
    name: str, vocab: int, slots: int, data: Batch, valid: Batch, args: argparse.Namespace,
    label: str,
) -> list[tuple[nn.Module, dict[str, Any]]]:  # fmt: skip
    """Every run of the model: in lockstep where agent/memnets/restarts.py has the model
    (MemN2N; the KV-MemNN with adjacent embeddings, sentence values and a tied output),
    else one after another."""
    if args.lockstep and lockstep_has(name, args):
        torch.manual_seed(args.seed)
        restarts = MemN2NRestarts(
            args.runs, vocab, dim=args.dim, hops=args.hops, memories=slots,
            read_empty_slots=args.empty_slots == "read", hop_maps=name == "kvmemnn",
            map_lr=args.kv_map_lr,
        )  # fmt: skip
        return train_lockstep(restarts, data, valid, args, label)
    return train_runs(partial(build_model, name, vocab, slots, args), data, valid, args, label)


def lockstep_has(name: str, args: argparse.Namespace) -> bool:
    kv = (args.kv_embeddings, args.kv_values, args.kv_output) == ("adjacent", "sentence", "tied")
    return name == "memn2n" or (name == "kvmemnn" and kv)


def chosen(runs: list[tuple[nn.Module, dict[str, Any]]]) -> int:
    """The paper's choice among restarts: the lowest training error (the first on a tie)."""
    return min(range(len(runs)), key=lambda i: runs[i][1]["train_error"])


def report(args: argparse.Namespace, label: str, epoch: int, loss: float) -> None:
    """Progress: every epoch with --verbose, else every tenth and the last."""
    if args.verbose or (epoch + 1) % 10 == 0 or epoch + 1 == args.epochs:
        print(f"  {label} epoch {epoch + 1}: valid loss {loss:.3f}", flush=True)


def test_error(model: nn.Module, test: Batch) -> float:
    return round(100 * (1 - accuracy(model, test)), 2)


def run_joint(tasks: dict[int, TaskData], args: argparse.Namespace) -> dict[str, Any]:
    """One model trained on every task's questions; test error per task, for every run."""
    everything = [ex for d in tasks.values() for ex in d.train + d.valid + d.test]
    vocab = Vocab.build(everything)
    data = vectorize([ex for d in tasks.values() for ex in d.train], vocab, args.memories)
    slots, width = data.story.shape[1], data.story.shape[-1]
    valid = split([ex for d in tasks.values() for ex in d.valid], vocab, slots, width)
    runs = trained(args.model, len(vocab), slots, data, valid, args, "joint")
    tests = {t: split(d.test, vocab, slots, width) for t, d in tasks.items()}
    for model, line in runs:
        line["per_task"] = {str(t): test_error(model, test) for t, test in tests.items()}
        line["mean_error"], line["failed_tasks"] = summarise(line["per_task"])
    best = chosen(runs)
    return {"per_task": runs[best][1]["per_task"], "runs": [line for _, line in runs]}


def run_per_task(tasks: dict[int, TaskData], args: argparse.Namespace) -> dict[str, Any]:
    """A model per task, each with its own vocabulary; per task, the run chosen by training
    error."""
    per_task, runs = {}, {}
    for t, d in tasks.items():
        vocab = Vocab.build(d.train + d.valid + d.test)
        data = vectorize(d.train, vocab, args.memories)
        slots, width = data.story.shape[1], data.story.shape[-1]
        valid, test = split(d.valid, vocab, slots, width), split(d.test, vocab, slots, width)
        task_runs = trained(args.model, len(vocab), slots, data, valid, args, f"task {t}")
        for model, line in task_runs:
            line["test_error"] = test_error(model, test)
        runs[str(t)] = [line for _, line in task_runs]
        per_task[str(t)] = task_runs[chosen(task_runs)][1]["test_error"]
        print(f"task {t}: test error {per_task[str(t)]:.1f}%", flush=True)
    return {"per_task": per_task, "runs": runs}


def split(examples: list[Example], vocab: Vocab, slots: int, width: int) -> Batch:
    """Held-out or test questions as tensors shaped like the training ones: at most `slots`
    memories, words padded (or cut) to `width`."""
    return pad_to(vectorize(examples, vocab, slots), width)


def kv_suffix(args: argparse.Namespace) -> str:
    """The KV-MemNN's choices that differ from the defaults, for its results key."""
    chosen_values = [args.kv_embeddings, args.kv_values, args.kv_output]
    return "".join(f"_{v}" for v, d in zip(chosen_values, KV_DEFAULTS, strict=True) if v != d) + (
        "" if args.kv_map_lr == 0.1 else f"_maplr{args.kv_map_lr:g}"
    )


def pad_to(batch: Batch, width: int) -> Batch:
    """The batch with words padded (or cut) to `width`: the position encoding depends on the
    padded sentence length, so every split must use the training tensors' width."""

    def fit(x: torch.Tensor) -> torch.Tensor:
        extra = width - x.shape[-1]
        return nn.functional.pad(x, (0, extra)) if extra >= 0 else x[..., :width]

    return Batch(fit(batch.story), fit(batch.question), batch.answer)


def machine() -> dict[str, Any]:
    return {
        "processor": platform.processor() or platform.machine(),
        "system": platform.platform(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the bAbI folder (en, en-10k)")
    p.add_argument("--setting", choices=["en", "en-10k"], default="en")
    p.add_argument("--model", choices=["memn2n", "kvmemnn", "dnc"], default="memn2n")
    p.add_argument("--joint", action="store_true", help="one model on all tasks")
    p.add_argument("--tasks", type=int, nargs="+", default=list(TASKS))
    p.add_argument(
        "--runs", type=int, default=1, help="restarts (seeds); the lowest training error is kept"
    )
    p.add_argument(
        "--no-lockstep", dest="lockstep", action="store_false",
        help="MemN2N and the default KV-MemNN: train the restarts one after another "
        "(default: all at once)",
    )  # fmt: skip
    p.add_argument(
        "--empty-slots", choices=["read", "masked"], default="read",
        help="memory slots a story leaves empty: read as zero memories, as the authors' "
        "MemN2N code does (default), or masked out of the attention",
    )  # fmt: skip
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, help="default: 60 joint, 100 per task (20 DNC)")
    p.add_argument("--anneal-every", type=int, help="default: 15 joint, 25 per task")
    p.add_argument("--lr", type=float, help="default 0.005 (SGD), 0.001 (Adam, the DNC)")
    p.add_argument("--optimiser", choices=["sgd", "adam"], help="default: sgd, adam for the DNC")
    p.add_argument("--dim", type=int, help="embedding size; default 50 joint, 20 per task")
    p.add_argument("--hops", type=int, default=3)
    p.add_argument(
        "--kv-embeddings",
        choices=["shared", "separate", "adjacent"],
        default="adjacent",
        help="KV-MemNN: one matrix A (the paper's), separate A/K/V, or MemN2N's adjacent "
        "tying (default)",
    )
    p.add_argument(
        "--kv-values", choices=["sentence", "last_word"], default="sentence",
        help="KV-MemNN values: the statement (default) or its last word (window memories)",
    )  # fmt: skip
    p.add_argument(
        "--kv-output", choices=["tied", "separate"], default="tied",
        help="KV-MemNN answers: through the last value embedding (the paper's B = A, "
        "default) or a separate output layer",
    )  # fmt: skip
    p.add_argument(
        "--kv-map-lr", type=float, default=0.1,
        help="KV-MemNN: the maps R_h's learning rate as a share of the embeddings' (0.1)",
    )  # fmt: skip
    p.add_argument("--memories", type=int, default=50)
    p.add_argument("--noise", type=float, default=0.1, help="random-noise empty memories")
    p.add_argument(
        "--keep-best",
        action="store_true",
        help="keep the weights of the epoch with the lowest validation error after linear "
        "start (default: the last epoch's)",
    )
    p.add_argument("--linear-start-epochs", type=int, help="default 30 joint, 20 per task")
    p.add_argument("--hidden", type=int, default=64, help="DNC controller size")
    p.add_argument("--slots", type=int, default=32, help="DNC memory slots")
    p.add_argument("--word", type=int, default=16, help="DNC memory word size")
    p.add_argument("--reads", type=int, default=2, help="DNC read heads")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    p.add_argument("--verbose", action="store_true", help="print every epoch")
    p.add_argument("--out", type=Path, default=RESULTS, help="JSON file, updated in place")
    p.add_argument(
        "--table", action="store_true", help="print --out as a markdown table, train nothing"
    )
    p.add_argument(
        "--plot", type=Path, metavar="PNG",
        help="draw --out's per-task errors and validation curves into PNG, train nothing "
        "(needs matplotlib: the bench extra)",
    )  # fmt: skip
    args = p.parse_args(argv)
    dnc = args.model == "dnc"
    args.epochs = args.epochs or (20 if dnc else 60 if args.joint else 100)
    args.anneal_every = args.anneal_every or (15 if args.joint else 25)
    args.dim = args.dim or (50 if args.joint else 20)
    args.optimiser = args.optimiser or ("adam" if dnc else "sgd")
    args.lr = args.lr or (0.001 if args.optimiser == "adam" else 0.005)
    if args.linear_start_epochs is None:
        args.linear_start_epochs = 30 if args.joint else 20
    if dnc:
        args.noise = 0.0  # the DNC reads a word sequence: no memory slots to leave empty
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.table:
        print(markdown_table(json.loads(args.out.read_text())))
        return 0
    if args.plot:
        plot(json.loads(args.out.read_text()), args.plot)
        print(f"wrote {args.plot}")
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    if not (args.data / args.setting).is_dir():
        print(f"no bAbI data at {args.data / args.setting} (see --data)", file=sys.stderr)
        return 2
    tasks = {t: load_setting(args.data, args.setting, t) for t in args.tasks}
    started = time.perf_counter()
    result = run_joint(tasks, args) if args.joint else run_per_task(tasks, args)
    mean_error, failed = summarise(result["per_task"])
    spread = restart_spread(result["runs"]) if args.joint else None
    key = args.model + ("" if args.joint else "_per_task")
    if args.model == "kvmemnn":
        key += kv_suffix(args)
    key += "_masked" if args.empty_slots == "masked" and args.model != "dnc" else ""
    key += "" if args.setting == "en" else f"_{args.setting.replace('-', '')}"
    paper = paper_figures(args.model, args.joint, args.setting)
    entry = {
        "mean_error": mean_error,
        "failed_tasks": failed,
        "per_task": result["per_task"],
        "setting": args.setting,
        "joint": args.joint,
        "config": {k: v for k, v in vars(args).items() if k not in ("data", "out", "verbose")},
        "selection": "the run with the lowest training error, of config.runs (the paper's)",
        "runs": result["runs"],
        "all_runs": spread,
        "training_seconds": round(time.perf_counter() - started, 1),
        "machine": machine(),
        "notes": [d.note for d in tasks.values() if d.note],
        "paper": {
            "source": PAPER_NOTES[args.model],
            "per_task": dict(zip(map(str, TASKS), paper, strict=True)) if paper else None,
        },
    }
    print_table(key, entry, paper)
    if spread:
        print(
            f"all {len(result['runs'])} runs: mean error {spread['mean']:.2f} "
            f"(sd {spread['sd']:.2f}, {spread['min']:.2f} to {spread['max']:.2f})"
        )
    print(f"training and testing took {entry['training_seconds']:.0f} s")
    results = json.loads(args.out.read_text()) if args.out.is_file() else {}
    results[key] = entry
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, default=str) + "\n")
    print(f"wrote {args.out} [{key}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
