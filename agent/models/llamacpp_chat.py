"""Any chat GGUF file run by llama.cpp, through llama-cpp-python (the optional `llamacpp`
extra: `pip install -e '.[llamacpp]'`). The chat template comes from the file's metadata
(llama-cpp-python applies it) and the context length too, capped at MAX_CONTEXT so a model
trained on 128k tokens does not reserve memory for all of them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from agent.errors import MemchatError, ModelMissingError

MAX_CONTEXT = 8192
GGUF_MAGIC = b"GGUF"
INSTALL = "pip install -e '.[llamacpp]'"


def gguf_context_length(path: Path) -> int | None:
    """The context length the GGUF file's metadata gives (`<arch>.context_length`)."""
    import gguf

    try:
        fields = gguf.GGUFReader(str(path)).fields
    except Exception as exc:  # a damaged file can fail the reader anywhere: one line
        raise ModelMissingError(f"{path} is not a readable GGUF file ({exc})") from exc
    arch_field = fields.get("general.architecture")
    if arch_field is None:
        return None
    arch = bytes(arch_field.parts[-1]).decode("utf-8", "replace")
    length = fields.get(f"{arch}.context_length")
    return int(length.parts[-1][0]) if length is not None else None


def checked_gguf(raw: str) -> Path:
    """The path of `gguf:PATH`, or a one-line error: missing, or not a GGUF file."""
    path = Path(raw).expanduser()
    if not path.is_file():
        raise ModelMissingError(f"the GGUF model {path} does not exist")
    with path.open("rb") as file:
        if file.read(4) != GGUF_MAGIC:
            raise ModelMissingError(f"{path} is not a GGUF file")
    return path


class LlamaCppChat:
    """A GGUF model loaded by llama.cpp; `name` is the file's name without `.gguf`."""

    def __init__(self, llama: Any, name: str) -> None:
        self.llama = llama
        self.name = name
        self.context_tokens = int(llama.n_ctx())

    @classmethod
    def load(cls, raw: str) -> LlamaCppChat:
        path = checked_gguf(raw)
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ModelMissingError(
                f"running {path.name} needs llama-cpp-python: install it with `{INSTALL}`"
            ) from exc
        context = min(gguf_context_length(path) or MAX_CONTEXT, MAX_CONTEXT)
        try:
            llama = Llama(
                model_path=str(path), n_ctx=context, n_threads=os.cpu_count(), verbose=False
            )
        except (ValueError, RuntimeError) as exc:  # an architecture llama.cpp cannot run
            raise MemchatError(f"llama.cpp cannot load {path.name}: {exc}") from exc
        return cls(llama, path.stem)

    def count_tokens(self, text: str) -> int:
        return len(self.llama.tokenize(text.encode("utf-8", "replace"), add_bos=False))

    def _banned(self, words: Sequence[str]) -> dict[int, float]:
        """Logit biases that forbid each of `words` spelled as one token (alone or after a
        space, lower-case or capitalised); a word of several tokens is not banned."""
        banned: dict[int, float] = {}
        for word in words:
            for spelling in {f"{s}{c}" for c in (word, word.capitalize()) for s in ("", " ")}:
                ids = self.llama.tokenize(spelling.encode(), add_bos=False, special=False)
                if len(ids) == 1:
                    banned[int(ids[0])] = -100.0
        return banned

    def stream(
        self,
        messages: list[dict[str, str]],
        max_new_tokens: int,
        stop: threading.Event | None = None,
        avoid: Sequence[str] = (),
    ) -> Iterator[str]:
        """Yield the reply piece by piece (greedy, repetition penalty 1.1). Setting `stop`, or
        abandoning the iterator, ends decoding after the current token."""
        try:
            chunks = self.llama.create_chat_completion(
                messages=messages,
                max_tokens=max_new_tokens,
                temperature=0.0,
                repeat_penalty=1.1,
                logit_bias=self._banned(avoid) or None,
                stream=True,
            )
            for chunk in chunks:
                if stop is not None and stop.is_set():
                    return
                delta = chunk["choices"][0].get("delta") or {}
                piece = delta.get("content")
                if piece:
                    yield piece
        except ValueError as exc:  # e.g. the prompt does not fit the context
            raise MemchatError(f"llama.cpp: {exc}") from exc
