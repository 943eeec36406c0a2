"""Tests of the hand-written int4 Llama decoder (agent.models.llama_int4, gguf_int4,
fast_decode) and of `generator_dtype = "int4"`.

Unit tests run a tiny randomly initialised Llama (transformers LlamaForCausalLM) whose weights
are quantised into Q4_1 groups; tests marked `integration` use the real packaged model.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch

from agent.models.fast_decode import (
    Detokenizer,
    Int4Generator,
    apply_repetition_penalty,
    greedy_tokens,
)
from agent.models.gguf_int4 import (
    hf_weights,
    llama_shape,
    load_packed,
    q4_1_groups,
    rope_for,
    save_packed,
)
from agent.models.llama_int4 import (
    Int4Linear,
    Int4Llama,
    interleave_rows,
    quantize_q4,
)
from agent.models.repeats import repeated_ngram_ids
from agent.settings import Settings

integration = pytest.mark.integration


# --------------------------------------------------------------------------- a tiny Llama


def _tiny_config(**overrides: Any) -> Any:
    from transformers import LlamaConfig

    values: dict[str, Any] = {
        "vocab_size": 320,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 128,
        "rms_norm_eps": 1e-5,
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0},
        "tie_word_embeddings": True,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "pad_token_id": 2,
    }
    values.update(overrides)
    return LlamaConfig(**values)


def _hf_twin(hf: Any, model: Int4Llama) -> None:
    """Give the HF model exactly the weights the int4 model multiplies by (q/k rows back in
    HF order), so the two differ only in the bfloat16 activations of the int4 model."""
    shape, state = model.shape, hf.state_dict()
    a, kv = shape.heads * shape.head_dim, shape.kv_heads * shape.head_dim
    q_back = torch.argsort(interleave_rows(a, shape.heads))
    k_back = torch.argsort(interleave_rows(kv, shape.kv_heads))
    with torch.no_grad():
        for i, block in enumerate(model.w.blocks):
            p = f"model.layers.{i}."
            q, k, v = block.qkv.dequantize().split([a, kv, kv])
            gate, up = block.gate_up.dequantize().chunk(2)
            state[p + "self_attn.q_proj.weight"].copy_(q[q_back])
            state[p + "self_attn.k_proj.weight"].copy_(k[k_back])
            state[p + "self_attn.v_proj.weight"].copy_(v)
            state[p + "self_attn.o_proj.weight"].copy_(block.out.dequantize())
            state[p + "mlp.gate_proj.weight"].copy_(gate)
            state[p + "mlp.up_proj.weight"].copy_(up)
            state[p + "mlp.down_proj.weight"].copy_(block.down.dequantize())
        state["model.embed_tokens.weight"].copy_(model.w.embed.float())


@pytest.fixture(scope="module")
def tiny() -> tuple[Any, Int4Llama]:
    """(HF float32 model, int4 model) with the same (quantised) weights."""
    from transformers import LlamaForCausalLM

    torch.manual_seed(0)
    config = _tiny_config()
    hf = LlamaForCausalLM(config).eval()
    with torch.no_grad():  # larger weights than the default init: more decisive logits
        for param in hf.parameters():
            if param.dim() == 2:
                param.normal_(0.0, 0.08)
    shape = llama_shape(config)
    model = Int4Llama(shape, hf_weights(hf.state_dict(), shape), rope_for(config, shape))
    _hf_twin(hf, model)
    return hf, model


def _ids(n: int, seed: int = 1) -> torch.Tensor:
    return torch.randint(3, 320, (n,), generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------- weights


def test_quantize_q4_groups_reconstruct_within_half_a_step() -> None:
    weight = torch.randn(48, 96)
    groups = quantize_q4(weight)
    assert groups.q.dtype == torch.uint8 and int(groups.q.max()) <= 15
    step = groups.d.repeat_interleave(32, dim=1)  # (N, K): each weight's quantisation step
    assert torch.all((groups.dequantize() - weight).abs() <= step / 2 + 1e-6)


def test_packed_linear_multiplies_by_the_groups_weights() -> None:
    torch.manual_seed(0)
    groups = quantize_q4(torch.randn(96, 64) * 0.05)
    linear = Int4Linear.from_groups(groups)
    exact = groups.dequantize()
    # the kernel's weight differs from d*q + m only by bfloat16 rounding of scale and zero
    torch.testing.assert_close(linear.dequantize(), exact, atol=2e-3, rtol=2**-7)
    x = torch.randn(5, 64)
    y = linear(x.to(torch.bfloat16)).float()
    torch.testing.assert_close(y, x @ exact.t(), atol=0.02, rtol=0.02)


def _q4_1_bytes(q: np.ndarray, d: np.ndarray, m: np.ndarray) -> np.ndarray:
    """GGUF Q4_1 bytes of one matrix: per block fp16 d, fp16 m, 16 bytes of nibble pairs."""
    n, k = q.shape
    blocks = q.reshape(n, k // 32, 32).astype(np.uint8)
    packed = blocks[..., :16] | (blocks[..., 16:] << 4)  # (N, K/32, 16)
    head = np.stack([d.astype(np.float16), m.astype(np.float16)], axis=-1).view(np.uint8)
    return np.concatenate([head, packed], axis=-1).reshape(n, -1)  # (N, K/32 * 20)


def test_q4_1_blocks_are_read_exactly() -> None:
    from gguf import GGMLQuantizationType
    from gguf.quants import dequantize

    rng = np.random.default_rng(0)
    q = rng.integers(0, 16, size=(6, 64))
    d = rng.uniform(0.001, 0.02, size=(6, 2)).astype(np.float16)
    m = rng.uniform(-0.2, 0.0, size=(6, 2)).astype(np.float16)
    raw = _q4_1_bytes(q, d, m)
    groups = q4_1_groups(raw)
    assert np.array_equal(groups.q.numpy(), q)
    assert np.array_equal(groups.d.numpy(), d.astype(np.float32))
    assert np.array_equal(groups.m.numpy(), m.astype(np.float32))
    reference = dequantize(raw, GGMLQuantizationType.Q4_1)  # the gguf package's own reader
    np.testing.assert_allclose(groups.dequantize().numpy(), reference, rtol=1e-6, atol=1e-7)


def test_interleave_rows_inverts_transformers_gguf_permutation() -> None:
    from transformers.modeling_gguf_pytorch_utils import LlamaTensorProcessor

    weight = np.arange(192 * 8, dtype=np.float32).reshape(192, 8)  # 3 kv heads of 64 rows
    gguf_order = weight[interleave_rows(192, 3).numpy()]
    processor = LlamaTensorProcessor(config={"num_attention_heads": 9, "num_key_value_heads": 3})
    back = processor.process(gguf_order, "blk.0.attn_k.weight").weights
    assert np.array_equal(back, weight)


def test_packed_weights_round_trip_through_the_cache_file(
    tmp_path: Path, tiny: tuple[Any, Int4Llama]
) -> None:
    _, model = tiny
    target = tmp_path / "int4.safetensors"
    save_packed(model.w, target)
    assert [p.name for p in tmp_path.iterdir()] == ["int4.safetensors"]  # no temp leftovers
    loaded = load_packed(target, model.shape.layers)
    assert loaded.lm_head is loaded.embed  # tied stays tied
    for a, b in zip(loaded.blocks, model.w.blocks, strict=True):
        assert torch.equal(a.qkv.packed, b.qkv.packed)
        assert torch.equal(a.down.scales_zeros, b.down.scales_zeros)
    assert torch.equal(loaded.embed, model.w.embed)


# --------------------------------------------------------------------------- forward pass


def test_forward_matches_transformers(tiny: tuple[Any, Int4Llama]) -> None:
    hf, model = tiny
    ids = _ids(40)
    with torch.inference_mode():
        expected = hf(ids[None]).logits[0]  # (40, V)
        got = model.forward(ids, 0, model.new_cache(40), all_logits=True)
    assert got.shape == expected.shape
    scale = float(expected.abs().max())
    assert float((got - expected).abs().max()) < 0.03 * scale
    assert float((got.argmax(-1) == expected.argmax(-1)).float().mean()) >= 0.9


def test_incremental_decode_equals_full_forward(tiny: tuple[Any, Int4Llama]) -> None:
    _, model = tiny
    ids = _ids(30, seed=2)
    with torch.inference_mode():
        full = model.forward(ids, 0, model.new_cache(30), all_logits=True)  # (30, V)
        cache = model.new_cache(30)
        steps = [model.forward(ids[:10], 0, cache)]  # the last prompt position
        steps += [model.forward(ids[i : i + 1], i, cache) for i in range(10, 30)]
    incremental = torch.cat(steps)  # (21, V): positions 9..29
    # decoding ranks with the int4 lm_head and recomputes the best 32 logits exactly
    top = incremental.topk(8, dim=-1).indices  # (21, 8)
    scale = float(full.abs().max())
    got, expected = incremental.gather(1, top), full[9:].gather(1, top)
    assert float((got - expected).abs().max()) < 0.02 * scale
    assert torch.equal(incremental.argmax(-1), full[9:].argmax(-1))
    assert float((incremental - full[9:]).abs().mean()) < 0.05 * scale  # the int4 ranking


def test_a_prompt_longer_than_the_cache_is_refused(tiny: tuple[Any, Int4Llama]) -> None:
    _, model = tiny
    with pytest.raises(ValueError, match="do not fit"):
        model.forward(_ids(12), 0, model.new_cache(8))


# --------------------------------------------------------------------------- decoding


def test_repetition_penalty_matches_transformers() -> None:
    from transformers import RepetitionPenaltyLogitsProcessor

    torch.manual_seed(0)
    logits = torch.randn(50) * 3
    seen = torch.tensor([3, 7, 7, 12, 3, 49, 0])
    expected = RepetitionPenaltyLogitsProcessor(penalty=1.1)(seen[None], logits[None].clone())[0]
    got = apply_repetition_penalty(logits.clone(), seen, 1.1)
    assert torch.equal(got, expected)


def _reference_greedy(model: Int4Llama, prompt: list[int], n: int) -> list[int]:
    """Greedy with penalty 1.1 and no repeated 4-gram in the reply, from full forward passes
    (no incremental cache)."""
    ids = list(prompt)
    with torch.inference_mode():
        for _ in range(n):
            seq = torch.tensor(ids)
            logits = model.forward(seq, 0, model.new_cache(len(ids)))[0]
            logits = apply_repetition_penalty(logits, seq, 1.1)
            logits[repeated_ngram_ids(ids[len(prompt) :], 4)] = float("-inf")
            ids.append(int(logits.argmax()))
    return ids[len(prompt) :]


def test_greedy_tokens_follow_the_full_forward(tiny: tuple[Any, Int4Llama]) -> None:
    _, model = tiny
    prompt = _ids(12, seed=3).tolist()
    assert list(greedy_tokens(model, prompt, 10)) == _reference_greedy(model, prompt, 10)


def test_greedy_tokens_stop_at_eos(tiny: tuple[Any, Int4Llama]) -> None:
    _, model = tiny
    prompt = _ids(12, seed=3).tolist()
    free = list(greedy_tokens(model, prompt, 10))
    stopped = list(greedy_tokens(model, prompt, 10, eos=[free[3]]))
    assert stopped == free[: free.index(free[3])]


def test_stop_event_ends_after_the_current_token(tiny: tuple[Any, Int4Llama]) -> None:
    _, model = tiny
    stop = threading.Event()
    got = []
    for token in greedy_tokens(model, _ids(12).tolist(), 50, stop=stop):
        got.append(token)
        if len(got) == 3:
            stop.set()
    assert len(got) == 3


# --------------------------------------------------------------------------- streaming text


class ByteTokenizer:
    """A byte-level tokenizer: token id = byte value + 3 (0..2 are special: pad, bos, eos)."""

    eos_token_id = 2
    pad_token_id = 0

    def __call__(self, text: str, add_special_tokens: bool = False, return_tensors: Any = None):
        ids = [b + 3 for b in text.encode("utf-8")]
        return {"input_ids": torch.tensor([ids]) if return_tensors else ids}

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        data = bytes(i - 3 for i in ids if i >= 3)
        return data.decode("utf-8", errors="replace")

    def apply_chat_template(self, messages: list[dict[str, str]], **kwargs: Any) -> str:
        return "".join(f"<{m['role']}>{m['content']}\n" for m in messages) + "<assistant>"


def test_detokenizer_never_splits_a_multibyte_character() -> None:
    tokenizer = ByteTokenizer()
    text = "Café — 東京 🙂 ok"
    detok = Detokenizer(tokenizer)
    pieces = [detok.push(i) for i in tokenizer(text)["input_ids"]] + [detok.flush()]
    assert "".join(pieces) == text
    assert all("\ufffd" not in p for p in pieces)
    assert len([p for p in pieces if p]) == len(text)  # each character as soon as complete


class ScriptedModel:
    """Stands in for Int4Llama: emits the ids of `script` in order, then eos."""

    def __init__(self, script: list[int], vocab: int = 300) -> None:
        self.script, self.vocab, self.calls = script, vocab, 0
        self.shape = llama_shape(_tiny_config(vocab_size=vocab, max_position_embeddings=4096))

    def new_cache(self, length: int) -> None:
        return None

    def forward(self, ids: torch.Tensor, start: int, cache: None) -> torch.Tensor:
        token = self.script[self.calls] if self.calls < len(self.script) else 2
        self.calls += 1
        logits = torch.zeros(1, self.vocab)
        logits[0, token] = 100.0  # far above any penalty
        return logits


def test_int4_generator_streams_text_and_stops() -> None:
    tokenizer = ByteTokenizer()
    reply = "Grüße 🙂 done"
    model = ScriptedModel(tokenizer(reply)["input_ids"])
    generator = Int4Generator(model, tokenizer, eos=[2])  # type: ignore[arg-type]
    chat = [{"role": "user", "content": "hi"}]
    pieces = list(generator.stream(chat, max_new_tokens=100))
    assert "".join(pieces) == reply
    assert all("\ufffd" not in p for p in pieces)
    model.calls = 0
    stop = threading.Event()
    got = []
    for piece in generator.stream(chat, max_new_tokens=100, stop=stop):
        got.append(piece)
        stop.set()
    assert got == ["G"]
    stop_first = threading.Event()
    stop_first.set()
    assert list(generator.stream(chat, 10, stop=stop_first)) == []


def test_int4_generator_errors_are_memchat_errors() -> None:
    from agent.errors import MemchatError

    class Broken(ScriptedModel):
        def forward(self, ids: torch.Tensor, start: int, cache: None) -> torch.Tensor:
            raise RuntimeError("kernel exploded")

    generator = Int4Generator(Broken([]), ByteTokenizer(), eos=[2])  # type: ignore[arg-type]
    with pytest.raises(MemchatError, match="generation failed: kernel exploded"):
        generator.generate([{"role": "user", "content": "hi"}], 5)


# --------------------------------------------------------------------------- the setting


def _settings(cache: Path, **values: Any) -> Settings:
    return Settings(home=cache / "home", cache=cache, **values)


def test_unknown_dtype_message_lists_int4(tmp_path: Path) -> None:
    from agent.errors import UsageError
    from agent.models.generator import load_generator

    with pytest.raises(UsageError, match="int4"):
        load_generator(_settings(tmp_path, generator_dtype="int2"))


def test_int4_falls_back_to_float32_for_a_hugging_face_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.models import generator as module

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}", encoding="utf-8")
    loaded: list[tuple[Path, torch.dtype]] = []
    monkeypatch.setattr(
        module,
        "_load_folder",
        lambda path, dtype: loaded.append((path, dtype)) or SimpleNamespace(),
    )
    messages: list[str] = []
    settings = _settings(tmp_path, generator=str(folder), generator_dtype="int4")
    module.load_generator(settings, progress=messages.append)
    assert loaded == [(folder.resolve(), torch.float32)]
    assert len(messages) == 1 and "needs a Llama GGUF model" in messages[0]
    assert "float32" in messages[0]


def test_int4_falls_back_to_float32_for_a_gguf_that_is_not_llama(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.models import generator as module
    from agent.models.gguf_int4 import UnsupportedModel

    gguf = tmp_path / "other.gguf"
    gguf.write_bytes(b"not really gguf")
    converted = tmp_path / "converted"

    def unsupported(*args: Any) -> None:
        raise UnsupportedModel("model type 'qwen2' is not llama")

    loaded: list[tuple[Path, torch.dtype]] = []
    monkeypatch.setattr(module, "_converted", lambda *args: converted)
    monkeypatch.setattr(module, "_int4_from_folder", unsupported)
    monkeypatch.setattr(
        module,
        "_load_folder",
        lambda path, dtype: loaded.append((path, dtype)) or SimpleNamespace(),
    )
    messages: list[str] = []
    settings = _settings(tmp_path, generator=str(gguf), generator_dtype="int4")
    module.load_generator(settings, progress=messages.append)
    assert loaded == [(converted, torch.float32)]
    assert "qwen2" in messages[-1] and "float32" in messages[-1]


def test_unsupported_configs_are_refused() -> None:
    from agent.models.gguf_int4 import UnsupportedModel

    with pytest.raises(UnsupportedModel, match="attention_bias"):
        llama_shape(_tiny_config(attention_bias=True))
    config = _tiny_config(rope_parameters={"rope_type": "dynamic", "rope_theta": 1e4,
                                           "factor": 2.0})  # fmt: skip
    with pytest.raises(UnsupportedModel, match="dynamic"):
        rope_for(config, llama_shape(config))


# --------------------------------------------------------------------------- integration


@pytest.fixture(scope="module")
def real_int4(model_cache: Path) -> tuple[Any, list[str]]:
    """The packaged model through `generator_dtype = "int4"` (converted and packed once),
    then loaded again from the cache: (generator, the cached load's messages)."""
    from agent.models.generator import load_generator

    load_generator(_settings(model_cache, generator_dtype="int4"))
    messages: list[str] = []
    generator = load_generator(
        _settings(model_cache, generator_dtype="int4"), progress=messages.append
    )
    return generator, messages


@integration
def test_int4_cached_start_uses_the_cache(real_int4: tuple[Any, list[str]]) -> None:
    # No conversion or packing message: the packed cache was used. Its speed is the bench's
    # cold start figure, not an assert here (a loaded machine would fail it by chance).
    generator, messages = real_int4
    assert isinstance(generator, Int4Generator)
    assert messages == ["Loading generator ..."]


@integration
def test_int4_weights_are_the_ggufs_q4_1_weights(
    model_cache: Path, real_int4: tuple[Any, list[str]]
) -> None:
    """Every packed projection de-quantises to the converted float32 weights (bf16 precision)."""
    from safetensors import safe_open

    from agent.models.generator import cache_dir_for
    from agent.models.locate import GENERATOR

    model: Int4Llama = real_int4[0].model
    s = model.shape
    a, kv = s.heads * s.head_dim, s.kv_heads * s.head_dim
    folder = cache_dir_for(_settings(model_cache), GENERATOR.sha256)
    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        for i in (0, s.layers // 2, s.layers - 1):
            p = f"model.layers.{i}."
            block = model.w.blocks[i]
            q, k, v = block.qkv.dequantize().split([a, kv, kv])
            pairs = [
                (q, f.get_tensor(p + "self_attn.q_proj.weight")[interleave_rows(a, s.heads)]),
                (k, f.get_tensor(p + "self_attn.k_proj.weight")[interleave_rows(kv, s.kv_heads)]),
                (v, f.get_tensor(p + "self_attn.v_proj.weight")),
                (block.out.dequantize(), f.get_tensor(p + "self_attn.o_proj.weight")),
                (block.down.dequantize(), f.get_tensor(p + "mlp.down_proj.weight")),
            ]
            gate, up = block.gate_up.dequantize().chunk(2)
            pairs += [(gate, f.get_tensor(p + "mlp.gate_proj.weight"))]
            pairs += [(up, f.get_tensor(p + "mlp.up_proj.weight"))]
            for got, expected in pairs:
                # bf16 scale and zero: errors up to ~2^-8 of the group's range
                row_range = expected.abs().amax(dim=1, keepdim=True)
                assert torch.all((got - expected).abs() <= row_range * 2**-7 + 1e-6)
        embed = f.get_tensor("model.embed_tokens.weight")
    torch.testing.assert_close(model.w.embed.float(), embed, atol=0, rtol=2**-8)


@integration
def test_int4_greedy_tokens_mostly_agree_with_float32(
    model_cache: Path, real_int4: tuple[Any, list[str]]
) -> None:
    from agent.models.generator import load_generator

    fast = real_int4[0]
    reference = load_generator(_settings(model_cache, generator_dtype="float32"))  # HF generate
    chat = [{"role": "user", "content": "What is the capital of France?"}]
    inputs = reference._encode_prompt(chat)
    with torch.inference_mode():
        out = reference.model.generate(
            **inputs, max_new_tokens=20, do_sample=False, repetition_penalty=1.1,
            pad_token_id=reference.tokenizer.eos_token_id,
        )  # fmt: skip
    expected = out[0, inputs["input_ids"].shape[1] :].tolist()
    got = list(greedy_tokens(fast.model, inputs["input_ids"][0].tolist(), 20, fast.eos))
    same = sum(a == b for a, b in zip(got, expected, strict=False))
    assert same >= 0.8 * len(expected), (got, expected)
    assert "Paris" in fast.generate(chat, max_new_tokens=12)


@integration
def test_int4_streams_and_stops(real_int4: tuple[Any, list[str]]) -> None:
    generator = real_int4[0]
    stop = threading.Event()
    pieces = []
    chat = [{"role": "user", "content": "Write a long story about a dragon."}]
    for piece in generator.stream(chat, max_new_tokens=200, stop=stop):
        pieces.append(piece)
        stop.set()
    assert len(pieces) == 1 and pieces[0]
    assert generator.count_tokens("Hello there") > 0
    assert generator.context_tokens >= 2048


@integration
def test_an_altered_cache_is_converted_again_not_loaded(model_cache: Path, tmp_path: Path) -> None:
    """Flip bytes in the packed int4 weights of a copy of the cache (same size): the next start
    says the cache is damaged, converts and packs again, and the model still answers."""
    import os
    import shutil

    from agent.models.cache_files import damaged
    from agent.models.generator import cache_dir_for, load_generator
    from agent.models.locate import GENERATOR

    load_generator(_settings(model_cache, generator_dtype="int4"))  # converted and packed
    cache = tmp_path / "cache"
    shutil.copytree(model_cache / "models", cache / "models")
    folder = cache_dir_for(_settings(cache), GENERATOR.sha256)
    packed = next(folder.glob("int4-v*.safetensors"))
    size = packed.stat().st_size
    with packed.open("r+b") as handle:
        handle.seek(size // 2)
        handle.write(b"\xff" * 64)
    stamp = packed.stat().st_mtime_ns + 10**9
    os.utime(packed, ns=(stamp, stamp))
    messages: list[str] = []
    generator = load_generator(_settings(cache, generator_dtype="int4"), messages.append)
    assert messages[0] == (
        f"The converted model cache is damaged ({packed.name} was altered); converting again ..."
    )
    assert any(m.startswith("Converting ") for m in messages)
    assert generator.generate([{"role": "user", "content": "Hello!"}], 8).strip()
    assert damaged(folder, cache) is None  # packed again, and recorded
