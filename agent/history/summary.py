"""What an import added, and what it left out and why: the command's summary and its --json."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from agent.history.conversation import Damaged

# Why a conversation added nothing, in the order the summary names them.
SKIP_REASONS = ("already imported", "forgotten", "empty", "before --since", "damaged")


@dataclass
class ImportSummary:
    format: str
    dry_run: bool
    conversations: int = 0  # conversations that gained turns (new, or grown since)
    grown: int = 0  # of those, conversations imported before that gained new messages
    turns: int = 0
    memories: int = 0  # memories written: turn memories, and statements added or updated
    proposals: int = 0  # review mode: statements waiting for the user
    forgotten: int = 0  # memories retired by a later "no longer" statement
    skipped_because: Counter[str] = field(default_factory=Counter)
    damaged: list[Damaged] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def skipped(self) -> int:
        """Conversations that added nothing."""
        return sum(self.skipped_because.values())

    def skip(self, reason: str) -> None:
        self.skipped_because[reason] += 1

    def damage(self, damaged: Damaged) -> None:
        self.damaged.append(damaged)
        self.skip("damaged")

    def as_json(self) -> dict[str, Any]:
        return {
            "conversations": self.conversations,
            "turns": self.turns,
            "memories": self.memories,
            "skipped": self.skipped,
            "proposals": self.proposals,
            "forgotten": self.forgotten,
            "grown": self.grown,
            "skipped_because": {r: self.skipped_because[r] for r in SKIP_REASONS},
            "damaged": [
                {"conversation": d.id, "title": d.title, "reason": d.reason} for d in self.damaged
            ],
            "format": self.format,
            "dry_run": self.dry_run,
            "elapsed_s": round(self.elapsed_s, 2),
        }

    def lines(self, profile: str) -> list[str]:
        """The summary for people: what was (or would be) added to `profile`, then what was
        left out."""
        verb = "would import" if self.dry_run else "imported"
        grown = f" ({self.grown} grown since the last import)" if self.grown else ""
        extra = f", {self.proposals} proposals to review" if self.proposals else ""
        extra += f", {self.forgotten} forgotten as no longer true" if self.forgotten else ""
        rate = self.turns / self.elapsed_s if self.elapsed_s > 0 else 0.0
        head = (
            f"{verb} {self.conversations} conversations{grown} into profile {profile!r}: "
            f"{self.turns} turns, "
            f"{self.memories} memories{extra} in {self.elapsed_s:.1f} s ({rate:.0f} turns/s)"
        )
        lines = [head]
        if self.skipped:
            why = ", ".join(
                f"{self.skipped_because[r]} {r}" for r in SKIP_REASONS if self.skipped_because[r]
            )
            lines.append(f"skipped {self.skipped} conversations: {why}")
        for d in self.damaged:
            title = f' "{d.title}"' if d.title else ""
            lines.append(f"damaged: conversation {d.id}{title}: {d.reason}")
        return lines
