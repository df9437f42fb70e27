"""CockpitApp: composition, bindings and worker wiring. Panes render; workers do the I/O."""

from __future__ import annotations

import os
from pathlib import Path

from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.widgets import ContentSwitcher, Static
from textual.worker import Worker, WorkerState

from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.command_log import CommandLog
from raycockpit.cockpit.config import Settings
from raycockpit.cockpit.errors import CockpitError
from raycockpit.cockpit.gc_pacing import GcPacer
from raycockpit.cockpit.kept_heads import KeptHead
from raycockpit.cockpit.local import LocalHead
from raycockpit.cockpit.models import Snapshot
from raycockpit.cockpit.poller import Poller
from raycockpit.cockpit.recording import TapTransport
from raycockpit.cockpit.replay import ReplayClock
from raycockpit.cockpit.tunnel import SshTunnel
from raycockpit.screens.actor import ActorScreen
from raycockpit.screens.actors import ActorsPane
from raycockpit.screens.autoscaler import AutoscalerPane
from raycockpit.screens.base import Pane
from raycockpit.screens.clusters import ClustersPane
from raycockpit.screens.command_bar import CommandBar, CommandBarActions
from raycockpit.screens.command_log import CommandLogScreen
from raycockpit.screens.commands import CockpitCommands
from raycockpit.screens.fleet import FleetPane
from raycockpit.screens.gpus import GpusPane
from raycockpit.screens.job import JobScreen
from raycockpit.screens.jobs import JobsPane
from raycockpit.screens.key_order import KeysInOrderApp
from raycockpit.screens.keys import KeysScreen
from raycockpit.screens.launch import LaunchPane
from raycockpit.screens.messages import (
    SnapshotUpdated,
)
from raycockpit.screens.node_detail import NodeDetailScreen
from raycockpit.screens.nodes import NodesPane
from raycockpit.screens.overview import OverviewPane
from raycockpit.screens.serve import ServePane
from raycockpit.screens.startup import StartupScreen
from raycockpit.screens.terminal import SUSPEND_BINDING, TerminalLife
from raycockpit.screens.theming import ThemeStyles
from raycockpit.screens.widgets.key_footer import KeyFooter
from raycockpit.screens.widgets.status_line import Banner, StatusLine
from raycockpit.screens.workers.actors import ActorWorkers
from raycockpit.screens.workers.cluster import ClusterWorkers
from raycockpit.screens.workers.clusters import ClustersWorkers
from raycockpit.screens.workers.contexts import ContextWorkers
from raycockpit.screens.workers.jobs import JobWorkers
from raycockpit.screens.workers.log_streams import LogStreamWorkers
from raycockpit.screens.workers.nodes import NodeWorkers
from raycockpit.screens.workers.postmortems import PostmortemWorkers
from raycockpit.screens.workers.recording import REPLAY_BINDINGS, RecordingWorkers
from raycockpit.screens.workers.serve import ServeWorkers

PANES: list[tuple[str, type[Pane]]] = [
    ("overview", OverviewPane),
    ("nodes", NodesPane),
    ("gpus", GpusPane),
    ("autoscaler", AutoscalerPane),
    ("jobs", JobsPane),
    ("serve", ServePane),
    ("launch", LaunchPane),
    ("clusters", ClustersPane),
    ("fleet", FleetPane),
    ("actors", ActorsPane),  # key 0: after 9, so the keys 1..9 of the others stay
]


def pane_key(index: int, name: str) -> str:
    return str((index + 1) % 10)  # the tenth pane is 0


