"""Post-mortems (`m` in the Jobs pane): the bundles kept of failed jobs and dead nodes, newest first
(time, id, what ran, why), and one of them whole: its info, why, and its whole log in the log
view. Both read the post-mortem folder only (cockpit/postmortem.py), in a thread: they open with
no cluster at all, after it is gone."""

from __future__ import annotations

import json

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Static

from raycockpit.cockpit import postmortem
from raycockpit.cockpit.format import human_bytes, local_time
from raycockpit.cockpit.parse import parse_job
from raycockpit.screens.job_info import job_view
from raycockpit.screens.styles import OK, WARN
from raycockpit.screens.widgets.key_footer import KeyFooter
from raycockpit.screens.widgets.log_view import LogView
from raycockpit.screens.widgets.status_line import StatusLine


def why_table(whys: tuple[dict, ...]) -> Table:
    """Each explanation kept: the failure's own first, then what else waited at that moment."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for i, why in enumerate(whys):
        category = f" [{why['category']}]" if why.get("category") else ""
        title = "Why" if i == 0 else f"Also {why.get('about', '')}"
        table.add_row(title, Text(f"{why.get('reason', '')}{category}", style=WARN))
        if why.get("fix"):
            table.add_row("Fix", Text(str(why["fix"]), style=OK))
        if why.get("evidence"):
            table.add_row("Evidence", Text("\n".join(map(str, why["evidence"])), style="dim"))
    return table


class PostmortemListScreen(Screen):
    """The list: Enter opens one, Esc goes back, r reads the folder again."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="postmortems.back"),
        Binding("r", "reload", "Reload", id="postmortems.reload"),
    ]
    DEFAULT_CSS = """
    PostmortemListScreen #pm-title { height: auto; padding: 0 1; background: $boost; }
    PostmortemListScreen DataTable { height: 1fr; }
    """

    def __init__(self, folder) -> None:
        super().__init__()
        self.folder = folder
        self.bundles: list[postmortem.Bundle] = []
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield StatusLine()
        yield Static(
            Text(f"Post-mortems in {self.folder}: reading..."), id="pm-title", markup=False
        )
        yield DataTable(cursor_type="row", zebra_stripes=True, id="pm-table")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = "post-mortems"
        self.query_one(DataTable).add_columns("Time", "Job / node", "Entrypoint", "Why")
        self.query_one(DataTable).focus()
        self.action_reload()

    def action_reload(self) -> None:
        self.run_worker(self._read, thread=True, group="postmortem-list", exclusive=True)

    def _read(self) -> None:
        bundles = postmortem.list_bundles(self.folder)
        self.app.call_from_thread(self.show_bundles, bundles)

    def show_bundles(self, bundles: list[postmortem.Bundle]) -> None:
        self.bundles, self.loaded = bundles, True
        table = self.query_one(DataTable)
        table.clear()
        for b in bundles:
            table.add_row(
                local_time(b.created_at),
                b.key if b.kind == "job" else f"node {b.key[:12]}",
                Text(b.title, overflow="ellipsis", no_wrap=True),
                Text(b.why_text, style=WARN, overflow="ellipsis", no_wrap=True),
                key=b.bundle_id,
            )
        count = len(bundles)
        title = (
            f"Post-mortems in {self.folder}: {count} kept (newest first) · Enter opens one"
            if bundles
            else f"No post-mortems in {self.folder} yet: one is kept when a job fails or a "
            "node dies while the cockpit watches"
        )
        self.query_one("#pm-title", Static).update(Text(title))  # a folder may hold [...]

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        for bundle in self.bundles:
            if bundle.bundle_id == event.row_key.value:
                self.app.push_screen(PostmortemScreen(bundle))


class PostmortemScreen(Screen):
    """One post-mortem: what failed and why on top (i hides it), its whole log below."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="postmortem.back"),
        Binding("i", "toggle_info", "Info", id="postmortem.info"),
    ]
    DEFAULT_CSS = """
    PostmortemScreen #pm-info { height: auto; max-height: 50%; padding: 0 1; background: $boost; }
    PostmortemScreen #pm-info.-hidden { display: none; }
    PostmortemScreen LogView { border: round $primary 50%; }
    """

    def __init__(self, bundle: postmortem.Bundle) -> None:
        super().__init__()
        self.bundle = bundle
        self.contents: postmortem.Contents | None = None

    def compose(self) -> ComposeResult:
        yield StatusLine()
        with VerticalScroll(id="pm-info"):
            yield Static(self._head(), id="pm-info-body", markup=False)
        yield LogView(max_lines=1000, id="pm-log")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = f"post-mortem {self.bundle.bundle_id}"
        self.query_one(LogView).border_title = "log (kept whole)"
        self.run_worker(self._read, thread=True, group="postmortem-read", exclusive=True)

    def _read(self) -> None:
        contents = postmortem.read(self.bundle)
        self.app.call_from_thread(self.show_contents, contents)

    def _head(self) -> Group:
        b = self.bundle
        when = Text(
            f"kept {local_time(b.created_at)} from {b.address or '?'} (Ray {b.ray_version or '?'})"
            f" · {b.path}",
            style="dim",
        )
        parts: list = [when]
        job = None
        if self.contents is not None and self.contents.job_info is not None:
            job = parse_job(self.contents.job_info)
        if job is not None:
            parts.append(job_view(job))
        elif self.contents is not None and self.contents.node is not None:
            parts.append(Text(json.dumps(self.contents.node, indent=1)))
        else:
            parts.append(Text(f"{b.kind} {b.key}  {b.status}\n{b.title}", style="bold"))
        parts.append(why_table(b.whys))
        return Group(*parts)

    def show_contents(self, contents: postmortem.Contents) -> None:
        self.contents = contents
        self.query_one("#pm-info-body", Static).update(self._head())
        view = self.query_one(LogView)
        b = self.bundle
        if b.kind != "job":
            view.source_status = "a node's post-mortem: no job log (snapshot.json in the folder)"
            return
        lines = (contents.log or "").splitlines()
        view.max_lines = max(len(lines), 1000)  # the whole log, whatever log_max_lines says
        view.append_lines(lines)
        size = "" if b.log_bytes is None else f", {human_bytes(b.log_bytes)}"
        view.source_status = (
            f"kept log: {len(lines)} lines{size}"
            if contents.log or not b.log_error
            else f"no log kept: {b.log_error}"
        )

    def action_toggle_info(self) -> None:
        self.query_one("#pm-info").toggle_class("-hidden")

    def on_log_view_save_requested(self, message: LogView.SaveRequested) -> None:
        message.stop()  # the app would fetch it from the cluster: it is on disk already
        self.notify(f"the whole log is kept in {self.bundle.path / postmortem.LOG}", timeout=8)
