"""Widgets of the chat screen: transcript messages, the input, the memory panel."""
