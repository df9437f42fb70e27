"""The virtual KeyedTable at 10,000 records: rows are built only for what is on screen, a refresh
with the same records builds nothing, filter / sort / cursor keep working and keep the cursor's
row. Counts calls, never timings."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from textual.app import App, ComposeResult

from raycockpit.screens.widgets.keyed_table import Column, KeyedTable

COLUMNS = [Column("name", "Name"), Column("state", "State"), Column("n", "N")]


@dataclass(frozen=True)
class Rec:
    name: str
    state: str
    n: int


class Counter:
    def __init__(self) -> None:
        self.built = 0

    def row(self, rec: Rec):
        self.built += 1
        return rec.name, [rec.name, rec.state, str(rec.n)], {"n": rec.n}


def key(rec: Rec) -> str:
    return rec.name


def text(rec: Rec) -> str:
    return f"{rec.name} {rec.state}"


def settled(rec: Rec) -> bool:
    return rec.state != "RUNNING"


class TableApp(App):
    def __init__(self) -> None:
        super().__init__()
        self.selected: list[str] = []

    def compose(self) -> ComposeResult:
        yield KeyedTable(COLUMNS, sort_column=None)

    def on_keyed_table_row_selected(self, event: KeyedTable.RowSelected) -> None:
        self.selected.append(event.key)


RECORDS = tuple(
    Rec(f"job-{i:05d}", "RUNNING" if i % 1000 == 0 else "SUCCEEDED", i) for i in range(10_000)
)


@pytest.mark.asyncio
async def test_ten_thousand_records_build_only_the_rows_on_screen():
    counter = Counter()
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(KeyedTable)
        table.focus()

        def put(records):
            table.set_records(records, row=counter.row, key=key, text=text, stable=settled)

        put(RECORDS)
        await pilot.pause()
        assert table.row_count == 10_000
        assert 0 < counter.built <= 30, "only the visible rows are built"

        before = counter.built
        put(RECORDS)  # the same records again: nothing to build, nothing on screen moves
        await pilot.pause()
        assert counter.built - before <= 1  # job-00000 is RUNNING and on screen: rebuilt

        before = counter.built
        put(tuple(RECORDS))  # a new tuple of the same objects: settled rows are kept
        await pilot.pause()
        assert counter.built - before <= 1

        await pilot.press("pagedown", "down", "down")
        assert table.cursor_row == 24 - 2 + 2
        selected = table.selected_key

        table.set_filter("job-0999")  # the search text, not the rows: still nothing built
        before = counter.built
        await pilot.pause()
        assert table.row_count == 10 and table.visible_keys[0] == "job-09990"
        assert counter.built - before <= 10
        table.set_filter("")
        assert table.selected_key == selected, "the cursor stays on its row"

        await pilot.press("end")
        assert table.selected_key == "job-09999"
        await pilot.press("home")
        assert table.selected_key == "job-00000"


@pytest.mark.asyncio
async def test_sort_cycles_columns_and_back_to_the_records_order():
    counter = Counter()
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(KeyedTable)
        table.focus()
        records = tuple(Rec(f"r{i}", "x", (i * 7) % 10) for i in range(10))
        table.set_records(records, row=counter.row, key=key)
        assert table.visible_keys == [r.name for r in records]
        await pilot.press("s")  # Name
        assert table.visible_keys == sorted(r.name for r in records)
        await pilot.press("s", "s")  # State, then N (by its sort value, a number)
        assert [table.row_cells(i)[2] for i in range(10)] == [str(i) for i in range(10)]
        await pilot.press("S")
        assert table.row_cells(0)[2] == "9"
        await pilot.press("s")  # back to the records' own order (reversed with S)
        assert table.sort_column is None
        assert table.visible_keys == [r.name for r in reversed(records)]


@pytest.mark.asyncio
async def test_enter_selects_the_cursor_row():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(KeyedTable)
        table.focus()
        table.set_rows([(f"k{i}", [f"k{i}", "a", "1"], None) for i in range(5)])
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        assert app.selected == ["k2"]
        await pilot.click(KeyedTable, offset=(3, 4))  # a click on another row moves the cursor
        assert table.selected_key == "k3" and app.selected == ["k2"]
        await pilot.click(KeyedTable, offset=(3, 4))  # a click on the cursor row opens it
        assert app.selected == ["k2", "k3"]
        await pilot.click(KeyedTable, offset=(3, 0))  # a header click sorts by that column
        assert table.sort_column == 0
