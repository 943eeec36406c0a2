"""Loading one profile's read cache (key/value tensors + the text index) at scale.

Fills a fresh SQLite profile with N turn memories of varied 10-20 word sentences (names,
dates, a Zipf-distributed vocabulary: tokenising costs what it costs in a real profile), each
with a source turn and speaker and the temporal links, with random unit keys. Then times
`MemoryStore.cache(profile_id)` from a cold store, over a few repeats, and reports the median.

The fill writes rows straight into the tables (fast), with each key's BM25 terms stored as
the write path stores them (`agent.memory.unit.key_terms`): the steady state, timed over
`--repeats` fresh stores. Then the stored terms are erased, as in a database from before they
were stored, and one load is timed: it tokenises every key and stores the terms (once).
No encoder is loaded: the store only needs its dimension.

    .venv/bin/python bench/cache_load.py [--sizes 10000 100000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import insert, update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.memory.store import MemoryStore  # noqa: E402
from agent.memory.unit import key_terms  # noqa: E402
from storage import repo  # noqa: E402
from storage.db import make_engine, session_factory  # noqa: E402
from storage.models import Memory, Turn, utcnow  # noqa: E402

DIM = 384  # MiniLM's: two 1.5 KB float32 blobs per memory, as in a real profile
NAMES = ["Caroline", "Melanie", "Sam", "Alice", "Jon", "Gina", "Tim", "Maria", "Joanna", "Nate"]
TEMPLATES = [
    "{n} said that on {d} they {w} {w} the {w} near {p} with {m} and it was {w}",
    "I think we should {w} the {w} before {d} because {m} wants to {w} {w} {w}",
    "Did you know {n} has been {w} {w} at the {w} in {p} since {d}?",
    "Yesterday {m} and I went to {p} to {w} some {w} {w}, then we {w} {w} all evening",
    "My {w} {w} is {w}, but {n} prefers {w} {w} and {w} {w} on weekends",
    "That sounds {w}! How did the {w} {w} go last {d}, and is {m} still {w}?",
]
PLACES = ["Lyon", "Boston", "the lake", "the library", "Paris", "the gym", "Tokyo", "the park"]
DATES = ["May 7 2023", "Monday", "last summer", "2022", "June 12", "Friday night", "new year"]


class DimOnly:
    """Stands in for the encoder: loading a cache needs only its dimension."""

    dim = DIM
    identity = "bench-cache-load"

    def encode(self, texts: list[str]) -> None:  # pragma: no cover - never called here
        raise NotImplementedError


def vocabulary(size: int, rng: random.Random) -> list[str]:
    """Pronounceable words of 2-4 syllables (the stemmer gets real suffixes to strip)."""
    syllables = ["ka", "lo", "mi", "ter", "san", "vi", "dor", "pe", "ru", "nel", "sho", "tra"]
    suffixes = ["", "", "ing", "ed", "s", "ness", "ly", "ation", "er", "ful"]
    words = {
        "".join(rng.choices(syllables, k=rng.randint(2, 4))) + rng.choice(suffixes)
        for _ in range(size * 2)
    }
    chosen = sorted(words)[:size]
    rng.shuffle(chosen)  # Zipf ranks in random order, not alphabetical
    return chosen


def sentences(n: int, seed: int = 0) -> list[str]:
    """n varied sentences of ~12-20 words; word frequencies follow Zipf's law."""
    rng = random.Random(seed)
    vocab = vocabulary(20_000, rng)
    weights = [1.0 / (rank + 1) for rank in range(len(vocab))]
    out = []
    for _ in range(n):
        template = rng.choice(TEMPLATES)
        words = iter(rng.choices(vocab, weights, k=template.count("{w}")))
        text = template
        for token, pool in (("{n}", NAMES), ("{m}", NAMES), ("{p}", PLACES), ("{d}", DATES)):
            while token in text:
                text = text.replace(token, rng.choice(pool), 1)
        while "{w}" in text:
            text = text.replace("{w}", next(words), 1)
        out.append(text)
    return out


def fill(sessions: object, n: int, seed: int = 0) -> int:
    """A profile of n turn memories (with turns, speakers and links); returns its id."""
    with sessions() as s, s.begin():  # type: ignore[operator]
        profile_id = repo.create_profile(s, "bench").id
        session_id = repo.start_session(s, profile_id).id
    rng = np.random.default_rng(seed)
    texts, now = sentences(n, seed), utcnow()
    for start in range(0, n, 5000):
        count = min(5000, n - start)
        keys = rng.standard_normal((count, DIM)).astype("<f4")
        keys /= np.linalg.norm(keys, axis=1, keepdims=True)
        ids = range(start + 1, start + count + 1)
        turns = [
            {"id": i, "profile_id": profile_id, "session_id": session_id, "role": "user",
             "speaker": NAMES[i % 2], "text": texts[i - 1], "created_at": now}
            for i in ids
        ]  # fmt: skip
        memories = [
            {"id": i, "profile_id": profile_id, "kind": "turn", "slot": None,
             "key_text": texts[i - 1], "value_text": texts[i - 1], "key_emb": keys[j].tobytes(),
             "key_terms": key_terms(texts[i - 1]),
             "value_emb": keys[j].tobytes(), "usage": 0.0, "pinned": False,
             "created_at": now, "updated_at": now, "source_turn_id": i,
             "prev_id": i - 1 if i > 1 else None}
            for j, i in enumerate(ids)
        ]  # fmt: skip
        with sessions() as s, s.begin():  # type: ignore[operator]
            s.execute(insert(Turn), turns)
            s.execute(insert(Memory), memories)
    link(sessions, profile_id, n)
    return profile_id


def link(sessions: object, profile_id: int, n: int) -> None:
    """The temporal chain 1 <-> 2 <-> ... <-> n (ids are 1..n; prev_id came with the insert)."""
    with sessions() as s, s.begin():  # type: ignore[operator]
        s.execute(
            update(Memory)
            .where(Memory.profile_id == profile_id, Memory.id < n)
            .values(next_id=Memory.id + 1)
        )


def time_load(sessions: object, profile_id: int) -> float:
    """Seconds to load the profile's cache into a fresh store."""
    store = MemoryStore(sessions, DimOnly)  # type: ignore[arg-type]
    started = time.perf_counter()
    store.cache(profile_id)
    return time.perf_counter() - started


def measure(n: int, repeats: int, workdir: Path) -> dict[str, float]:
    engine = make_engine(f"sqlite:///{workdir / f'load{n}.db'}")
    sessions = session_factory(engine)
    profile_id = fill(sessions, n)
    times = [time_load(sessions, profile_id) for _ in range(repeats)]
    with sessions() as s, s.begin():
        s.execute(update(Memory).values(key_terms=None))
    without_terms = time_load(sessions, profile_id)
    return {
        "memories": n,
        "median_load_s": statistics.median(times),
        "min_load_s": min(times),
        "repeats": repeats,
        "load_without_stored_terms_s": without_terms,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the JSON document only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure(n, args.repeats, Path(tmp)) for n in sorted(args.sizes)]
    if args.json:
        print(json.dumps({"benchmark": "cache_load", "rows": rows}, indent=2))
        return 0
    print(f"{'memories':>9} {'median load':>12} {'min':>8} {'without terms':>14}  (s)")
    for r in rows:
        print(
            f"{r['memories']:>9} {r['median_load_s']:12.3f} {r['min_load_s']:8.3f} "
            f"{r['load_without_stored_terms_s']:14.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
