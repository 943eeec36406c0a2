"""The inspector's table: one row per memory (with its weight, and its weight at each hop,
when the table shows a search). Every cell is a literal `Text`: markup is shown as typed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import DataTable

from tui.render import bar, one_line
from tui.widgets.labels import hop_path

if TYPE_CHECKING:
    from storage.models import Memory

LABELS = ["id", "weight", "hops", "kind", "key", "value", "usage", "pin", "updated"]


@dataclass(frozen=True)
class Row:
    """One table row: a memory, with its weight when the table shows a search."""

    memory: Memory
    weight: float | None = None
    hop_weights: tuple[float, ...] = ()  # its weight at each hop of the search


def fill_table(table: DataTable, rows: list[Row], width: int, searching: bool, hops: int) -> None:
    """Fill `table` (`width` cells wide) with `rows`; the weight column when `searching`, the
    hops column when the search took several `hops`."""
    key_width = 16 if width < 100 else 22
    hops = hops if searching and hops > 1 else 0
    # id, kind, key, usage, pin, updated, each padded by 2; weight and hops; a scrollbar
    fixed = 38 + key_width + 14 + (18 if searching else 0) + 7 * hops + 2
    value_width = max(24, min(60, width - fixed))
    hidden = {"weight", "hops"} if not searching else set() if hops else {"hops"}
    labels = [label for label in LABELS if label not in hidden]
    cells = [row_cells(row, searching, bool(hops), key_width, value_width) for row in rows]
    table.clear(columns=True)
    # Widths measured here: a frame drawn before the table measures new rows (on idle)
    # would otherwise keep the columns as wide as their labels.
    for i, label in enumerate(labels):
        table.add_column(label, key=label, width=max([len(label), *(c[i].cell_len for c in cells)]))
    for row, one in zip(rows, cells, strict=True):
        table.add_row(*one, key=str(row.memory.id))


def row_cells(
    row: Row, searching: bool, hops: bool, key_width: int, value_width: int
) -> list[Text]:
    """The table cells of one row, all literal `Text`."""
    m = row.memory
    cells = [Text(str(m.id), justify="right")]
    if searching:
        weight = row.weight or 0.0
        cells.append(Text.assemble((bar(weight), "bold"), f" {weight:.3f}"))
    if hops:
        cells.append(Text(hop_path(row.hop_weights)))
    cells += [
        Text(m.kind),
        Text(one_line(m.key_text, key_width)),
        Text(one_line(m.value_text, value_width)),
        Text(f"{m.usage:.2f}", justify="right"),
        Text("yes" if m.pinned else ""),
        Text(m.updated_at.strftime("%Y-%m-%d %H:%M")),
    ]
    return cells
