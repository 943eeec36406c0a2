"""Bringing past chats in: reading ChatGPT and Claude exports and plain transcripts
(`conversation.py` is what every reader yields) and writing them into a profile
(`importer.py`)."""
