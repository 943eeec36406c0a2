"""bench/serve_mcp.py at a tiny size with the real models: the in-process read and the MCP
round trip are both measured, and every MCP call returned k memories and was recorded by the
server. No timing is asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
REPS = 3


def positive(*values: object) -> bool:
    return all(isinstance(v, (int, float)) and v > 0 for v in values)


def test_serve_mcp_bench_measures_both_sides(tmp_path: Path, model_cache: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("MEMCHAT_PROFILE", "MEMCHAT_DB")}
    done = subprocess.run(
        [sys.executable, "bench/serve_mcp.py", "--sizes", "200", "--reps", str(REPS),
         "--cache", str(model_cache), "--out", str(tmp_path), "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    doc = json.loads(done.stdout)
    assert doc == json.loads((tmp_path / "serve_mcp.json").read_text())
    assert doc["benchmark"] == "serve_mcp" and "cores" in doc["machine"]
    (row,) = doc["rows"]
    assert row["memories"] == 200 and row["queries"] == REPS and row["k"] == 5
    local, mcp = row["in_process"], row["mcp"]
    assert positive(local["search"]["p50_ms"], local["search"]["p95_ms"])
    assert positive(local["search_and_record"]["p50_ms"], local["first_search_s"])
    assert positive(mcp["round_trip"]["p50_ms"], mcp["round_trip"]["p95_ms"], mcp["start_s"])
    assert positive(row["mcp_over_in_process"])
    assert isinstance(row["mcp_minus_in_process_ms"], (int, float))
    assert local["search_results"] == [5] and mcp["results"] == [5]
    # every timed call reached the server and was recorded there (plus the warm-up call)
    assert mcp["distinct_turns"] == REPS and mcp["recorded_calls"] == REPS + 1
