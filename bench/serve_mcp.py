"""The MCP `search_memory` round trip against the in-process read, at 10k and 100k memories.

Per size N: a fresh SQLite database gets N turn memories in the default profile
(`bench/cache_load.py`'s `fill`: varied sentences, turns, links, random unit keys; the profile
is then marked as embedded by the real encoder, so the packaged MiniLM reads it). Queries are
the first 8 words of memories drawn at random, the same queries for every part.

1. In process: the real agent (`build_agent`) on that database, warmed by one search (the
   encoder and the profile's cache load), then `agent.search(q, k=5)` per query (encode +
   hybrid read: "the in-process read"), p50 and p95; then `agent.call_search("mcp: bench", q, 5)`
   per query (the read + recording the call, the work the MCP tool does), p50.
2. The agent is then dropped (its engine disposed) and, with nothing else of the bench running,
   `python -m tui.cli --db DB serve mcp` starts under the MCP SDK's stdio `Client`: its start
   (seconds until the client is connected: imports, the encoder, the profile's cache), one
   warm-up call, then `call_tool("search_memory", {"query": q, "k": 5})` per query, client-side
   wall clock, p50 and p95. Each call's result count and turn id are kept: every call must
   return k results and be recorded by the server (a distinct turn), so nothing was cached.

The ratio is MCP p50 / in-process search p50, the difference their p50s apart in ms (the
protocol, JSON, the pipe, and recording the call). No timing is asserted anywhere.

    .venv/bin/python bench/serve_mcp.py [--sizes 10000 100000] [--reps 51] [--cache DIR]
                                        [--out bench/results] [--json]

writes `<out>/serve_mcp.json` (default bench/results/serve_mcp.json) and prints a table, or,
with --json, only the JSON document. Progress goes to stderr. --cache is the converted-model
cache (default: the user's, as memchat's own).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "bench"))  # cache_load (first already when run as a script)

from cache_load import fill  # noqa: E402

from agent.bootstrap import build_agent  # noqa: E402
from agent.core import Agent  # noqa: E402
from agent.settings import Settings, load_settings  # noqa: E402
from storage.db import make_engine, session_factory  # noqa: E402
from storage.models import Memory, Profile, Turn  # noqa: E402

K = 5
CALLER = "mcp: bench"
CLIENT_NAME = "bench"
QUERY_WORDS = 8


def log(message: str) -> None:
    print(f"[serve_mcp] {message}", file=sys.stderr, flush=True)


def percentile(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[int(q * (len(ordered) - 1))]


def summary(times: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(percentile(times, 0.95), 2),
    }


def environment(home: Path, cache: Path) -> dict[str, str]:
    env = {**os.environ, "MEMCHAT_HOME": str(home), "MEMCHAT_CACHE": str(cache)}
    for name in ("MEMCHAT_PROFILE", "MEMCHAT_DB"):
        env.pop(name, None)
    return env


def bench_settings(home: Path, db: Path, cache: Path | None) -> Settings:
    environ = {"MEMCHAT_HOME": str(home)}
    if cache is not None:
        environ["MEMCHAT_CACHE"] = str(cache)
    return load_settings(environ=environ, db=str(db))


def filled_database(db: Path, n: int) -> int:
    """`cache_load.fill` into a fresh SQLite file, its profile renamed "default"; its id."""
    engine = make_engine(f"sqlite:///{db}")
    try:
        sessions = session_factory(engine)
        profile_id = fill(sessions, n)
        with sessions() as s, s.begin():
            s.execute(update(Profile).where(Profile.id == profile_id).values(name="default"))
    finally:
        engine.dispose()
    return profile_id


def claim_for(agent: Agent, profile_id: int) -> None:
    """Mark the filled profile as embedded by the agent's (real) encoder."""
    encoder = agent.models.encoder
    with agent.sessions() as s, s.begin():
        s.execute(
            update(Profile)
            .where(Profile.id == profile_id)
            .values(encoder=encoder.identity, encoder_dim=encoder.dim)
        )


def pick_queries(agent: Agent, n: int, count: int, seed: int = 1) -> list[str]:
    """The first words of `count` memories drawn at random (ids are 1..n)."""
    ids = random.Random(seed).sample(range(1, n + 1), min(count, n))
    with agent.sessions() as s:
        texts = dict(s.execute(select(Memory.id, Memory.key_text).where(Memory.id.in_(ids))).all())
    return [" ".join(texts[i].split()[:QUERY_WORDS]) for i in ids]


def timed(fn: Callable[[str], Any], queries: list[str]) -> tuple[list[float], list[Any]]:
    times, outs = [], []
    for q in queries:
        started = time.perf_counter()
        outs.append(fn(q))
        times.append((time.perf_counter() - started) * 1000)
    return times, outs


def in_process(settings: Settings, profile_id: int, n: int, reps: int) -> dict[str, Any]:
    """The real agent's search, then search + recording, per query; the queries used. The
    agent is dropped afterwards (its engine disposed): the server runs alone."""
    log(f"n={n}: in process: loading the encoder")
    agent = build_agent(settings)
    try:
        return time_agent(agent, profile_id, n, reps)
    finally:
        agent.sessions.kw["bind"].dispose()
        del agent
        gc.collect()


