"""Storage: SQLAlchemy models, the engine and session factory, migrations, repository functions.

Imports nothing of ours, no torch, no textual.
"""
