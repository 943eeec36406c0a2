"""bAbI results: the papers' figures, the summaries, the markdown table and the plot that
bench/babi.py writes and prints (bench/results/babi.json, README)."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

TASKS = range(1, 21)
FAILED_ABOVE = 5.0  # percent test error: the papers' "failed task" threshold

# Test error (%) on bAbI 1k from Sukhbaatar et al. 2015, Table 1: "PE LS RN" (per task) and
# "PE LS RN joint", 3 hops, the best of 10 runs by training error.
PAPER_MEMN2N_PER_TASK = [
    0.0, 8.3, 40.3, 2.8, 13.1, 7.6, 17.3, 10.0, 13.2, 15.1,
    0.9, 0.2, 0.4, 1.7, 0.0, 1.3, 51.0, 11.1, 82.8, 0.0,
]  # fmt: skip
PAPER_MEMN2N_JOINT = [
    0.0, 11.4, 21.9, 13.4, 14.4, 2.8, 18.3, 9.3, 1.9, 6.5,
    0.3, 0.1, 0.2, 6.9, 0.0, 2.7, 40.4, 9.4, 88.0, 0.0,
]  # fmt: skip
PAPER_NOTES = {
    "memn2n": "Sukhbaatar et al. 2015, Table 1 (1k, PE LS RN, 3 hops): per task 13.9% mean, "
    "11 failed; joint 12.4% mean, 11 failed",
    "kvmemnn": "Miller et al. 2016 report no bAbI figures (WikiMovies, WikiQA)",
    "dnc": "Graves et al. 2016 (10k, joint): best run 3.8% mean error, 2 failed; mean of 20 runs "
    "16.7 +- 7.6%",
}


def restart_spread(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Mean, standard deviation and range of the runs' mean test errors."""
    means = [line["mean_error"] for line in runs]
    sd = statistics.stdev(means) if len(means) > 1 else 0.0
    return {
        "mean": round(statistics.mean(means), 2), "sd": round(sd, 2),
        "min": min(means), "max": max(means),
    }  # fmt: skip


def paper_figures(model: str, joint: bool, setting: str) -> list[float] | None:
    if model != "memn2n" or setting != "en":
        return None
    return PAPER_MEMN2N_JOINT if joint else PAPER_MEMN2N_PER_TASK


def summarise(per_task: dict[str, float]) -> tuple[float, int]:
    errors = list(per_task.values())
    return round(statistics.mean(errors), 2), sum(e > FAILED_ABOVE for e in errors)


def print_table(key: str, entry: dict[str, Any], paper: list[float] | None) -> None:
    print(f"\n{key} ({entry['setting']}, {'joint' if entry['joint'] else 'per task'})")
    print(f"{'task':>5} {'error %':>8} {'paper %':>8}")
    for task, error in entry["per_task"].items():
        theirs = f"{paper[int(task) - 1]:.1f}" if paper else "-"
        print(f"{task:>5} {error:>8.1f} {theirs:>8}")
    same = [paper[int(task) - 1] for task in entry["per_task"]] if paper else []
    theirs_mean = f"{statistics.mean(same):.1f}" if same else "-"
    print(f"{'mean':>5} {entry['mean_error']:>8.1f} {theirs_mean:>8}")
    failed = sum(e > FAILED_ABOVE for e in same) if same else "-"
    print(f"{'failed':>5} {entry['failed_tasks']:>8} {failed:>8}")


def markdown_table(results: dict[str, Any]) -> str:
    """The README's table: test error (%) per task for every entry of babi.json, the papers'
    figures beside the MemN2N ones."""
    family = ["memn2n", "kvmemnn", "dnc"]  # the paper's model first, then the others

    def order(key: str) -> tuple[int, str]:
        name = key.split("_")[0]
        return (family.index(name) if name in family else len(family), key)

    keys = sorted(results, key=order)
    papers: dict[str, dict[str, float]] = {}  # key -> the paper's figures, each shown once
    for key in keys:
        figures = results[key].get("paper", {}).get("per_task")
        if figures and figures not in papers.values():
            papers[key] = figures
    header = ["task"]
    for key in keys:
        header.append(f"{key} ({results[key]['setting']})")
        if key in papers:
            header.append(f"paper: {key}")
    rows = ["| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]

    def shown(value: Any) -> str:
        return "" if value is None else f"{value:.1f}" if isinstance(value, float) else str(value)

    def cells(pick: Callable[[dict[str, Any]], Any]) -> list[str]:
        out = []
        for key in keys:
            out.append(shown(pick(results[key])))
            if key in papers:
                paper_row = {**results[key], "per_task": papers[key], "paper_row": True}
                out.append(shown(pick(paper_row)))
        return out

    for task in map(str, TASKS):
        rows.append(
            "| " + " | ".join([task, *cells(lambda e, t=task: e["per_task"].get(t))]) + " |"
        )

    def mean_of(entry: dict[str, Any]) -> float:
        return summarise(entry["per_task"])[0] if entry.get("paper_row") else entry["mean_error"]

    def failed_of(entry: dict[str, Any]) -> int:
        return summarise(entry["per_task"])[1] if entry.get("paper_row") else entry["failed_tasks"]

    rows.append("| mean | " + " | ".join(cells(mean_of)) + " |")
    rows.append("| failed (> 5%) | " + " | ".join(cells(failed_of)) + " |")
    return "\n".join(rows)


def plot(results: dict[str, Any], path: Path) -> None:
    """The figure the README shows: test error per task for each joint 1k entry beside the
    MemN2N paper's, and each model's validation error by epoch (every run of an entry)."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    joint = {k: e for k, e in results.items() if e.get("joint") and e.get("setting") == "en"}
    bars: dict[str, list[float]] = {}
    for key in sorted(joint, key=lambda k: (k != "memn2n", k)):  # the paper's beside ours
        bars[key] = [joint[key]["per_task"].get(str(t), 0.0) for t in TASKS]
        if key == "memn2n":
            bars["memn2n, paper"] = PAPER_MEMN2N_JOINT
    figure, (left, right) = plt.subplots(1, 2, figsize=(14, 4.5), width_ratios=[2.2, 1])
    width = 0.8 / len(bars)
    for i, (key, errors) in enumerate(bars.items()):
        left.bar([t + (i - (len(bars) - 1) / 2) * width for t in TASKS], errors, width, label=key)
    left.axhline(FAILED_ABOVE, color="grey", linewidth=0.8, linestyle="--")
    left.set(xlabel="bAbI task (1k, joint)", ylabel="test error %", xticks=list(TASKS))
    left.legend(fontsize=8)
    for key, entry in results.items():
        for n, run in enumerate(entry.get("runs") if isinstance(entry.get("runs"), list) else []):
            curve = run.get("curve")
            if curve:
                epochs = range(1, len(curve) + 1)
                right.plot(epochs, curve, color=f"C{sorted(results).index(key)}",
                           alpha=0.35 if len(entry["runs"]) > 1 else 1.0,
                           label=f"{key} ({entry['setting']})" if n == 0 else None)  # fmt: skip
    right.set(xlabel="epoch", ylabel="validation error %", ylim=(0, 100))
    right.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
