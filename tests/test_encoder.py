"""Tests of the hand-written BERT encoder (agent.models.minilm) against transformers.

Unit tests use a tiny randomly initialised BertModel saved to a temporary folder. Tests marked
`integration` compare with transformers on the real packaged all-MiniLM-L6-v2.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from agent.models.encoder import (
    MAX_TOKENS,
    Encoder,
    TransformersModel,
    _load_source,
    _load_with_transformers,
    mean_pool,
)
from agent.models.locate import ModelSource, locate_encoder
from agent.models.minilm import (
    BertConfig,
    MiniLM,
    bert_forward,
    load_weights,
    pack_linear_weights,
    supports,
)
from agent.settings import Settings

integration = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]

WORDS = ["the", "a", "cat", "dog", "sat", "on", "mat", "tea", "coffee", "i", "like", "we"]
WORDS += ["went", "to", "market", "river", "and", ",", ".", "!", "?"]

TEXTS = [
    "I like tea.",
    "The cat sat on the mat, and the dog went to the river!",
    "",
    "   ",
    "Ünïcödé café naïve — “quotes” and emoji 🎉🐈 and 中文字符 and Ελληνικά",
    "tab\tnew\nline\r carriage \x00 nul \x07 bell \u200b zero-width \u00ad soft-hyphen",
    "word " * 400,  # > 256 tokens: truncated
    "Melanie: I went to a pottery workshop on 12 July 2023 with the kids, it was great.",
    "?",
    "Caroline said she is researching adoption agencies; she wants to be a mother.",
    "x",
    "a b c d e f g h i j k l m n o p q r s t u v w x y z " * 15,
    "Numbers 1234567890 and 3.14159 and 1,000,000 and 50% and $20 and #hashtag @mention",
    "URL https://example.com/path?q=1&r=2 and e-mail someone@example.org",
    "ALL CAPS SHOUTING AND MiXeD CaSe",
    "Short.",
    "Don't won't can't shouldn't y'all",
    "Multiple     spaces    between     words",
    "Die Straße ist schön, l'été est chaud, el niño juega.",
    "The quarterly revenue rose by twelve percent while costs fell.",
]


def _tiny_config(**overrides: object) -> object:
    from transformers import BertConfig as HFBertConfig

    values: dict[str, object] = dict(
        vocab_size=len(WORDS) + 5,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        max_position_embeddings=300,
        layer_norm_eps=1e-12,
        hidden_act="gelu",
    )
    values.update(overrides)
    return HFBertConfig(**values)


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random BertModel, its config and a WordPiece tokenizer (tokenizer.json and vocab.txt)."""
    from transformers import BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert")
    torch.manual_seed(0)
    BertModel(_tiny_config()).eval().save_pretrained(folder)
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True).save_pretrained(folder)
    return folder


