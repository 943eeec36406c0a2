"""Ingest rate: writing a whole conversation into a fresh profile, through the agent's write path.

The LoCoMo dev conversations (the real shape: long turns with a date and a speaker in the key;
each reported, and "locomo" is all five together: their turns over their seconds) and a
synthetic one of `--synthetic-turns` turns (two speakers, sessions of 20 turns, sentences of
8-40 words, one in ten stating a preference or a fact the extractor picks up).
`agent.eval.ingest.ingest_sample` writes them: every key and statement encoded first in
length-sorted batches, then one transaction per session, the read cache updated in place.
Reported: turns per second, the share of the time spent in the encoder (timed around every
encoder call), and peak RSS.

    .venv/bin/python bench/ingest.py [--synthetic-turns 10000] [--data PATH] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.bootstrap import build_agent  # noqa: E402
from agent.core import Agent  # noqa: E402
from agent.eval.ingest import ingest_sample  # noqa: E402
from agent.eval.locomo_data import (  # noqa: E402
    LocomoSample,
    LocomoSession,
    LocomoTurn,
    load_locomo,
)
from agent.settings import load_settings  # noqa: E402

# the vocabulary of the made-up sentences
TEXT = (
    "we went to the market and then walked along the river talking about work family music "
    "books plans weekend trip garden dinner friends kids school project painting running coffee "
    "morning evening yesterday really great time new idea maybe next week sounds lovely thanks"
)
STATEMENTS = [
    "I am vegetarian.",
    "I live in Lyon.",
    "My sister is Alice.",
    "I love hiking in the mountains.",
    "I work as a nurse.",
    "My favourite book is Dune.",
    "I don't like horror movies.",
    "My birthday is on 3 March.",
]


def synthetic_conversation(turns: int, seed: int = 0, per_session: int = 20) -> LocomoSample:
    """A made-up two-speaker conversation of `turns` turns (deterministic for a seed)."""
    rng = random.Random(seed)
    words = TEXT.split(" ")
    sessions = []
    for number in range(1, (turns + per_session - 1) // per_session + 1):
        count = min(per_session, turns - (number - 1) * per_session)
        made = []
        for i in range(1, count + 1):
            words = " ".join(rng.choice(words) for _ in range(rng.randint(8, 40)))
            text = words.capitalize() + "."
            if rng.random() < 0.1:
                text = f"{rng.choice(STATEMENTS)} {text}"
            made.append(LocomoTurn(f"D{number}:{i}", "Ann" if i % 2 else "Ben", text))
        day = f"{1 + number % 28} May 2023"
        sessions.append(LocomoSession(number, day, day, made))
    return LocomoSample("synthetic", "Ann", "Ben", sessions, [])


def timed_encoder(agent: Agent) -> list[float]:
    """Wrap the agent's encoder so every call's seconds are appended to the returned list."""
    encoder = agent.store.encoder
    spent: list[float] = []
    real = encoder.encode

    def encode(texts: list[str]) -> torch.Tensor:
        started = time.perf_counter()
        try:
            return real(texts)
        finally:
            spent.append(time.perf_counter() - started)

    encoder.encode = encode  # type: ignore[method-assign]
    return spent


def measure(agent: Agent, sample: LocomoSample, spent: list[float]) -> dict[str, float]:
    """Ingest `sample` into a fresh profile; `spent` collects the encoder's seconds."""
    spent.clear()
    started = time.perf_counter()
    ingested = ingest_sample(agent, sample)
    seconds = time.perf_counter() - started
    return rates(ingested.turns, len(ingested.key_of), seconds, sum(spent))


def rates(turns: int, memories: int, seconds: float, encode_s: float) -> dict[str, float]:
    return {
        "turns": turns,
        "memories": memories,
        "seconds": round(seconds, 2),
        "turns_per_s": round(turns / seconds, 1),
        "encode_share": round(encode_s / seconds, 3),
        "turns_per_s_without_encoding": round(turns / max(seconds - encode_s, 1e-9), 1),
    }


def together(parts: list[dict[str, float]]) -> dict[str, float]:
    """Several conversations as one: their turns over their seconds."""
    seconds = sum(p["seconds"] for p in parts)
    encode_s = sum(p["encode_share"] * p["seconds"] for p in parts)
    memories = int(sum(p["memories"] for p in parts))
    return rates(int(sum(p["turns"] for p in parts)), memories, seconds, encode_s)


def run(synthetic_turns: int, data: Path | None) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as home:
        agent = build_agent(load_settings(home=Path(home), profile="bench"))
        agent.store.encoder.encode(["warm up"])  # the model loads before timing
        spent = timed_encoder(agent)
        results: dict[str, object] = {}
        if data is not None and data.is_file():
            each = {s.sample_id: measure(agent, s, spent) for s in load_locomo(data)}
            results["locomo"] = together(list(each.values()))
            results.update({f"locomo {name}": r for name, r in each.items()})
        results["synthetic"] = measure(agent, synthetic_conversation(synthetic_turns), spent)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "ingest": results,
        "peak_rss_mb": round(peak_mb),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads",
        "date": time.strftime("%Y-%m-%d"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--synthetic-turns", type=int, default=10_000)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/locomo/locomo_dev.json"))
    parser.add_argument("--json", action="store_true", help="print the JSON document only")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    doc = run(args.synthetic_turns, args.data)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ingest.json").write_text(json.dumps(doc, indent=2) + "\n")
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    print("| conversation | turns | memories | s | turns/s | encoder share | turns/s w/o encoder |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in doc["ingest"].items():  # type: ignore[union-attr]
        print(
            f"| {name} | {r['turns']} | {r['memories']} | {r['seconds']} | {r['turns_per_s']} | "
            f"{r['encode_share']:.0%} | {r['turns_per_s_without_encoding']} |"
        )
    print(f"peak RSS {doc['peak_rss_mb']} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
