"""Cold start: from process start to a chat screen that answers, first run and cached runs.

Each run is a fresh Python process (`--probe`) that does what `memchat chat` does: import the
command line and the UI, build the agent with the bootstrap, and run the Textual app
(headless). It prints READY once the chat input has focus and both models are loaded (the
loading screen has closed), and exits. The parent times process start -> READY.

- first: an empty model cache, so the GGUF is verified (sha256) and converted;
- cached: the same cache again (median of `--reps` runs): what every later start costs.

Also reported: the cached time split (interpreter and imports, agent, encoder, generator) and
the peak RSS of a cached run.

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
READY = "READY"


def probe() -> int:
    """Child: the `memchat chat` start path, headless; prints READY and phase times."""
    born = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    from agent.bootstrap import build_agent
    from agent.settings import load_settings
    from tui.app import MemchatApp
    from tui.widgets.messages import ChatInput

    imported = time.perf_counter()
    agent = build_agent(load_settings())
    built = time.perf_counter()
    phases: dict[str, float] = {"imports": imported - born, "agent": built - imported}

    class ProbeApp(MemchatApp):
        CSS_PATH = str(ROOT / "tui" / "memchat.tcss")  # relative paths resolve beside this file

        def on_mount(self) -> None:
            super().on_mount()
            self.set_interval(0.01, self.check)

        def check(self) -> None:
            loaded = {"encoder", "generator"} <= set(vars(agent.models))
            if loaded and isinstance(self.focused, ChatInput):
                phases["app_ready"] = time.perf_counter() - built
                self.exit()

    ProbeApp(agent).run(headless=True)
    if "app_ready" not in phases:
        print("the app closed before the models were loaded", file=sys.stderr)
        return 1
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"ready": READY, "phases_s": phases, "peak_rss_mb": round(rss_mb)}))
    return 0


def one_start(env: dict[str, str]) -> dict[str, object]:
    """Start a probe; seconds from spawning it to its READY line, with what it reported."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--probe"], env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if READY in line]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"probe failed ({done.returncode}):\n{done.stderr[-2000:]}")
    report = json.loads(lines[-1])
    # what the child did not time: the interpreter's start and the process spawn
    report["phases_s"]["interpreter"] = elapsed - sum(report["phases_s"].values())
    return {"seconds": elapsed, **report}


def run(reps: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "MEMCHAT_HOME": home, "MEMCHAT_CACHE": str(Path(home) / "cache")}
        env.pop("MEMCHAT_DB", None)
        first = one_start(env)
        cached = [one_start(env) for _ in range(reps)]
    middle = sorted(cached, key=lambda r: float(r["seconds"]))[len(cached) // 2]  # type: ignore[arg-type]
    return {
        "cold_start_s": {
            "first": round(float(first["seconds"]), 2),  # type: ignore[arg-type]
            "cached": round(statistics.median(float(r["seconds"]) for r in cached), 2),  # type: ignore[arg-type]
        },
        "cached_phases_s": {k: round(v, 2) for k, v in middle["phases_s"].items()},  # type: ignore[union-attr]
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
    starts = doc["cold_start_s"]
    print(f"first start (convert): {starts['first']} s")  # type: ignore[index]
    print(f"cached start (median of {args.reps}): {starts['cached']} s")  # type: ignore[index]
    print(f"cached phases (s): {doc['cached_phases_s']}; peak RSS {doc['peak_rss_mb']} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
