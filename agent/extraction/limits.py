"""How much of a message the extractor reads, and how long its values may be."""

from __future__ import annotations

MAX_TEXT = 20_000
"""Characters of a message that are scanned at all."""
MAX_SENTENCE = 2_000
"""Characters of one sentence that are scanned."""
MAX_SENTENCES = 500
"""Sentences of one message that are read (those without a first-person word don't count)."""
MAX_OBJECT_WORDS = 6
"""Longest liked/disliked object, place or job, in words."""
NOTE_KEY_CHARS = 60
"""Longest note key (and normalised note slot text)."""
