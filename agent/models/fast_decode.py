"""The decode loop of the int4 Llama: greedy tokens, repetition penalty, streamed text.

`Int4Generator` has the interface of `generator.Generator` (it reuses its tokenizer methods)
but decodes in the calling thread with `Int4Llama`, one token per forward call, with no
`model.generate` machinery in between.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import torch
from torch import Tensor

from agent.errors import MemchatError
from agent.models.llama_int4 import Int4Llama
from agent.models.repeats import NO_REPEAT_NGRAM, repeated_ngram_ids
from agent.models.tokenized import REPETITION_PENALTY, TokenizedChat


def apply_repetition_penalty(logits: Tensor, seen: Tensor, penalty: float) -> Tensor:
    """HF's RepetitionPenaltyLogitsProcessor, in place on (V,) logits.

    For every token id in `seen` (prompt and generated so far, (n,) int64):
    l <- l * penalty if l < 0 else l / penalty (each id once, however often it occurs).
    """
    score = logits.gather(0, seen)
    score = torch.where(score < 0, score * penalty, score / penalty)
    return logits.scatter_(0, seen, score)


def ban_sequences(logits: Tensor, before: Tensor, banned: Sequence[Sequence[int]]) -> Tensor:
    """HF's NoBadWordsLogitsProcessor, in place on (V,) logits: for each banned sequence
    b_1..b_k whose first k-1 ids end `before` ((n,) int64), logit[b_k] <- -inf."""
    tail = before.tolist()[-max((len(b) for b in banned), default=1) :]
    for seq in banned:
        if len(seq) == 1 or tail[len(tail) - len(seq) + 1 :] == list(seq[:-1]):
            logits[seq[-1]] = float("-inf")
    return logits


def greedy_tokens(
    model: Int4Llama,
    prompt: list[int],
    max_new_tokens: int,
    eos: Iterable[int] = (),
    stop: threading.Event | None = None,
    penalty: float = REPETITION_PENALTY,
    banned: Sequence[Sequence[int]] = (),
    no_repeat: int = NO_REPEAT_NGRAM,
) -> Iterator[int]:
    """Yield greedy token ids after `prompt`: argmax of the penalised logits, never the last
    id of a `banned` sequence whose other ids were just generated, never an id that repeats
    a `no_repeat`-gram of the reply (0: no such rule).

    Ends at an end-of-sequence id (not yielded), after `max_new_tokens`, or once `stop` is set
    (checked after each yielded token). The next token is computed only when asked for.
    """
    n = len(prompt)
    ends = set(eos)
    cache = model.new_cache(n + max_new_tokens)
    ids = torch.empty(n + max_new_tokens, dtype=torch.long)  # prompt, then generated ids
    ids[:n] = torch.tensor(prompt, dtype=torch.long)
    for step in range(max_new_tokens):
        pos = n + step  # where the new token goes
        with torch.inference_mode():
            if step == 0:
                logits = model.forward(ids[:n], 0, cache)[0]  # (V,), the prompt at once
            else:
                logits = model.forward(ids[pos - 1 : pos], pos - 1, cache)[0]
            logits = apply_repetition_penalty(logits, ids[:pos], penalty)
            if banned:
                logits = ban_sequences(logits, ids[n:pos], banned)
            if no_repeat:
                logits[repeated_ngram_ids(ids[n:pos].tolist(), no_repeat)] = float("-inf")
            token = int(logits.argmax())
        if token in ends:
            return
        ids[pos] = token
        yield token
        if stop is not None and stop.is_set():
            return


class Detokenizer:
    """Turns a growing list of token ids into text pieces, each yielded once it is stable.

    The text of the ids from `prefix` on is decoded again after every token; the part beyond
    the text of ids[prefix:read] is new. It is held back while it ends in U+FFFD (a UTF-8
    character split across tokens), so multi-byte characters are never broken.
    """

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self.prefix = 0  # decoding starts here (a little context for the tokenizer)
        self.read = 0  # text of ids[:read] has been handed out

    def _text(self, ids: list[int]) -> str:
        return str(self.tokenizer.decode(ids, skip_special_tokens=True))

    def push(self, token: int) -> str:
        """Add a token; return the new stable text ('' while it is incomplete)."""
        self.ids.append(token)
        done = self._text(self.ids[self.prefix : self.read])
        text = self._text(self.ids[self.prefix :])
        if len(text) <= len(done) or text.endswith("\ufffd"):
            return ""
        self.prefix, self.read = self.read, len(self.ids)
        return text[len(done) :]

    def flush(self) -> str:
        """Whatever is left at the end, complete or not."""
        done = self._text(self.ids[self.prefix : self.read])
        text = self._text(self.ids[self.prefix :])
        self.prefix = self.read = len(self.ids)
        return text[len(done) :]


class Int4Generator(TokenizedChat):
    """The chat generator running `Int4Llama` (see `llama_int4`) instead of `model.generate`."""

    def __init__(
        self, model: Int4Llama, tokenizer: Any, eos: Iterable[int], name: str = ""
    ) -> None:
        super().__init__(tokenizer, model.shape.max_positions, name or "model")
        self.model = model
        self.eos = sorted({int(e) for e in eos})

    def stream(
        self,
        messages: list[dict[str, str]],
        max_new_tokens: int,
        stop: threading.Event | None = None,
        avoid: Sequence[str] = (),
    ) -> Iterator[str]:
        """Yield the reply to `messages` piece by piece (greedy, repetition penalty 1.1),
        never producing a word of `avoid`.

        Decoding happens in the consuming thread, one token per `next`; setting `stop` ends
        generation after the current token, and abandoning the iterator ends it at once.
        """
        prompt = [int(i) for i in self._encode_prompt(messages)["input_ids"][0]]
        budget = self._budget(len(prompt), max_new_tokens)
        if budget <= 0 or (stop is not None and stop.is_set()):
            return
        detok = Detokenizer(self.tokenizer)
        banned = self.banned_ids(avoid) if avoid else []
        tokens = greedy_tokens(self.model, prompt, budget, self.eos, stop, banned=banned)
        while True:
            try:
                token = next(tokens)
            except StopIteration:
                break
            except Exception as exc:  # a failed forward pass: tell the user, keep the cause
                raise MemchatError(f"generation failed: {exc}") from exc
            piece = detok.push(token)
            if piece:
                yield piece
        tail = detok.flush()
        if tail:
            yield tail


def eos_ids(tokenizer: Any, config: Any, generation_config: Any = None) -> set[int]:
    """End-of-sequence ids, where `model.generate` finds them: the generation config's, else
    the model config's, else the tokenizer's."""
    for source in (generation_config, config, tokenizer):
        value = getattr(source, "eos_token_id", None)
        if isinstance(value, int):
            return {value}
        if isinstance(value, list | tuple) and value:
            return {int(v) for v in value}
    return set()
