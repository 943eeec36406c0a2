"""LoCoMo dev: does each memory mechanism help? Recall@k of the evidence turns, per category,
for the product's read with hops 1, 2 and 3 (several hop weights lambda) and with the temporal
links on and off, all over the same ingested memories in one run (`memchat eval locomo`'s path:
the real encoder, the SQLite store, the extractor).

    .venv/bin/python bench/locomo_mechanisms.py --data ../shared/data/locomo/locomo_dev.json

Writes bench/results/locomo_mechanisms.json and prints a Markdown table. A mechanism is on by
default only if it raises recall@5 over categories 1-4 here (DESIGN section 3).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.bootstrap import build_agent  # noqa: E402
from agent.eval import locomo  # noqa: E402
from agent.eval.locomo_data import load_locomo  # noqa: E402
from agent.eval.report import summarize  # noqa: E402
from agent.settings import load_settings  # noqa: E402

# (hops, lambda, memories whose value terms join the next hop's query; None: the read's k)
HOP_VARIANTS = ((2, 0.5, 3), (2, 1.0, 3), (2, 1.0, 8), (2, 1.0, None), (2, 2.0, 3), (3, 1.0, 3))


def hop_methods(hops: int, lam: float, terms: int | None) -> dict[str, locomo.MethodFactory]:
    """The read with `hops` hops, and the same read ranked by its mean weight over the hops."""
    name = f"hops={hops} lambda={lam} terms={terms or 'k'}"
    made: list[locomo.AgentRead] = []

    def last_hop(ctx: locomo.MethodContext) -> locomo.Method:
        made.append(
            locomo.AgentRead(ctx.agent, ctx.k, hops=hops, hop_lambda=lam, hop_terms=terms or 0)
        )
        return made[-1]

    return {name: last_hop, f"{name} mean": lambda ctx: locomo.MeanOfHops(made[-1])}


def variants() -> dict[str, locomo.MethodFactory]:
    """Name -> method factory: the default read with one mechanism changed."""
    found: dict[str, locomo.MethodFactory] = {
        "hops=1": lambda ctx: locomo.AgentRead(ctx.agent, ctx.k, hops=1),
        "links off": lambda ctx: locomo.AgentRead(ctx.agent, ctx.k, hops=1, links=False),
    }
    for hops, lam, terms in HOP_VARIANTS:
        found.update(hop_methods(hops, lam, terms))
    found["hops=2 links off"] = lambda ctx: locomo.AgentRead(ctx.agent, ctx.k, hops=2, links=False)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/locomo/locomo_dev.json"))
    parser.add_argument("--out", type=Path, default=Path("bench/results/locomo_mechanisms.json"))
    parser.add_argument("--limit", type=int, help="first N conversations only")
    args = parser.parse_args()
    samples = load_locomo(args.data)[: args.limit]
    home = Path(tempfile.mkdtemp(prefix="memchat-mech-"))
    agent = build_agent(load_settings(environ={"MEMCHAT_HOME": str(home)}))
    locomo.METHODS = {"default": locomo.METHODS["default"], **variants()}
    started = time.perf_counter()
    run = locomo.run_locomo(agent, samples, retrieval_only=True)
    doc = summarize(run, str(args.data))
    rows = {"default": doc, **doc["baselines"]}
    table = {
        name: {
            "recall_at": d["recall_at"],
            "recall_at_by_category": d["recall_at_by_category"],
            "read_ms_p50": d["latency_ms"].get("read_p50"),
        }
        for name, d in rows.items()
    }
    result = {
        "data": str(args.data),
        "questions": doc["questions"],
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
        "elapsed_s": round(time.perf_counter() - started, 1),
        "methods": table,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print("| read | @1 | @5 | @10 | @20 | cat1 @5 | cat2 @5 | cat3 @5 | cat4 @5 | p50 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, d in table.items():
        r, c = d["recall_at"], d["recall_at_by_category"]
        cells = [f"{r[k]:.3f}" for k in ("1", "5", "10", "20")]
        cells += [f"{c[str(i)]['5']:.3f}" for i in (1, 2, 3, 4)]
        p50 = d["read_ms_p50"]
        cells.append(f"{p50:.1f}" if p50 is not None else "")
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
