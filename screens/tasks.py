"""The tasks of one function or actor method (Enter on its row in the Actors pane's summary): each
listed attempt's state, node, worker pid, start and duration, failed ones first with why they
failed, and under the table the selected one in full (the user's part of its traceback). `l` /
`L` show its own stdout / stderr (Ray's offsets in its worker's files: an ended task's whole
output, a running one's followed live), or, for an actor's method, which Ray records no offsets
of, the stdout / stderr of the worker that ran it.

It renders and posts messages only: the app lists the tasks every few seconds while it is open
(screens/workers/actors.py)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from raycockpit.cockpit import clock
from raycockpit.cockpit.format import human_duration, timestamp
from raycockpit.cockpit.task_list import LIMIT, TaskList, TaskRow
from raycockpit.screens.styles import BAD, WARN
from raycockpit.screens.widgets.filter_bar import FilterBar
from raycockpit.screens.widgets.key_footer import KeyFooter
from raycockpit.screens.widgets.keyed_table import Column, KeyedTable
from raycockpit.screens.widgets.render import status_text
from raycockpit.screens.widgets.status_line import StatusLine

COLUMNS = [
    Column("state", "State"),
    # Ray's task id: 8 bytes of its own, then its actor's (or ff...) and its job's; the first 8
    # hex digits repeat across jobs (the same call order), so all 16 of its own are shown
    Column("task", "Task id", width=16),
    Column("attempt", "Try"),
    Column("node", "Node", width=14),
    Column("pid", "PID"),
    Column("start", "Started", width=19),
    Column("duration", "Took"),
    Column("error", "Error", width=60),
]


def task_cells(row: TaskRow, node_names: dict[str, str], now: float) -> list:
    end = row.end_s or (now if row.start_s else None)
    took = human_duration(end - row.start_s) if row.start_s and end else "-"
    error = Text(row.error_line, style=BAD, no_wrap=True, overflow="ellipsis")
    return [
        status_text(row.state),
        row.task_id[:16],
        str(row.attempt),
        node_names.get(row.node_id, row.node_id[:8] or "-"),
        str(row.worker_pid or "-"),
        timestamp(int(row.start_s * 1000)) if row.start_s else "-",
        took,
        error,
    ]


def task_detail(row: TaskRow | None, node_names: dict[str, str]) -> Text:
    if row is None:
        return Text("no task selected", style="dim")
    text = Text()
    text.append(f"{row.name}  ", style="bold")
    text.append_text(status_text(row.state))
    text.append(f"  task {row.task_id}  try {row.attempt}  job {row.job_id or '-'}")
    where = node_names.get(row.node_id, row.node_id[:12] or "-")
    parts = [f"node {where}", f"worker pid {row.worker_pid or '-'}"]
    if row.actor_id:
        parts.append(f"actor {row.actor_id[:8]}")
    if row.own_log:
        parts.append("l / L: its stdout / stderr")
    elif row.worker_pid and row.node_id:
        parts.append("l / L: its worker's stdout / stderr (Ray keeps none of its own)")
    text.append("\n" + " · ".join(parts), style="dim")
    if row.error:
        kind = f" ({row.error_type})" if row.error_type else ""
        text.append(f"\nfailed{kind}:\n", style=BAD)
        text.append(row.error)
    return text


class TasksScreen(Screen):
    KEYS_TITLE = "Tasks screen"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="tasks.back"),
        Binding("slash", "filter", "Filter", id="tasks.filter"),
        Binding("l", "task_log('out')", "stdout", id="tasks.stdout"),
        Binding("L", "task_log('err')", "stderr", id="tasks.stderr"),
    ]
    DEFAULT_CSS = """
    TasksScreen #tasks-head { height: auto; padding: 0 1; background: $boost; }
    TasksScreen KeyedTable { height: 1fr; }
    TasksScreen #task-detail-box { height: auto; max-height: 45%; border-top: solid $primary 50%; }
    TasksScreen #task-detail { height: auto; padding: 0 1; }
    """

    @dataclass
    class Closed(Message):
        """Posted to the app once the screen has left the stack: its listing stops."""

        name: str

    @dataclass
    class TaskLogWanted(Message):
        """l / L: a task's own stdout or stderr, else that of the worker that ran it."""

        task: TaskRow
        node_name: str
        suffix: str

    def __init__(
        self, name: str, kind: str, node_names: dict[str, str], *, filter_text: str = ""
    ) -> None:
        super().__init__()
        self.filter_text = filter_text  # kept in the filter bar from the start (a node's name)
        self.function = name
        self.kind = kind
        self.node_names = dict(node_names)
        self.tasks: TaskList | None = None
        self.error = ""

    def compose(self) -> ComposeResult:
        yield StatusLine()
        yield Static(id="tasks-head", markup=False)
        yield FilterBar()
        yield KeyedTable(COLUMNS, sort_column=None, id="tasks-table")
        with VerticalScroll(id="task-detail-box"):
            yield Static(id="task-detail", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = f"tasks of {self.function}"
        self._draw()
        self.query_one(KeyedTable).focus()
        if self.filter_text:
            self.query_one(FilterBar).keep(self.filter_text)

    def on_screen_suspend(self) -> None:
        if self not in self.app.screen_stack:
            self.app.post_message(self.Closed(self.function))

    def on_unmount(self) -> None:
        if self in self.app.screen_stack:
            self.app.post_message(self.Closed(self.function))

    def show_tasks(self, tasks: TaskList | None, error: str = "") -> None:
        if tasks is not None:
            self.tasks = tasks
        self.error = error
        self._draw()

    def _draw(self) -> None:
        if not self.is_mounted:  # fed before it was laid out: on_mount draws what it was given
            return
        head = Text(f"{self.function}", style="bold")
        head.append(f"  {self.kind}")
        tasks = self.tasks
        if tasks is None:
            head.append("  listing its tasks (Ray state API)…", style="dim")
        else:
            head.append(f"  {len(tasks.rows):,} listed of {tasks.total:,}")
            if tasks.failed_total:
                head.append(f" · {tasks.failed_total:,} failed", style=BAD)
            if tasks.total > LIMIT:
                note = f" (the {LIMIT} Ray lists first, and up to {LIMIT} failed)"
                head.append(note, style="dim")
            now = clock.now()
            rows = [(r.key, task_cells(r, self.node_names, now), None) for r in tasks.rows]
            self.query_one(KeyedTable).set_rows(rows)
        if self.error:
            head.append(f"\nnot refreshed: {self.error}", style=WARN)
        self.query_one("#tasks-head", Static).update(head)
        self._draw_detail()

    def _selected(self) -> TaskRow | None:
        key = self.query_one(KeyedTable).selected_key
        if self.tasks is None or key is None:
            return None
        return next((row for row in self.tasks.rows if row.key == key), None)

    def _draw_detail(self) -> None:
        detail = task_detail(self._selected(), self.node_names)
        self.query_one("#task-detail", Static).update(detail)

    def on_keyed_table_cursor_moved(self, event: KeyedTable.CursorMoved) -> None:
        event.stop()
        self._draw_detail()

    def on_keyed_table_row_selected(self, event: KeyedTable.RowSelected) -> None:
        event.stop()
        self._draw_detail()

    def action_filter(self) -> None:
        self.query_one(FilterBar).open()

    def on_filter_bar_filter_changed(self, event: FilterBar.FilterChanged) -> None:
        self.query_one(KeyedTable).set_filter(event.value)
        self._draw_detail()

    def on_filter_bar_filter_done(self, event: FilterBar.FilterDone) -> None:
        self.query_one(KeyedTable).focus()

    def action_task_log(self, suffix: str) -> None:
        task = self._selected()
        if task is None or not (task.own_log or (task.worker_pid and task.node_id)):
            self.notify("this task has no worker yet (it never started)", severity="warning")
            return
        name = self.node_names.get(task.node_id, task.node_id[:8])
        self.post_message(self.TaskLogWanted(task, name, suffix))
