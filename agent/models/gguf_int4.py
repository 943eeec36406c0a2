"""Build an `Int4Llama` from a Llama GGUF file, and cache the packed weights.

Q4_1 tensors are read block by block, exactly: a block of 32 weights is 20 bytes, fp16 `d`,
fp16 `m`, then 16 bytes whose low nibbles are weights 0..15 and high nibbles weights 16..31;
w = d * q + m. Any other quantisation (Q8_0, Q6_K, F16, ...) is de-quantised with the `gguf`
package and, for block projections, re-quantised into Q4_1 groups (round to nearest).
The token embedding (and lm_head, tied or not) is kept dense in bfloat16.

Rows stay in the GGUF order; for q and k that is the interleaved RoPE layout the forward pass
expects (`llama_int4.interleave_rows`). Packed tensors are written to one safetensors file
beside the converted model, atomically, so a later start loads them in well under a second.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from agent.models.cache_files import record
from agent.models.llama_int4 import (
    GROUP,
    Block,
    Int4Linear,
    Int4Llama,
    LlamaShape,
    LlamaWeights,
    Q4Groups,
    concat_rows,
    interleave_rows,
    quantize_q4,
    rope_table,
)

CACHE_FORMAT = 2  # bump when the layout of the packed file changes
ROPE_TYPES = ("default", "linear", "llama3", "yarn")  # position-independent inv_freq: supported


class UnsupportedModel(Exception):
    """The model is not a Llama this decoder can run (the message says why)."""


# --------------------------------------------------------------------------- config


def llama_shape(config: object) -> LlamaShape:
    """The forward pass's hyper-parameters from a transformers LlamaConfig."""
    if getattr(config, "model_type", None) != "llama":
        raise UnsupportedModel(f"model type {getattr(config, 'model_type', None)!r} is not llama")
    for flag in ("attention_bias", "mlp_bias"):
        if getattr(config, flag, False):
            raise UnsupportedModel(f"{flag} is not supported")
    if getattr(config, "hidden_act", "silu") != "silu":
        raise UnsupportedModel(f"activation {config.hidden_act!r} is not silu")
    heads = int(config.num_attention_heads)
    hidden = int(config.hidden_size)
    head_dim = int(getattr(config, "head_dim", None) or hidden // heads)
    shape = LlamaShape(
        hidden=hidden,
        layers=int(config.num_hidden_layers),
        heads=heads,
        kv_heads=int(getattr(config, "num_key_value_heads", None) or heads),
        head_dim=head_dim,
        intermediate=int(config.intermediate_size),
        vocab=int(config.vocab_size),
        eps=float(config.rms_norm_eps),
        max_positions=int(config.max_position_embeddings),
    )
    if shape.hidden % GROUP or shape.intermediate % GROUP or (heads * head_dim) % GROUP:
        raise UnsupportedModel(f"layer sizes must be multiples of {GROUP}")
    return shape


def rope_for(config: object, shape: LlamaShape) -> Tensor:
    """The RoPE table from the config's rope parameters.

    default: f_j = theta^(-2j / D); other position-independent types (linear, llama3, yarn)
    come from transformers' own initialisers, with their attention scaling.
    """
    params = getattr(config, "rope_parameters", None) or {}
    rope_type = params.get("rope_type", "default")
    if rope_type not in ROPE_TYPES:
        raise UnsupportedModel(f"rope type {rope_type!r} is not supported")
    if rope_type == "default":
        theta = float(params.get("rope_theta", getattr(config, "rope_theta", 10000.0)))
        exponents = torch.arange(0, shape.head_dim, 2, dtype=torch.float32) / shape.head_dim
        return rope_table(1.0 / theta**exponents, shape.max_positions)
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    inv_freq, scaling = ROPE_INIT_FUNCTIONS[rope_type](config, None)
    return rope_table(inv_freq, shape.max_positions, float(scaling))


# --------------------------------------------------------------------------- reading GGUF


def q4_1_groups(raw: np.ndarray) -> Q4Groups:
    """Exact Q4_1 groups of a GGUF tensor's bytes: (N, K/32 * 20) uint8 -> q, d, m."""
    n = raw.shape[0]
    blocks = np.ascontiguousarray(raw).reshape(n, -1, 20)  # (N, K/32, 20)
    d = blocks[..., 0:2].copy().view(np.float16)[..., 0]  # (N, K/32)
    m = blocks[..., 2:4].copy().view(np.float16)[..., 0]
    nibbles = blocks[..., 4:]  # (N, K/32, 16)
    q = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=-1)  # (N, K/32, 32)
    return Q4Groups(
        torch.from_numpy(q.reshape(n, -1)),
        torch.from_numpy(d.astype(np.float32)),
        torch.from_numpy(m.astype(np.float32)),
    )


