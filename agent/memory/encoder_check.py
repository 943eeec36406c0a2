"""Whether a profile's stored vectors were made by the encoder in use.

Vectors of two encoders live in different spaces (often of different sizes): comparing them
is meaningless, and a cache of the wrong size cannot even be built. A profile records the
encoder that embedded it; a reader or writer with another one is refused in one line that
says how to re-encode (`memchat reindex`).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from agent.errors import MemchatError
from storage import embeddings


class EncoderMismatchError(MemchatError):
    """The profile's memories were embedded by another encoder than the one in use."""


def encoder_mismatch(s: Session, profile_id: int, identity: str, dim: int) -> str | None:
    """Why the profile's stored vectors cannot be read with this encoder, or None when they can.

    A profile with no memories can take any encoder. One from before encoders were recorded
    is taken as this encoder's when every vector has this encoder's dimension.
    """
    name, recorded, recorded_dim = embeddings.recorded_encoder(s, profile_id)
    if (recorded, recorded_dim) == (identity, dim):
        return None
    dims = embeddings.stored_dims(s, profile_id)
    if not dims or (recorded is None and dims == {dim}):
        return None
    if recorded is None:
        made_by = "another encoder (" + ", ".join(f"{d}-d" for d in sorted(dims)) + ")"
    else:
        made_by = f"{recorded} ({recorded_dim}-d)"
    return (
        f"profile {name!r} was embedded by {made_by}, not by the encoder in use, {identity} "
        f"({dim}-d): run `memchat reindex` to re-encode its memories"
    )


def check_encoder(s: Session, profile_id: int, identity: str, dim: int) -> None:
    """Raise `EncoderMismatchError` when the profile cannot be read with this encoder."""
    why = encoder_mismatch(s, profile_id, identity, dim)
    if why is not None:
        raise EncoderMismatchError(why)


def claim_encoder(s: Session, profile_id: int, identity: str, dim: int) -> None:
    """Before a write of vectors: check the encoder, then record it as the profile's (one
    select when it is recorded already, as it is after the first write)."""
    if embeddings.recorded_encoder(s, profile_id)[1:] == (identity, dim):
        return
    check_encoder(s, profile_id, identity, dim)
    embeddings.record_encoder(s, profile_id, identity, dim)
