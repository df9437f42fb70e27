"""What every pane shares: a title, the section of the snapshot it shows, a stale marker."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from raycockpit.cockpit import clock
from raycockpit.cockpit.format import human_duration
from raycockpit.cockpit.models import Snapshot
from raycockpit.screens.widgets.filter_bar import FilterBar
from raycockpit.screens.widgets.keyed_table import Column, KeyedTable

# a workload's presets, in its order: on the Launch pane they open the form with one, in the form
# they fill it (screens/launch.py, screens/launch_form.py)
PRESET_KEYS = ("f2", "f3", "f4", "f5")


class Pane(Vertical):
    """A pane renders a Snapshot; it never does I/O. Subclasses set TITLE and SECTIONS."""

    TITLE = ""
    SECTIONS: tuple[str, ...] = ()
    # fetched every refresh while the pane is shown (the rest on the poller's slow beat);
    # None: the SECTIONS
    POLLS: tuple[str, ...] | None = None

    DEFAULT_CSS = """
    Pane { height: 1fr; }
    Pane > .stale { height: auto; color: $warning; display: none; padding: 0 1; }
    Pane > .stale.-visible { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.snapshot: Snapshot | None = None
        self._stale = Static(classes="stale", markup=False)

    def compose_stale(self) -> Static:
        return self._stale

    def show(self, snapshot: Snapshot) -> None:
        """Render the snapshot, unless the sections this pane shows are the very objects it
        rendered last time (the poller keeps an unchanged section's object) and nothing in the
        pane moves with time."""
        previous, self.snapshot = self.snapshot, snapshot
        self._render_stale(snapshot)
        if (
            previous is not None
            and not self.TICKS
            and self._sources(previous) == self._sources(snapshot)
            and self._rendered
        ):
            return
        self._rendered = True
        self.render_snapshot(snapshot)

    TICKS = False  # True: re-render on every snapshot (its text moves with time or history)
    _rendered = False

    def _sources(self, snap: Snapshot) -> tuple[int, ...]:
        return tuple(id(getattr(snap, section, None)) for section in self.SECTIONS)

    def render_snapshot(self, snapshot: Snapshot) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _render_stale(self, snap: Snapshot) -> None:
        lines = []
        now = clock.now()
        for section in self.SECTIONS:
            if section in snap.errors:
                age = snap.age(section, now)
                when = f"last good {human_duration(age)} ago" if age is not None else "no data yet"
                lines.append(f"stale {section} ({when}): {snap.errors[section]}")
        text = "\n".join(lines)
        if text != getattr(
            self, "_stale_text", None
        ):  # an unchanged update still re-lays the screen
            self._stale_text = text
            self._stale.update(Text(text))
            self._stale.set_class(bool(lines), "-visible")


class TablePane(Pane):
    """A pane that is one keyed table: `/` filters it, `s`/`S` sort it, Enter opens a row."""

    COLUMNS: list[Column] = []
    SORT_COLUMN: int | None = 0  # None: the records' own order (see KeyedTable)
    SORT_REVERSE = False

    BINDINGS = [
        Binding("slash", "filter", "Filter", id="table.filter"),
        Binding("enter", "open", "Detail", id="table.open"),
    ]

    def compose(self) -> ComposeResult:
        yield self.compose_stale()
        yield FilterBar()
        yield KeyedTable(
            self.COLUMNS,
            sort_column=self.SORT_COLUMN,
            sort_reverse=self.SORT_REVERSE,
            id=f"{self.id}-table",
        )

    @property
    def table(self) -> KeyedTable:
        return self.query_one(KeyedTable)

    def open_row(self, key: str) -> None:
        """Post the message that opens the row with this key."""

    def action_filter(self) -> None:
        self.query_one(FilterBar).open()

    def on_filter_bar_filter_changed(self, event: FilterBar.FilterChanged) -> None:
        self.table.set_filter(event.value)

    def on_filter_bar_filter_done(self, event: FilterBar.FilterDone) -> None:
        self.table.focus()

    def on_keyed_table_row_selected(self, event: KeyedTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        key = self.table.selected_key
        if self.snapshot is not None and key is not None:
            self.open_row(key)
