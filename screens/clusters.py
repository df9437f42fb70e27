"""Clusters: the cluster configs of Ray's own launcher (`configs/clusters/` and the user's
`~/.config/raycockpit/clusters/`), with up / down / exec (each confirmed, showing the exact `ray`
command) and attach (open the cluster's head as a context); the launcher's output streams live
into the log view below the list.

It renders and posts messages only: the app runs the launcher (screens/workers/clusters.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Static

from raycockpit.cockpit.clusters import ClusterConfig
from raycockpit.cockpit.models import Snapshot
from raycockpit.screens.base import Pane
from raycockpit.screens.styles import BAD, WARN_STRONG
from raycockpit.screens.widgets.keyed_table import Column, KeyedTable
from raycockpit.screens.widgets.log_view import LogView

COLUMNS = [
    Column("name", "Cluster"),
    Column("provider", "Provider"),
    Column("head", "Head"),
    Column("workers", "Workers"),
    Column("file", "Config file"),
    Column("problem", "Problem"),
]
ACTIONS = ("up", "down", "exec", "attach")


def cluster_cells(config: ClusterConfig) -> tuple[str, list, dict]:
    cells = [
        Text(config.name, style="bold"),
        config.provider or "-",
        config.head or "-",
        str(config.workers),
        str(config.path),
        Text(config.problem, style=BAD),
    ]
    return str(config.path), cells, {"workers": config.workers}


class ClustersPane(Pane):
    TITLE = "Clusters"
    SECTIONS = ()
    POLLS = ()

    BINDINGS = [
        Binding("u", "launch('up')", "Up", id="clusters.up"),
        Binding("D", "launch('down')", "Down", id="clusters.down"),
        Binding("x", "launch('exec')", "Exec", id="clusters.exec"),
        Binding("a", "launch('attach')", "Attach", id="clusters.attach"),
        Binding("enter", "launch('check')", "Check", id="clusters.check"),
    ]

    DEFAULT_CSS = """
    ClustersPane #clusters-help { height: auto; padding: 0 1; color: $text-muted; }
    ClustersPane #clusters-table { height: auto; max-height: 40%; }
    ClustersPane LogView { height: 1fr; border: round $primary 50%; }
    """

    @dataclass
    class Launch(Message):
        """check | up | down | exec | attach the cluster of this config (the app confirms and
        runs; check is the config doctor, read-only)."""

        action: str
        config: ClusterConfig

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.configs: dict[str, ClusterConfig] = {}
        self.readonly = False
        self.has_own_configs = False  # any besides the bundled examples (the nav line shows 8)

    def compose(self) -> ComposeResult:
        yield Static(id="clusters-help", markup=False)
        yield KeyedTable(COLUMNS, sort_column=None, id="clusters-table")
        yield LogView(max_lines=5_000, id="clusters-log")

    def on_mount(self) -> None:
        self.query_one(LogView).border_title = "launcher output"

    def set_configs(
        self, configs: list[ClusterConfig], folders: list[str], readonly: bool, own: bool
    ) -> None:
        self.configs = {str(c.path): c for c in configs}
        self.readonly, self.has_own_configs = readonly, own
        help_text = Text()
        if readonly:
            help_text.append("Read-only (--readonly): up, down and exec are off. ", WARN_STRONG)
        help_text.append(
            f"{len(configs)} cluster config(s) from {', '.join(folders)}. "
            "Enter check (config doctor) · u up · D down · x exec · a attach (open as a context)"
        )
        self.query_one("#clusters-help", Static).update(help_text)
        self.query_one(KeyedTable).set_rows([cluster_cells(c) for c in configs])
        self.refresh_bindings()

    def render_snapshot(self, snapshot: Snapshot) -> None:
        pass  # nothing here comes from the dashboard

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "launch" and parameters and parameters[0] != "attach" and self.readonly:
            return False
        return True

    def on_keyed_table_row_selected(self, event: KeyedTable.RowSelected) -> None:
        event.stop()
        self.action_launch("check")  # Enter on a config: the doctor

    def action_launch(self, action: str) -> None:
        key = self.query_one(KeyedTable).selected_key
        config = self.configs.get(key or "")
        if config is None:
            self.notify("no cluster config selected", severity="warning", timeout=3)
            return
        if config.problem and action != "check":  # the doctor says what is wrong
            self.notify(f"{config.path}: {config.problem}", severity="warning", timeout=6)
            return
        self.post_message(self.Launch(action, config))

    # -- fed by the app ------------------------------------------------------------------------

    def start_output(self, title: str) -> None:
        log = self.query_one(LogView)
        log.reset()
        log.border_title = Text(title)  # a cluster name may hold [...]
        log.source_status = "running"

    def add_lines(self, lines: list[str]) -> None:
        self.query_one(LogView).append_lines(lines)

    def end_output(self, status: str) -> None:
        self.query_one(LogView).source_status = status
