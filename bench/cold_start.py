"""Cold start: from process start to a chat that answers, first run and cached runs.

Each run is a fresh Python process (`--probe`) that does what `memchat chat` does: import the
command line and the UI, build the agent with the bootstrap, and run the Textual app
(headless). Two moments are timed from the moment the parent spawns it (wall clock):

- prompt: the chat input has focus; the user can type (the models load in the background);
- ready: both models are loaded; a message is answered without waiting for a load.

Runs:
- first: an empty model cache, so the GGUF is verified (sha256) and converted;
- cached: the same cache again (median of `--reps` runs): what every later start costs.

Also reported: the cached start's phases and the peak RSS of a cached run.

    .venv/bin/python bench/cold_start.py [--reps 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPAWNED = "MEMCHAT_BENCH_SPAWNED"  # the parent's time.time() when it started the probe


def probe() -> int:
    """Child: the `memchat chat` start path, headless; prints its timings as JSON."""
    spawned = float(os.environ[SPAWNED])
    marks: dict[str, float] = {"interpreter": time.time() - spawned}
    sys.path.insert(0, str(ROOT))
    from agent.bootstrap import build_agent
    from agent.settings import load_settings
    from tui.app import MemchatApp
    from tui.widgets.messages import ChatInput

    marks["imports"] = time.time() - spawned
    agent = build_agent(load_settings())
    marks["agent"] = time.time() - spawned

    class ProbeApp(MemchatApp):
        CSS_PATH = str(ROOT / "tui" / "memchat.tcss")  # relative paths resolve beside this file

        def on_mount(self) -> None:
            super().on_mount()
            self.set_interval(0.01, self.check)

        def check(self) -> None:
            if "prompt" not in marks and isinstance(self.focused, ChatInput):
                marks["prompt"] = time.time() - spawned
            if "prompt" in marks and agent.models.loaded:
                marks["ready"] = time.time() - spawned
                self.exit()

    ProbeApp(agent).run(headless=True)
    if "ready" not in marks:
        print("the app closed before the models were loaded", file=sys.stderr)
        return 1
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"marks_s": marks, "peak_rss_mb": round(rss_mb)}))
    return 0


def one_start(env: dict[str, str]) -> dict[str, float]:
    """Start a probe; its marks (seconds since the spawn) and peak RSS."""
    done = subprocess.run(
        [sys.executable, __file__, "--probe"],
        env={**env, SPAWNED: repr(time.time())},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise SystemExit(f"probe failed ({done.returncode}):\n{done.stderr[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return {**report["marks_s"], "peak_rss_mb": report["peak_rss_mb"]}


def run(reps: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "MEMCHAT_HOME": home, "MEMCHAT_CACHE": str(Path(home) / "cache")}
        env.pop("MEMCHAT_DB", None)
        first = one_start(env)
        cached = sorted((one_start(env) for _ in range(reps)), key=lambda r: r["ready"])
    middle = cached[len(cached) // 2]
    return {
        "cold_start_s": {
            "first": round(first["ready"], 2),
            "cached": round(statistics.median(r["ready"] for r in cached), 2),
            "prompt_first": round(first["prompt"], 2),
            "prompt_cached": round(statistics.median(r["prompt"] for r in cached), 2),
        },
        "cached_marks_s": {k: round(v, 2) for k, v in middle.items() if k != "peak_rss_mb"},
        "peak_rss_mb": middle["peak_rss_mb"],
        "reps": reps,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print the JSON document only")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    if args.probe:
        return probe()
    doc = run(args.reps)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cold_start.json").write_text(json.dumps(doc, indent=2) + "\n")
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    starts: dict[str, float] = doc["cold_start_s"]  # type: ignore[assignment]
    print(f"first start (converts): prompt {starts['prompt_first']} s, ready {starts['first']} s")
    print(
        f"cached start (median of {args.reps}): prompt {starts['prompt_cached']} s, "
        f"ready {starts['cached']} s"
    )
    print(f"cached marks (s since spawn): {doc['cached_marks_s']}")
    print(f"peak RSS {doc['peak_rss_mb']} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
