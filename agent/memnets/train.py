"""Training a memory network on vectorised bAbI data, as in the MemN2N paper (section 4.2).

Adam instead of the paper's SGD (same schedule shape): the learning rate halves every
`anneal_every` epochs, gradients are clipped to an L2 norm of `clip` (40 in the paper), and
with linear start (LS) the softmax over memories stays out until the validation loss stops
falling, then goes back in for the rest of training. Random noise (RN): with probability
`noise`, a training story gets empty memories inserted (10% in the paper), so the temporal
encoding cannot overfit to exact positions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from agent.memnets.babi import Batch


@dataclass
class History:
    valid_loss: list[float] = field(default_factory=list)
    linear_start_ended: int | None = None  # the epoch the softmax went back in


def accuracy(model: nn.Module, batch: Batch) -> float:
    """Share of questions whose argmax answer is right."""
    model.eval()
    with torch.no_grad():
        return float((model(batch.story, batch.question).argmax(-1) == batch.answer).float().mean())


def loss_of(model: nn.Module, batch: Batch) -> float:
    model.eval()
    with torch.no_grad():
        logits = model(batch.story, batch.question)
        return float(nn.functional.cross_entropy(logits, batch.answer))


def add_noise(story: torch.Tensor, rate: float, generator: torch.Generator) -> torch.Tensor:
    """Insert empty memories at random: each memory slot is followed by an empty one with
    probability `rate`; stories keep their memory count (the oldest fall off)."""
    if rate <= 0:
        return story
    b, m, j = story.shape
    gaps = torch.rand(b, m, generator=generator) < rate  # (B, M)
    shift = torch.cumsum(gaps.long(), dim=1) - gaps.long()  # empties inserted before each slot
    target = torch.arange(m)[None, :] + shift  # (B, M): where each memory moves
    noisy = torch.zeros_like(story)
    keep = target < m
    rows = torch.arange(b)[:, None].expand(b, m)
    noisy[rows[keep], target[keep]] = story[keep]
    return noisy


def train(
    model: nn.Module,
    data: Batch,
    valid: Batch,
    epochs: int = 100,
    lr: float = 0.01,
    batch_size: int = 32,
    anneal_every: int = 25,
    clip: float = 40.0,
    linear_start: bool = True,
    noise: float = 0.1,
    seed: int = 0,
    on_epoch: Callable[[int, float], None] | None = None,
) -> History:
    """Train `model` (a MemN2N or KV-MemNN) in place; returns the validation losses."""
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.StepLR(optimiser, anneal_every, gamma=0.5)
    history = History()
    uses_ls = linear_start and hasattr(model, "linear_start")
    if uses_ls:
        model.linear_start = True  # type: ignore[assignment]
    n = len(data.answer)
    for epoch in range(epochs):
        model.train()
        for part in torch.randperm(n, generator=generator).split(batch_size):
            story = add_noise(data.story[part], noise, generator)
            logits = model(story, data.question[part])
            loss = nn.functional.cross_entropy(logits, data.answer[part])
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimiser.step()
        schedule.step()
        history.valid_loss.append(loss_of(model, valid))
        if (
            uses_ls
            and model.linear_start
            and epoch
            and history.valid_loss[-1] >= history.valid_loss[-2]
        ):
            model.linear_start = False  # type: ignore[assignment]
            history.linear_start_ended = epoch
        if on_epoch is not None:
            on_epoch(epoch, history.valid_loss[-1])
    return history
