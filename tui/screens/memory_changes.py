"""The inspector's changes to the selected memory: edit, forget (a turn with memories derived
from it asks whether to forget those too), pin and unpin. Mixed into `InspectorScreen`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agent.errors import MemchatError
from tui.dialogs import ChoiceDialog, ConfirmDialog, EditMemoryDialog
from tui.render import one_line

if TYPE_CHECKING:
    from storage.models import Memory
    from tui.widgets.memory_table import Row

FORGET_TURN_CHOICES = [
    ("cancel", "Cancel", "primary"),
    ("turn", "Turn only", "warning"),
    ("all", "Turn and derived", "error"),
]


class MemoryChanges:
    """Needs the screen's `_target` (the selected row, or a warning), `refresh_rows` and, from
    Textual's `Screen`, `app` and `notify`."""

    if TYPE_CHECKING:
        app: Any

        def _target(self) -> Row | None: ...

        def refresh_rows(self, keep: bool = True) -> None: ...

        def notify(self, message: str, **kwargs: Any) -> None: ...

    def action_edit(self) -> None:
        if (row := self._target()) is None:
            return
        memory_id = row.memory.id

        def done(result: tuple[str, str] | None) -> None:
            if result is not None:
                agent = self.app.agent
                self._apply(memory_id, lambda: agent.edit_memory(memory_id, *result), "edited")

        self.app.push_screen(EditMemoryDialog(row.memory.key_text, row.memory.value_text), done)

    def action_forget(self) -> None:
        """Forget the selected memory, after asking; a turn with memories derived from it asks
        whether to forget those too."""
        if (row := self._target()) is None:
            return
        memory_id, key, value = row.memory.id, row.memory.key_text, row.memory.value_text
        try:
            derived = self.app.agent.derived_from(memory_id)
        except MemchatError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        if derived:
            self._forget_turn(memory_id, value, derived)
            return
        question = f"Forget memory #{memory_id} ({one_line(key, 30)} = {one_line(value, 40)})?"

        def done(yes: bool | None) -> None:
            if yes:
                self._apply(memory_id, lambda: self.app.agent.forget(memory_id), "forgotten")

        self.app.push_screen(ConfirmDialog(question, yes="Forget"), done)

    def _forget_turn(self, memory_id: int, text: str, derived: list[Memory]) -> None:
        """Three choices: the turn and what was derived from it, the turn only, or nothing."""
        what = "\n".join(
            f"  #{m.id} {m.kind} {one_line(m.key_text, 24)} = {one_line(m.value_text, 30)}"
            for m in derived
        )
        question = (
            f"Forget turn memory #{memory_id} ({one_line(text, 50)})?\n\n"
            f"Derived from the same turn:\n{what}"
        )

        def done(choice: str | None) -> None:
            if choice in ("turn", "all"):
                forget = self.app.agent.forget
                verb = "forgotten" + (f" with {len(derived)} derived" if choice == "all" else "")
                self._apply(memory_id, lambda: forget(memory_id, choice == "all"), verb)

        self.app.push_screen(ChoiceDialog(question, FORGET_TURN_CHOICES), done)

    def action_pin(self, pinned: bool = True) -> None:
        if (row := self._target()) is not None:
            memory_id, verb = row.memory.id, "pinned" if pinned else "unpinned"
            self._apply(memory_id, lambda: self.app.agent.set_pinned(memory_id, pinned), verb)

    def action_unpin(self) -> None:
        self.action_pin(False)

    def _apply(self, memory_id: int, change: Callable[[], object], done: str) -> None:
        """Run one change to a memory, report it, and refresh (keeping the selection)."""
        try:
            change()
        except MemchatError as exc:
            self.notify(str(exc), severity="error", markup=False)
        else:
            self.notify(f"memory #{memory_id} {done}")
        self.refresh_rows()