class GGUFTensors:
    """The tensors of a GGUF file by name, de-quantised or as exact Q4_1 groups."""

    def __init__(self, path: Path) -> None:
        from gguf import GGUFReader

        self.reader = GGUFReader(str(path))
        self.tensors = {t.name: t for t in self.reader.tensors}

    def has(self, name: str) -> bool:
        return name in self.tensors

    def type_name(self, name: str) -> str:
        return self.tensors[name].tensor_type.name

    def dense(self, name: str) -> Tensor:
        """The tensor as float32, in its PyTorch shape (rows = outputs)."""
        from gguf.quants import dequantize

        tensor = self.tensors[name]
        values = dequantize(tensor.data, tensor.tensor_type)
        return torch.from_numpy(np.array(values, dtype=np.float32))  # a writable copy

    def groups(self, name: str) -> Q4Groups:
        """Q4_1 groups of a 2-D weight: read exactly if stored as Q4_1, else re-quantised."""
        if self.type_name(name) == "Q4_1":
            return q4_1_groups(self.tensors[name].data)
        return quantize_q4(self.dense(name))


def gguf_weights(path: Path, shape: LlamaShape) -> LlamaWeights:
    """All weights of a Llama GGUF file, projections fused and packed for the int4 kernel."""
    src = GGUFTensors(path)
    last = f"blk.{shape.layers - 1}.ffn_down.weight"
    expected = [last, "token_embd.weight", "output_norm.weight"]
    missing = [name for name in expected if not src.has(name)]
    if missing:
        raise UnsupportedModel(f"{path.name} has no tensor {missing[0]} (not a llama GGUF?)")
    blocks = []
    for i in range(shape.layers):
        p = f"blk.{i}."
        qkv = [src.groups(p + f"attn_{x}.weight") for x in ("q", "k", "v")]
        gate_up = [src.groups(p + f"ffn_{x}.weight") for x in ("gate", "up")]
        blocks.append(
            Block(
                attn_norm=src.dense(p + "attn_norm.weight"),
                qkv=Int4Linear.from_groups(concat_rows(qkv)),
                out=Int4Linear.from_groups(src.groups(p + "attn_output.weight")),
                mlp_norm=src.dense(p + "ffn_norm.weight"),
                gate_up=Int4Linear.from_groups(concat_rows(gate_up)),
                down=Int4Linear.from_groups(src.groups(p + "ffn_down.weight")),
            )
        )
    embed = src.dense("token_embd.weight").to(torch.bfloat16)
    head = src.dense("output.weight").to(torch.bfloat16) if src.has("output.weight") else embed
    return LlamaWeights(blocks, src.dense("output_norm.weight"), embed, head, int4_head(head))


def int4_head(lm_head: Tensor) -> Int4Linear:
    """The ranking copy of the lm_head: its bfloat16 weights quantised into Q4_1 groups."""
    return Int4Linear.from_groups(quantize_q4(lm_head.float()))


# --------------------------------------------------------------------------- the packed cache


_PARTS = ("qkv", "out", "gate_up", "down")


def flatten(weights: LlamaWeights) -> dict[str, Tensor]:
    """Name -> tensor, for saving (the lm_head is stored only when untied)."""
    flat = {"final_norm": weights.final_norm, "embed": weights.embed}
    flat["lm_head_int4.packed"] = weights.lm_head_int4.packed
    flat["lm_head_int4.scales_zeros"] = weights.lm_head_int4.scales_zeros
    if weights.lm_head is not weights.embed:
        flat["lm_head"] = weights.lm_head
    for i, block in enumerate(weights.blocks):
        flat[f"{i}.attn_norm"] = block.attn_norm
        flat[f"{i}.mlp_norm"] = block.mlp_norm
        for part in _PARTS:
            linear: Int4Linear = getattr(block, part)
            flat[f"{i}.{part}.packed"] = linear.packed
            flat[f"{i}.{part}.scales_zeros"] = linear.scales_zeros
    return flat


