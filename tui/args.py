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


MAX_HOPS = 8  # a read hop costs a pass over every memory; past a few, weights only blur


def hop_count(text: str) -> int:
    """A number of read hops from 1 to `MAX_HOPS`, or a usage error naming the range."""
    value = positive_int(text)
    if value > MAX_HOPS:
        raise argparse.ArgumentTypeError(f"{value} hops is out of range (1 to {MAX_HOPS})")
    return value


def port_number(text: str) -> int:
    """A TCP port from 0 to 65535 (0: any free port, reported when listening)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65_535:
        raise argparse.ArgumentTypeError(f"{value} is not a port (0 to 65535)")
    return value
