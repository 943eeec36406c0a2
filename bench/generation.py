"""Generation speed and quality of the default generator in float32, bfloat16, dynamic int8
and the hand-written int4 decoder (`generator_dtype = "int4"`).

For each variant: time to first token (prompt of a typical chat turn, one new token), decoding
speed (tokens/s after the first, greedy, a fixed number of new tokens), and perplexity on
held-back text (the first LoCoMo dev conversation's turns, which the model never saw in this
form), with its ratio to float32's. Medians of repeated runs, one process. The Hugging Face
variants run plain `model.generate` with the KV cache; the int4 variant runs its own decode
loop (`fast_decode.greedy_tokens`, no repetition penalty here, like the others) and computes
its perplexity with its own full-sequence forward pass. For every variant, `agree` compares
its greedy tokens with float32's: `same_prefix` is how many of the first new tokens are
identical, `teacher_forced` the share of float32's tokens that are its own argmax when fed
float32's sequence.

    .venv/bin/python bench/generation.py [--new-tokens 64] [--reps 3] [--variants fp32 int4]
        [--json] [--out DIR]
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import platform
import resource
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.eval.locomo_data import load_locomo  # noqa: E402
from agent.models.fast_decode import greedy_tokens  # noqa: E402
from agent.models.generator import Generator, load_generator  # noqa: E402
from agent.models.llama_int4 import Int4Llama  # noqa: E402
from agent.settings import Settings, load_settings  # noqa: E402

PROMPT = [
    {"role": "system", "content": "You are a helpful assistant. Known about the user:\n"
     "- diet: vegetarian\n- name: Sam\n- likes: hiking"},
    {"role": "user", "content": "What should I cook for dinner tonight? Something quick."},
]  # fmt: skip


HF_VARIANTS = ("fp32", "bf16", "int8", "int8 per-channel")  # through model.generate
INT4 = "int4"  # the hand-written decoder
SETTING_NAMES = {"float32": "fp32", "bfloat16": "bf16", "int4": INT4}  # generator_dtype -> row


def variants(base: Generator, names: list[str]) -> dict[str, torch.nn.Module]:
    """float32 (as loaded), bfloat16, and dynamic int8 of every Linear layer with one weight
    scale per tensor (PyTorch's default) or one per output channel: those named."""
    fp32 = base.model.float()
    made = {
        "fp32": lambda: fp32,
        "bf16": lambda: copy.deepcopy(fp32).to(torch.bfloat16),
        "int8": lambda: torch.ao.quantization.quantize_dynamic(
            copy.deepcopy(fp32), {torch.nn.Linear}, dtype=torch.qint8
        ),
        "int8 per-channel": lambda: torch.ao.quantization.quantize_dynamic(
            copy.deepcopy(fp32),
            {torch.nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig},
            dtype=torch.qint8,
        ),
    }
    return {name: made[name]() for name in HF_VARIANTS if name in names}


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


# --------------------------------------------------------------------------- the int4 decoder


def int4_generate(model: Int4Llama, prompt: list[int], new_tokens: int) -> list[int]:
    """Greedy tokens of the int4 decoder, never stopping early (like min_new_tokens)."""
    return list(greedy_tokens(model, prompt, new_tokens, eos=(), penalty=1.0))


def int4_speed(model: Int4Llama, prompt: list[int], new_tokens: int, reps: int) -> dict:
    def timed(n: int) -> float:
        started = time.perf_counter()
        int4_generate(model, prompt, n)
        return time.perf_counter() - started

    timed(4)  # warm up
    first = statistics.median(timed(1) for _ in range(reps))
    total = statistics.median(timed(new_tokens) for _ in range(reps))
    return {
        "ttft_ms": round(first * 1000, 1),
        "tok_s": round((new_tokens - 1) / max(total - first, 1e-9), 1),
    }


def int4_logits(model: Int4Llama, ids: torch.Tensor) -> torch.Tensor:
    """(len(ids), V) float32 logits of one full-sequence forward pass."""
    with torch.inference_mode():
        return model.forward(ids, 0, model.new_cache(len(ids)), all_logits=True)


def int4_perplexity(model: Int4Llama, ids: torch.Tensor, window: int = 512) -> float:
    """As `perplexity`, through the int4 decoder's own forward pass."""
    nll, count = 0.0, 0
    for start in range(0, len(ids) - 1, window):
        chunk = ids[start : start + window]  # (w,)
        if chunk.shape[0] < 2:
            break
        logp = torch.log_softmax(int4_logits(model, chunk)[:-1], dim=-1)  # (w-1, V)
        nll -= float(logp.gather(1, chunk[1:, None]).sum())
        count += chunk.shape[0] - 1
    return math.exp(nll / count)


# --------------------------------------------------------------------------- agreement


def hf_tokens(model: torch.nn.Module, inputs: dict, new_tokens: int) -> list[int]:
    with torch.inference_mode():
        out = model.generate(
            **inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False
        )
    return out[0, inputs["input_ids"].shape[1] :].tolist()


def agreement(
    tokens: list[int], reference: list[int], argmax_on_reference: torch.Tensor
) -> dict[str, float]:
    """How far greedy `tokens` follow float32's `reference`, free-running and teacher-forced."""
    same = next((i for i, (a, b) in enumerate(zip(tokens, reference, strict=False)) if a != b),
                min(len(tokens), len(reference)))  # fmt: skip
    forced = (argmax_on_reference == torch.tensor(reference)).float().mean()
    return {"same_prefix": same, "teacher_forced": round(float(forced), 3)}


def forced_argmax_hf(model: torch.nn.Module, seq: torch.Tensor, n_prompt: int, eos: int) -> Any:
    with torch.inference_mode():
        logits = model(input_ids=seq[None]).logits[0].float()
        logits[:, eos] = -math.inf  # min_new_tokens forbids it in the reference too
        return logits[n_prompt - 1 : -1].argmax(-1)


def forced_argmax_int4(model: Int4Llama, seq: torch.Tensor, n_prompt: int, eos: int) -> Any:
    with torch.inference_mode():
        logits = int4_logits(model, seq)
        logits[:, eos] = -math.inf
        return logits[n_prompt - 1 : -1].argmax(-1)


# --------------------------------------------------------------------------- main


def measure_int4(
    inputs: dict, ids: torch.Tensor, args: argparse.Namespace, ref: tuple[list[int], Any, int, int]
) -> dict[str, Any]:
    """Speed, perplexity and agreement with float32 (`ref`: its tokens, the prompt + those
    tokens, the prompt length, eos) of the hand-written int4 decoder."""
    reference, seq, n_prompt, eos = ref
    started = time.perf_counter()
    fast = load_generator(replace(load_settings(), generator_dtype="int4")).model
    load_s = time.perf_counter() - started
    prompt = inputs["input_ids"][0].tolist()
    result: dict[str, Any] = {**int4_speed(fast, prompt, args.new_tokens, args.reps)}
    result["perplexity"] = round(int4_perplexity(fast, ids), 3)
    tokens = int4_generate(fast, prompt, args.new_tokens)
    forced = forced_argmax_int4(fast, seq, n_prompt, eos)
    result["agree"] = agreement(tokens, reference, forced)
    result["load_s"] = round(load_s, 2)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--ppl-tokens", type=int, default=4096)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/locomo/locomo_dev.json"))
    parser.add_argument(
        "--variants",
        nargs="+",
        default=[*HF_VARIANTS, INT4],
        choices=[*HF_VARIANTS, INT4],
        help="which to measure (fp32, the baseline, always is)",
    )
    parser.add_argument("--json", action="store_true", help="print the JSON document only")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    base = load_generator(replace(load_settings(), generator_dtype="float32"))
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
    eos = int(base.tokenizer.eos_token_id)
    results = {}
    reference: list[int] = []
    seq = inputs["input_ids"][0]
    n_prompt = len(seq)
    for name, model in variants(base, ["fp32", *args.variants]).items():
        results[name] = {**speed(model, inputs, args.new_tokens, args.reps)}
        results[name]["perplexity"] = round(perplexity(model, ids), 3)
        tokens = hf_tokens(model, inputs, args.new_tokens)
        if not reference:  # float32 comes first
            reference = tokens
            seq = torch.cat([seq, torch.tensor(reference)])
        forced = forced_argmax_hf(model, seq, n_prompt, eos)
        results[name]["agree"] = agreement(tokens, reference, forced)
        print(name, results[name], file=sys.stderr)
    if INT4 in args.variants:
        results[INT4] = measure_int4(inputs, ids, args, (reference, seq, n_prompt, eos))
        print(INT4, results[INT4], file=sys.stderr)
    for r in results.values():
        r["speedup"] = round(r["tok_s"] / results["fp32"]["tok_s"], 2)
        r["perplexity_ratio"] = round(r["perplexity"] / results["fp32"]["perplexity"], 4)
    doc["generation"] = results
    doc["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    doc["default"] = SETTING_NAMES.get(Settings().generator_dtype, Settings().generator_dtype)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "generation.json").write_text(json.dumps(doc, indent=2) + "\n")
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    print("| variant | tok/s | speedup | TTFT ms | perplexity | vs fp32 | same prefix | forced |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        agree = r["agree"]
        print(
            f"| {name} | {r['tok_s']} | {r['speedup']}x | {r['ttft_ms']} | {r['perplexity']} | "
            f"{r['perplexity_ratio']:.3f} | {agree['same_prefix']}/{args.new_tokens} | "
            f"{agree['teacher_forced']:.3f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