def time_agent(agent: Agent, profile_id: int, n: int, reps: int) -> dict[str, Any]:
    claim_for(agent, profile_id)
    queries = pick_queries(agent, n, reps)
    started = time.perf_counter()
    agent.search(queries[0], k=K)  # the profile's cache loads
    warm_s = time.perf_counter() - started
    log(f"n={n}: in process: warm ({warm_s:.1f} s); {len(queries)} searches")
    search_times, reads = timed(lambda q: agent.search(q, k=K), queries)
    log(f"n={n}: in process: {len(queries)} searches + records")
    agent.call_search(CALLER, queries[0], K)  # the caller's session is made
    record_times, _ = timed(lambda q: agent.call_search(CALLER, q, K), queries)
    return {
        "queries": queries,
        "first_search_s": round(warm_s, 3),
        "search": summary(search_times),
        "search_and_record": summary(record_times),
        "search_results": sorted({len(r.results) for r in reads}),
    }


async def over_mcp(home: Path, cache: Path, db: Path, queries: list[str]) -> dict[str, Any]:
    """`memchat --db DB serve mcp` under the SDK's client: start, one warm-up call, then one
    timed `search_memory` per query."""
    from mcp import Client, StdioServerParameters
    from mcp.types import Implementation

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "tui.cli", "--db", str(db), "serve", "mcp"],
        env=environment(home, cache),
        cwd=ROOT,
    )
    info = Implementation(name=CLIENT_NAME, version="1")
    started = time.perf_counter()
    async with Client(params, client_info=info, read_timeout_seconds=600) as client:
        start_s = time.perf_counter() - started
        log(f"server connected in {start_s:.1f} s; {len(queries)} calls")

        async def call(q: str) -> dict[str, Any]:
            result = await client.call_tool("search_memory", {"query": q, "k": K})
            if result.is_error or result.structured_content is None:
                raise RuntimeError(f"search_memory failed: {result.content}")
            return result.structured_content

        await call(queries[0])  # warm-up
        times, outs = [], []
        for q in queries:
            t0 = time.perf_counter()
            outs.append(await call(q))
            times.append((time.perf_counter() - t0) * 1000)
    return {
        "start_s": round(start_s, 3),
        "round_trip": summary(times),
        "results": sorted({len(o["results"]) for o in outs}),
        "distinct_turns": len({o["turn_id"] for o in outs}),
    }


def tool_turns(db: Path) -> int:
    engine = make_engine(f"sqlite:///{db}")
    try:
        with session_factory(engine)() as s:
            return int(s.scalar(select(func.count()).where(Turn.role == "tool")) or 0)
    finally:
        engine.dispose()


def measure(n: int, reps: int, cache: Path | None, workdir: Path) -> dict[str, Any]:
    home = workdir / f"n{n}"
    home.mkdir()
    db = home / "memchat.db"
    log(f"n={n}: filling {n:,} memories")
    started = time.perf_counter()
    profile_id = filled_database(db, n)
    log(f"n={n}: filled in {time.perf_counter() - started:.1f} s")
    settings = bench_settings(home, db, cache)
    local = in_process(settings, profile_id, n, reps)
    before = tool_turns(db)
    log(f"n={n}: over MCP: starting the server")
    mcp = asyncio.run(over_mcp(home, settings.cache, db, local["queries"]))
    recorded = tool_turns(db) - before
    search_p50 = local["search"]["p50_ms"]
    mcp_p50 = mcp["round_trip"]["p50_ms"]
    return {
        "memories": n,
        "queries": len(local["queries"]),
        "k": K,
        "in_process": {k: v for k, v in local.items() if k != "queries"},
        "mcp": {**mcp, "recorded_calls": recorded},
        "mcp_over_in_process": round(mcp_p50 / search_p50, 2),
        "mcp_minus_in_process_ms": round(mcp_p50 - search_p50, 2),
        "sample_queries": local["queries"][:3],
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    print(
        f"{'memories':>9} {'search p50':>10} {'p95':>7} {'+record p50':>11} "
        f"{'MCP p50':>8} {'p95':>7} {'ratio':>6} {'diff':>7} {'start':>7}"
    )
    for r in rows:
        local, mcp = r["in_process"], r["mcp"]
        print(
            f"{r['memories']:>9,} {local['search']['p50_ms']:10.1f} "
            f"{local['search']['p95_ms']:7.1f} {local['search_and_record']['p50_ms']:11.1f} "
            f"{mcp['round_trip']['p50_ms']:8.1f} {mcp['round_trip']['p95_ms']:7.1f} "
            f"{r['mcp_over_in_process']:6.2f} {r['mcp_minus_in_process_ms']:7.1f} "
            f"{mcp['start_s']:6.1f}s"
        )
    print("(ms; ratio and diff: MCP p50 against the in-process search p50; start: server start)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--reps", type=int, default=51, help="timed queries per part")
    parser.add_argument("--cache", type=Path, help="the converted-model cache (MEMCHAT_CACHE)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--json", action="store_true", help="print the JSON document only")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure(n, args.reps, args.cache, Path(tmp)) for n in sorted(args.sizes)]
    report = {
        "benchmark": "serve_mcp",
        "machine": f"{platform.machine()}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, {os.cpu_count()} cores",
        "load_average_at_start": [round(x, 2) for x in load],
        "date": time.strftime("%Y-%m-%d"),
        "seconds": round(time.perf_counter() - started),
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "serve_mcp.json").write_text(json.dumps(report, indent=2) + "\n")
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
