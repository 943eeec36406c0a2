"""Placeholder: the chat screen (being written)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header, Static


class ChatScreen(Screen):
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("chat")
        yield Footer()
