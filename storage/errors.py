"""The storage layer's one error type."""


class StorageError(Exception):
    """The database cannot be opened or used; the message says which and why."""
