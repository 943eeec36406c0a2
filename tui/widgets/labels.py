"""Small text helpers shared by the widgets and screens."""

from __future__ import annotations

from datetime import datetime


def stamp(value: datetime | None) -> str:
    """A timestamp to the second, or a dash."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


def hop_path(weights: tuple[float, ...]) -> str:
    """`0.13 → 0.20`: a memory's weight at each hop of a read."""
    return " → ".join(f"{w:.2f}" for w in weights)


def minute(value: datetime | None) -> str:
    """A timestamp to the minute, or a dash."""
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"
