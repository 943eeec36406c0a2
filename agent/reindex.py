"""`memchat reindex`: re-encode a profile's memories with the encoder in use.

Each profile is re-encoded in one transaction, which also records the new encoder: a profile
is either all old vectors with the old encoder's name or all new ones with the new name. So an
interrupted reindex resumes where it stopped: profiles done are current and skipped; the one
it was working on is untouched and done again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.errors import NotFoundError
from agent.memory.batch_encode import encode_batched
from agent.memory.cache import vector_to_blob
from agent.memory.write import address_text, addressed_with_value
from storage import embeddings, repo

if TYPE_CHECKING:
    import torch
    from sqlalchemy.orm import Session, sessionmaker

    from agent.memory.store import Encoder, MemoryStore

# (profile name, texts to encode) -> a callback told after each batch how many were encoded
Progress = Callable[[str, int], Callable[[int], None]]


@dataclass(frozen=True)
class Reindexed:
    profile: str
    memories: int
    action: str  # "reindexed" | "current" (already this encoder's, or empty: nothing done)
    encoder: str  # the encoder the profile's vectors are now from
    previous: str | None  # the one recorded before (None: none was)

    def as_json(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "memories": self.memories,
            "action": self.action,
            "encoder": self.encoder,
            "previous": self.previous,
        }


def memory_texts(row: embeddings.EmbeddedRow) -> tuple[str, str]:
    """The (key, value) texts whose vectors a memory stores, as the write path made them: a
    turn's key vector is its words' (its value), the day and speaker of its key text being
    matched by words, not by the encoder."""
    _, kind, key, value, source_turn_id = row
    if kind == "turn":
        return value, value
    return address_text(key, value, addressed_with_value(kind, source_turn_id)), value


class ReindexActions:
    """Mixed into Agent; needs its sessions and store."""

    sessions: sessionmaker[Session]
    store: MemoryStore

    def reindex(
        self, names: list[str] | None = None, force: bool = False, progress: Progress | None = None
    ) -> list[Reindexed]:
        """Re-encode every memory of the profiles `names` (default: all) whose vectors are not
        the current encoder's (`force`: all of them), one transaction per profile."""
        encoder = self.store.encoder
        with self.sessions() as s:
            every = {c.profile.name: c.profile.id for c in repo.list_profiles(s)}
        for name in names or []:
            if name not in every:
                raise NotFoundError(f"unknown profile {name!r}")
        chosen = names or sorted(every)
        return [self._reindex_one(every[n], encoder, force, progress) for n in chosen]

    def _reindex_one(
        self, profile_id: int, encoder: Encoder, force: bool, progress: Progress | None
    ) -> Reindexed:
        with self.sessions() as s:
            name, previous, dim = embeddings.recorded_encoder(s, profile_id)
            rows = embeddings.embedded_rows(s, profile_id)
        current = (previous, dim) == (encoder.identity, encoder.dim)
        if not rows or (current and not force):
            return Reindexed(name, len(rows), "current", previous or encoder.identity, previous)
        texts = sorted({t for row in rows for t in memory_texts(row)})
        done = progress(name, len(texts)) if progress else None
        encoded = encode_batched(encoder.encode, texts, done=done, sizes=encoder.sizes)
        vectors = dict(zip(texts, encoded, strict=True))
        with self.sessions() as s, s.begin():
            # Read again in the transaction: what another process wrote meanwhile is encoded too.
            rows = embeddings.embedded_rows(s, profile_id)
            late = sorted({t for row in rows for t in memory_texts(row)} - vectors.keys())
            if late:
                vectors.update(zip(late, encoder.encode(late), strict=True))
            embeddings.store_embeddings(s, [_blobs(row, vectors) for row in rows])
            embeddings.record_encoder(s, profile_id, encoder.identity, encoder.dim)
            repo.bump_memory_version(s, profile_id)
        self.store.forget_cache(profile_id)
        return Reindexed(name, len(rows), "reindexed", encoder.identity, previous)


def _blobs(
    row: embeddings.EmbeddedRow, vectors: dict[str, torch.Tensor]
) -> tuple[int, bytes, bytes]:
    key, value = memory_texts(row)
    return row[0], vector_to_blob(vectors[key]), vector_to_blob(vectors[value])
