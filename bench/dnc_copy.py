"""The copy task (Graves et al. 2014, the NTM paper; used again for the DNC, Graves et al. 2016)
on the DNC of agent/memnets/dnc.py, on CPU.

A sequence of T random binary vectors of `--bits` bits (T drawn from 1..`--max-length`), then
a delimiter on its own channel; then T blank steps in which the model must output the sequence
again. Loss (sigmoid cross-entropy) only on those output steps. Training runs with fixed seeds
until the bit errors on a held-out batch of sequences (rounding the output) are zero for
`--patience` checks in a row, or the step budget runs out. Writes DIR/dnc_copy.json: the
settings, the steps and seconds to zero error, the final held-out bit errors, the machine.

    .venv/bin/python bench/dnc_copy.py [--max-length 8] [--hidden 64] [--slots 16] [--word 16]
        [--reads 1] [--steps 20000] [--threads 1] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.memnets.dnc import DNC  # noqa: E402


def copy_batch(
    batch: int, bits: int, max_length: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inputs (B, 2L+1, bits+1), targets (B, 2L+1, bits) and the output-step mask (B, 2L+1)
    for B sequences of lengths drawn from 1..L; a row of length T uses its first 2T+1 steps."""
    steps = 2 * max_length + 1
    lengths = torch.randint(1, max_length + 1, (batch,), generator=generator)  # (B,)
    seq = torch.randint(0, 2, (batch, max_length, bits), generator=generator).float()
    t = torch.arange(max_length)[None, :]  # (1, L)
    seq = seq * (t < lengths[:, None]).unsqueeze(-1)  # (B, L, bits), zero past each length
    inputs = torch.zeros(batch, steps, bits + 1)
    inputs[:, :max_length, :bits] = seq
    rows = torch.arange(batch)
    inputs[rows, lengths, bits] = 1.0  # the delimiter, right after the sequence
    time_index = torch.arange(steps)[None, :]  # (1, S)
    start = lengths[:, None] + 1  # (B, 1): the first output step
    mask = (time_index >= start) & (time_index < start + lengths[:, None])  # (B, S)
    source = (time_index - start).clamp(0, max_length - 1)  # (B, S): which input step to repeat
    targets = seq.gather(1, source.unsqueeze(-1).expand(-1, -1, bits)) * mask.unsqueeze(-1)
    return inputs, targets, mask


def masked_loss(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Sigmoid cross-entropy averaged over the bits of the output steps."""
    loss = nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    return (loss * mask.unsqueeze(-1)).sum() / (mask.sum() * targets.shape[-1])


def bit_errors(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> float:
    """Wrong bits (output rounded) per sequence, on the output steps."""
    wrong = ((logits > 0).float() != targets) & mask.unsqueeze(-1)
    return float(wrong.sum()) / logits.shape[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bits", type=int, default=6)
    parser.add_argument("--max-length", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--slots", type=int, default=16)
    parser.add_argument("--word", type=int, default=16)
    parser.add_argument("--reads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--clip", type=float, default=10.0, help="gradient L2 norm clip")
    parser.add_argument("--steps", type=int, default=20000, help="the step budget")
    parser.add_argument("--check-every", type=int, default=100)
    parser.add_argument("--held-out", type=int, default=200, help="held-out sequences")
    parser.add_argument("--patience", type=int, default=3, help="zero-error checks in a row")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    inputs_width = args.bits + 1  # the bits and the delimiter channel
    model = DNC(inputs_width, args.bits, args.hidden, args.slots, args.word, args.reads)
    optimiser = torch.optim.Adam(model.parameters(), lr=args.lr)
    generator = torch.Generator().manual_seed(args.seed + 1)
    held = copy_batch(
        args.held_out, args.bits, args.max_length, torch.Generator().manual_seed(1234)
    )

    started = time.perf_counter()
    zero_checks, solved_at, solved_s, errors, loss_sum, step = 0, None, None, float("nan"), 0.0, 0
    history: list[dict[str, float]] = []
    for step in range(1, args.steps + 1):
        model.train()
        inputs, targets, mask = copy_batch(args.batch, args.bits, args.max_length, generator)
        loss = masked_loss(model(inputs), targets, mask)
        optimiser.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        optimiser.step()
        loss_sum += loss.item()
        if step % args.check_every:
            continue
        model.eval()
        with torch.no_grad():
            errors = bit_errors(model(held[0]), held[1], held[2])
        seconds = time.perf_counter() - started
        zero_checks = zero_checks + 1 if errors == 0 else 0
        if zero_checks == 1:
            solved_at, solved_s = step, seconds
        elif zero_checks == 0:
            solved_at, solved_s = None, None
        history.append(
            {"step": step, "loss": round(loss_sum / args.check_every, 5), "bit_errors": errors}
        )
        print(
            f"step {step:6d}  loss {loss_sum / args.check_every:.4f}  "
            f"bit errors/seq {errors:.3f}  {seconds:.0f} s",
            flush=True,
        )
        loss_sum = 0.0
        if zero_checks >= args.patience:
            break
    seconds = time.perf_counter() - started

    settings = {k: v for k, v in vars(args).items() if k != "out"}
    doc = {
        "task": "copy",
        "settings": {
            **settings,
            "optimiser": "Adam",
            "parameters": sum(p.numel() for p in model.parameters()),
        },
        "solved": zero_checks >= args.patience,
        "steps_to_zero_error": solved_at,  # the first of the zero-error checks in a row
        "seconds_to_zero_error": None if solved_s is None else round(solved_s, 1),
        "steps_run": step,
        "final_held_out_bit_errors_per_sequence": errors,
        "train_seconds": round(seconds, 1),  # all steps run, held-out checks included
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "uname": f"{platform.system()} {platform.release()} {platform.machine()}",
            "cpu_count": os.cpu_count(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        },
        "date": time.strftime("%Y-%m-%d"),
        "history": history,  # every check: step, mean training loss since the last, bit errors
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "dnc_copy.json").write_text(json.dumps(doc, indent=2) + "\n")
    outcome = (
        f"zero bit errors on {args.held_out} held-out sequences from step {solved_at}"
        if doc["solved"]
        else f"not solved in {step} steps: {errors:.3f} bit errors per held-out sequence"
    )
    print(f"copy, lengths 1-{args.max_length}, {args.bits} bits: {outcome}; {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
