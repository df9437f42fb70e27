"""A node's log files (`l` on its screen) and one of them followed live, as `ray logs` lists and
tails them: raylet.out (where the OOM killer and worker deaths are told), gcs_server, the
dashboard and its agent, the autoscaler's monitor, every worker's and driver's output.

Both render and post messages only: the app lists the files (`/api/v0/logs?node_id=`) and follows
the chosen one (screens/workers/log_streams.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from raycockpit.cockpit.models import Node
from raycockpit.cockpit.tail import ENDED, TailState
from raycockpit.screens.messages import NodeLogWanted
from raycockpit.screens.styles import BAD
from raycockpit.screens.widgets.filter_bar import FilterBar
from raycockpit.screens.widgets.key_footer import KeyFooter
from raycockpit.screens.widgets.keyed_table import Column, KeyedTable
from raycockpit.screens.widgets.log_view import LogView
from raycockpit.screens.widgets.status_line import StatusLine

# Ray's categories (`/api/v0/logs` answers), the ones people read first on top
ORDER = [
    "raylet",
    "gcs_server",
    "worker_err",
    "worker_out",
    "driver",
    "autoscaler",
    "dashboard",
    "agent",
    "core_worker",
    "internal",
]
ABOUT = {
    "raylet": "scheduler: workers started, killed; OOM kills",
    "gcs_server": "the cluster's control store (head)",
    "worker_err": "a worker's stderr: logging, tracebacks",
    "worker_out": "a worker's stdout: prints",
    "driver": "a driver's Ray core log",
    "autoscaler": "the autoscaler's monitor",
    "dashboard": "the dashboard (head)",
    "agent": "this node's dashboard and runtime_env agents",
    "core_worker": "a worker's Ray core log",
}
_WORKER = re.compile(r"^worker-[0-9a-f]+-([0-9a-f]+)-(\d+)\.(out|err)$")
_CORE = re.compile(r"^python-core-(worker|driver)-([0-9a-f]+)_(\d+)\.log$")

COLUMNS = [
    Column("category", "Category", width=12),
    Column("file", "File", width=64),
    Column("about", "About", width=40),
]


def file_about(category: str, name: str) -> str:
    """What a file is, in words: a worker's job and pid, or the category's role."""
    worker = _WORKER.match(name)
    if worker:
        job = "no job" if worker.group(1) == "ffffffff" else f"job {worker.group(1)}"
        return f"{job} · pid {worker.group(2)}"
    core = _CORE.match(name)
    if core:
        if core.group(1) == "driver":
            return f"driver of job {core.group(2)[:8]} · pid {core.group(3)}"
        return f"pid {core.group(3)}"
    return ABOUT.get(category, "")


def file_rows(files: dict[str, list[str]]) -> list[tuple[str, list, dict]]:
    """One row per file (key: the file name), Ray's categories in ORDER, then by name; folders
    (`jobs/`) are left out: the log API serves files only."""
    rows = []
    rank = {name: i for i, name in enumerate(ORDER)}
    for category in sorted(files, key=lambda c: (rank.get(c, len(ORDER)), c)):
        for name in sorted(files[category]):
            if name.endswith("/"):
                continue
            about = Text(file_about(category, name), style="dim")
            rows.append((name, [category, name, about], {"category": rank.get(category, 99)}))
    return rows


class NodeLogsScreen(Screen):
    KEYS_TITLE = "Node logs"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="node_logs.back"),
        Binding("slash", "filter", "Filter", id="node_logs.filter"),
        Binding("enter", "open", "Follow", id="node_logs.open"),
    ]
    DEFAULT_CSS = """
    NodeLogsScreen #node-logs-head { height: auto; padding: 0 1; background: $boost; }
    NodeLogsScreen KeyedTable { height: 1fr; }
    """

    def __init__(self, node: Node, files: dict[str, list[str]], error: str = "") -> None:
        super().__init__()
        self.node = node
        self.files = files
        self.error = error

    def compose(self) -> ComposeResult:
        yield StatusLine()
        yield Static(id="node-logs-head", markup=False)
        yield FilterBar()
        yield KeyedTable(COLUMNS, sort_column=None, id="node-logs-table")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = f"logs of node {self.node.name}"
        rows = file_rows(self.files)
        head = Text(f"Logs of node {self.node.name} ({self.node.ip})", style="bold")
        head.append(f"  {len(rows)} files · Enter follows one · / filters", style="dim")
        if self.error:
            head.append(f"\ncannot list them: {self.error}", style=BAD)
        self.query_one("#node-logs-head", Static).update(head)
        table = self.query_one(KeyedTable)
        table.set_rows(rows)
        table.focus()

    def action_filter(self) -> None:
        self.query_one(FilterBar).open()

    def on_filter_bar_filter_changed(self, event: FilterBar.FilterChanged) -> None:
        self.query_one(KeyedTable).set_filter(event.value)

    def on_filter_bar_filter_done(self, event: FilterBar.FilterDone) -> None:
        self.query_one(KeyedTable).focus()

    def on_keyed_table_row_selected(self, event: KeyedTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        key = self.query_one(KeyedTable).selected_key
        if key is not None:
            self.post_message(NodeLogWanted(self.node, key))


class LogFileScreen(Screen):
    """One log file followed from its last 1,000 lines: a node's file by name, or a worker's
    stdout or stderr by node and pid (a task's output: screens/tasks.py)."""

    KEYS_TITLE = "Log file"
    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="log_file.back")]
    DEFAULT_CSS = """
    LogFileScreen #log-file-head { height: auto; padding: 0 1; background: $boost; }
    LogFileScreen LogView { border: round $primary 50%; }
    """

    @dataclass
    class Closed(Message):
        """Posted to the app once the screen has left the stack: its follower stops."""

        key: str

    @dataclass
    class SaveWanted(Message):
        """ctrl+s: the lines shown, for the app to write (a node's file may be gigabytes)."""

        stem: str
        lines: list[str]

    def __init__(
        self,
        title: str,
        where: str,
        target: dict[str, str],
        *,
        stem: str,
        max_lines: int = 20_000,
        ended: bool = False,
    ) -> None:
        super().__init__()
        self.ended = ended  # a task's output that is complete: read once, not followed
        self.title_text = title
        self.where = where
        self.target = dict(target)
        self.stem = stem.replace("/", "_")
        self.max_lines = max_lines
        self._status = "connecting"
        self._early: list[str] = []  # lines that came before on_mount

    @classmethod
    def of_node_file(cls, node: Node, filename: str) -> LogFileScreen:
        target = {"node_id": node.node_id, "filename": filename}
        where = f"on node {node.name} ({node.ip})"
        return cls(filename, where, target, stem=f"{node.node_id[:8]}-{filename}")

    @property
    def key(self) -> str:
        return "file:" + ":".join(f"{k}={v}" for k, v in sorted(self.target.items()))

    @property
    def stream_keys(self) -> frozenset[str]:
        return frozenset({self.key})

    @property
    def task_key(self) -> str | None:
        """`TASK_ID:ATTEMPT` when this is a task's own output (TaskRow.key), else None."""
        if "task_id" not in self.target:
            return None
        return f"{self.target['task_id']}:{self.target.get('attempt_number', '0')}"

    def compose(self) -> ComposeResult:
        yield StatusLine()
        yield Static(id="log-file-head", markup=False)
        yield LogView(max_lines=self.max_lines, id="log-file")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = self.title_text
        head = Text(self.title_text, style="bold")
        head.append(f"  {self.where}")
        self.query_one("#log-file-head", Static).update(head)
        log = self.query_one(LogView)
        log.border_title = self.title_text
        log.source_status = self._status
        log.append_lines(self._early)
        self._early = []
        log.query_one("#log-lines").focus()

    def on_screen_suspend(self) -> None:
        if self not in self.app.screen_stack:
            self.app.post_message(self.Closed(self.key))

    def on_unmount(self) -> None:
        if self in self.app.screen_stack:
            self.app.post_message(self.Closed(self.key))

    def add_stream_lines(self, key: str, lines: list[str]) -> None:
        if not self.is_mounted:  # a fast first answer: kept for on_mount
            self._early.extend(lines)
            return
        self.query_one(LogView).append_lines(lines)

    def set_stream_state(self, key: str, state: TailState) -> None:
        following = state.state != ENDED and not state.reason
        self._status = "live" if following else state.one_line()
        if self.is_mounted:
            self.query_one(LogView).source_status = self._status

    def on_log_view_save_requested(self, event: LogView.SaveRequested) -> None:
        event.stop()
        log = self.query_one(LogView)
        log.flush()
        self.post_message(self.SaveWanted(self.stem, list(log.lines)))
