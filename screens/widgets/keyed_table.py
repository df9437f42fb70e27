"""A DataTable fed whole row sets by key: it adds, removes and updates cells in place, then keeps
the user's sort and filter. Rows never get cleared and rebuilt on a refresh, so the cursor stays."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual._two_way_dict import TwoWayDict
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int | None = None
    sort_key: Any = None  # callable(cell value) -> comparable; default: the plain text


def _plain(value: Any) -> str:
    return value.plain if isinstance(value, Text) else str(value)


class KeyedTable(DataTable):
    """Rows are `(key, cells, sort_values)`; `sort_values` maps column key -> comparable."""

    BINDINGS = [
        Binding("s", "cycle_sort", "Sort", id="table.sort"),
        Binding("S", "reverse_sort", "Reverse", show=False, id="table.reverse"),
    ]

    DEFAULT_CSS = """
    KeyedTable { height: 1fr; }
    """

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        sort_column: int = 0,
        sort_reverse: bool = False,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self.columns_spec = list(columns)
        self.filter_text = ""
        self.sort_column = sort_column
        self.sort_reverse = sort_reverse
        self._rows: dict[str, tuple[list[Any], dict[str, Any]]] = {}

    def on_mount(self) -> None:
        for col in self.columns_spec:
            self.add_column(col.label, key=col.key, width=col.width)
        self._refresh_headers()

    # -- feeding ------------------------------------------------------------------------------

    def set_rows(self, rows: Sequence[tuple[str, Sequence[Any], dict[str, Any] | None]]) -> None:
        self._rows = {
            key: (list(cells), dict(sort_values or {})) for key, cells, sort_values in rows
        }
        self._apply()

    def _visible(self) -> list[str]:
        needle = self.filter_text.lower()
        keys = [
            key
            for key, (cells, _) in self._rows.items()
            if not needle or needle in " ".join(_plain(c) for c in cells).lower()
        ]
        col = self.columns_spec[self.sort_column]

        def order(key: str) -> Any:
            cells, sort_values = self._rows[key]
            if col.key in sort_values:
                return (0, sort_values[col.key])
            return (1, _plain(cells[self.sort_column]).lower())

        try:
            keys.sort(key=order, reverse=self.sort_reverse)
        except TypeError:
            keys.sort(key=lambda k: str(order(k)), reverse=self.sort_reverse)
        return keys

    def _apply(self) -> None:
        wanted = self._visible()
        present = [row.key.value for row in self.ordered_rows]
        cursor_key = (
            present[self.cursor_row] if present and 0 <= self.cursor_row < len(present) else None
        )
        for key in set(present) - set(wanted):
            self.remove_row(key)
        present_set = set(present)
        changed: list[str] = []
        for key in wanted:
            cells, _ = self._rows[key]
            if key in present_set:
                if self._update_row(key, cells):
                    changed.append(key)
            else:
                self.add_row(*cells, key=key)
        if [row.key.value for row in self.ordered_rows] != wanted:
            self._set_order(wanted)
        elif changed:
            # Repaint only the rows that changed. DataTable.update_cell() repaints the whole
            # table (and its scrollbar) per cell: on an idle cluster over SSH that was most of
            # the bytes sent to the terminal (benchmarks/idle_cost.py).
            self._update_count += 1  # the render caches are keyed by it
            for key in changed:
                index = self._row_locations.get(RowKey(key))
                if index is not None:
                    self.refresh_row(index)
        if cursor_key is not None and cursor_key in wanted:
            self.move_cursor(row=wanted.index(cursor_key), animate=False)

    def _update_row(self, key: str, cells: Sequence[Any]) -> bool:
        """Put the changed cells of one row in place without a repaint; whether any changed.
        Writes DataTable's cell store the way update_cell() does (Textual is pinned exactly)."""
        row = self._data[RowKey(key)]
        changed = False
        for col, new in zip(self.columns_spec, cells, strict=False):
            column = ColumnKey(col.key)
            old = row.get(column)
            if _plain(old) != _plain(new) or (isinstance(new, Text) and old != new):
                row[column] = new
                changed = True
        return changed

    def _set_order(self, ordered: list[str]) -> None:
        """Put rows in our order (DataTable.sort only sees cell values, not our sort keys).

        Uses DataTable's row-location map the way DataTable.sort does; Textual is pinned exactly.
        """
        self._row_locations = TwoWayDict({RowKey(k): i for i, k in enumerate(ordered)})
        self._update_count += 1
        self.refresh()

    # -- sort and filter --------------------------------------------------------------------------

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self._apply()

    def action_cycle_sort(self) -> None:
        self.sort_column = (self.sort_column + 1) % len(self.columns_spec)
        self._refresh_headers()
        self._apply()

    def action_reverse_sort(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self._refresh_headers()
        self._apply()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        index = event.column_index
        if index == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = index, False
        self._refresh_headers()
        self._apply()

    def _refresh_headers(self) -> None:
        for i, col in enumerate(self.columns_spec):
            arrow = (" ▼" if self.sort_reverse else " ▲") if i == self.sort_column else ""
            column = self.columns.get(col.key)
            if column is not None:
                column.label = Text(col.label + arrow)
        self.refresh()

    @property
    def selected_key(self) -> str | None:
        if not self.row_count or self.cursor_row < 0:
            return None
        try:
            return self.coordinate_to_cell_key((self.cursor_row, 0)).row_key.value
        except Exception:
            return None

    @property
    def visible_keys(self) -> list[str]:
        return [row.key.value for row in self.ordered_rows]
