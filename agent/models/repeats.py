"""Repetition control shared by both decoders: a reply never says the same n tokens twice."""

from __future__ import annotations

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
