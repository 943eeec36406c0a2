"""SQLAlchemy 2.x typed models: profiles, sessions, turns, memories, memory events, turn reads.

Embeddings (`key_emb`, `value_emb`) are float32 little-endian bytes: BLOBs on SQLite, pgvector
`vector`s on PostgreSQL (storage/vector_column.py). Turn memories carry
the temporal links of DESIGN section 3 sparsely: `prev_id` / `next_id` point to the turn
memory written before / after them in the same profile. `key_terms` caches what the agent
derives from `key_text` for its lexical index, and is cleared when the key text changes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from storage.slots import SLOT_CHARS, fitted_slot
from storage.vector_column import Embedding

MEMORY_KINDS = ("turn", "preference", "fact", "note")
EVENT_ACTIONS = ("add", "update", "forget", "free", "pin", "unpin", "import")
PROPOSAL_STATUSES = ("pending", "accepted", "rejected")
CONVERSATION_ROLES = ("user", "assistant")
TURN_ROLES = (*CONVERSATION_ROLES, "tool")

# Named constraints so Alembic batch migrations can refer to them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def system_utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# The clock every timestamp comes from; tests set a fixed one for reproducible screens.
CLOCK: Callable[[], datetime] = system_utcnow


def utcnow() -> datetime:
    """Now, in UTC without tzinfo (SQLite stores naive datetimes)."""
    return CLOCK()


class Slot(TypeDecorator[str]):
    """A slot as its column holds it: `storage.slots.fitted_slot` (at most SLOT_CHARS)."""

    impl = String(SLOT_CHARS)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else fitted_slot(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Profile(Base):
    __tablename__ = "profiles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Bumped by every transaction that adds, changes or removes memories of this profile:
    # a process holding cached keys compares it to know they are stale.
    memory_version: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), default=0, server_default="0"
    )
    # The encoder that embedded the profile's memories ("name@digest") and its dimension, so a
    # reader with another one refuses them instead of comparing vectors of different spaces.
    # NULL until a memory is written (and in databases from before they were recorded).
    encoder: Mapped[str | None] = mapped_column(String(300), nullable=True, default=None)
    encoder_dim: Mapped[int | None] = mapped_column(Integer, nullable=True, default=None)


class ChatSession(Base):
    """One run of the chat (or one `ask`), or one imported conversation: groups the turns said
    together."""

    __tablename__ = "sessions"
    __table_args__ = (
        # one session per conversation of an export: a repeated import finds it again
        Index("ix_sessions_profile_source", "profile_id", "source", "source_id", unique=True),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Free text, e.g. the LoCoMo session's date, or "cli ask".
    label: Mapped[str] = mapped_column(String(200), default="")
    # An imported conversation's provenance: the export's format (chatgpt | claude |
    # transcript; "" for the chat's own sessions), its conversation id, the file it came from
    # and its title. NULL ids never collide, so chat sessions are not constrained.
    source: Mapped[str] = mapped_column(String(20), default="", server_default="")
    source_id: Mapped[str | None] = mapped_column(String(300), nullable=True, default=None)
    source_file: Mapped[str | None] = mapped_column(Text, nullable=True, default=None)
    title: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Set when the user forgot the conversation: its turns and memories are gone, and this row
    # stays (without its title) so that importing the export again does not bring it back.
    forgotten_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True, default=None)


class Turn(Base):
    __tablename__ = "turns"
    __table_args__ = (
        # an imported message once per conversation, however often its export is imported
        Index("ix_turns_session_source", "session_id", "source_id", unique=True),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    # user | assistant | tool (a call from another program, e.g. an MCP client's search: it
    # reads or writes memory, and is never part of the conversation the model sees)
    role: Mapped[str] = mapped_column(String(20))
    speaker: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)
    # complete | stopped (the user stopped the reply) | cut (the model failed mid-reply); what
    # was said is kept either way
    status: Mapped[str] = mapped_column(String(20), default="complete")
    # The chat model that wrote an assistant turn ("" for user turns and older replies).
    model: Mapped[str] = mapped_column(String(300), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # An imported message's id in its export (NULL for the chat's own turns).
    source_id: Mapped[str | None] = mapped_column(String(300), nullable=True, default=None)


class Memory(Base):
    __tablename__ = "memories"
    __table_args__ = (
        UniqueConstraint("profile_id", "slot", name="uq_memories_profile_slot"),
        # with id: the newest turn of a profile is one index lookup on PostgreSQL too (SQLite's
        # index carries the row id anyway)
        Index("ix_memories_profile_kind_id", "profile_id", "kind", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))  # turn | preference | fact | note
    # What the memory is about, e.g. "diet" or "family:sister"; a new value for the same slot
    # updates this row. NULL for turns and for notes added by hand.
    slot: Mapped[str | None] = mapped_column(Slot, nullable=True)
    key_text: Mapped[str] = mapped_column(Text)
    value_text: Mapped[str] = mapped_column(Text)
    key_emb: Mapped[bytes] = mapped_column(Embedding)
    value_emb: Mapped[bytes] = mapped_column(Embedding)
    # DNC usage in [0, 1] as of `used_at`; it decays with time (see agent/memory/usage.py).
    usage: Mapped[float] = mapped_column(Float, default=0.0)
    used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True, default=utcnow)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    source_turn_id: Mapped[int | None] = mapped_column(
        ForeignKey("turns.id", ondelete="SET NULL"), nullable=True, index=True
    )
    prev_id: Mapped[int | None] = mapped_column(
        ForeignKey("memories.id", ondelete="SET NULL"), nullable=True
    )
    next_id: Mapped[int | None] = mapped_column(
        ForeignKey("memories.id", ondelete="SET NULL"), nullable=True
    )
    # The key's lexical terms as the agent's tokeniser encoded them (opaque here), so loading a
    # profile tokenises nothing. NULL: not computed yet; cleared whenever `key_text` changes.
    key_terms: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, default=None)


@event.listens_for(Memory.key_text, "set")
def _key_text_changed(target: Memory, value: str, old: object, _initiator: object) -> None:
    """Terms derived from an older key text are stale: drop them (whoever sets the new key's
    terms sets them after the key)."""
    if value != old:
        target.key_terms = None


class MemoryEvent(Base):
    """The audit trail: every add, update, forget, free, pin and unpin, with old and new value.

    `memory_id` is a plain column (no foreign key) so a forgotten memory's history survives it.
    """

    __tablename__ = "memory_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), index=True
    )
    memory_id: Mapped[int] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(20))
    old_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    old_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    new_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    new_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    turn_id: Mapped[int | None] = mapped_column(
        ForeignKey("turns.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class TurnRead(Base):
    """What a turn read from memory, with the attention weight of each memory (why it was used)."""

    __tablename__ = "turn_reads"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"), index=True)
    memory_id: Mapped[int] = mapped_column(Integer, index=True)
    hop: Mapped[int] = mapped_column(Integer, default=0)
    rank: Mapped[int] = mapped_column(Integer)
    weight: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)


class Proposal(Base):
    """A preference or fact waiting for the user's review (review mode): not read, not in the
    prompt, until accepted. Decided proposals stay, with the memory an accepted one became."""

    __tablename__ = "proposals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))  # preference | fact | note
    slot: Mapped[str] = mapped_column(Slot)
    key_text: Mapped[str] = mapped_column(Text)
    value_text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    source_turn_id: Mapped[int | None] = mapped_column(
        ForeignKey("turns.id", ondelete="SET NULL"), nullable=True
    )
    memory_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
