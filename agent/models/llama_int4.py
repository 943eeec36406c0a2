"""A hand-written Llama decoder for the CPU with int4 weight-only linear layers.

Every projection of the 30 blocks (q, k, v, o, gate, up, down) is stored as 4-bit integers in
groups of 32 along the input dimension, exactly as a Q4_1 GGUF file holds them:

    W[n, k] = d[n, g] * q[n, k] + m[n, g],      g = k // 32,  q in 0..15

and multiplied by PyTorch's int4 CPU kernel `_weight_int4pack_mm_for_cpu`, which computes
`x @ W^T` for W[n, k] = (q - 8) * scale[g, n] + zero[g, n]; hence scale = d, zero = m + 8 d.
Activations entering a projection are bfloat16 (the kernel's fast path); the residual stream,
the norms, RoPE, attention and the logits stay float32.

Shapes: M tokens in a forward call, H hidden size, A = heads * head_dim, Hkv = kv heads,
D head dim, L cached positions, V vocabulary. One sequence at a time (no batch dimension).

RoPE is applied to *interleaved* pairs (x[2i], x[2i+1]), the layout of q/k rows inside a GGUF
file (llama.cpp permutes Hugging Face's half-split rows into it). Attention scores only see
q.k products, so keeping the GGUF row order for both q and k and rotating pairs is the same
model as Hugging Face's half-split `rotate_half` form (see `interleave_rows`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

GROUP = 32  # Q4_1 block size: weights per (d, m) pair along the input dimension

_int4_mm = torch.ops.aten._weight_int4pack_mm_for_cpu
_int4_pack = torch.ops.aten._convert_weight_to_int4pack_for_cpu


# --------------------------------------------------------------------------- int4 weights


@dataclass
class Q4Groups:
    """Q4_1-style groups of one weight matrix (N outputs, K inputs): W = d * q + m.

    q: (N, K) uint8 in 0..15; d, m: (N, K/32) float32.
    """

    q: Tensor
    d: Tensor
    m: Tensor

    def dequantize(self) -> Tensor:
        """W = d * q + m per group of 32, as float32 (N, K)."""
        n, k = self.q.shape
        groups = self.q.float().view(n, k // GROUP, GROUP)  # (N, K/32, 32)
        return (groups * self.d[..., None] + self.m[..., None]).view(n, k)

    def rows(self, order: Tensor) -> Q4Groups:
        """The same groups with their rows (outputs) reordered by `order`."""
        return Q4Groups(self.q[order], self.d[order], self.m[order])


def quantize_q4(weight: Tensor) -> Q4Groups:
    """Round-to-nearest Q4_1 of a float matrix (N, K), K a multiple of 32.

    Per group: m = min, d = (max - min) / 15, q = round((w - m) / d) clamped to 0..15.
    """
    n, k = weight.shape
    groups = weight.float().reshape(n, k // GROUP, GROUP)  # (N, K/32, 32)
    low, high = groups.amin(-1), groups.amax(-1)  # (N, K/32)
    d = (high - low) / 15.0
    safe = torch.where(d > 0, d, torch.ones_like(d))
    q = ((groups - low[..., None]) / safe[..., None]).round().clamp(0, 15)
    return Q4Groups(q.to(torch.uint8).view(n, k), d, low)


def concat_rows(parts: list[Q4Groups]) -> Q4Groups:
    """Stack several matrices with the same K along N (e.g. q, k, v into one projection)."""
    return Q4Groups(
        torch.cat([p.q for p in parts]),
        torch.cat([p.d for p in parts]),
        torch.cat([p.m for p in parts]),
    )


@dataclass
class Int4Linear:
    """A bias-free linear layer y = x @ W^T with W packed for the int4 CPU kernel.

    packed: (N, K/2) uint8; scales_zeros: (K/32, N, 2) bfloat16 with [..., 0] = d and
    [..., 1] = m + 8 d, so that (q - 8) * scale + zero = d * q + m.
    """

    packed: Tensor
    scales_zeros: Tensor

    @staticmethod
    def from_groups(groups: Q4Groups) -> Int4Linear:
        packed = _int4_pack(groups.q.to(torch.int32).contiguous(), 1)
        scales_zeros = torch.stack([groups.d, groups.m + 8.0 * groups.d], dim=-1)  # (N, K/32, 2)
        return Int4Linear(packed, scales_zeros.transpose(0, 1).contiguous().to(torch.bfloat16))

    def __call__(self, x: Tensor) -> Tensor:
        """x: (M, K) bfloat16 -> (M, N) bfloat16."""
        return _int4_mm(x, self.packed, GROUP, self.scales_zeros)

    def dequantize(self) -> Tensor:
        """The weight the kernel multiplies by, as float32 (N, K): x @ I_K^T gives W^T."""
        k = self.scales_zeros.shape[0] * GROUP
        eye = torch.eye(k, dtype=torch.bfloat16)
        return self(eye).float().t().contiguous()


def interleave_rows(n_rows: int, n_heads: int) -> Tensor:
    """Row order taking Hugging Face q/k rows (half-split RoPE) to GGUF's interleaved pairs.

    Within each head of D rows, GGUF row 2i is HF row i and GGUF row 2i+1 is HF row i + D/2
    (llama.cpp's `permute`); `w_gguf = w_hf[interleave_rows(...)]`.
    """
    d = n_rows // n_heads
    half = torch.arange(d // 2)
    within = torch.stack([half, half + d // 2], dim=1).reshape(d)  # (D,)
    return (torch.arange(n_heads)[:, None] * d + within[None, :]).reshape(n_rows)


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class LlamaShape:
    """The hyper-parameters the forward pass needs (read from a LlamaConfig)."""

    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    eps: float
    max_positions: int


@dataclass
class Block:
    """One decoder block: the norms' weights (float32) and the fused int4 projections."""

    attn_norm: Tensor  # (H,)
    qkv: Int4Linear  # H -> A + 2 Hkv D  (q, k rows in GGUF interleaved order)
    out: Int4Linear  # A -> H
    mlp_norm: Tensor  # (H,)
    gate_up: Int4Linear  # H -> 2 I
    down: Int4Linear  # I -> H


@dataclass
class LlamaWeights:
    """All the weights: blocks, final norm, embedding and lm_head (bfloat16, maybe tied).

    `lm_head_int4` is the lm_head quantised into Q4_1 groups: decoding ranks the vocabulary
    with it and recomputes only the best candidates from the bfloat16 rows.
    """

    blocks: list[Block]
    final_norm: Tensor  # (H,)
    embed: Tensor  # (V, H) bfloat16
    lm_head: Tensor  # (V, H) bfloat16; the same tensor as `embed` when tied
    lm_head_int4: Int4Linear  # H -> V


def rope_table(inv_freq: Tensor, positions: int, scaling: float = 1.0) -> Tensor:
    """e^{i p f_j} * scaling for p < positions: (positions, D/2) complex64."""
    angles = torch.outer(torch.arange(positions, dtype=torch.float32), inv_freq.float())
    return torch.polar(torch.full_like(angles, scaling), angles)


class KVCache:
    """Preallocated keys and values of every layer: (layers, Hkv, L, D) float32 each."""

    def __init__(self, shape: LlamaShape, length: int) -> None:
        size = (shape.layers, shape.kv_heads, length, shape.head_dim)
        self.k = torch.empty(size, dtype=torch.float32)
        self.v = torch.empty(size, dtype=torch.float32)
        self.length = length


class Int4Llama:
    """The Llama forward pass over one sequence with a static KV cache.

    The decode step (M = 1) is dominated by per-operation overhead as much as by the matrix
    products, so each block uses few PyTorch calls: fused q|k|v and gate|up projections, one
    complex multiply for RoPE on q and k together, in-place residual adds.
    """

    def __init__(self, shape: LlamaShape, weights: LlamaWeights, rope: Tensor) -> None:
        self.shape = shape
        self.w = weights
        # RoPE for the q heads and the k heads at once, q's rows also scaled by 1/sqrt(D):
        # (max_positions, heads + Hkv, D/2) complex64.
        head_scale = torch.ones(shape.heads + shape.kv_heads)
        head_scale[: shape.heads] = shape.head_dim**-0.5
        self.rope = rope[:, None, :] * head_scale[None, :, None]
        # rms_norm(x) * w = x * rsqrt(sum x^2 + H eps) * (w sqrt(H)): weights pre-scaled.
        root = shape.hidden**0.5
        self.norms = [(b.attn_norm * root, b.mlp_norm * root) for b in weights.blocks]
        self.final_norm = weights.final_norm * root

    def new_cache(self, length: int) -> KVCache:
        """An empty KV cache for `length` positions (at most the model's context)."""
        return KVCache(self.shape, min(length, self.shape.max_positions))

    def forward(self, ids: Tensor, start: int, cache: KVCache, all_logits: bool = False) -> Tensor:
        """Logits for tokens `ids` (M,) at positions start..start+M-1, float32.

        Keys and values of these positions are written into `cache`; positions before `start`
        must already be there. Returns (M, V) if `all_logits`, else (1, V) for the last token
        only (all that decoding needs).
        """
        m = ids.shape[0]
        if start + m > cache.length:
            raise ValueError(f"positions up to {start + m} do not fit a cache of {cache.length}")
        x = self.w.embed[ids].float()  # (M, H), the residual stream
        rope = self.rope[start : start + m]  # (M, heads + Hkv, D/2)
        mask = None if m == 1 else _causal_mask(m, start)
        for i, block in enumerate(self.w.blocks):
            attn_norm, mlp_norm = self.norms[i]
            x.add_(self._attention(block, self._norm(x, attn_norm), i, start, rope, mask, cache))
            x.add_(self._mlp(block, self._norm(x, mlp_norm)))
        if not all_logits:
            x = x[-1:]
        return self._logits(self._norm(x, self.final_norm, torch.float32))

    __call__ = forward

    def _norm(self, x: Tensor, scaled_w: Tensor, dtype: torch.dtype = torch.bfloat16) -> Tensor:
        """RMSNorm x / sqrt(mean(x^2) + eps) * w, computed in float32: (M, H) -> (M, H)."""
        inv = torch.rsqrt(x.square().sum(-1, keepdim=True).add_(self.shape.hidden * self.shape.eps))
        return (x * inv).mul_(scaled_w).to(dtype)

    def _attention(
        self,
        block: Block,
        h: Tensor,
        layer: int,
        start: int,
        rope: Tensor,
        mask: Tensor | None,
        cache: KVCache,
    ) -> Tensor:
        """softmax(q k^T / sqrt(D) + mask) v over the cache, projected back: (M, H) -> (M, H).

        q and k are rotated by RoPE: (x[2i] + i x[2i+1]) * e^{i p f_i} (q also by 1/sqrt(D)).
        """
        s = self.shape
        m, end = h.shape[0], start + h.shape[0]
        qkv = block.qkv(h)  # (M, A + 2 Hkv D) bf16
        n_qk = (s.heads + s.kv_heads) * s.head_dim
        qk = qkv[:, :n_qk].float().view(m, s.heads + s.kv_heads, s.head_dim // 2, 2)
        qk = torch.view_as_real(torch.view_as_complex(qk) * rope).view(m, -1, s.head_dim)
        cache.k[layer, :, start:end] = qk[:, s.heads :].transpose(0, 1)  # (Hkv, M, D)
        cache.v[layer, :, start:end] = qkv[:, n_qk:].view(m, s.kv_heads, s.head_dim).transpose(0, 1)
        k, v = cache.k[layer, :, :end], cache.v[layer, :, :end]  # (Hkv, L, D)
        if m == 1:  # grouped heads: q (Hkv, heads/Hkv, D) against each kv head's keys
            q = qk[0, : s.heads].view(s.kv_heads, -1, s.head_dim)
            att = torch.bmm(torch.bmm(q, k.transpose(1, 2)).softmax(-1), v)  # (Hkv, rep, D)
            return block.out(att.view(1, -1).to(torch.bfloat16))
        q = qk[:, : s.heads].transpose(0, 1)  # (heads, M, D)
        att = F.scaled_dot_product_attention(
            q[None], k[None], v[None], attn_mask=mask, scale=1.0, enable_gqa=True
        )  # (1, heads, M, D)
        return block.out(att[0].transpose(0, 1).reshape(m, -1).to(torch.bfloat16))

    def _mlp(self, block: Block, h: Tensor) -> Tensor:
        """down(silu(gate(h)) * up(h)): (M, H) -> (M, H), h the normed residual (bf16)."""
        gate, up = block.gate_up(h).chunk(2, dim=-1)  # (M, I) each, bf16
        return block.down(F.silu(gate).mul_(up))

    def _logits(self, h: Tensor, exact_top: int = 32) -> Tensor:
        """h @ lm_head^T: (M, H) float32 -> (M, V) float32.

        Many rows (perplexity) run in float32, exactly. One row (decoding) is ranked with the
        int4 lm_head (logit errors of ~0.4 on average), then the `exact_top` best candidates
        are recomputed in float32 from the bfloat16 rows: greedy picks among exact values.
        """
        head = self.w.lm_head
        if h.shape[0] > 1:
            return h @ head.float().t()
        logits = self.w.lm_head_int4(h.to(torch.bfloat16)).float()  # (1, V), approximate
        top = logits[0].topk(exact_top).indices  # (k,)
        logits[0, top] = head[top].float() @ h[0]
        return logits


def _causal_mask(m: int, start: int) -> Tensor:
    """(M, start + M) bool: query i (position start + i) sees key positions <= start + i."""
    return torch.ones(m, start + m, dtype=torch.bool).tril(diagonal=start)
