"""Placeholder: the memory inspector (being written)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header, Static


class InspectorScreen(Screen):
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("memories")
        yield Footer()
