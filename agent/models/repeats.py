"""Repetition control shared by both decoders: a reply never says the same n tokens twice."""

from __future__ import annotations

from typing import Any

import torch

NO_REPEAT_NGRAM = 4  # never the same 4 tokens twice ("No, no, no, no, ..."); 3 would
# already forbid a list's second "- 1 cup of"


def repeated_ngram_ids(generated: list[int], n: int) -> list[int]:
    """The ids that would repeat an n-gram of `generated`: every g[i + n - 1] such that
    g[i : i + n - 1] equals the last n - 1 ids (HF's no_repeat_ngram_size, over the reply
    only: copying a phrase of the prompt stays allowed)."""
    if n < 1 or len(generated) < n - 1:
        return []
    tail = generated[len(generated) - n + 1 :] if n > 1 else []
    return [
        generated[i + n - 1]
        for i in range(len(generated) - n + 1)
        if generated[i : i + n - 1] == tail
    ]


def no_repeat_in_reply(prompt_len: int, n: int) -> Any:
    """A LogitsProcessorList banning, at each step, the ids that would repeat an n-gram of
    the reply so far (`repeated_ngram_ids`; HF's own rule would also count the
    prompt, and forbid copying a phrase of a memory)."""
    from transformers import LogitsProcessor, LogitsProcessorList

    class NoRepeatInReply(LogitsProcessor):
        def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> Any:
            for row in range(input_ids.shape[0]):
                banned = repeated_ngram_ids(input_ids[row, prompt_len:].tolist(), n)
                scores[row, banned] = float("-inf")
            return scores

    return LogitsProcessorList([NoRepeatInReply()])
