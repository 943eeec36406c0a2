"""Argument types shared by the command-line parsers."""

from __future__ import annotations

import argparse

LARGEST_ID = 2**63 - 1  # SQLite's largest integer: anything above cannot name a row


def positive_int(text: str) -> int:
    """A whole number from 1 to 2^63 - 1, or a usage error that says why."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not at least 1")
    if value > LARGEST_ID:
        raise argparse.ArgumentTypeError(f"{value} is too large (at most 2^63 - 1)")
    return value
