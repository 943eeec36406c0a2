"""End-to-end memory network (Sukhbaatar et al. 2015, "End-To-End Memory Networks").

With K hops, embeddings E_0..E_K (d-dimensional, adjacent weight tying: A^k = E_{k-1},
C^k = E_k, the question embedding B = E_0, the answer matrix W = E_K^T):

    m_i^k = sum_j l_j * A^k x_ij + T_A^k(i)          memory keys (position encoding l)
    c_i^k = sum_j l_j * C^k x_ij + T_C^k(i)          memory values
    u^1   = sum_j l_j * B q_j
    p^k   = softmax_i(u^k . m_i^k)                   (linear start: p^k = u^k . m_i^k)
    o^k   = sum_i p_i^k c_i^k
    u^k+1 = u^k + o^k
    a     = softmax(W u^K+1)

Position encoding (PE): l_kj = 1 + 4 (k - (d+1)/2)(j - (J+1)/2) / (d J), j = 1..J words,
k = 1..d: the authors' code's form (agent/memnets/embedding.py says why not the printed one).
Temporal encoding (TE): T(i) is a learned vector for the memory i sentences before the
question (memories arrive most recent first), tied across hops like the embeddings.
Linear start (LS): training begins without the softmax over memories (`linear_start` flag);
agent/memnets/train.py puts it back after a fixed number of epochs, as the authors' code does.
Empty slots (`read_empty_slots`): the authors' code reads a fixed S = `memories` slots, and
the slots a story leaves empty hold the nil word, which embeds to zero: each takes part in the
softmax with score 0 and adds a zero value, so p_i^k = exp(u^k . m_i^k) / (sum_j exp(u^k . m_j^k)
+ S - n) for a story of n memories. A hop that matches nothing then reads almost nothing. On
bAbI this is what the yes/no tasks need (bench/babi.py and the README have the figures); with
the slots masked out instead, every hop must read something.
"""

from __future__ import annotations

import torch
from torch import nn

from agent.memnets.attention import memory_attention
from agent.memnets.embedding import BagEmbedding


class MemN2N(nn.Module):
    """MemN2N with adjacent weight tying, PE, TE and linear start, over padded index tensors."""

    def __init__(
        self,
        vocab: int,
        dim: int = 20,
        hops: int = 3,
        memories: int = 50,
        position: bool = True,
        temporal: bool = True,
        read_empty_slots: bool = False,
    ) -> None:
        super().__init__()
        self.hops, self.temporal = hops, temporal
        self.slots, self.read_empty_slots = memories, read_empty_slots
        self.embeddings = nn.ModuleList(BagEmbedding(vocab, dim, position) for _ in range(hops + 1))
        self.times = nn.ParameterList(
            nn.Parameter(torch.zeros(memories, dim)) for _ in range(hops + 1)
        )
        for t in self.times:
            nn.init.normal_(t, std=0.1)
        self.linear_start = False

    def memory(self, story: torch.Tensor, k: int) -> torch.Tensor:
        """The memories through embedding k, with its temporal vectors: (B, M, J) -> (B, M, d)."""
        m = self.embeddings[k](story)  # (B, M, d)
        if self.temporal:
            m = m + self.times[k][: story.shape[1]]  # (M, d) broadcast over the batch
        return m

    def forward(self, story: torch.Tensor, question: torch.Tensor) -> torch.Tensor:
        """Answer logits (B, V) for stories (B, M, J) and questions (B, J); ids 0 pad."""
        present = story.ne(0).any(-1)  # (B, M): a memory holds at least one word
        u = self.embeddings[0](question)  # (B, d)
        for k in range(self.hops):
            keys, values = self.memory(story, k), self.memory(story, k + 1)  # (B, M, d)
            scores = torch.einsum("bmd,bd->bm", keys, u)  # (B, M)
            if self.linear_start:
                p = scores.masked_fill(~present, 0.0)
            else:
                empty = self.slots - present.sum(-1) if self.read_empty_slots else None
                p = memory_attention(scores, present, empty)
            u = u + torch.einsum("bm,bmd->bd", p, values)  # (B, d)
        return u @ self.embeddings[self.hops].embedding.weight.t()  # (B, V)
