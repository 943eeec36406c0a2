"""Key-value memory network (Miller et al. 2016, "Key-Value Memory Networks for Directly
Reading Documents").

Memories are (key, value) pairs, embedded as bags of words with the question's matrix A (the
paper's; `embeddings` below gives other choices); the question is read against the keys and
the values are what comes back. With H hops and maps R_1..R_H:

    q^1   = sum_j l_j * A x_j                        the question
    k_i   = sum_j l_j * A key_ij + T_K(i)            keys (position and temporal encoding)
    v_i   = sum_j l_j * A value_ij + T_V(i)          values
    p^h   = softmax_i(q^h . k_i)                     the attention read over every memory
                                                     (linear start: p^h = q^h . k_i)
    o^h   = sum_i p_i^h v_i
    q^h+1 = R_h (q^h + o^h)
    a     = softmax(W q^H+1)                         over the answer classes

On bAbI a memory's key and value are the same sentence (the paper's "sentence-level" memory).
`embeddings` chooses the matrices: "shared" (the paper's one A; keys and values then differ in
their temporal vectors), "separate" (A for the question, K for keys, V for values) or
"adjacent" (MemN2N's tying across hops: E_0 embeds the question, hop h reads keys through E_h
and values through E_h+1, each with its own temporal vectors). Linear start (MemN2N's,
section 4.2) works here too: the `linear_start` flag. The product's memory read
(agent/memory/read.py) is this read with fixed sentence-encoder embeddings and no training.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from agent.memnets.embedding import BagEmbedding


class KeyValueMemoryNetwork(nn.Module):
    """Question, key and value embeddings, H attention hops with maps R_h, an output layer."""

    def __init__(
        self,
        vocab: int,
        answers: int,
        dim: int = 20,
        hops: int = 2,
        memories: int = 50,
        position: bool = True,
        temporal: bool = True,
        embeddings: str = "shared",
    ) -> None:
        super().__init__()
        if embeddings not in LAYOUTS:
            raise ValueError(f"embeddings {embeddings!r}: one of {', '.join(LAYOUTS)}")
        count, self.key_of, self.value_of = LAYOUTS[embeddings](hops)
        self.embeddings = nn.ModuleList(BagEmbedding(vocab, dim, position) for _ in range(count))
        # temporal vectors: keys and values apart (one each when the embedding is shared)
        times, self.key_time_of, self.value_time_of = (
            LAYOUTS["adjacent"](hops) if embeddings == "adjacent" else (2, [0] * hops, [1] * hops)
        )
        self.times = nn.ParameterList(
            nn.Parameter(torch.randn(memories, dim) * 0.1) for _ in range(times if temporal else 0)
        )
        self.hop_maps = nn.ModuleList(nn.Linear(dim, dim, bias=False) for _ in range(hops))
        for r in self.hop_maps:
            nn.init.eye_(r.weight)  # start as the plain q + o update
        self.output = nn.Linear(dim, answers, bias=False)
        self.linear_start = False  # read without the softmax (training's first epochs)

    def memory(self, sentences: torch.Tensor, embedding: int, time: int) -> torch.Tensor:
        """Sentences (B, M, J) through one embedding plus temporal vectors -> (B, M, d)."""
        m = self.embeddings[embedding](sentences)  # (B, M, d)
        if len(self.times):
            m = m + self.times[time][: sentences.shape[1]]  # (M, d) broadcast over the batch
        return m

    def read(
        self, q: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, present: torch.Tensor
    ) -> torch.Tensor:
        """o = sum_i softmax_i(q . k_i) v_i over present memories: q (B, d), keys and values
        (B, M, d), present (B, M) bool -> (B, d); nothing present reads zero."""
        scores = torch.einsum("bmd,bd->bm", keys, q)  # (B, M)
        if self.linear_start:
            p = scores.masked_fill(~present, 0.0)
        else:
            p = torch.nan_to_num(scores.masked_fill(~present, float("-inf")).softmax(-1))
        return torch.einsum("bm,bmd->bd", p, values)

    def forward(
        self, story: torch.Tensor, question: torch.Tensor, values: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Answer logits (B, answers) for key sentences (B, M, J), questions (B, J) and value
        sentences (B, M, J'), the keys themselves when not given; ids 0 pad."""
        values = story if values is None else values
        present = story.ne(0).any(-1)  # (B, M)
        q = self.embeddings[0](question)  # (B, d)
        for h, hop_map in enumerate(self.hop_maps):
            keys = self.memory(story, self.key_of[h], self.key_time_of[h])  # (B, M, d)
            vals = self.memory(values, self.value_of[h], self.value_time_of[h])  # (B, M, d)
            q = hop_map(q + self.read(q, keys, vals, present))
        return self.output(q)


def shared_layout(hops: int) -> tuple[int, list[int], list[int]]:
    return 1, [0] * hops, [0] * hops  # question, keys and values: A


def separate_layout(hops: int) -> tuple[int, list[int], list[int]]:
    return 3, [1] * hops, [2] * hops  # question A, keys K, values V


def adjacent_layout(hops: int) -> tuple[int, list[int], list[int]]:
    return hops + 1, list(range(hops)), list(range(1, hops + 1))  # hop h: E_h, E_h+1


# embedding count, and the embedding each hop's keys and values go through
LAYOUTS: dict[str, Callable[[int], tuple[int, list[int], list[int]]]] = {
    "shared": shared_layout,
    "separate": separate_layout,
    "adjacent": adjacent_layout,
}
