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

On bAbI a memory's key is a statement; its value is the same statement (the paper's
"sentence-level" memory, `values="sentence"`) or the statement's last word (`"last_word"`,
after the paper's window memories, whose value is the word the window is centred on).
`embeddings` chooses the matrices: "shared" (the paper's one A; keys and values then differ in
their temporal vectors), "separate" (A for the question, K for keys, V for values) or
"adjacent" (MemN2N's tying across hops: E_0 embeds the question, hop h reads keys through E_h
and values through E_h+1, each with its own temporal vectors). Linear start (MemN2N's,
section 4.2) works here too: the `linear_start` flag. The product's memory read
(agent/memory/read.py) is this read with fixed sentence-encoder embeddings and no training.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from agent.memnets.attention import memory_attention
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
        read_empty_slots: bool = False,
        values: str = "sentence",
        output: str = "separate",
        map_lr: float = 1.0,
    ) -> None:
        super().__init__()
        if values not in ("sentence", "last_word"):
            raise ValueError(f"values {values!r}: sentence or last_word")
        self.values = values
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
        if output not in ("separate", "tied"):
            raise ValueError(f"output {output!r}: separate or tied")
        if output == "tied" and answers != vocab:
            raise ValueError("a tied output needs the answers to be the vocabulary's words")
        # tied: the answer words embedded by the last hop's value embedding (the paper's B = A)
        self.output = nn.Linear(dim, answers, bias=False) if output == "separate" else None
        self.linear_start = False  # read without the softmax (training's first epochs)
        self.slots, self.read_empty_slots = memories, read_empty_slots
        self.map_lr = map_lr  # the maps' learning rate, a share of the embeddings' (training)

    def param_groups(self, lr: float) -> list[dict[str, Any]]:
        """Optimiser groups: the maps R_h at `map_lr` times the rate of the rest. Every
        question sends them a gradient (an embedding row gets one only from the questions
        using its word); at the full SGD rate they kept bAbI task 16 from being fitted."""
        maps = list(self.hop_maps.parameters())
        rest = [p for n, p in self.named_parameters() if not n.startswith("hop_maps.")]
        return [{"params": rest, "lr": lr}, {"params": maps, "lr": lr * self.map_lr}]

    def memory(self, sentences: torch.Tensor, embedding: int, time: int) -> torch.Tensor:
        """Sentences (B, M, J) through one embedding plus temporal vectors -> (B, M, d)."""
        m = self.embeddings[embedding](sentences)  # (B, M, d)
        if len(self.times):
            m = m + self.times[time][: sentences.shape[1]]  # (M, d) broadcast over the batch
        return m

    def read(
        self, q: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, present: torch.Tensor
    ) -> torch.Tensor:
        """o = sum_i p_i v_i over present memories (p: attention.memory_attention, the empty
        slots read as zero memories with `read_empty_slots`): q (B, d), keys and values
        (B, M, d), present (B, M) bool -> (B, d); nothing present reads zero."""
        scores = torch.einsum("bmd,bd->bm", keys, q)  # (B, M)
        if self.linear_start:
            p = scores.masked_fill(~present, 0.0)
        else:
            empty = self.slots - present.sum(-1) if self.read_empty_slots else None
            p = memory_attention(scores, present, empty)
        return torch.einsum("bm,bmd->bd", p, values)

    def forward(
        self, story: torch.Tensor, question: torch.Tensor, values: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Answer logits (B, answers) for key sentences (B, M, J), questions (B, J) and value
        sentences (B, M, J'), the keys themselves when not given; ids 0 pad."""
        if values is None:
            values = story if self.values == "sentence" else last_words(story)
        present = story.ne(0).any(-1)  # (B, M)
        q = self.embeddings[0](question)  # (B, d)
        for h, hop_map in enumerate(self.hop_maps):
            keys = self.memory(story, self.key_of[h], self.key_time_of[h])  # (B, M, d)
            vals = self.memory(values, self.value_of[h], self.value_time_of[h])  # (B, M, d)
            q = hop_map(q + self.read(q, keys, vals, present))
        if self.output is None:
            return q @ self.embeddings[self.value_of[-1]].embedding.weight.t()  # (B, V)
        return self.output(q)


def last_words(sentences: torch.Tensor) -> torch.Tensor:
    """Each sentence's last word, the value of the KV-MemNN paper's window memories (the word
    a window is centred on; in bAbI, a statement's object): (B, M, J) -> (B, M, 1), 0 for
    an empty slot. Words are left-aligned, padding after them."""
    last = (sentences.ne(0).sum(-1, keepdim=True) - 1).clamp(min=0)  # (B, M, 1)
    return sentences.gather(-1, last)


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
