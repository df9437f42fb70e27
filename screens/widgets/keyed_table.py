"""A keyed, virtual table: it holds records, and builds and paints only the rows on screen.

Textual's DataTable keeps a widget row per record: at 10,000 jobs its first paint took 2.8 s, a
filter keystroke two minutes and a cursor move 1.9 s. This table keeps the records a pane hands it
(jobs, nodes, GPUs ...) and turns a record into cells only when that row is painted, or when a
filter or a column sort needs every row. Rows of records that come back as the same object are
kept between refreshes (a finished job never changes), and a refresh repaints only the lines whose
text changed, so an idle cluster costs no bytes over SSH (benchmarks/idle_cost.py).

Order: `sort_column=None` keeps the records' own order (the pane's default, e.g. newest job
first); `s` cycles through the columns and back to that order, `S` reverses, a header click sorts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

Row = tuple[str, Sequence[Any], dict[str, Any] | None]  # (key, cells, sort values by column key)

EAGER_LIMIT = 500  # up to this many records every row is built at once (widths fit all rows)
MAX_AUTO_WIDTH = 48
PADDING = 1  # blank cells either side of a column, as DataTable draws them


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int | None = None
    sort_key: Any = None  # callable(cell value) -> comparable; default: the plain text


def _plain(value: Any) -> str:
    return value.plain if isinstance(value, Text) else str(value)


def _row_of(record: Any) -> Row:
    return record


def _key_of(record: Any) -> str:
    return record[0]


class KeyedTable(ScrollView, can_focus=True):
    """Rows are `(key, cells, sort_values)`, built by the pane's `row` function per record."""

    BINDINGS = [
        Binding("enter", "select", "Detail", show=False, id="table.select"),
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
        Binding("s", "cycle_sort", "Sort", id="table.sort"),
        Binding("S", "reverse_sort", "Reverse", show=False, id="table.reverse"),
    ]

    COMPONENT_CLASSES = {
        "keyed-table--header",
        "keyed-table--cursor",
        "keyed-table--even-row",
    }

    DEFAULT_CSS = """
    KeyedTable {
        height: 1fr;
        background: $surface;
        color: $foreground;
        overflow-x: auto;
        overflow-y: auto;
        &:focus {
            background-tint: $foreground 5%;
            & > .keyed-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .keyed-table--header { background-tint: $foreground 5%; }
        }
        &:dark > .keyed-table--even-row { background: $surface-darken-1 40%; }
        & > .keyed-table--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .keyed-table--header { background: ansi_bright_blue; color: ansi_default; }
        & > .keyed-table--even-row { background: $surface-lighten-1 50%; }
        & > .keyed-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    class _RowMessage(Message):
        def __init__(self, table: KeyedTable, key: str | None) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> KeyedTable:
            return self.table

    class RowSelected(_RowMessage):
        """Enter (or a click on the cursor row) on a row."""

        key: str

    class CursorMoved(_RowMessage):
        """The cursor went to another row (a screen showing the row's detail redraws it); `key`
        is None when the table is empty."""

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        sort_column: int | None = 0,
        sort_reverse: bool = False,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.columns_spec = list(columns)
        self.filter_text = ""
        self.sort_column = sort_column
        self.sort_reverse = sort_reverse
        self.cursor_row = 0
        self._cursor_key: str | None = None  # the row the user put the cursor on
        self._records: Sequence[Any] = ()
        self._row_fn: Callable[[Any], Row] = _row_of
        self._key_fn: Callable[[Any], str] = _key_of
        self._text_fn: Callable[[Any], str] | None = None
        self._stable_fn: Callable[[Any], bool] | None = None
        self._rows: dict[int, tuple[Any, Row]] = {}  # id(record) -> (record, its row)
        self._order: list[int] = []  # indices into _records, as shown
        self._content: list[int] = [0] * len(self.columns_spec)  # widest cell seen per column
        self._widths: list[int] = self._column_widths()
        self._painted: dict[int, tuple[str, tuple[str, ...]]] = {}  # line -> what it showed
        self._styles: dict[str, Style] = {}  # resolved once per style change, not per line

    # -- feeding -------------------------------------------------------------------------------

    def set_rows(self, rows: Sequence[Row]) -> None:
        """Whole rows, already built (small tables)."""
        self.set_records(rows, row=_row_of, key=_key_of)

    def set_records(
        self,
        records: Sequence[Any],
        *,
        row: Callable[[Any], Row],
        key: Callable[[Any], str],
        text: Callable[[Any], str] | None = None,
        stable: Callable[[Any], bool] | None = None,
    ) -> None:
        """Show `records`; `row(record)` builds one row when it is needed.

        `key(record)` is the row key (cheap); `text(record)` what `/` searches (default: the
        row's cells); `stable(record)` says the record's row may be kept while the same object
        comes back (default: yes; a running job's duration is not stable).
        """
        if (
            records is self._records
            and row is self._row_fn
            and not any(not self._is_stable(r) for r in self._records_on_screen())
        ):
            return  # the same records, nothing on screen that moves with time
        cursor_key = self._wanted_key()
        previous = self._rows
        self._records = records
        self._row_fn, self._key_fn, self._text_fn, self._stable_fn = row, key, text, stable
        self._rows = {}
        for record in records if len(previous) else ():
            kept = previous.get(id(record))
            if kept is not None and kept[0] is record and self._is_stable(record):
                self._rows[id(record)] = kept
        if len(records) <= EAGER_LIMIT:
            for record in records:
                self._row(record)
        else:  # the first screenful: its widths are settled before the first paint
            for record in records[: self._view_height if self.is_mounted else 40]:
                self._row(record)
        self._reorder(cursor_key)

    def _is_stable(self, record: Any) -> bool:
        return self._stable_fn is None or self._stable_fn(record)

    def _row(self, record: Any) -> Row:
        kept = self._rows.get(id(record))
        if kept is not None and kept[0] is record:
            return kept[1]
        built = self._row_fn(record)
        self._rows[id(record)] = (record, built)
        self._measure(built)
        return built

    # -- order, filter, sort -------------------------------------------------------------------

    def _reorder(self, cursor_key: str | None = None) -> None:
        records = self._records
        indices = range(len(records))
        needle = self.filter_text.lower()
        if needle:
            indices = [i for i in indices if needle in self._haystack(records[i])]
        if self.sort_column is None:
            order = list(indices)
            if self.sort_reverse:
                order.reverse()
        else:
            order = self._sorted(list(indices))
        self._order = order
        self.virtual_size = Size(self._total_width(), len(order) + 1)
        if cursor_key is not None:
            # kept while its row is filtered out, so clearing the filter brings the cursor back
            self._cursor_key = cursor_key
            self.cursor_row = 0
            for position, index in enumerate(order):
                if self._key_fn(records[index]) == cursor_key:
                    self.cursor_row = position
                    break
        self.cursor_row = max(0, min(self.cursor_row, len(order) - 1))
        self._scroll_to_cursor()
        self._repaint_changed()

    def _haystack(self, record: Any) -> str:
        if self._text_fn is not None:
            return self._text_fn(record).lower()
        return " ".join(_plain(c) for c in self._row(record)[1]).lower()

    def _sorted(self, indices: list[int]) -> list[int]:
        col = self.columns_spec[self.sort_column]
        position = self.sort_column
        records = self._records

        def order(index: int) -> Any:
            _, cells, sort_values = self._row(records[index])
            if sort_values and col.key in sort_values:
                return (0, sort_values[col.key])
            cell = cells[position] if position < len(cells) else ""
            if col.sort_key is not None:
                return (0, col.sort_key(cell))
            return (1, _plain(cell).lower())

        try:
            indices.sort(key=order, reverse=self.sort_reverse)
        except TypeError:
            indices.sort(key=lambda i: str(order(i)), reverse=self.sort_reverse)
        return indices

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self._reorder(self._wanted_key())

    def action_cycle_sort(self) -> None:
        count = len(self.columns_spec)
        if self.sort_column is None:
            self.sort_column = 0
        elif self.sort_column + 1 < count:
            self.sort_column += 1
        else:
            self.sort_column = None
        self._resort()

    def action_reverse_sort(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self._resort()

    def _resort(self) -> None:
        self._painted.clear()
        self._widths = self._column_widths()
        self._reorder(self._wanted_key())
        self.refresh()

    # -- what is shown -------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._order)

    @property
    def visible_keys(self) -> list[str]:
        return [self._key_fn(self._records[i]) for i in self._order]

    @property
    def _view_height(self) -> int:
        """Lines drawn, header included (a horizontal scrollbar takes one off the widget)."""
        return self.scrollable_content_region.height

    def _wanted_key(self) -> str | None:
        return self._cursor_key if self._cursor_key is not None else self.selected_key

    @property
    def selected_key(self) -> str | None:
        if not self._order or not 0 <= self.cursor_row < len(self._order):
            return None
        return self._key_fn(self._records[self._order[self.cursor_row]])

    @property
    def selected_record(self) -> Any:
        """The record under the cursor (what `set_records` was given), or None."""
        if not self._order or not 0 <= self.cursor_row < len(self._order):
            return None
        return self._records[self._order[self.cursor_row]]

    def row_cells(self, position: int) -> list[str]:
        """The plain text of the row at this position (tests and copy)."""
        return [_plain(c) for c in self._row(self._records[self._order[position]])[1]]

    def rows_text(self) -> list[list[str]]:
        return [self.row_cells(i) for i in range(len(self._order))]

    def _records_on_screen(self) -> list[Any]:
        top = int(self.scroll_y)
        rows = max(0, self._view_height - 1)
        return [self._records[i] for i in self._order[top : top + rows]]

    # -- cursor and keys -----------------------------------------------------------------------

    def move_cursor(self, *, row: int, animate: bool = False) -> None:
        if not self._order:
            return
        old, old_key = self.cursor_row, self._cursor_key
        self.cursor_row = max(0, min(row, len(self._order) - 1))
        self._cursor_key = self.selected_key
        if self._cursor_key != old_key:
            self.post_message(self.CursorMoved(self, self._cursor_key))
        if old != self.cursor_row:
            self._refresh_position(old)
            self._refresh_position(self.cursor_row)
        self._scroll_to_cursor()

    def action_cursor(self, step: int) -> None:
        self.move_cursor(row=self.cursor_row + step)

    def action_page(self, direction: int) -> None:
        self.move_cursor(row=self.cursor_row + direction * max(1, self._view_height - 2))

    def action_jump(self, where: int) -> None:
        self.move_cursor(row=0 if where == 0 else len(self._order) - 1)

    def action_select(self) -> None:
        key = self.selected_key
        if key is not None:
            self.post_message(self.RowSelected(self, key))

    def _scroll_to_cursor(self) -> None:
        rows = max(1, self._view_height - 1)
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + rows:
            self.scroll_to(y=self.cursor_row - rows + 1, animate=False, immediate=True)

    def _refresh_position(self, position: int) -> None:
        line = position - int(self.scroll_y) + 1
        if 1 <= line < self._view_height:
            self._painted.pop(line, None)
            self.refresh_line(line)

    def on_click(self, event: Click) -> None:
        y = event.y
        if y == 0:
            column = self._column_at(event.x + int(self.scroll_x))
            if column is not None:
                if column == self.sort_column:
                    self.sort_reverse = not self.sort_reverse
                else:
                    self.sort_column, self.sort_reverse = column, False
                self._resort()
            return
        position = int(self.scroll_y) + y - 1
        if 0 <= position < len(self._order):
            if position == self.cursor_row:
                self.action_select()
            else:
                self.move_cursor(row=position)

    def _column_at(self, x: int) -> int | None:
        left = 0
        for index, width in enumerate(self._widths):
            left += width + 2 * PADDING
            if x < left:
                return index
        return None

    # -- widths --------------------------------------------------------------------------------

    def _column_widths(self) -> list[int]:
        """Fixed widths as given; the others fit their label (and sort arrow) and widest cell."""
        widths = []
        for index, (column, content) in enumerate(
            zip(self.columns_spec, self._content, strict=True)
        ):
            if column.width is not None:
                widths.append(column.width)
                continue
            label = len(column.label) + (2 if index == self.sort_column else 0)
            widths.append(max(label, content))
        return widths

    def _measure(self, row: Row) -> None:
        grew = False
        for index, (column, cell) in enumerate(zip(self.columns_spec, row[1], strict=False)):
            if column.width is not None:
                continue
            width = min(MAX_AUTO_WIDTH, cell_len(_plain(cell)))
            if width > self._content[index]:
                self._content[index] = width
                grew = True
        if grew:
            self._widths = self._column_widths()
            self._painted.clear()
            if self.is_mounted:
                self.virtual_size = Size(self._total_width(), len(self._order) + 1)
                self.refresh()

    def _total_width(self) -> int:
        return sum(w + 2 * PADDING for w in self._widths)

    # -- painting ------------------------------------------------------------------------------

    def _repaint_changed(self) -> None:
        """Repaint only the lines on screen whose row changed (or moved)."""
        if not self.is_mounted:
            return
        top = int(self.scroll_y)
        for line in range(1, self._view_height):
            position = top + line - 1
            shown = self._painted.get(line)
            if position >= len(self._order):
                if shown is not None:
                    self._painted.pop(line)
                    self.refresh_line(line)
                continue
            key, cells, _ = self._row(self._records[self._order[position]])
            now = (key, tuple(_plain(c) for c in cells))
            if shown != now:
                self.refresh_line(line)
        self.refresh_line(0)  # the header (sort arrow); cheap

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._painted.clear()
        self._styles.clear()

    def on_focus(self) -> None:
        self._styles.clear()

    def on_blur(self) -> None:
        self._styles.clear()

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            base = self.rich_style
            style = base if name == "base" else base + self.get_component_rich_style(name)
            self._styles[name] = style
        return style

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        self._painted.clear()
        super().watch_scroll_y(old_value, new_value)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x = int(self.scroll_x)
        base = self._style("base")
        if y == 0:
            header = self._style("keyed-table--header")
            return self._strip(self._header_cells(), header).crop_extend(
                scroll_x, scroll_x + width, header
            )
        position = int(self.scroll_y) + y - 1
        if position >= len(self._order):
            self._painted.pop(y, None)
            return Strip.blank(width, base)
        key, cells, _ = self._row(self._records[self._order[position]])
        self._painted[y] = (key, tuple(_plain(c) for c in cells))
        style = self._style("keyed-table--even-row") if position % 2 == 1 else base
        over = None
        if position == self.cursor_row:
            over = self._style("keyed-table--cursor")
        return self._strip(cells, style, over).crop_extend(scroll_x, scroll_x + width, style)

    def _header_cells(self) -> list[Text]:
        cells = []
        for index, column in enumerate(self.columns_spec):
            arrow = ""
            if index == self.sort_column:
                arrow = " ▼" if self.sort_reverse else " ▲"
            cells.append(Text(column.label + arrow))
        return cells

    def _strip(self, cells: Sequence[Any], style: Style, over: Style | None = None) -> Strip:
        pad = Segment(" " * PADDING)
        segments: list[Segment] = []
        console = self.app.console
        for width, cell in zip(self._widths, cells, strict=False):
            segments.append(pad)
            if isinstance(cell, Text):
                text = cell.copy()
                if "\n" in text.plain:
                    text = Text(text.plain.replace("\n", " "), style=text.style)
                text.no_wrap = True
                text.end = ""
                text.truncate(width, overflow="ellipsis", pad=True)
                rendered = text.render(console)
                if text.style:  # render() leaves the text's own style to the caller
                    rendered = Segment.apply_style(rendered, console.get_style(text.style))
                segments.extend(rendered)
            else:
                plain = str(cell).replace("\n", " ")
                if cell_len(plain) > width:
                    plain = set_cell_size(plain, max(0, width - 1)) + "…" if width else ""
                segments.append(Segment(set_cell_size(plain, width)))
            segments.append(pad)
        segments = list(Segment.apply_style(segments, style, over))
        return Strip(segments, self._total_width())
