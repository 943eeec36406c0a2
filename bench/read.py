"""Memory read latency against FAISS, same keys, same process (query encoding excluded).

Random unit keys (d = 384, the encoder's size) in our key cache (`KeyCache`, float16) and in a
FAISS `IndexFlatIP` (float32). "ours" is the product's attention read on those keys: scores
for every key, softmax over all of them, top k (`multi_hop_read` + `top_k`, one hop, the
cosine score); "faiss" is `IndexFlatIP.search` for the top k. Medians of repeated reads, with
the ratio ours / faiss, and peak RSS.

    .venv/bin/python bench/read.py [--sizes 10000 100000 1000000] [--reps 21] [--json]

The hybrid parts of the product read (BM25 over the key texts, temporal links, speaker and
length terms) are not in this figure: they need the texts; `bench/turn_overhead.py` times the
whole read in a real profile.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.memory.cache import KeyCache  # noqa: E402
from agent.memory.read import multi_hop_read, top_k  # noqa: E402

DIM, K, TAU = 384, 8, 2.0


def median_ms(fn: Callable[[], object], reps: int) -> float:
    fn()  # warm up
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def random_keys(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    keys = rng.standard_normal((n, DIM), dtype=np.float32)  # (n, d)
    return keys / np.linalg.norm(keys, axis=1, keepdims=True)


def filled_cache(keys: np.ndarray) -> KeyCache:
    """A key cache holding `keys` (values = keys, as for turn memories)."""
    n = len(keys)
    vectors = torch.from_numpy(keys)
    return KeyCache.from_tensors(list(range(1, n + 1)), ["turn"] * n, vectors, vectors)


def measure(n: int, reps: int) -> dict[str, float]:
    import faiss  # benchmark-only dependency (pip install faiss-cpu)

    keys = random_keys(n)
    query = torch.from_numpy(random_keys(1, seed=1)[0])  # (d,)
    cache = filled_cache(keys)
    index = faiss.IndexFlatIP(DIM)
    index.add(keys)

    def ours() -> object:
        (hop,) = multi_hop_read(query, cache.cosines, cache.values, TAU)
        return top_k(hop.weights, K)

    ours_top = set(ours()[1].tolist())
    faiss_top = set(index.search(query.numpy()[None], K)[1][0].tolist())
    ours_ms = median_ms(ours, reps)
    faiss_ms = median_ms(lambda: index.search(query.numpy()[None], K), reps)
    return {
        "ours_ms": round(ours_ms, 3),
        "faiss_ms": round(faiss_ms, 3),
        "ratio": round(ours_ms / faiss_ms, 3),
        "top_k_overlap": len(ours_top & faiss_top) / K,
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(sizes: list[int], reps: int) -> dict[str, object]:
    import faiss

    torch.set_num_threads(torch.get_num_threads())
    results = {str(n): {**measure(n, reps), "peak_rss_mb": round(peak_rss_mb())} for n in sizes}
    return {
        "read": results,
        "k": K,
        "dim": DIM,
        "threads": {"torch": torch.get_num_threads(), "faiss": faiss.omp_get_max_threads()},
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads",
        "date": time.strftime("%Y-%m-%d"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--reps", type=int, default=21)
    parser.add_argument("--json", action="store_true", help="print the JSON document only")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    doc = run(args.sizes, args.reps)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "read.json").write_text(json.dumps(doc, indent=2) + "\n")
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    print("| memories | ours ms | FAISS ms | ratio | top-k overlap | peak RSS MB |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n, r in doc["read"].items():  # type: ignore[union-attr]
        print(
            f"| {int(n):,} | {r['ours_ms']:.2f} | {r['faiss_ms']:.2f} | {r['ratio']:.2f} | "
            f"{r['top_k_overlap']:.2f} | {r['peak_rss_mb']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
