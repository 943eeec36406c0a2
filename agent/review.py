"""Review mode: extracted preferences and facts wait as proposals until the user accepts (as
they are or edited) or rejects them. A pending proposal is never read nor put in a prompt."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.errors import NotFoundError, UsageError
from agent.extraction import Extracted, conflicting_slots
from agent.memory.store import Written
from agent.memory.unit import Unit
from agent.memory.write import address_text, retire_slots, write_slot
from agent.text import clean_message
from storage import repo
from storage.models import Proposal, utcnow

if TYPE_CHECKING:
    from sqlalchemy.orm import sessionmaker

    from agent.memory.store import MemoryStore
    from agent.settings import Settings


def propose(unit: Unit, items: list[Extracted], turn_id: int) -> list[Proposal]:
    """A pending proposal for each item that would change memory (a new value for its slot)."""
    proposals = []
    for item in items:
        current = repo.find_by_slot(unit.session, unit.profile_id, item.slot)
        if current is not None and (current.key_text, current.value_text) == (item.key, item.value):
            continue
        proposal = Proposal(
            profile_id=unit.profile_id,
            kind=item.kind,
            slot=item.slot,
            key_text=item.key,
            value_text=item.value,
            source_turn_id=turn_id,
        )
        unit.session.add(proposal)
        proposals.append(proposal)
    unit.session.flush()
    return proposals


class ReviewActions:
    """Mixed into Agent: list, accept (optionally edited) and reject proposals."""

    settings: Settings
    sessions: sessionmaker[Session]
    store: MemoryStore
    profile_name: str

    def profile_id(self, create: bool = False) -> int:
        raise NotImplementedError

    def proposals(self, status: str | None = "pending") -> list[Proposal]:
        """The active profile's proposals (pending ones by default), oldest first."""
        query = select(Proposal).where(Proposal.profile_id == self.profile_id())
        if status is not None:
            query = query.where(Proposal.status == status)
        with self.sessions() as s:
            return list(s.scalars(query.order_by(Proposal.id)))

    def _pending(self, s: Session, proposal_id: int) -> Proposal:
        proposal = repo.get_proposal(s, self.profile_id(), proposal_id)
        if proposal is None:
            raise NotFoundError(f"no proposal {proposal_id} in profile {self.profile_name!r}")
        if proposal.status != "pending":
            raise UsageError(f"proposal {proposal_id} was already {proposal.status}")
        return proposal

    def accept_proposal(
        self, proposal_id: int, key: str | None = None, value: str | None = None
    ) -> Written:
        """Write the proposal (edited when `key`/`value` are given) as a memory: it updates the
        memory of the same slot or allocates one, like an unreviewed statement."""
        with self.sessions() as s:
            proposal = self._pending(s, proposal_id)
        limit = self.settings.max_message_chars
        key = clean_message(key, limit, "key") if key is not None else proposal.key_text
        value = clean_message(value, limit, "value") if value is not None else proposal.value_text
        key_vec, value_vec = self.store.encoder.encode([address_text(key, value, True), value])
        item = Extracted(proposal.kind, proposal.slot, key, value)  # type: ignore[arg-type]
        with self.store.unit(self.profile_id()) as unit:
            proposal = self._pending(unit.session, proposal_id)
            retire_slots(unit, conflicting_slots(item))
            written = write_slot(
                unit,
                kind=proposal.kind,
                slot=proposal.slot,
                key=key,
                value=value,
                key_vec=key_vec,
                value_vec=value_vec,
                turn_id=proposal.source_turn_id,
            )
            memory = repo.find_by_slot(unit.session, unit.profile_id, proposal.slot)
            assert memory is not None
            proposal.status, proposal.decided_at, proposal.memory_id = (
                "accepted",
                utcnow(),
                memory.id,
            )
            proposal.key_text, proposal.value_text = key, value
        return written or Written(memory.id, memory.kind, key, value, "update")

    def reject_proposal(self, proposal_id: int) -> Proposal:
        """Mark the proposal rejected: nothing is written to memory."""
        with self.sessions() as s, s.begin():
            proposal = self._pending(s, proposal_id)
            proposal.status, proposal.decided_at = "rejected", utcnow()
        return proposal
