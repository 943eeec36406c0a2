"""Where the time goes in each case whose target is not met: pyinstrument call trees.

Cases (each in this process, one after the other; `--cases` picks some):
- turn: 20 `Agent.remember` calls in a profile of 100k synthetic memories (turn overhead);
- cache_load: loading that profile's read cache (key cache + text index);
- ingest: writing the first LoCoMo dev conversation into a fresh profile;
- decode: 48 greedy tokens of the default (int4) generator after a chat prompt;
- startup: a fresh process importing the `memchat chat` modules and loading both models.

Each tree goes to `<out>/profiles/<case>.txt` (frames under 2% of the time hidden).

    .venv/bin/python bench/hotspots.py [--cases turn decode] [--out bench/results]

(Not named profile.py: a script folder is first on sys.path, and that name would shadow the
standard library module cProfile imports.)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from pyinstrument import Profiler

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from agent.bootstrap import build_agent  # noqa: E402
from agent.core import Agent  # noqa: E402
from agent.settings import load_settings  # noqa: E402

LOCOMO = ROOT.parent / "shared" / "data" / "locomo" / "locomo_dev.json"
# run by a fresh interpreter (`python -c STARTUP ROOT`): it profiles its own start
STARTUP = """
import sys
sys.path.insert(0, sys.argv[1])
from pyinstrument import Profiler
profiler = Profiler(interval=0.001)
profiler.start()
from agent.bootstrap import build_agent
from agent.settings import load_settings
import tui.app
agent = build_agent(load_settings())
_ = agent.models.encoder
_ = agent.models.generator
profiler.stop()
print(profiler.output_text(unicode=False, color=False, time="percent_of_total"))
"""


def profiled(work: Callable[[], object]) -> str:
    """Run `work` under pyinstrument; its call tree as text."""
    profiler = Profiler(interval=0.001)
    profiler.start()
    work()
    profiler.stop()
    return profiler.output_text(unicode=False, color=False, show_all=False, time="percent_of_total")


def filled_agent(home: Path, n: int) -> Agent:
    from turn_overhead import fill

    agent = build_agent(load_settings(home=home, profile="bench"))
    fill(agent, n, agent.store.encoder.dim)
    return agent


def turn_and_load(home: Path) -> dict[str, str]:
    from turn_overhead import MESSAGES

    agent = filled_agent(home, 100_000)
    profile_id = agent.profile_id()
    load = profiled(lambda: agent.store.cache(profile_id))
    agent.remember("warm up")

    def turns() -> None:
        for i in range(20):
            agent.remember(MESSAGES[i % len(MESSAGES)] + f" ({i})")

    return {"cache_load": load, "turn": profiled(turns)}


def ingest(home: Path) -> str:
    from agent.eval.ingest import ingest_sample
    from agent.eval.locomo_data import load_locomo

    agent = build_agent(load_settings(home=home, profile="bench"))
    agent.store.encoder.encode(["warm up"])
    sample = load_locomo(LOCOMO)[0]
    return profiled(lambda: ingest_sample(agent, sample))


def decode(home: Path) -> str:
    from agent.models.fast_decode import greedy_tokens
    from agent.models.generator import load_generator

    generator = load_generator(load_settings(home=home))
    chat = [{"role": "user", "content": "Tell me about the sea, in detail."}]
    prompt = generator._encode_prompt(chat)["input_ids"][0].tolist()
    list(greedy_tokens(generator.model, prompt, 4))  # warm up
    return profiled(lambda: list(greedy_tokens(generator.model, prompt, 48)))


def startup() -> str:
    """A fresh interpreter profiling its own imports and model loads."""
    command = [sys.executable, "-c", STARTUP, str(ROOT)]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def main() -> int:
    cases = ["turn", "cache_load", "ingest", "decode", "startup"]
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="+", choices=cases, default=cases)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    folder = args.out / "profiles"
    folder.mkdir(parents=True, exist_ok=True)
    trees: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        if {"turn", "cache_load"} & set(args.cases):
            trees.update(turn_and_load(home / "turn"))
        if "ingest" in args.cases:
            trees["ingest"] = ingest(home / "ingest")
        if "decode" in args.cases:
            trees["decode"] = decode(home / "decode")
    if "startup" in args.cases:
        trees["startup"] = startup()
    for case in args.cases:
        (folder / f"{case}.txt").write_text(trees[case])
        print(f"{case}: {folder / f'{case}.txt'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
