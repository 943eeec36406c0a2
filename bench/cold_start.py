"""Cold start: from process start to a chat that answers, first run and cached runs.

Each run is a fresh Python process (`--probe`) that does what `memchat chat` does: import the
command line and the UI, and run the Textual app (headless), handing it the bootstrap's
`build_agent` to call in the background. As soon as the input has focus the probe types a short
message and presses Enter, as a user would. Moments timed from the moment the parent spawns it
(wall clock):

- prompt: the chat input has focus; the user can type (the agent is built in the background);
- build: the background build starts;
- agent: the agent is built (torch and the rest imported, the database open);
- ready: both models are loaded; a message is answered without waiting for a load;
- first_token: the first piece of the reply to the typed message is on screen;
- answer: that reply is complete.

Runs:
- first: an empty model cache, so the GGUF is verified (sha256) and converted;
- cached: the same cache again (median of `--reps` runs): what every later start costs.

Also reported: the marks (every step) of the median cached start and the peak RSS of it.

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
MESSAGE = "Hello"  # typed as soon as the input has focus
DEADLINE_S = 300.0  # a probe that has not answered by then stops and says so


def probe() -> int:
    """Child: the `memchat chat` start path, headless; prints its timings as JSON."""
    spawned = float(os.environ[SPAWNED])
    marks: dict[str, float] = {"interpreter": time.time() - spawned}
    sys.path.insert(0, str(ROOT))
    from agent.bootstrap import pause_collection
    from tui import cli  # what the `memchat` script imports

    pause_collection()  # as its chat command does before it imports the UI (tui/commands.py)
    from textual import events

    import tui.app
    from agent.settings import load_settings
    from tui.widgets.messages import ChatInput, Reply

    marks["imports"] = time.time() - spawned  # and tui.app, what its chat command imports

    def mark(name: str) -> None:
        marks.setdefault(name, time.time() - spawned)

    settings = load_settings()

    def build():  # what `memchat chat` hands the app
        mark("build")  # the background build starts
        agent = cli.build_agent(settings)
        mark("agent")
        return agent

    # The later steps are marked where they happen, not by polling (which would take the CPU
    # the start needs): the models loaded, the first piece of the reply and the whole reply shown.
    load_models = tui.app.load_models

    def timed_load(*args, **kwargs):
        failure = load_models(*args, **kwargs)
        mark("ready")
        return failure

    tui.app.load_models = timed_load
    add, finish, fail = Reply.add, Reply.finish, Reply.fail

    async def timed_add(reply: Reply, piece: str) -> None:
        await add(reply, piece)
        mark("first_token")

    def timed_finish(reply: Reply, result) -> None:
        finish(reply, result)
        mark("answer")
        reply.app.exit()

    def failed(reply: Reply, message: str) -> None:
        fail(reply, message)
        print(f"the reply failed: {message}", file=sys.stderr)
        reply.app.exit()

    Reply.add, Reply.finish, Reply.fail = timed_add, timed_finish, failed  # type: ignore[method-assign]

    class ProbeApp(tui.app.MemchatApp):
        CSS_PATH = str(ROOT / "tui" / "memchat.tcss")  # relative paths resolve beside this file

        def on_mount(self) -> None:  # Textual calls MemchatApp.on_mount too (after this one)
            self.poll = self.set_interval(0.01, self.check)
            self.set_timer(DEADLINE_S, self.exit)

        def check(self) -> None:
            if isinstance(self.focused, ChatInput):
                mark("prompt")
                self.poll.stop()
                for key in [*MESSAGE, "enter"]:  # typing, as a user would
                    self.focused.post_message(events.Key(key, key if len(key) == 1 else None))

    app = ProbeApp(build)
    app.run(headless=True)
    if "answer" not in marks:
        print(f"no answer (start error: {app.start_error}); marks {marks}", file=sys.stderr)
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
        cached = sorted((one_start(env) for _ in range(reps)), key=lambda r: r["answer"])
    middle = cached[len(cached) // 2]

    def median(mark: str) -> float:
        return round(statistics.median(r[mark] for r in cached), 2)

    return {
        "cold_start_s": {
            "first": round(first["ready"], 2),
            "cached": median("ready"),
            "prompt_first": round(first["prompt"], 2),
            "prompt_cached": median("prompt"),
            "first_token_first": round(first["first_token"], 2),
            "first_token_cached": median("first_token"),
            "first_answer_first": round(first["answer"], 2),
            "first_answer_cached": median("answer"),
        },
        "cached_marks_s": {
            k: round(v, 2)
            for k, v in sorted(middle.items(), key=lambda kv: kv[1])
            if k != "peak_rss_mb"
        },
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
    print(
        f"first start (converts): prompt {starts['prompt_first']} s, ready {starts['first']} s, "
        f"first token {starts['first_token_first']} s, answer {starts['first_answer_first']} s"
    )
    print(
        f"cached start (median of {args.reps}): prompt {starts['prompt_cached']} s, "
        f"ready {starts['cached']} s, first token {starts['first_token_cached']} s, "
        f"answer {starts['first_answer_cached']} s"
    )
    print(f"cached marks (s since spawn): {doc['cached_marks_s']}")
    print(f"peak RSS {doc['peak_rss_mb']} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
