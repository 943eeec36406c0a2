"""Errors the user can act on. The command line prints their message on one line."""


class MemchatError(Exception):
    """A runtime failure with a message meant for the user (exit status 1)."""


class UsageError(MemchatError):
    """Bad input from the user: an empty message, invalid text (exit status 2)."""


class NotFoundError(MemchatError):
    """An unknown profile or memory id."""


class ReplyFailedError(MemchatError):
    """The reply failed unexpectedly (a bug, a database error, out of memory) after the user's
    message was stored: the message says so."""


class ModelMissingError(MemchatError):
    """A model file or package is missing or fails its checksum; says how to install it."""


class ReplyCutError(MemchatError):
    """The model stopped in the middle of its reply (a server that went away, a dropped
    connection): `partial` is what it had said, kept and marked as cut."""

    def __init__(self, message: str, partial: str) -> None:
        super().__init__(message)
        self.partial = partial
