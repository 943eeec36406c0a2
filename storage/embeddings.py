"""Which encoder embedded a profile's memories, and the bulk reads and writes that re-encode
them (`memchat reindex`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import bindparam, select, union, update
from sqlalchemy.orm import Session

from storage.models import Memory, Profile
from storage.vector_column import EmbeddingDim

# (id, kind, key text, value text, source turn id): what deciding a memory's address text needs
EmbeddedRow = tuple[int, str, str, str, int | None]


class EncoderRecord(NamedTuple):
    profile: str  # the profile's name
    encoder: str | None  # None: not recorded
    dim: int | None


def recorded_encoder(s: Session, profile_id: int) -> EncoderRecord:
    """The encoder and dimension recorded for the profile (None, None when none is)."""
    row = s.execute(
        select(Profile.name, Profile.encoder, Profile.encoder_dim).where(Profile.id == profile_id)
    ).one()
    return EncoderRecord(*row)


def record_encoder(s: Session, profile_id: int, encoder: str, dim: int) -> None:
    s.execute(
        update(Profile).where(Profile.id == profile_id).values(encoder=encoder, encoder_dim=dim)
    )


def stored_dims(s: Session, profile_id: int) -> set[int]:
    """The dimensions of the profile's stored vectors, keys and values."""
    of_profile = Memory.profile_id == profile_id
    sizes = union(
        select(EmbeddingDim(Memory.key_emb)).where(of_profile),
        select(EmbeddingDim(Memory.value_emb)).where(of_profile),
    )
    return {int(size) for size in s.scalars(select(sizes.subquery().c[0]))}


def embedded_rows(s: Session, profile_id: int) -> list[EmbeddedRow]:
    """Every memory of the profile as (id, kind, key text, value text, source turn id)."""
    query = (
        select(Memory.id, Memory.kind, Memory.key_text, Memory.value_text, Memory.source_turn_id)
        .where(Memory.profile_id == profile_id)
        .order_by(Memory.id)
    )
    return [tuple(row) for row in s.execute(query)]  # type: ignore[misc]


def store_embeddings(s: Session, vectors: Sequence[tuple[int, bytes, bytes]]) -> None:
    """Set (memory id, key vector blob, value vector blob) of each memory, in one statement."""
    if not vectors:
        return
    table = Memory.__table__
    s.connection().execute(  # Core executemany
        update(table)
        .where(table.c.id == bindparam("m_id"))
        .values(key_emb=bindparam("m_key"), value_emb=bindparam("m_value")),
        [{"m_id": i, "m_key": k, "m_value": v} for i, k, v in vectors],
    )
