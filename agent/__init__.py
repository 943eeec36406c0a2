"""The memchat agent: models, memory, extraction, prompt and the turn loop.

Imports `storage`; never textual or `tui`.
"""
