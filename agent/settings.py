"""Settings: defaults, overridden by `$MEMCHAT_HOME/config.toml`, then by environment variables.

Every setting has one name; the environment variable is that name upper-cased with the
`MEMCHAT_` prefix (`generator` -> `MEMCHAT_GENERATOR`). Command-line flags (`--db`,
`--profile`) override both.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from platformdirs import user_cache_dir, user_data_dir

from agent.errors import UsageError
from agent.text import check_utf8, clean_name

APP_NAME = "memchat"


def _default_home() -> Path:
    return Path(os.environ.get("MEMCHAT_HOME") or user_data_dir(APP_NAME))


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=_default_home)
    # SQLAlchemy URL or file path; empty means `<home>/memchat.db`.
    db: str = ""
    profile: str = "default"
    # Where converted models are cached (safetensors), keyed by the source's sha256.
    cache: Path = field(default_factory=lambda: Path(user_cache_dir(APP_NAME)))
    # A local Hugging Face folder or a .gguf file; empty means the packaged default.
    generator: str = ""
    encoder: str = ""
    # The chat model, when not the packaged one (agent/models/backends.py): "gguf:PATH" runs a
    # GGUF file with llama.cpp (the `llamacpp` extra); NAME with `base_url` asks an
    # OpenAI-compatible server (Ollama, llama-server, vLLM, LM Studio) for model NAME.
    model: str = ""
    base_url: str = ""
    # Memories go out in every prompt: a `base_url` that is not a loopback address is refused
    # unless this is true (--allow-remote).
    allow_remote: bool = False
    # The name of the environment variable holding the server's API key (never the key).
    api_key_env: str = ""
    # Seconds to wait for a model server to connect or send the next piece of a reply.
    request_timeout_s: float = 60.0
    # Prompt limit of a served model in tokens; 0: what the server reports, else 4096.
    context_tokens: int = 0
    # What the generator runs in: int4 | float32 | bfloat16. int4 is the hand-written decoder
    # of agent/models/llama_int4.py with the GGUF's own 4-bit weights: 2.5x float32's tokens/s
    # at the same perplexity (bench/generation.py). It runs Llama GGUF models; others then run
    # in float32.
    generator_dtype: str = "int4"
    # Temperature of the memory read: alpha = softmax(score / tau), score the hybrid score of
    # agent/memory/hybrid.py (chosen on LoCoMo dev by the evidence turns' likelihood).
    tau: float = 2.0
    # Memories returned by a read (the weights still sum to 1 over all memories).
    read_k: int = 8
    # Read hops (MemN2N); lambda is the weight of the read vector added to the query.
    hops: int = 1
    hop_lambda: float = 1.0
    # DNC temporal links: a turn next to a strongly matched turn is lifted in the read.
    temporal_links: bool = True
    # Learned reader: a weights file from bench/learned_reader.py (trained KV-MemNN query and
    # key maps over the encoder's embeddings; agent/memory/query_map.py). The read transforms
    # the question's embedding by it before the dense cosine. Empty: the untrained read.
    reader_weights: str = ""
    # Memories kept per profile; past it, the unpinned ones with the lowest usage are freed
    # (each freeing logged). 0: no limit.
    capacity: int = 0
    # Usage halves after this many days without a read or write (0: it never decays).
    usage_half_life_days: float = 30.0
    # Review mode: extracted preferences and facts wait as proposals until accepted.
    review: bool = False
    # Prompt budget (tokens) for the read memories; preferences always go in.
    memory_token_budget: int = 512
    # Recent turns kept verbatim in the prompt.
    recent_turns: int = 6
    max_new_tokens: int = 200
    # Longest message accepted, in characters.
    max_message_chars: int = 200_000

    @property
    def db_url(self) -> str:
        """The SQLAlchemy URL: `db` as given if it has a scheme, else a SQLite file path."""
        target = self.db or str(self.home / "memchat.db")
        if "://" in target:
            return target
        return f"sqlite:///{Path(target).expanduser()}"


def _coerce(name: str, raw: object, template: object) -> object:
    """Convert a config or environment value to the type of the default `template`."""
    try:
        if isinstance(template, Path):
            return Path(str(raw)).expanduser()
        if isinstance(template, bool):
            return str(raw).lower() in ("1", "true", "yes", "on")
        if isinstance(template, int):
            return int(raw)  # type: ignore[arg-type]
        if isinstance(template, float):
            return float(raw)  # type: ignore[arg-type]
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise UsageError(
            f"setting {name}={raw!r} is not a valid {type(template).__name__}"
        ) from exc


def load_settings(environ: dict[str, str] | None = None, **overrides: object) -> Settings:
    """Build Settings from defaults, `<home>/config.toml`, the environment, then overrides."""
    env = os.environ if environ is None else environ
    base = Settings(home=Path(env["MEMCHAT_HOME"]) if env.get("MEMCHAT_HOME") else _default_home())
    values: dict[str, object] = {}
    config_file = base.home / "config.toml"
    if config_file.is_file():
        try:
            values.update(tomllib.loads(config_file.read_text(encoding="utf-8")))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(f"{config_file}: not valid TOML ({exc})") from exc
    for f in fields(Settings):
        env_value = env.get(f"MEMCHAT_{f.name.upper()}")
        if env_value:
            values[f.name] = env_value
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name: getattr(base, f.name) for f in fields(Settings)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise UsageError(f"unknown setting(s) in {config_file}: {', '.join(unknown)}")
    coerced = {k: _coerce(k, v, known[k]) for k, v in values.items()}
    return _checked(replace(base, **coerced))


# Numeric settings and the least value each accepts; a value out of range (or not finite)
# would not fail where it is set but later, e.g. tau = 0 makes every read weight NaN.
_AT_LEAST: dict[str, float] = {
    "read_k": 1,
    "hops": 1,
    "capacity": 0,
    "usage_half_life_days": 0,
    "memory_token_budget": 0,
    "recent_turns": 0,
    "max_new_tokens": 1,
    "max_message_chars": 1,
    "request_timeout_s": 0.1,
    "context_tokens": 0,
}


def _checked(settings: Settings) -> Settings:
    """`settings` with the profile name cleaned as `profiles create` cleans one, or a
    UsageError naming the setting that cannot work."""
    for name, least in _AT_LEAST.items():
        value = getattr(settings, name)
        if not math.isfinite(value) or value < least:
            raise UsageError(f"setting {name}={value!r} must be at least {least:g}")
    if not math.isfinite(settings.tau) or settings.tau <= 0:
        raise UsageError(f"setting tau={settings.tau!r} must be a finite number above 0")
    if not math.isfinite(settings.hop_lambda):
        raise UsageError(f"setting hop_lambda={settings.hop_lambda!r} must be a finite number")
    # The database driver takes the path or URL as UTF-8 text without NUL characters.
    name, target = ("db", settings.db) if settings.db else ("home", str(settings.home))
    check_utf8(target, f"setting {name}")
    if "\x00" in target:
        raise UsageError(f"setting {name} contains a NUL character")
    # A name with escape sequences would reach the terminal in every listing; one that is
    # not valid UTF-8 cannot be stored at all. Cleaned as `profiles create` cleans names.
    return replace(settings, profile=clean_name(settings.profile))
