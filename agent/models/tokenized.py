"""What the two local decoders share (transformers' `generate` in `generator.py`, the int4
decoder in `fast_decode.py`): a tokenizer with a chat template, the token counts the prompt
budget needs, the spelling of words a reply must avoid, and the room left in the context."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

from agent.errors import MemchatError

REPETITION_PENALTY = 1.1
DEFAULT_CONTEXT = 2048


class TokenizedChat:
    """A chat model run here from its own tokenizer; `name` is shown and stored with turns."""

    def __init__(self, tokenizer: Any, context_tokens: int, name: str) -> None:
        self.tokenizer = tokenizer
        self.context_tokens = context_tokens
        self.name = name

    def _token_ids(self, text: str) -> list[int]:
        """The ids of `text` (without special tokens)."""
        return [int(i) for i in self.tokenizer(text, add_special_tokens=False)["input_ids"]]

    def count_tokens(self, text: str) -> int:
        """The number of tokens `text` takes (without special tokens)."""
        return len(self._token_ids(text))

    def render(self, messages: list[dict[str, str]]) -> str:
        """The prompt text for `messages`, chat template applied, ready for the reply."""
        return str(
            self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        )

    def prompt_tokens(self, messages: list[dict[str, str]]) -> int:
        """The number of tokens the rendered prompt for `messages` takes."""
        return len(self._encode_prompt(messages)["input_ids"][0])

    def banned_ids(self, words: Sequence[str]) -> list[list[int]]:
        """The token sequences that spell each of `words`, as a reply could write them: alone
        or after a space, lower-case or capitalised."""
        spellings = {f"{space}{case}" for w in words for case in (w, w.capitalize())
                     for space in ("", " ")}  # fmt: skip
        found = {tuple(self._token_ids(s)) for s in spellings}
        return [list(ids) for ids in sorted(found) if ids]

    def stream(
        self,
        messages: list[dict[str, str]],
        max_new_tokens: int,
        stop: threading.Event | None = None,
        avoid: Sequence[str] = (),
    ) -> Iterator[str]:
        raise NotImplementedError

    def generate(self, messages: list[dict[str, str]], max_new_tokens: int) -> str:
        """The whole reply to `messages` as one string."""
        return "".join(self.stream(messages, max_new_tokens))

    def _encode_prompt(self, messages: list[dict[str, str]]) -> Any:
        """Tokenise the rendered prompt (the template already holds the special tokens)."""
        return self.tokenizer(self.render(messages), add_special_tokens=False, return_tensors="pt")

    def _budget(self, prompt_len: int, max_new_tokens: int) -> int:
        """New tokens allowed: `max_new_tokens`, capped by what is left of the context."""
        if prompt_len >= self.context_tokens:
            raise MemchatError(
                f"the prompt takes {prompt_len} tokens; the model's context is "
                f"{self.context_tokens}"
            )
        return min(max_new_tokens, self.context_tokens - prompt_len)
