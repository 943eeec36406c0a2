"""Which chat model answers: the one place that picks among the three kinds, so nothing else
branches on it. Each kind implements `agent.turn.Generator` (name, context_tokens,
count_tokens, stream).

- the packaged model (no `model` setting): SmolLM2-135M-Instruct on the int4 decoder
  (agent/models/generator.py), or the `generator` setting's local folder or GGUF file;
- `gguf:PATH`: any chat GGUF file run by llama.cpp (agent/models/llamacpp_chat.py);
- `NAME` with `base_url`: model NAME of an OpenAI-compatible server (agent/models/openai_chat.py).
"""

from __future__ import annotations

from collections.abc import Callable

from agent.errors import UsageError
from agent.settings import Settings
from agent.turn import Generator

GGUF_PREFIX = "gguf:"


def describe(settings: Settings) -> str:
    """The configured model in words, for `memchat models` and errors."""
    model, base = settings.model.strip(), settings.base_url.strip()
    if model.startswith(GGUF_PREFIX):
        return f"{model} (llama.cpp)"
    if model:
        return f"{model} at {base or '(no --base-url)'}"
    return settings.generator.strip() or "the packaged SmolLM2-135M-Instruct"


def load_chat_model(settings: Settings, progress: Callable[[str], None]) -> Generator:
    """The chat model the settings name, loaded (and, for a server, checked)."""
    model, base = settings.model.strip(), settings.base_url.strip()
    if model.startswith(GGUF_PREFIX):
        from agent.models.llamacpp_chat import LlamaCppChat

        progress(f"Loading {model.removeprefix(GGUF_PREFIX)} with llama.cpp ...")
        return LlamaCppChat.load(model.removeprefix(GGUF_PREFIX))
    if base:
        if not model:
            raise UsageError("--base-url needs --model NAME: the model the server should run")
        from agent.models.openai_chat import OpenAIChat, checked_base_url

        chat = OpenAIChat(model, checked_base_url(base, settings.allow_remote), settings)
        chat.check()
        return chat
    if model:
        raise UsageError(
            f"--model {model!r} needs --base-url URL (a server's /v1 root), or gguf:PATH for a "
            "GGUF file run by llama.cpp"
        )
    from agent.models.generator import load_generator

    return load_generator(settings, progress=progress)
