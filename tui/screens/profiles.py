"""Placeholder: the profiles screen (being written)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header, Static


class ProfilesScreen(Screen):
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("profiles")
        yield Footer()
