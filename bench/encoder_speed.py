"""The sentence encoder's speed: the packaged MiniLM's forward pass in float32 and in bfloat16
(the default), on short texts (chat messages) and long ones (cut at the encoder's 128 tokens),
with the cosine between the two passes' vectors.

    .venv/bin/python bench/encoder_speed.py [--reps 5] [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.memory.batch_encode import encode_batched  # noqa: E402
from agent.models.encoder import MAX_TOKENS, Encoder  # noqa: E402
from agent.models.locate import locate_encoder  # noqa: E402
from agent.models.minilm import MiniLM  # noqa: E402
from agent.settings import load_settings  # noqa: E402

WORDS = re.findall(
    r"\w+",
    "I adopted a puppy named Biscuit last week and we walk along the river every morning "
    "before work while my sister Alice moved to Lyon to study architecture at the university "
    "the recipe needs two eggs a cup of flour and some butter so we baked it on Sunday",
)


def texts(count: int, words: tuple[int, int], seed: int) -> list[str]:
    """`count` texts of random words, each between words[0] and words[1] long."""
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=rng.randint(*words))) for _ in range(count)]


def rate(encoder: Encoder, batch: list[str], reps: int) -> tuple[float, torch.Tensor]:
    """Median texts per second over `reps` passes, and the vectors of the last."""
    rates, vectors = [], torch.empty(0)
    for _ in range(reps):
        started = time.perf_counter()
        vectors = encode_batched(encoder.encode, batch)
        rates.append(len(batch) / (time.perf_counter() - started))
    return statistics.median(rates), vectors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)
    source = locate_encoder(load_settings())
    encoders = {
        name: Encoder(model, model.dim)
        for name, model in (
            ("float32", MiniLM(source.path, MAX_TOKENS, torch.float32)),
            ("bfloat16", MiniLM(source.path, MAX_TOKENS, torch.bfloat16)),
        )
    }
    workloads = {
        "short (8-20 words)": texts(256, (8, 20), 1),
        "long (150-300 words)": texts(64, (150, 300), 2),
    }
    result: dict[str, dict[str, float]] = {}
    for workload, batch in workloads.items():
        rates, vectors = {}, {}
        for name, encoder in encoders.items():
            rate(encoder, batch[:8], 1)  # warm up
            rates[name], vectors[name] = rate(encoder, batch, args.reps)
        cosine = (vectors["float32"] * vectors["bfloat16"]).sum(dim=1)
        result[workload] = {
            "float32_texts_per_s": round(rates["float32"], 1),
            "bfloat16_texts_per_s": round(rates["bfloat16"], 1),
            "speedup": round(rates["bfloat16"] / rates["float32"], 2),
            "min_cosine": round(float(cosine.min()), 5),
        }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "encoder_speed.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
