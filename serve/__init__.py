"""Servers that give other programs this memory: MCP over stdio, an OpenAI-compatible API.

The layer above the agent, beside the terminal UI: serve -> agent -> storage."""
