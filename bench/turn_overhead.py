"""The memory part of a chat turn (encode + read + write, generation excluded) at scale.

Fills a fresh SQLite profile with N synthetic memories (random unit keys), then times
`Agent.remember` (the same code a chat turn runs before generating) over a set of messages.
Reports medians and p95 per N, and the ratio to the smallest N measured in the same run.

    .venv/bin/python bench/turn_overhead.py [--sizes 100 10000] [--turns 40] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.bootstrap import build_agent  # noqa: E402
from agent.core import Agent  # noqa: E402
from agent.memory.unit import key_terms  # noqa: E402
from agent.settings import load_settings  # noqa: E402
from storage.models import Memory, utcnow  # noqa: E402

MESSAGES = [
    "My name is Sam and I am vegetarian.",
    "What should I cook for dinner tonight?",
    "I love hiking in the mountains.",
    "My sister is Alice.",
    "Any ideas for the weekend?",
    "I live in Lyon.",
    "Remember that the meeting moved to Thursday.",
    "How are you today?",
    "I don't like horror movies.",
    "Can you recommend a book about space?",
]


def synthetic_rows(
    profile_id: int, n: int, dim: int, seed: int = 0, keys: np.ndarray | None = None
) -> Iterator[list[dict[str, Any]]]:
    """n memory rows with random unit keys (float32 bytes; `keys` (n, dim) instead, if given),
    5000 at a time, with their key terms stored as the write path stores them
    (bench/cache_load.py times loads without)."""
    rng = np.random.default_rng(seed)
    now = utcnow()
    for start in range(0, n, 5000):
        count = min(5000, n - start)
        if keys is None:
            batch = rng.standard_normal((count, dim)).astype("<f4")
            batch /= np.linalg.norm(batch, axis=1, keepdims=True)
        else:
            batch = keys[start : start + count].astype("<f4")
        yield [
            {
                "profile_id": profile_id,
                "kind": "turn" if i % 4 else "fact",
                "slot": None,
                "key_text": f"synthetic memory {start + i}",
                "key_terms": key_terms(f"synthetic memory {start + i}"),  # as the write path
                "value_text": f"value {start + i}",
                "key_emb": batch[i].tobytes(),
                "value_emb": batch[i].tobytes(),
                "usage": 0.0,
                "pinned": False,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(count)
        ]


def fill(agent: Agent, n: int, dim: int, seed: int = 0) -> None:
    """Insert n synthetic memories (`synthetic_rows`) straight into the table (fast): one
    executemany per batch, through SQLAlchemy Core."""
    profile_id = agent.profile_id(create=True)
    for rows in synthetic_rows(profile_id, n, dim, seed):
        with agent.sessions() as s, s.begin():
            s.execute(insert(Memory), rows)


def time_turn(agent: Agent, i: int) -> tuple[float, dict[str, float]]:
    """One timed `agent.remember` of the i-th message: (ms, the turn's own timings)."""
    started = time.perf_counter()
    turn = agent.remember(MESSAGES[i % len(MESSAGES)] + f" ({i})")
    return (time.perf_counter() - started) * 1000, turn.timings_ms


def summarise_turns(timed: list[tuple[float, dict[str, float]]]) -> dict[str, float]:
    """Median and p95 of the turns' ms, and the median of each part (encode, read, write)."""
    totals = sorted(total for total, _ in timed)
    return {
        "turns": len(timed),
        "median_ms": statistics.median(totals),
        "p95_ms": totals[int(0.95 * (len(totals) - 1))],
        **{
            f"{part}_median_ms": statistics.median(parts[part] for _, parts in timed)
            for part in ("encode", "read", "write")
        },
    }


def time_turns(agent: Agent, turns: int) -> dict[str, float]:
    """`summarise_turns` of `turns` messages, after one warm-up turn."""
    agent.remember("warm up")
    return summarise_turns([time_turn(agent, i) for i in range(turns)])


def measure(n: int, turns: int, workdir: Path) -> dict[str, float]:
    settings = load_settings(home=workdir / f"n{n}", profile="bench")
    agent = build_agent(settings)
    dim = agent.store.encoder.dim  # loads the encoder before timing
    fill(agent, n, dim)
    t0 = time.perf_counter()
    profile_id = agent.profile_id()
    agent.store.cache(profile_id)
    cache_load_ms = (time.perf_counter() - t0) * 1000
    return {
        "memories": n,
        **time_turns(agent, turns),
        "cache_load_ms": cache_load_ms,
        # the process's peak so far: sizes run smallest first, so this is this size's peak
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 10_000])
    parser.add_argument("--turns", type=int, default=40)
    parser.add_argument("--json", action="store_true", help="print the JSON document only")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure(n, args.turns, Path(tmp)) for n in sorted(args.sizes)]
    base = rows[0]["median_ms"]
    for row in rows:
        row["ratio_to_smallest"] = row["median_ms"] / base
    report = {
        "benchmark": "turn_overhead",
        "machine": f"{platform.machine()}, "
        f"{platform.python_version()}, {__import__('os').cpu_count()} cores",
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "turn_overhead.json").write_text(json.dumps(report, indent=2) + "\n")
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"{'memories':>9} {'median':>8} {'p95':>8} {'encode':>7} {'read':>7} {'write':>7} "
        f"{'ratio':>6} {'cache load':>10}  (ms)"
    )
    for r in rows:
        print(
            f"{r['memories']:>9} {r['median_ms']:8.1f} {r['p95_ms']:8.1f} "
            f"{r['encode_median_ms']:7.1f} {r['read_median_ms']:7.1f} "
            f"{r['write_median_ms']:7.1f} {r['ratio_to_smallest']:6.2f} "
            f"{r['cache_load_ms']:10.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
