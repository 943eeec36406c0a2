"""Generation speed and quality of the default generator in float32, bfloat16 and dynamic int8.

For each variant: time to first token (prompt of a typical chat turn, one new token), decoding
speed (tokens/s after the first, greedy, a fixed number of new tokens), and perplexity on
held-back text (the first LoCoMo dev conversation's turns, which the model never saw in this
form), with its ratio to float32's. Medians of repeated runs, one process, plain
`model.generate` with the KV cache.

    .venv/bin/python bench/generation.py [--new-tokens 64] [--reps 3] [--json]
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.eval.locomo_data import load_locomo  # noqa: E402
from agent.models.generator import Generator, load_generator  # noqa: E402
from agent.settings import load_settings  # noqa: E402

PROMPT = [
    {"role": "system", "content": "You are a helpful assistant. Known about the user:\n"
     "- diet: vegetarian\n- name: Sam\n- likes: hiking"},
    {"role": "user", "content": "What should I cook for dinner tonight? Something quick."},
]  # fmt: skip


def variants(base: Generator) -> dict[str, torch.nn.Module]:
    """float32 (as loaded), bfloat16, and dynamic int8 of every Linear layer with one weight
    scale per tensor (PyTorch's default) or one per output channel."""
    fp32 = base.model.float()
    int8 = torch.ao.quantization.quantize_dynamic(
        copy.deepcopy(fp32), {torch.nn.Linear}, dtype=torch.qint8
    )
    per_channel = torch.ao.quantization.quantize_dynamic(
        copy.deepcopy(fp32),
        {torch.nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig},
        dtype=torch.qint8,
    )
    return {
        "fp32": fp32,
        "bf16": copy.deepcopy(fp32).to(torch.bfloat16),
        "int8": int8,
        "int8 per-channel": per_channel,
    }


def timed_generate(model: torch.nn.Module, inputs: dict, new_tokens: int) -> float:
    started = time.perf_counter()
    with torch.inference_mode():
        model.generate(
            **inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False
        )
    return time.perf_counter() - started


def speed(model: torch.nn.Module, inputs: dict, new_tokens: int, reps: int) -> dict[str, float]:
    timed_generate(model, inputs, 4)  # warm up
    first = statistics.median(timed_generate(model, inputs, 1) for _ in range(reps))
    total = statistics.median(timed_generate(model, inputs, new_tokens) for _ in range(reps))
    return {
        "ttft_ms": round(first * 1000, 1),
        "tok_s": round((new_tokens - 1) / max(total - first, 1e-9), 1),
    }


def heldout_ids(tokenizer: object, data: Path, max_tokens: int) -> torch.Tensor:
    sample = load_locomo(data)[0]
    text = "\n".join(f"{t.speaker}: {t.text}" for s in sample.sessions for t in s.turns)
    ids = tokenizer(text, return_tensors="pt")["input_ids"][0]  # type: ignore[operator]
    return ids[:max_tokens]


def perplexity(model: torch.nn.Module, ids: torch.Tensor, window: int = 512) -> float:
    """exp(mean negative log-likelihood) over non-overlapping windows of `window` tokens."""
    nll, count = 0.0, 0
    with torch.inference_mode():
        for start in range(0, len(ids) - 1, window):
            chunk = ids[start : start + window][None]  # (1, w)
            if chunk.shape[1] < 2:
                break
            out = model(input_ids=chunk, labels=chunk)
            nll += out.loss.float().item() * (chunk.shape[1] - 1)
            count += chunk.shape[1] - 1
    return math.exp(nll / count)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--ppl-tokens", type=int, default=4096)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/locomo/locomo_dev.json"))
    parser.add_argument("--json", action="store_true", help="print the JSON document only")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    base = load_generator(load_settings())
    inputs = base._encode_prompt(PROMPT)
    ids = heldout_ids(base.tokenizer, args.data, args.ppl_tokens)
    doc: dict[str, object] = {
        "prompt_tokens": int(inputs["input_ids"].shape[1]),
        "new_tokens": args.new_tokens,
        "ppl_tokens": len(ids),
        "threads": torch.get_num_threads(),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads",
        "date": time.strftime("%Y-%m-%d"),
    }
    results = {}
    for name, model in variants(base).items():
        results[name] = {**speed(model, inputs, args.new_tokens, args.reps)}
        results[name]["perplexity"] = round(perplexity(model, ids), 3)
        print(name, results[name], file=sys.stderr)
    for r in results.values():
        r["speedup"] = round(r["tok_s"] / results["fp32"]["tok_s"], 2)
        r["perplexity_ratio"] = round(r["perplexity"] / results["fp32"]["perplexity"], 4)
    doc["generation"] = results
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "generation.json").write_text(json.dumps(doc, indent=2) + "\n")
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    print("| variant | tok/s | speedup | TTFT ms | perplexity | vs fp32 |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        print(
            f"| {name} | {r['tok_s']} | {r['speedup']}x | {r['ttft_ms']} | {r['perplexity']} | "
            f"{r['perplexity_ratio']:.3f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