class CockpitApp(
    ClusterWorkers,
    JobWorkers,
    ServeWorkers,
    ContextWorkers,
    ClustersWorkers,
    NodeWorkers,
    ActorWorkers,
    LogStreamWorkers,
    PostmortemWorkers,
    RecordingWorkers,
    ThemeStyles,
    CommandBarActions,
    TerminalLife,  # before the App: it overrides App methods (the driver, ctrl+c)
    KeysInOrderApp,
):
    TITLE = "raycockpit"
    AUTO_FOCUS = None  # focus goes to the current pane's table, never to a hidden input
    COMMANDS = App.COMMANDS | {CockpitCommands}
    CSS = """
    #nav { height: 1; padding: 0 1; background: $boost; }
    ContentSwitcher { height: 1fr; }
    """

    BINDINGS = [
        # the nav line shows the pane keys; the Footer keeps its width for the rest (80 columns)
        *[
            Binding(
                pane_key(i, name), f"show_pane('{name}')", cls.TITLE, id=f"pane.{name}", show=False
            )
            for i, (name, cls) in enumerate(PANES)
        ],
        Binding("colon", "command_bar", "Command", id="app.command"),
        Binding("p", "toggle_pause", "Pause", id="app.pause"),
        Binding("r", "refresh_now", "Refresh", id="app.refresh"),
        Binding("question_mark", "keys", "Keys", id="app.keys"),
        Binding("ctrl+l", "command_log", "Command log", id="app.command_log", show=False),
        SUSPEND_BINDING,
        Binding("q", "quit", "Quit", id="app.quit"),
        *REPLAY_BINDINGS,  # only in a replay (check_action)
    ]

    def __init__(
        self,
        settings: Settings,
        *,
        address: str | None = None,
        client: DashboardClient | None = None,
        head: LocalHead | None = None,
        kept_head: KeptHead | None = None,
        tunnel: SshTunnel | None = None,
        base_settings: Settings | None = None,
        record: str | None = None,
        replay_clock: ReplayClock | None = None,
        settings_path: Path | None = None,
        command_log_path: Path | None = None,
    ) -> None:
        super().__init__()
        self.settings_path = settings_path  # where a theme picked in the cockpit is kept
        self.record_path = record  # --record FILE: started once the client is made
        self.replay_clock = replay_clock  # --replay: the moment of the recording shown
        self.settings = settings  # of the cluster shown now (a context's, when one is)
        self.base_settings = base_settings or settings  # as loaded, before any context
        self.startup_tunnel = tunnel  # the CLI's: it shuts it down at exit
        self._opening_tunnel: SshTunnel | None = None  # a switch of context opening one
        self.head = head  # not yet started: the app starts it and shows progress
        self.head_started = False
        self.kept_head = kept_head  # a head an earlier cockpit left running (--keep-cluster)
        self.exit_signal: int | None = None  # the signal that ended the app, if one did
        self.tunnel = tunnel  # an open ssh tunnel the app keeps up (re-opened when it drops)
        self.client = client
        self.address = (
            client.address
            if client
            else (head.dashboard_url if head else address or settings.address or "")
        )
        self.poller: Poller | None = None
        self.snapshot: Snapshot | None = None
        self.current_pane = "overview"
        self._tail_workers: dict[str, list[Worker]] = {}  # job id -> its log followers
        self._stream_workers: dict[str, list[Worker]] = {}  # a screen -> its log followers
        self._job_screen: JobScreen | None = None  # built on the first open, then reused
        self.gc_pacer = GcPacer()  # full garbage collections while no key is being answered
        # every call that changed a cluster (ctrl+l), kept across sessions by the CLI's app
        self.command_log = CommandLog(path=command_log_path)
        self.init_styles()

    # -- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        yield Banner(id="banner")
        yield Static(id="nav", markup=False)
        with ContentSwitcher(initial="overview"):
            for name, cls in PANES:
                yield cls(id=name)
        yield CommandBar(id="command-bar")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._catch_signals()
        self.start_theme()
        self.set_interval(1.0, self.gc_pacer.sweep_if_due)
        if self.settings.keys:
            self.set_keymap(self.settings.keys)
        self.query_one(StatusLine).address = self.shown_address
        self._setup_contexts()
        self._render_nav()
        self._load_specs()
        self._load_clusters()
        if self.head is not None and not self.head_started:
            self.query_one(StatusLine).state_note = "starting local Ray head"
            self.push_screen(StartupScreen())
            self._start_head()
        else:
            self._connect()
        if self.replay_clock is not None:
            self.start_replay_ticker()
        if self.kept_head is not None:
            self.notify(
                f"attached to a head left running by raycockpit (pid {self.kept_head.pid}); "
                ":stop-head stops it",
                timeout=15,
            )

    def pane_titles(self) -> list[tuple[str, str]]:
        return [(name, cls.TITLE) for name, cls in PANES]

    def _render_nav(self, width: int | None = None) -> None:
        """The pane line at `width` columns (default: the app's width now)."""
        width = width or self.size.width or 80
        tucked = self._tucked_panes()
        for extra in ((), ("actors",)):  # Actors (key 0) is left off when the line would not fit
            text = Text()
            for i, (name, cls) in enumerate(PANES):
                if (name in tucked or name in extra) and self.current_pane != name:
                    continue  # its key works; the line keeps its room for 80 columns
                style = "bold reverse" if name == self.current_pane else "dim"
                text.append(f" {pane_key(i, name)} {cls.TITLE} ", style=style)
                text.append(" ")
            if text.cell_len + 2 <= width:
                break
        self.query_one("#nav", Static).update(text)

    def on_resize(self, event: events.Resize) -> None:
        if getattr(self, "_contexts", None) is None:
            return  # before on_mount: it renders the line itself
        try:
            # the new width: this handler runs before Textual's own, which sets the app's size
            self._render_nav(event.size.width)
        except NoMatches:
            pass  # closing

    def _tucked_panes(self) -> set[str]:
        """Panes left off the nav line until they matter: the Fleet with one cluster, the
        Clusters with none of the user's own configs (their keys 8 and 9 always work)."""
        tucked = set()
        if len(self._contexts) < 2:
            tucked.add("fleet")
        if not self.query_one(ClustersPane).has_own_configs:
            tucked.add("clusters")
        return tucked

    def focus_pane(self) -> None:
        pane = self.query_one(f"#{self.current_pane}", Pane)
        targets = [
            w
            for w in pane.query("KeyedTable, DataTable, OptionList, Tree")
            if w.display and w.can_focus
        ]
        if targets:
            targets[0].focus()
        else:
            self.set_focus(None)

    # -- polling ------------------------------------------------------------------------------

    def _connect(self) -> None:
        if self.client is None:
            self.tap = TapTransport()  # :record listens here
            self.client = DashboardClient(
                self.address,
                token=self.settings.token(),
                timeout=self.settings.request_timeout,
                transport=self.tap,
            )
            if self.record_path:
                self.start_recording(self.record_path)
                self.record_path = None
        self.client.command_log = self.command_log
        self.poller = Poller(self.client, interval=self.settings.refresh)
        self._want_sections()
        self._poll()
        self._startup_address_known(self.address)
        self._start_fleet()
        if self.tunnel is not None:
            self._keep_tunnel()
        self.focus_pane()

    @work(exclusive=True, group="poller", exit_on_error=False)
    async def _poll(self) -> None:
        assert self.poller is not None
        await self.poller.run(lambda snap: self.post_message(SnapshotUpdated(snap)))

    def input_arriving(self) -> None:
        """Called by the terminal driver's input thread (screens/driver.py) when bytes of a key
        come in, before the key reaches the event loop: only a time is set (thread-safe)."""
        self.gc_pacer.key_pressed()
        if self.poller is not None:
            self.poller.keys_pressed()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self.gc_pacer.key_pressed()
            if self.poller is not None:
                self.poller.keys_pressed()  # a refresh being decoded lets this key have the GIL
        await super().on_event(event)

    async def _on_message(self, message: Message) -> None:
        """A result that reaches the app as it closes (a log line, a listing, a tail's state)
        may find its widgets already taken down: Textual removes children first. Its handler's
        NoMatches is dropped then, not shown as a traceback on the way out (Textual, pinned,
        stops the app's message loop on any handler error, so it cannot be left to it)."""
        try:
            await super()._on_message(message)
        except NoMatches:
            if not self._exit:
                raise

    def on_snapshot_updated(self, message: SnapshotUpdated) -> None:
        try:
            self._show_snapshot(message.snapshot)
        except NoMatches:
            pass  # the app is closing and its widgets are already gone

    def _show_snapshot(self, snap: Snapshot) -> None:
        previous, self.snapshot = self.snapshot, snap
        if previous is None:
            self.set_timer(0.5, self.prebuild_job_screen)
        if previous is not None and snap.info.session_changes != previous.info.session_changes:
            self.notify(
                f"the cluster restarted (new Ray session {snap.info.session_name}); "
                "rows of the old session are gone, jobs that were running show how they ended",
                severity="warning",
                timeout=15,
            )
        self._update_status_lines()
        banner = self.query_one(Banner)
        if not snap.connected and self.tunnel is not None and self.link_state != "up":
            banner.show_message(
                f"the link to {self.tunnel.target} is {self.link_state}; the last data is kept"
            )
        elif not snap.connected and snap.connection_error:
            wait = self.poller.current_interval if self.poller else self.settings.refresh
            banner.show_message(
                f"{snap.connection_error} · retrying every {wait:.0f} s; the last data is kept"
            )
        else:
            banner.show_message("")
        self._render_snapshot(snap)
        self._fleet_snapshot(snap)
        self.gc_pacer.freeze()  # the old snapshot is freed; the new one stays out of collections

    def _render_snapshot(self, snap: Snapshot) -> None:
        self.query_one(f"#{self.current_pane}", Pane).show(snap)
        if isinstance(self.screen, (JobScreen, NodeDetailScreen, ActorScreen)):
            self.screen.show_snapshot(snap)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Notifications are plain text, whatever the caller (a widget's notify passes markup=True):
        they quote entrypoints, paths, errors and what the user typed, where `[...]` is no markup
        (`[/]` raised MarkupError, `[ERROR]` was dropped from 'no match for ...')."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    # Textual's screenshot notifications, said plainly (and where: not ~/Downloads)

    def deliver_screenshot(self, filename=None, path=None, time_format=None) -> str | None:
        """The palette's Screenshot is saved in the current folder (as ctrl+s saves a log), not
        in ~/Downloads, which a login on a cluster's head rarely has (it failed there)."""
        return super().deliver_screenshot(filename, path or os.getcwd(), time_format)

    @on(events.DeliveryComplete)
    def _screenshot_saved(self, event: events.DeliveryComplete) -> None:
        if event.name == "screenshot":
            event.prevent_default()  # Textual's handler says it with markup
            where = f" to {event.path}" if event.path is not None else ""
            self.notify(f"Saved screenshot{where}", title="Screenshot")

    @on(events.DeliveryFailed)
    def _screenshot_failed(self, event: events.DeliveryFailed) -> None:
        if event.name == "screenshot":
            event.prevent_default()  # Textual's says only "Failed to save screenshot"
            self.notify(
                f"Screenshot not saved: {event.exception}", title="Screenshot", severity="error"
            )

    def push_screen(self, screen, *args, **kwargs):
        """Every pushed screen's header shows the current address, connection and data age."""
        result = super().push_screen(screen, *args, **kwargs)
        self.call_after_refresh(self._update_status_lines)
        return result

    def _update_status_lines(self) -> None:
        """Every screen shows the same header: address, version, connection, age, pause."""
        paused = bool(self.poller and self.poller.paused)
        for screen in self.screen_stack:
            # a screen's own child (a query of the whole DOM cost ~4 ms a refresh at 1,000 nodes)
            for line in screen.query_children(StatusLine):
                line.address = self.shown_address
                line.link = self.link_state
                line.stale_after = max(5.0, 2 * self.settings.refresh)
                line.sections = self.poller.wanted if self.poller is not None else None
                line.paused = paused
                line.recording = self.recording_note()
                line.replay = self.replay_note()
                if self.snapshot is not None:
                    line.snapshot = self.snapshot

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place where a failed worker becomes a readable message."""
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            text = (
                error.one_line()
                if isinstance(error, CockpitError)
                else f"{type(error).__name__}: {error}"
            )
            self.notify(text, severity="error", timeout=8)

    # -- details ------------------------------------------------------------------------------

    def on_nodes_pane_open_node(self, message: NodesPane.OpenNode) -> None:
        self.push_screen(NodeDetailScreen(message.node))
        self.watch_node_work(message.node.node_id)

    def on_actors_pane_open_actor(self, message: ActorsPane.OpenActor) -> None:
        self.open_actor(message.actor, message.node_name)

    def on_actors_pane_open_tasks(self, message: ActorsPane.OpenTasks) -> None:
        self.open_tasks(message.name, message.kind, message.node_names)

    def on_jobs_pane_open_job(self, message: JobsPane.OpenJob) -> None:
        self.open_job(message.job)

    # -- actions ------------------------------------------------------------------------------

    def action_show_pane(self, name: str) -> None:
        if name not in dict(PANES):
            return
        while len(self.screen_stack) > 1 and not isinstance(self.screen, StartupScreen):
            self.pop_screen()
        self.current_pane = name
        self.query_one(ContentSwitcher).current = name
        self._render_nav()
        self._want_sections()
        if name == "serve":
            self.follow_serve_traffic()
        if self.snapshot is not None:
            if name == "fleet":
                self._fleet_snapshot(self.snapshot)  # this cluster's row, made when shown
            self.query_one(f"#{name}", Pane).show(self.snapshot)
        self.focus_pane()

    def _want_sections(self) -> None:
        """Fetch what the visible pane shows every refresh, the rest on the poller's slow beat
        (a node's detail screen wants the nodes too)."""
        if self.poller is None:
            return
        pane = dict(PANES)[self.current_pane]
        wanted = set(pane.SECTIONS if pane.POLLS is None else pane.POLLS)
        if any(isinstance(screen, NodeDetailScreen) for screen in self.screen_stack):
            wanted.add("nodes")
        self.poller.want(wanted)
        self._update_status_lines()  # the header's data age is of these sections

    def action_toggle_pause(self) -> None:
        if self.poller is None:
            return
        paused = self.poller.toggle_pause()
        self._update_status_lines()
        self.notify("refresh paused (p resumes)" if paused else "refresh resumed", timeout=3)

    def action_refresh_now(self) -> None:
        if self.poller is not None:
            self.poller.refresh_now()

    def action_command_log(self) -> None:
        if not isinstance(self.screen, CommandLogScreen):
            self.push_screen(CommandLogScreen(self.command_log))

    def action_keys(self) -> None:
        shown = [b for b in self.BINDINGS if self.check_action(b.action.split("(")[0], ())]
        groups = [("Everywhere", self._describe(shown))]
        top = self.screen
        if len(self.screen_stack) > 1 and not isinstance(top, StartupScreen):
            # a job's, an actor's, a node's screen...: its keys and its log view's, as enabled now
            keys = {}
            for key, active in top.active_bindings.items():
                binding = active.binding
                # the cockpit's own (with an id), not Textual's scrolling keys
                if active.node is not self and active.enabled and binding.id:
                    keys.setdefault(key, binding)
            if keys:
                name = getattr(top, "KEYS_TITLE", "This screen")
                groups.append((name, self._describe(keys.values())))
        else:
            pane = self.query_one(f"#{self.current_pane}", Pane)
            pane_keys = self._describe(pane.BINDINGS)
            for table in pane.query("KeyedTable"):
                pane_keys += self._describe(type(table).BINDINGS)
                pane_keys.append(("enter", "open the selected row"))
                break
            if pane_keys:
                groups.append((f"{pane.TITLE} pane", pane_keys))
        groups.append(
            (
                "Tables and details",
                [
                    ("↑ ↓ pgup pgdn", "move"),
                    ("escape", "back / close"),
                    ("ctrl+p", "command palette"),
                ],
            )
        )
        self.push_screen(KeysScreen(groups))

    @staticmethod
    def _describe(bindings) -> list[tuple[str, str]]:
        out = []
        for b in bindings:
            if isinstance(b, Binding):
                out.append(
                    (
                        b.key.replace("question_mark", "?")
                        .replace("colon", ":")
                        .replace("slash", "/"),
                        b.description,
                    )
                )
        return out

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action.startswith("replay_"):
            return self.replay_clock is not None  # the clock's keys exist only in a replay
        return True

    async def on_unmount(self) -> None:
        self.gc_pacer.stop()
        self.stop_recording(quiet=True)
        self.end_replay()
        # a tunnel opened by a switch of context is ours (the CLI shuts down the one it opened)
        for tunnel in (self.tunnel, self._opening_tunnel):
            if tunnel is not None and tunnel is not self.startup_tunnel:
                tunnel.shut_down()
        if self.client is not None:
            await self.client.aclose()


def make_app(
    settings: Settings | None = None,
    *,
    address: str | None = None,
    client: DashboardClient | None = None,
    head: LocalHead | None = None,
    kept_head: KeptHead | None = None,
    tunnel: SshTunnel | None = None,
    base_settings: Settings | None = None,
    record: str | None = None,
    replay_clock: ReplayClock | None = None,
    settings_path: Path | None = None,
    command_log_path: Path | None = None,
) -> CockpitApp:
    """The one composition root, used by the CLI, the tests and the benchmarks."""
    return CockpitApp(
        settings or Settings(),
        address=address,
        client=client,
        head=head,
        kept_head=kept_head,
        tunnel=tunnel,
        base_settings=base_settings,
        record=record,
        replay_clock=replay_clock,
        settings_path=settings_path,
        command_log_path=command_log_path,
    )
