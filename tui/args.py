"""Argument types shared by the command-line parsers."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """A whole number >= 1, or a usage error that says why."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not at least 1")
    return value