def _random_batch(vocab: int, lengths: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Random ids (b, max(lengths)) padded with 0, and the matching attention mask."""
    torch.manual_seed(1)
    t = max(lengths)
    ids = torch.randint(1, vocab, (len(lengths), t))
    mask = (torch.arange(t)[None, :] < torch.tensor(lengths)[:, None]).long()
    return ids * mask, mask


# --------------------------------------------------------------------------- unit: forward


@pytest.mark.parametrize("prefixed", [False, True])
def test_forward_matches_transformers_bert(tmp_path: Path, prefixed: bool) -> None:
    """Same weights, same ids and padding mask: the same last_hidden_state as BertModel."""
    from transformers import BertForMaskedLM, BertModel

    torch.manual_seed(0)
    config = _tiny_config()
    if prefixed:  # saved as `bert.embeddings...`, with an MLM head we ignore
        full = BertForMaskedLM(config).eval()
        full.save_pretrained(tmp_path)
        reference = full.bert
    else:
        reference = BertModel(config, add_pooling_layer=False).eval()
        reference.save_pretrained(tmp_path)
    weights = load_weights(tmp_path / "model.safetensors", config.num_hidden_layers)
    cfg = BertConfig.from_dict(config.to_dict())
    ids, mask = _random_batch(config.vocab_size, [7, 3, 12, 1])
    with torch.inference_mode():
        expected = reference(input_ids=ids, attention_mask=mask).last_hidden_state
        got = bert_forward(ids, mask, weights, cfg)
    assert got.shape == expected.shape == (4, 12, 32)
    real = mask.bool()
    assert torch.allclose(got[real], expected[real], atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_packed_linear_weights_give_the_same_forward(tmp_path: Path, dtype: torch.dtype) -> None:
    """The weights reordered once for oneDNN (pack_linear_weights) compute what F.linear does,
    in both precisions the product uses; every linear layer gets packed."""
    from transformers import BertModel

    torch.manual_seed(1)
    config = _tiny_config()
    BertModel(config, add_pooling_layer=False).eval().save_pretrained(tmp_path)
    raw = load_weights(tmp_path / "model.safetensors", config.num_hidden_layers)
    weights = {name: t.to(dtype) for name, t in raw.items()}
    packed = pack_linear_weights(weights)
    if not torch.backends.mkldnn.is_available():
        pytest.skip("no oneDNN in this torch build: nothing is packed")
    assert sum(name.endswith(".packed") for name in packed) == 4 * config.num_hidden_layers
    cfg = BertConfig.from_dict(config.to_dict())
    ids, mask = _random_batch(config.vocab_size, [7, 3, 12, 1])
    with torch.inference_mode():
        expected = bert_forward(ids, mask, weights, cfg).float()
        got = bert_forward(ids, mask, packed, cfg).float()
    real = mask.bool()
    tolerance = 1e-5 if dtype == torch.float32 else 3e-2
    assert torch.allclose(got[real], expected[real], atol=tolerance)


def test_weights_stay_unpacked_when_the_kernel_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A torch build whose oneDNN cannot reorder a weight keeps plain F.linear weights."""
    weights = {"layer.weight": torch.randn(4, 8), "layer.bias": torch.zeros(4)}

    def fails(weight: torch.Tensor, batch: int) -> torch.Tensor:
        raise RuntimeError("no kernel")

    monkeypatch.setattr(torch.ops.mkldnn, "_reorder_linear_weight", fails)
    assert pack_linear_weights(weights) is weights


def test_supports_only_plain_bert_folders(tiny_folder: Path, tmp_path: Path) -> None:
    assert supports(tiny_folder)
    shutil.copytree(tiny_folder, tmp_path / "no-tokenizer-json")
    (tmp_path / "no-tokenizer-json" / "tokenizer.json").unlink()
    assert not supports(tmp_path / "no-tokenizer-json")
    assert not supports(tmp_path / "missing")


# --------------------------------------------------------------------------- unit: encoder


@pytest.fixture(scope="module")
def tiny_pair(tiny_folder: Path) -> tuple[Encoder, Encoder]:
    """The tiny folder loaded twice: the hand-written path and the transformers path."""
    source = ModelSource(tiny_folder, "hf")
    return _load_source(source, torch.float32), _load_with_transformers(source)


def test_tiny_folder_uses_the_hand_written_path(tiny_pair: tuple[Encoder, Encoder]) -> None:
    ours, theirs = tiny_pair
    assert isinstance(ours.model, MiniLM)
    assert isinstance(theirs.model, TransformersModel)
    assert ours.dim == theirs.dim == 32


def test_tiny_tokenizer_ids_match_transformers(tiny_pair: tuple[Encoder, Encoder]) -> None:
    ours, theirs = tiny_pair
    assert isinstance(ours.model, MiniLM) and isinstance(theirs.model, TransformersModel)
    ids, mask = ours.model.tokenize(TEXTS)
    batch = theirs.model.tokenizer(
        TEXTS, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
    )
    assert ids.shape[1] == MAX_TOKENS
    assert torch.equal(ids, batch["input_ids"])
    assert torch.equal(mask, batch["attention_mask"])


def test_tiny_embeddings_match_transformers(tiny_pair: tuple[Encoder, Encoder]) -> None:
    ours, theirs = tiny_pair
    got, expected = ours.encode(TEXTS, batch_size=6), theirs.encode(TEXTS, batch_size=6)
    assert got.shape == (len(TEXTS), 32) and got.dtype == torch.float32
    assert torch.allclose(got.norm(dim=1), torch.ones(len(TEXTS)), atol=1e-5)
    assert (got - expected).abs().max() < 1e-5


def test_embedding_does_not_depend_on_the_batch(tiny_pair: tuple[Encoder, Encoder]) -> None:
    """Padding is masked out of attention and pooling: a text alone equals it in any batch."""
    encoder = tiny_pair[0]
    alone = encoder.encode_one("the cat sat")
    for batch in (["the cat sat", "word " * 300], ["a", "the cat sat", "we went to the river"]):
        together = encoder.encode(batch)
        assert (together[batch.index("the cat sat")] - alone).abs().max() < 1e-5


def test_sizes_count_tokens_after_truncation(tiny_pair: tuple[Encoder, Encoder]) -> None:
    encoder = tiny_pair[0]
    short, long = encoder.sizes(["the cat sat", "word " * 300])
    assert short == 5  # [CLS] the cat sat [SEP]
    assert long == MAX_TOKENS


def test_mean_pool_ignores_padding() -> None:
    hidden = torch.tensor([[[1.0, 0.0], [3.0, 0.0], [100.0, 100.0]]])  # (1, 3, 2)
    pooled = mean_pool(hidden, torch.tensor([[1, 1, 0]]))
    assert torch.allclose(pooled, torch.tensor([[1.0, 0.0]]))


def test_non_bert_or_incomplete_folder_falls_back_to_transformers(
    tiny_folder: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "model"
    shutil.copytree(tiny_folder, folder)
    (folder / "tokenizer.json").unlink()  # AutoTokenizer still reads vocab.txt
    encoder = _load_source(ModelSource(folder, "hf"))
    assert isinstance(encoder.model, TransformersModel)
    assert encoder.encode(["the cat"]).shape == (1, 32)


def test_hand_written_path_never_imports_transformers(tiny_folder: Path) -> None:
    code = (
        "import sys; from pathlib import Path\n"
        "from agent.models.encoder import _load_source\n"
        "from agent.models.locate import ModelSource\n"
        f"e = _load_source(ModelSource(Path({str(tiny_folder)!r}), 'hf'))\n"
        "e.encode(['the cat sat', 'a'])\n"
        "print('transformers' in sys.modules)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert run.stdout.strip() == "False"


# --------------------------------------------------------------------------- integration


@pytest.fixture(scope="module")
def packaged_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Encoder, Encoder]:
    """The packaged MiniLM loaded by the hand-written path and by transformers."""
    cache = tmp_path_factory.mktemp("encoder-cache")
    source = locate_encoder(Settings(home=cache / "home", cache=cache))
    return _load_source(source, torch.float32), _load_with_transformers(source)


@integration
def test_packaged_tokenizer_ids_match_transformers(
    packaged_pair: tuple[Encoder, Encoder],
) -> None:
    ours, theirs = packaged_pair
    assert isinstance(ours.model, MiniLM) and isinstance(theirs.model, TransformersModel)
    for batch in (TEXTS, TEXTS[:5], [TEXTS[6]], [""]):
        ids, mask = ours.model.tokenize(batch)
        expected = theirs.model.tokenizer(
            batch, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
        )
        assert torch.equal(ids, expected["input_ids"])
        assert torch.equal(mask, expected["attention_mask"])


@integration
def test_packaged_embeddings_match_transformers(packaged_pair: tuple[Encoder, Encoder]) -> None:
    ours, theirs = packaged_pair
    assert ours.dim == 384
    for batch_size in (64, 7):  # one padded batch, then several
        got, expected = ours.encode(TEXTS, batch_size), theirs.encode(TEXTS, batch_size)
        assert (got - expected).abs().max() < 1e-4
        assert (got * expected).sum(dim=1).min() > 0.99999


@integration
def test_packaged_encoder_does_not_import_transformers(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from agent.models.encoder import load_encoder\n"
        "from agent.settings import load_settings\n"
        "e = load_encoder(load_settings())\n"
        "e.encode(['hi'])\n"
        "print('transformers' in sys.modules)\n"
    )
    env = {**os.environ, "MEMCHAT_HOME": str(tmp_path / "home"), "MEMCHAT_CACHE": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert run.stdout.strip() == "False"


@integration
def test_the_bfloat16_forward_pass_embeds_as_float32_does(
    packaged_pair: tuple[Encoder, Encoder], tmp_path: Path
) -> None:
    """The product runs the packaged MiniLM in bfloat16 for speed: its vectors must compare
    with those stored by the float32 pass (cosine above 0.999), and stay float32 unit rows."""
    exact, _ = packaged_pair
    fast = _load_source(locate_encoder(Settings(home=tmp_path / "home", cache=tmp_path)))
    assert isinstance(fast.model, MiniLM)
    assert fast.model.weights["embeddings.word_embeddings.weight"].dtype == torch.bfloat16
    got, expected = fast.encode(TEXTS), exact.encode(TEXTS)
    assert got.dtype == torch.float32
    assert torch.allclose(got.norm(dim=1), torch.ones(len(TEXTS)), atol=1e-5)
    assert (got * expected).sum(dim=1).min() > 0.999
