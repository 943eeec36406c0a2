"""A BERT encoder forward pass in plain torch (all-MiniLM-L6-v2), without transformers.

Importing transformers' modeling code costs seconds at every process start; this module needs
only torch, `safetensors` (the weights) and `tokenizers` (the tokenizer.json), and computes the
same `last_hidden_state` as transformers' `BertModel` in eval mode (no dropout).

With d = hidden_size, h = num_attention_heads, hd = d / h, for token ids x (b, t) and padding
mask m (b, t):

    e   = LN(W_word[x] + W_pos[0..t) + W_type[0])                       embeddings
    per layer:
      q, k, v = e Wq + bq, e Wk + bk, e Wv + bv                         split into h heads of hd
      a   = softmax(q k^T / sqrt(hd) + mask(m)) v                       padded keys get -inf
      e   = LN(e + a Wo + bo)
      e   = LN(e + GELU(e W1 + b1) W2 + b2)                             GELU(x) = x Phi(x), exact

LN is LayerNorm with eps = layer_norm_eps. Weight names are those of a saved `BertModel`
(`embeddings.word_embeddings.weight`, `encoder.layer.0.attention.self.query.weight`, ...), with
or without a `bert.` prefix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from tokenizers import Tokenizer

Weights = dict[str, torch.Tensor]


@dataclass(frozen=True)
class BertConfig:
    """The hyper-parameters the forward pass needs, read from config.json."""

    hidden_size: int
    num_attention_heads: int
    num_hidden_layers: int
    layer_norm_eps: float
    pad_token_id: int

    @classmethod
    def from_dict(cls, config: dict[str, Any]) -> BertConfig:
        return cls(
            hidden_size=int(config["hidden_size"]),
            num_attention_heads=int(config["num_attention_heads"]),
            num_hidden_layers=int(config["num_hidden_layers"]),
            layer_norm_eps=float(config.get("layer_norm_eps", 1e-12)),
            pad_token_id=int(config.get("pad_token_id") or 0),
        )


def supports(folder: Path) -> bool:
    """True when `folder` is a plain BERT model this module can run (else use transformers)."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(config, dict)
        and config.get("model_type") == "bert"
        and config.get("hidden_act", "gelu") == "gelu"
        and config.get("position_embedding_type", "absolute") == "absolute"
        and (folder / "tokenizer.json").is_file()
        and (folder / "model.safetensors").is_file()
    )


# --------------------------------------------------------------------------- weights


def load_weights(path: Path, layers: int) -> Weights:
    """The float32 weights of `path` (a safetensors file), names without any `bert.` prefix.

    The query, key and value projections of each layer are joined into one
    `encoder.layer.{i}.attention.self.qkv.{weight,bias}` (3d, d) / (3d,) so one matmul does all.
    """
    raw = load_file(str(path))
    weights = {name.removeprefix("bert."): t.float() for name, t in raw.items()}
    for i in range(layers):
        p = f"encoder.layer.{i}.attention.self."
        for kind in ("weight", "bias"):
            parts = [weights.pop(f"{p}{proj}.{kind}") for proj in ("query", "key", "value")]
            weights[f"{p}qkv.{kind}"] = torch.cat(parts, dim=0)
    return weights


def _linear(x: torch.Tensor, w: Weights, name: str) -> torch.Tensor:
    """x @ W^T + b with the weights `name.weight` (out, in) and `name.bias` (out,); through
    `name.packed` when `pack_linear_weights` made it."""
    packed = w.get(f"{name}.packed")
    if packed is not None:
        return torch.ops.mkldnn._linear_pointwise(x, packed, w[f"{name}.bias"], "none", [], "")
    return F.linear(x, w[f"{name}.weight"], w[f"{name}.bias"])


def pack_linear_weights(weights: Weights) -> Weights:
    """`weights` with each linear layer's weight also reordered once into oneDNN's blocked
    layout (`name.packed`), the form PyTorch's own compiler freezes weights into.

    F.linear reorders the weight at every call: one text's forward took 4.7 ms and a LoCoMo
    conversation's keys 1.73 s, against 3.3 ms and 1.55 s packed (same vectors, cosine
    0.9999998). Left unpacked where oneDNN is missing or a probe disagrees with F.linear."""
    if not torch.backends.mkldnn.is_available():
        return weights
    packed = dict(weights)
    for name, weight in weights.items():
        layer = name.removesuffix(".weight")
        if not name.endswith(".weight") or weight.dim() != 2 or name.startswith("embeddings."):
            continue
        try:
            packed[f"{layer}.packed"] = torch.ops.mkldnn._reorder_linear_weight(weight, 32)
            probe = torch.randn(3, weight.shape[1]).to(weight.dtype)  # (3, in)
            same = torch.allclose(
                _linear(probe, packed, layer).float(),
                F.linear(probe, weight, weights[f"{layer}.bias"]).float(),
                rtol=2e-2,
                atol=2e-2,
            )
        except (RuntimeError, AttributeError):  # no such kernel for this dtype or build
            return weights
        if not same:
            return weights
    return packed


