"""The learned reader's query map: the dense term of the read with trained KV-MemNN maps.

The KV-MemNN scores a memory by s_i = (A_Q q) . (A_K k_i), with a query map A_Q and a key map
A_K (d, d). The cached keys k_i are fixed unit MiniLM vectors, so

    s_i = q^T A_Q^T A_K k_i = (M q) . k_i,      M = A_K^T A_Q   (d, d)

and the read only transforms the question's embedding: q' = M q (or M q / |M q| when the map
is saved with `normalise`), then the dense cosine K q' as before. One d x d product per read;
no change to the cached keys, no cost per memory. M = I is exactly the untrained read.

Trained by agent/memnets/reader.py (`bench/learned_reader.py`); the read uses it when the
setting `reader_weights` names a weights file. The file is safetensors (loading runs no code):
the tensor "query_map" (d, d) and string metadata: format, dim, normalise, encoder (the
`encoder` setting it was trained with, "packaged" for the default MiniLM), trained_on (JSON list
of the LoCoMo conversations it was trained on: the eval reports the others apart).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from agent.errors import UsageError

FORMAT = "memchat-query-map-1"
TENSOR = "query_map"


@dataclass(frozen=True, eq=False)
class QueryMap:
    """M (d, d) and how to apply it; `trained_on` names the conversations it has seen."""

    matrix: torch.Tensor  # (d, d) float32
    normalise: bool
    trained_on: tuple[str, ...] = ()
    encoder: str = "packaged"
    path: str = ""

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[0])

    def apply(self, query: torch.Tensor) -> torch.Tensor:
        """q' = M q (then / |q'| when `normalise`), for one query (d,) or a batch (b, d)."""
        if query.shape[-1] != self.dim:
            raise UsageError(
                f"the learned reader {self.path or '(in memory)'} maps {self.dim}-d embeddings, "
                f"but the encoder gives {query.shape[-1]}-d ones: retrain it for this encoder "
                "(bench/learned_reader.py) or unset reader_weights"
            )
        mapped = query.float() @ self.matrix.T  # (..., d): a new tensor, the query is untouched
        if self.normalise:
            mapped = mapped / mapped.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        return mapped


def encoder_name(encoder_setting: str) -> str:
    """What the weights file records as its encoder: the setting, or "packaged" when empty."""
    return encoder_setting.strip() or "packaged"


def save_query_map(
    path: Path,
    matrix: torch.Tensor,
    normalise: bool,
    trained_on: Sequence[str],
    encoder: str = "packaged",
    extra: dict[str, str] | None = None,
) -> None:
    """Write M (d, d) and its metadata as a safetensors file (`extra`: more string metadata)."""
    from safetensors.torch import save_file

    metadata = {
        **(extra or {}),
        "format": FORMAT,
        "dim": str(matrix.shape[0]),
        "normalise": "true" if normalise else "false",
        "encoder": encoder,
        "trained_on": json.dumps(list(trained_on)),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({TENSOR: matrix.detach().float().contiguous().cpu()}, str(path), metadata)


def load_query_map(path: Path, encoder_setting: str | None = None) -> QueryMap:
    """Read a weights file written by `save_query_map`; a missing or bad file, or one trained
    for another encoder than `encoder_setting` (None: not checked), is a UsageError."""
    if not path.is_file():
        raise UsageError(f"reader_weights: no such file {path} (unset it to read without it)")
    matrix, metadata = _read(path)
    if metadata.get("format") != FORMAT or matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise UsageError(f"reader_weights: {path} is not a learned reader weights file")
    if not torch.isfinite(matrix).all():
        raise UsageError(f"reader_weights: {path} holds non-finite values")
    trained = metadata.get("encoder", "packaged")
    if encoder_setting is not None and encoder_name(encoder_setting) != trained:
        raise UsageError(
            f"reader_weights: {path} was trained for the encoder {trained!r}, but the encoder "
            f"in use is {encoder_name(encoder_setting)!r}: retrain it or unset reader_weights"
        )
    try:
        trained_on = tuple(str(s) for s in json.loads(metadata.get("trained_on", "[]")))
    except (json.JSONDecodeError, TypeError) as exc:
        raise UsageError(f"reader_weights: {path} has bad metadata (trained_on)") from exc
    normalise = metadata.get("normalise") == "true"
    return QueryMap(matrix.float(), normalise, trained_on, trained, str(path))


def _read(path: Path) -> tuple[torch.Tensor, dict[str, str]]:
    """The tensor and metadata of a safetensors file; anything unreadable is a UsageError."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            if TENSOR not in f.keys():  # noqa: SIM118 - safe_open is not a mapping
                raise UsageError(f"reader_weights: {path} is not a learned reader weights file")
            return f.get_tensor(TENSOR), metadata
    except (SafetensorError, OSError, ValueError) as exc:
        raise UsageError(f"reader_weights: cannot read {path} ({exc})") from exc
