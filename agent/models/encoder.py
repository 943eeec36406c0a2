"""The sentence encoder: all-MiniLM-L6-v2 (384-d), by default without transformers.

Mean pooling over the attention mask, then L2 normalisation, as sentence-transformers does for
this model, so a dot product of two embeddings is their cosine similarity.

A BERT folder with tokenizer.json and model.safetensors (the packaged MiniLM) runs through the
hand-written forward pass of `agent.models.minilm`: importing transformers' modeling code costs
seconds at every start. Any other source (another architecture, a `.gguf` file) falls back to
transformers' `AutoModel` + `AutoTokenizer`, imported only then.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Importing this module runs agent/models/__init__.py first, which sets HF offline mode.
import torch

from agent.models.locate import ModelSource, encoder_identity, locate_encoder, quiet_loading
from agent.models.minilm import MiniLM, supports
from agent.settings import Settings

# Longer texts are cut: all-MiniLM-L6-v2 was trained on 128-token inputs, and on LongMemEval's
# long assistant replies 256 tokens find no more (recall@5 0.90 both, bench/README.md) at
# twice the cost of encoding them.
MAX_TOKENS = 128
# The precision of the hand-written forward pass (see `MiniLM`): bfloat16, twice the speed.
FORWARD_DTYPE = torch.bfloat16

# texts -> (hidden states (b, t, d), attention mask (b, t)); the texts are truncated and padded
TokenModel = Callable[[list[str]], tuple[torch.Tensor, torch.Tensor]]


class Encoder:
    """Embeds texts as float32, unit-length vectors of size `dim` (CPU); `identity` names the
    model ("name@digest"), recorded with the vectors it makes."""

    def __init__(self, model: TokenModel, dim: int, identity: str = "") -> None:
        self.model = model
        self.dim = dim
        self.identity = identity or f"unnamed {dim}-d encoder"

    @classmethod
    def load(cls, settings: Settings) -> Encoder:
        """Locate (and verify) the encoder named by `settings` and load it."""
        return load_encoder(settings)

    def encode(self, texts: list[str], batch_size: int = 64) -> torch.Tensor:
        """Embed `texts`: a float32 tensor of shape (len(texts), dim), rows L2-normalised."""
        if not texts:
            return torch.zeros((0, self.dim), dtype=torch.float32)
        step = max(1, batch_size)
        with torch.inference_mode():
            parts = [self._encode_batch(texts[i : i + step]) for i in range(0, len(texts), step)]
        return torch.cat(parts, dim=0)

    def sizes(self, texts: list[str]) -> list[int]:
        """How long each text is for the model: its tokens where the model can count them
        (the hand-written MiniLM), else its characters. Batches sorted by it pad least."""
        count = getattr(self.model, "token_counts", None)
        return count(texts) if callable(count) else [len(t) for t in texts]

    def encode_one(self, text: str) -> torch.Tensor:
        """Embed one text: a float32 tensor of shape (dim,)."""
        return self.encode([text])[0]

    def _encode_batch(self, texts: list[str]) -> torch.Tensor:
        """Tokenise, run the model and pool one batch (call under inference mode)."""
        hidden, mask = self.model(texts)  # (b, t, d), (b, t)
        return mean_pool(hidden, mask)


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average `hidden` (b, t, d) over the positions where `mask` (b, t) is 1, then normalise."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    summed = (hidden * weights).sum(dim=1)
    counts = weights.sum(dim=1).clamp(min=1e-9)
    pooled = (summed / counts).float()
    return torch.nn.functional.normalize(pooled, p=2, dim=1)


class TransformersModel:
    """A transformers model and tokenizer as a `TokenModel` (the fallback for other sources)."""

    def __init__(self, model: Any, tokenizer: Any) -> None:
        self.model = model.float().eval()
        self.tokenizer = tokenizer
        self.dim = int(model.config.hidden_size)

    def __call__(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        batch = self.tokenizer(
            texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
        )
        return self.model(**batch).last_hidden_state, batch["attention_mask"]


def _load_with_transformers(source: ModelSource) -> Encoder:
    """Load any Hugging Face folder or `.gguf` file with transformers (slow to import)."""
    from transformers import AutoModel, AutoTokenizer

    with quiet_loading():
        if source.kind == "gguf":
            folder, name = str(source.path.parent), source.path.name
            tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
            model = AutoModel.from_pretrained(folder, gguf_file=name)
        else:
            tokenizer = AutoTokenizer.from_pretrained(str(source.path))
            model = AutoModel.from_pretrained(str(source.path), dtype=torch.float32)
    wrapped = TransformersModel(model, tokenizer)
    return Encoder(wrapped, wrapped.dim)


def _load_source(source: ModelSource, dtype: torch.dtype | None = None) -> Encoder:
    """Load an encoder from a Hugging Face folder or a `.gguf` file; `dtype` is the forward
    pass's precision on the hand-written path (default FORWARD_DTYPE)."""
    if source.kind == "hf" and supports(source.path):
        minilm = MiniLM(source.path, MAX_TOKENS, dtype or FORWARD_DTYPE)
        return Encoder(minilm, minilm.dim)
    return _load_with_transformers(source)


def load_encoder(settings: Settings) -> Encoder:
    """Locate the encoder named by `settings` (default: the packaged MiniLM) and load it."""
    source = locate_encoder(settings)
    encoder = _load_source(source)
    encoder.identity = encoder_identity(source, settings.cache)
    return encoder
