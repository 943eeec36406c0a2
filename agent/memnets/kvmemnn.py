"""Key-value memory network (Miller et al. 2016, "Key-Value Memory Networks for Directly
Reading Documents").

Memories are (key, value) pairs, embedded as bags of words with the question's matrix A (the
paper's; `shared=False` gives keys and values matrices of their own); the question is read
against the keys and the values are what comes back. With H hops and maps R_1..R_H:

    q^1   = sum_j l_j * A x_j                        the question
    k_i   = sum_j l_j * A key_ij + T_K(i)            keys (position and temporal encoding)
    v_i   = sum_j l_j * A value_ij + T_V(i)          values
    p^h   = softmax_i(q^h . k_i)                     the attention read over every memory
                                                     (linear start: p^h = q^h . k_i)
    o^h   = sum_i p_i^h v_i
    q^h+1 = R_h (q^h + o^h)
    a     = softmax(W q^H+1)                         over the answer classes

On bAbI a memory's key and value are the same sentence (the paper's "sentence-level" memory),
embedded twice with different matrices. Linear start (MemN2N's, section 4.2) works here too:
the `linear_start` flag. The product's memory read (agent/memory/read.py) is this read with
fixed sentence-encoder embeddings and no training.
"""

from __future__ import annotations

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
        shared: bool = True,
    ) -> None:
        super().__init__()
        self.question = BagEmbedding(vocab, dim, position)
        # the paper embeds question, keys and values with one matrix A; keys and values then
        # differ in what they hold and, here, in their temporal vectors
        self.key = self.question if shared else BagEmbedding(vocab, dim, position)
        self.value = self.question if shared else BagEmbedding(vocab, dim, position)
        self.key_time = nn.Parameter(torch.randn(memories, dim) * 0.1) if temporal else None
        self.value_time = nn.Parameter(torch.randn(memories, dim) * 0.1) if temporal else None
        self.hop_maps = nn.ModuleList(nn.Linear(dim, dim, bias=False) for _ in range(hops))
        for r in self.hop_maps:
            nn.init.eye_(r.weight)  # start as the plain q + o update
        self.output = nn.Linear(dim, answers, bias=False)
        self.linear_start = False  # read without the softmax (training's first epochs)

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
        keys, vals = self.key(story), self.value(values)  # (B, M, d)
        if self.key_time is not None and self.value_time is not None:
            keys = keys + self.key_time[: story.shape[1]]
            vals = vals + self.value_time[: story.shape[1]]
        q = self.question(question)  # (B, d)
        for hop_map in self.hop_maps:
            q = hop_map(q + self.read(q, keys, vals, present))
        return self.output(q)
