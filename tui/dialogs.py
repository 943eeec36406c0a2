"""Modal dialogs shared by the screens: confirm, choose, type-to-confirm, a prompt, edit a memory.

Every text a user or a memory supplied is shown literally (`Content(text)`), never as markup.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static, TextArea


def tilde(path: Path) -> str:
    """`path` as typed by a person: the home folder as `~` (expanded again when used)."""
    try:
        return str(Path("~") / path.relative_to(Path.home()))
    except (ValueError, RuntimeError):  # elsewhere, or no home folder known
        return str(path)


class Dialog(ModalScreen):
    """Base: Escape cancels (dismisses with None)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CLASSES = "dialog"

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDialog(Dialog):
    """Yes/no; dismisses with True or False. The default button is No."""

    def __init__(self, question: str, yes: str = "Yes") -> None:
        super().__init__()
        self.question, self.yes = question, yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Static(Content(self.question), classes="dialog-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button("No", id="no", variant="primary")
                yield Button(self.yes, id="yes", variant="error")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_cancel(self) -> None:
        self.dismiss(False)


class TypeToConfirmDialog(Dialog):
    """Confirm a destructive action by typing a word (the profile's name); with `export_to`,
    offer an export first: a ticked box and the file, shown and editable.

    Dismisses with None (cancelled) or a dict {"export": Path | None} (None: no export).
    """

    DEFAULT_CSS = """
    TypeToConfirmDialog #export {
        margin-top: 1;
    }
    TypeToConfirmDialog #export-path {
        margin-left: 4;
        background: $boost;
    }
    """

    def __init__(self, question: str, word: str, export_to: Path | None = None) -> None:
        super().__init__()
        self.question, self.word, self.export_to = question, word, export_to

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Static(Content(self.question), classes="dialog-text")
            yield Label(Content(f"Type {self.word!r} to confirm:"))
            yield Input(placeholder=self.word, id="word")
            if self.export_to is not None:
                yield Checkbox("Export the profile first, to:", True, id="export", compact=True)
                yield Input(tilde(self.export_to), id="export-path", compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel", variant="primary")
                yield Button("Confirm", id="confirm", variant="error", disabled=True)

    def on_mount(self) -> None:
        """Show the end of a long export path: the file name is what matters."""
        if self.export_to is not None:
            path = self.query_one("#export-path", Input)
            path.action_end()
            # Input scrolls to its cursor only after its first edit: scroll once it has a size.
            path.call_after_refresh(lambda: path.scroll_to(x=path.max_scroll_x, animate=False))

    def export_target(self) -> Path | None:
        """The file to export to: None when the box is unticked (or there is no offer)."""
        if self.export_to is None or not self.query_one("#export", Checkbox).value:
            return None
        return Path(self.query_one("#export-path", Input).value.strip()).expanduser()

    def ready(self) -> bool:
        """The word is typed, and a ticked export has a file name."""
        word_ok = self.query_one("#word", Input).value == self.word
        exporting = self.export_to is not None and self.query_one("#export", Checkbox).value
        return word_ok and not (
            exporting and not self.query_one("#export-path", Input).value.strip()
        )

    def refresh_state(self) -> None:
        self.query_one("#confirm", Button).disabled = not self.ready()
        if self.export_to is not None:
            ticked = self.query_one("#export", Checkbox).value
            self.query_one("#export-path", Input).disabled = not ticked

    def on_input_changed(self, _event: Input.Changed) -> None:
        self.refresh_state()

    def on_checkbox_changed(self, _event: Checkbox.Changed) -> None:
        self.refresh_state()

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        if self.ready():
            self._confirm()

    def _confirm(self) -> None:
        self.dismiss({"export": self.export_target()})

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "confirm":
            self._confirm()
        else:
            self.dismiss(None)


class PromptDialog(Dialog):
    """Ask for one line of text; dismisses with the text, or None."""

    def __init__(self, question: str, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.question, self.value, self.placeholder = question, value, placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(Content(self.question))
            yield Input(value=self.value, placeholder=self.placeholder, id="answer")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("OK", id="ok", variant="primary")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(self.query_one("#answer", Input).value if event.button.id == "ok" else None)


class ChoiceDialog(Dialog):
    """A question with several answers, one button each (the first is the default); dismisses
    with the chosen answer's key, or None (Escape)."""

    def __init__(self, question: str, choices: list[tuple[str, str, str]]) -> None:
        """`choices`: (key, button label, button variant), left to right."""
        super().__init__()
        self.question, self.choices = question, choices

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Static(Content(self.question), classes="dialog-text")
            with Horizontal(classes="dialog-buttons"):
                for key, label, variant in self.choices:
                    yield Button(label, id=f"choice-{key}", variant=variant)  # type: ignore[arg-type]

    def on_mount(self) -> None:
        self.query(Button).first().focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss((event.button.id or "").removeprefix("choice-"))


class EditMemoryDialog(Dialog):
    """Edit a memory's key and (multi-line) value; dismisses with (key, value), or None.
    `title` (shown literally) says what saving does; `save` labels the button."""

    BINDINGS = [Binding("ctrl+s", "save", "Save")]

    def __init__(self, key: str, value: str, title: str = "", save: str = "Save") -> None:
        super().__init__()
        self.key, self.value, self.title, self.save = key, value, title, save

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            if self.title:
                yield Static(Content(self.title), classes="dialog-text")
            yield Label("Key")
            yield Input(value=self.key, id="key")
            yield Label(f"Value (Ctrl+S: {self.save.lower()})")
            yield TextArea(self.value, id="value", soft_wrap=True, classes="edit-value")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button(self.save, id="save", variant="primary")

    def _result(self) -> tuple[str, str]:
        return self.query_one("#key", Input).value, self.query_one("#value", TextArea).text

    def action_save(self) -> None:
        self.dismiss(self._result())

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.dismiss(self._result())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(self._result() if event.button.id == "save" else None)
