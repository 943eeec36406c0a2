"""Slots that fit their column: at most SLOT_CHARS characters on every engine.

SQLite stores a longer string whole whatever its VARCHAR says; PostgreSQL refuses it ("value
too long for type character varying(300)"). A longer slot (from a long key, or a long
extracted phrase) is kept as its beginning and a digest of the whole, so distinct slots stay
distinct and the same one is found again, on both engines alike.
"""

from __future__ import annotations

import hashlib

SLOT_CHARS = 300  # the slot columns' length
SLOT_DIGEST_CHARS = 16


def fitted_slot(value: str) -> str:
    """`value` itself when it fits, else its start, '#' and the first hex digits of its sha256."""
    if len(value) <= SLOT_CHARS:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{value[: SLOT_CHARS - SLOT_DIGEST_CHARS - 1]}#{digest[:SLOT_DIGEST_CHARS]}"
