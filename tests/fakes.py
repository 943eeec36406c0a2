"""Small fakes of the models for fast unit tests."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator, Sequence

import torch

# A chat turn memory's key and value: its text after its day and speaker (agent.turn.turn_key).
_DAY_AND_SPEAKER = re.compile(r"\d{1,2} [A-Z][a-z]+ \d{4} User: ")


def said(turn_memory_text: str) -> str:
    """What the user said, from a chat turn memory's key or value."""
    return _DAY_AND_SPEAKER.sub("", turn_memory_text, count=1)


class FakeEncoder:
    """Bag of hashed words: texts sharing words are similar; deterministic; unit vectors."""

    dim = 64
    identity = "fake-hashed-words@64"

    def encode(self, texts: list[str]) -> torch.Tensor:
        out = torch.zeros(len(texts), self.dim)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                bucket = int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim
                out[row, bucket] += 1.0
            out[row, self.dim - 1] += 0.1  # no zero vectors
        return out / out.norm(dim=1, keepdim=True)

    def sizes(self, texts: list[str]) -> list[int]:
        return [len(re.findall(r"\w+", text)) for text in texts]


class FakeGenerator:
    """Streams a fixed reply word by word; counts words as tokens."""

    context_tokens = 2048
    name = "fake-words"

    def __init__(self, reply: str = "Sure, here is a fine answer.") -> None:
        self.reply = reply
        self.prompts: list[list[dict[str, str]]] = []
        self.avoided: list[list[str]] = []  # the words each reply had to avoid

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(
        self,
        messages: list[dict[str, str]],
        max_new_tokens: int,
        stop: threading.Event | None = None,
        avoid: Sequence[str] = (),
    ) -> Iterator[str]:
        self.prompts.append(messages)
        self.avoided.append(list(avoid))
        for i, word in enumerate(self.reply.split()[:max_new_tokens]):
            if stop is not None and stop.is_set():
                return
            yield word if i == 0 else " " + word