def unflatten(flat: dict[str, Tensor], layers: int) -> LlamaWeights:
    """The inverse of `flatten`."""

    def linear(i: int, part: str) -> Int4Linear:
        return Int4Linear(flat[f"{i}.{part}.packed"], flat[f"{i}.{part}.scales_zeros"])

    blocks = [
        Block(
            flat[f"{i}.attn_norm"],
            linear(i, "qkv"),
            linear(i, "out"),
            flat[f"{i}.mlp_norm"],
            linear(i, "gate_up"),
            linear(i, "down"),
        )
        for i in range(layers)
    ]
    embed = flat["embed"]
    head4 = Int4Linear(flat["lm_head_int4.packed"], flat["lm_head_int4.scales_zeros"])
    return LlamaWeights(blocks, flat["final_norm"], embed, flat.get("lm_head", embed), head4)


def packed_cache_path(folder: Path) -> Path:
    """Where the packed weights live: beside the converted model, per torch version
    (the packed layout belongs to the kernel of one PyTorch release)."""
    version = torch.__version__.split("+")[0]
    return folder / f"int4-v{CACHE_FORMAT}-torch{version}.safetensors"


def save_packed(weights: LlamaWeights, target: Path) -> None:
    """Write the packed weights to `target` atomically (temp file + rename)."""
    from safetensors.torch import save_file

    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}-", dir=target.parent)
    os.close(fd)
    try:
        tensors = {k: v.contiguous() for k, v in flatten(weights).items()}
        save_file(tensors, tmp, metadata={"format": json.dumps(CACHE_FORMAT)})
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def load_packed(path: Path, layers: int) -> LlamaWeights:
    """Read a packed-weights file written by `save_packed`."""
    from safetensors.torch import load_file

    return unflatten(load_file(str(path)), layers)


def load_int4_llama(
    gguf: Path, folder: Path, config: object, progress: Callable[[str], None] | None = None
) -> Int4Llama:
    """The int4 model of `gguf` (config from the converted `folder`), packing it once."""
    shape = llama_shape(config)
    rope = rope_for(config, shape)
    cached = packed_cache_path(folder)
    weights = None
    if cached.is_file():
        with contextlib.suppress(Exception):  # a damaged file is rebuilt below
            weights = load_packed(cached, shape.layers)
    if weights is None:
        if progress:
            progress(f"Packing {gguf.name} for the int4 decoder (once) ...")
        weights = gguf_weights(gguf, shape)
        with contextlib.suppress(OSError):  # a read-only cache only costs the next start
            save_packed(weights, cached)
            stale = [p for p in folder.glob("int4-v*.safetensors") if p != cached]
            for old in stale:  # other formats / torch versions
                old.unlink()
            record(folder, [cached.name], removed=[p.name for p in stale])
    return Int4Llama(shape, weights, rope)


# --------------------------------------------------------------------------- float models


def hf_weights(state: dict[str, Tensor], shape: LlamaShape) -> LlamaWeights:
    """Weights of a float Hugging Face Llama state dict, quantised into Q4_1 groups
    (round to nearest), q/k rows moved to the interleaved RoPE order. Used by the tests."""
    q_order = interleave_rows(shape.heads * shape.head_dim, shape.heads)
    k_order = interleave_rows(shape.kv_heads * shape.head_dim, shape.kv_heads)
    blocks = []
    for i in range(shape.layers):
        p = f"model.layers.{i}."
        attn, mlp = p + "self_attn.", p + "mlp."
        qkv = [
            quantize_q4(state[attn + "q_proj.weight"]).rows(q_order),
            quantize_q4(state[attn + "k_proj.weight"]).rows(k_order),
            quantize_q4(state[attn + "v_proj.weight"]),
        ]
        gate_up = [quantize_q4(state[mlp + f"{x}_proj.weight"]) for x in ("gate", "up")]
        blocks.append(
            Block(
                attn_norm=state[p + "input_layernorm.weight"].float(),
                qkv=Int4Linear.from_groups(concat_rows(qkv)),
                out=Int4Linear.from_groups(quantize_q4(state[attn + "o_proj.weight"])),
                mlp_norm=state[p + "post_attention_layernorm.weight"].float(),
                gate_up=Int4Linear.from_groups(concat_rows(gate_up)),
                down=Int4Linear.from_groups(quantize_q4(state[mlp + "down_proj.weight"])),
            )
        )
    embed = state["model.embed_tokens.weight"].to(torch.bfloat16)
    head = state.get("lm_head.weight")
    tied = head is None or head.data_ptr() == state["model.embed_tokens.weight"].data_ptr()
    lm_head = embed if tied else head.to(torch.bfloat16)
    norm = state["model.norm.weight"].float()
    return LlamaWeights(blocks, norm, embed, lm_head, int4_head(lm_head))