def _layer_norm(x: torch.Tensor, w: Weights, name: str, eps: float) -> torch.Tensor:
    """LayerNorm over the last dimension with `name.weight` and `name.bias` (d,)."""
    return F.layer_norm(x, x.shape[-1:], w[f"{name}.weight"], w[f"{name}.bias"], eps)


# --------------------------------------------------------------------------- forward


def embed(ids: torch.Tensor, w: Weights, cfg: BertConfig) -> torch.Tensor:
    """Token + position + token type 0 embeddings, layer-normed: ids (b, t) -> (b, t, d)."""
    t = ids.shape[1]
    x = w["embeddings.word_embeddings.weight"][ids]  # (b, t, d)
    x = x + w["embeddings.position_embeddings.weight"][:t]  # (t, d) broadcast over b
    x = x + w["embeddings.token_type_embeddings.weight"][0]  # (d,)
    return _layer_norm(x, w, "embeddings.LayerNorm", cfg.layer_norm_eps)


def attention(x: torch.Tensor, keep: torch.Tensor, w: Weights, p: str, heads: int) -> torch.Tensor:
    """Multi-head self-attention of layer prefix `p`: x (b, t, d) -> (b, t, d), no output proj.

    `keep` (b, 1, 1, t) is True for the real (non-padding) keys each query may attend to.
    """
    b, t, d = x.shape
    qkv = _linear(x, w, f"{p}attention.self.qkv")  # (b, t, 3d)
    q, k, v = (z.view(b, t, heads, d // heads).transpose(1, 2) for z in qkv.split(d, dim=-1))
    a = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)  # (b, h, t, hd)
    return a.transpose(1, 2).reshape(b, t, d)


def layer(x: torch.Tensor, keep: torch.Tensor, w: Weights, i: int, cfg: BertConfig) -> torch.Tensor:
    """Transformer block `i`: attention and FFN, each with residual + post-LayerNorm."""
    p, eps = f"encoder.layer.{i}.", cfg.layer_norm_eps
    a = attention(x, keep, w, p, cfg.num_attention_heads)  # (b, t, d)
    a = _linear(a, w, f"{p}attention.output.dense")  # (b, t, d)
    x = _layer_norm(x + a, w, f"{p}attention.output.LayerNorm", eps)
    f = F.gelu(_linear(x, w, f"{p}intermediate.dense"))  # (b, t, intermediate_size), exact erf GELU
    f = _linear(f, w, f"{p}output.dense")  # (b, t, d)
    return _layer_norm(x + f, w, f"{p}output.LayerNorm", eps)


def bert_forward(
    ids: torch.Tensor, mask: torch.Tensor, w: Weights, cfg: BertConfig
) -> torch.Tensor:
    """BertModel's last_hidden_state: ids, mask (b, t) -> (b, t, d); mask is 1 on real tokens."""
    keep = mask.bool()[:, None, None, :]  # (b, 1, 1, t): which keys are real
    x = embed(ids, w, cfg)
    for i in range(cfg.num_hidden_layers):
        x = layer(x, keep, w, i, cfg)
    return x


# --------------------------------------------------------------------------- model


def load_tokenizer(path: Path, max_tokens: int, pad_id: int) -> Tokenizer:
    """The tokenizer of `path` (tokenizer.json), truncating and padding to the batch's longest."""
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(max_length=max_tokens)
    padding = tokenizer.padding or {}
    pad_id = int(padding.get("pad_id", pad_id))
    pad_token = padding.get("pad_token") or tokenizer.id_to_token(pad_id) or "[PAD]"
    tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token)  # length None: the longest
    return tokenizer


class MiniLM:
    """A BERT model folder (config.json, model.safetensors, tokenizer.json) run in plain torch.

    `dtype` is the precision of the forward pass. bfloat16 halves the time of the matrix
    products on this project's 2-core CPU (bench/encoder_speed.py: about 2x the texts per
    second), and its embeddings keep a cosine above 0.999 with float32's, so vectors stored by
    either compare alike.
    """

    def __init__(self, folder: Path, max_tokens: int, dtype: torch.dtype = torch.float32) -> None:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        self.config = BertConfig.from_dict(config)
        weights = load_weights(folder / "model.safetensors", self.config.num_hidden_layers)
        self.weights = pack_linear_weights({name: t.to(dtype) for name, t in weights.items()})
        self.tokenizer = load_tokenizer(
            folder / "tokenizer.json", max_tokens, self.config.pad_token_id
        )
        self.dim = self.config.hidden_size

    def tokenize(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """input_ids and attention_mask, both int64 (b, t), t the longest text's token count."""
        encodings = self.tokenizer.encode_batch(texts)
        ids = torch.tensor([e.ids for e in encodings], dtype=torch.long)
        mask = torch.tensor([e.attention_mask for e in encodings], dtype=torch.long)
        return ids, mask

    def token_counts(self, texts: list[str]) -> list[int]:
        """The tokens of each text after truncation: what it adds to a batch's length."""
        return [sum(e.attention_mask) for e in self.tokenizer.encode_batch(texts)]

    def __call__(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Hidden states (b, t, d) and the attention mask (b, t) of `texts`."""
        ids, mask = self.tokenize(texts)
        return bert_forward(ids, mask, self.weights, self.config), mask
