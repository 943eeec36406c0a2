"""Decoding speed of the packaged int4 decoder against llama.cpp on the same GGUF file, in one
run: the same chat prompt, greedy, a fixed number of new tokens, the same thread count.

Each side: time to the first token and tokens/s after it (medians of `--reps` runs, after a
warm-up). The row that matters is the ratio int4 tok/s / llama.cpp tok/s (needs the
`llamacpp` extra).

    .venv/bin/python bench/llamacpp_speed.py [--new-tokens 64] [--reps 5] [--json] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.models.fast_decode import greedy_tokens  # noqa: E402
from agent.models.generator import load_generator  # noqa: E402
from agent.models.locate import GENERATOR, package_dir  # noqa: E402
from agent.settings import load_settings  # noqa: E402

PROMPT = [
    {"role": "system", "content": "You are a helpful assistant. Known about the user:\n"
     "- diet: vegetarian\n- name: Sam\n- likes: hiking"},
    {"role": "user", "content": "Tell me a long story about a dragon who learns to cook."},
]  # fmt: skip


def timed_speed(generate: Callable[[int], int], new_tokens: int, reps: int) -> dict[str, float]:
    """TTFT and tokens/s after the first, from `generate(n)` (returns the tokens it made)."""

    def seconds(n: int) -> tuple[float, int]:
        started = time.perf_counter()
        made = generate(n)
        return time.perf_counter() - started, made

    seconds(4)  # warm up
    first = statistics.median(seconds(1)[0] for _ in range(reps))
    runs = [seconds(new_tokens) for _ in range(reps)]
    total = statistics.median(t for t, _ in runs)
    made = min(m for _, m in runs)
    return {
        "ttft_ms": round(first * 1000, 1),
        "tok_s": round((made - 1) / max(total - first, 1e-9), 1),
        "tokens": made,
    }


def int4_side(threads: int) -> Callable[[int], int]:
    torch.set_num_threads(threads)
    chat = load_generator(replace(load_settings(), generator_dtype="int4"))
    prompt = [int(i) for i in chat._encode_prompt(PROMPT)["input_ids"][0]]

    def generate(n: int) -> int:
        return sum(1 for _ in greedy_tokens(chat.model, prompt, n, set(), None))

    return generate


def llamacpp_side(threads: int) -> Callable[[int], int]:
    from llama_cpp import Llama

    gguf = package_dir(GENERATOR) / GENERATOR.relpath
    llama = Llama(model_path=str(gguf), n_ctx=2048, n_threads=threads, verbose=False)
    # No end of sequence: exactly n tokens, as the int4 side (given no end-of-sequence ids).
    ends = {llama.token_eos(), *llama.tokenize(b"<|im_end|>", add_bos=False, special=True)}
    never = {int(t): -100.0 for t in ends}

    def generate(n: int) -> int:
        llama.reset()  # the prompt is evaluated each time, as on the int4 side (no prefix cache)
        out = llama.create_chat_completion(
            messages=PROMPT, max_tokens=n, temperature=0.0, logit_bias=never
        )
        return int(out["usage"]["completion_tokens"])

    return generate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = {
        "int4": timed_speed(int4_side(args.threads), args.new_tokens, args.reps),
        "llama.cpp": timed_speed(llamacpp_side(args.threads), args.new_tokens, args.reps),
    }
    doc = {
        "new_tokens": args.new_tokens,
        "reps": args.reps,
        "threads": args.threads,
        "rows": rows,
        "int4_over_llamacpp": round(rows["int4"]["tok_s"] / rows["llama.cpp"]["tok_s"], 2),
    }
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "llamacpp_speed.json").write_text(json.dumps(doc, indent=2) + "\n")
    if args.json:
        print(json.dumps(doc))
        return 0
    print("| decoder | tok/s | TTFT ms | tokens |")
    print("|---|---:|---:|---:|")
    for name, r in rows.items():
        print(f"| {name} | {r['tok_s']} | {r['ttft_ms']} | {r['tokens']} |")
    print(f"int4 / llama.cpp tok/s: {doc['int4_over_llamacpp']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
