"""The app's contexts (a mixin of CockpitApp): the clusters the settings name, the Fleet pane's
rows kept fresh in the background, and `:ctx NAME` / Enter on the Fleet pane to switch the whole
cockpit to another cluster while it runs.

A switch opens the new connection first (a context that cannot be reached leaves everything as
it was, with one line saying why), then stops everything that talks to the old one (the poller,
log followers, the ssh link's keeper, the job screen and any screen over the panes), closes its
client and tunnel, and starts polling the new one. An embedded head this cockpit started keeps
running (it is the `local` context) and is stopped at exit as before.
"""

from __future__ import annotations

from dataclasses import replace

from textual import work

from raycockpit.cockpit.config import Settings
from raycockpit.cockpit.errors import CockpitError
from raycockpit.cockpit.fleet import (
    Connection,
    FleetRow,
    FleetWatcher,
    fleet_row,
    open_connection,
    where,
)
from raycockpit.cockpit.models import ClusterInfo, Snapshot
from raycockpit.screens.base import Pane
from raycockpit.screens.fleet import FleetPane
from raycockpit.screens.messages import FleetRowUpdated
from raycockpit.screens.startup import StartupScreen
from raycockpit.screens.widgets.status_line import StatusLine

STARTUP_EMBEDDED = "local"  # the name of the embedded head's context
STARTUP_OTHER = "default"  # the name of a cluster given by --address / --ssh / the environment


class ContextWorkers:
    """Mixed into CockpitApp: uses its settings, client, tunnel, poller, head and panes."""

    base_settings: Settings
    context_name: str
    _contexts: dict[str, Settings]
    _fleet_rows: dict[str, FleetRow]
    _fleet: FleetWatcher | None

    def _setup_contexts(self) -> None:
        """The contexts of the settings, and the cluster this cockpit opened with as one more
        when it is none of them (`local` for the embedded head, else `default`)."""
        base = self.base_settings
        self._contexts = {name: base.for_context(name) for name in base.contexts}
        current = self.settings.context
        if current is None:
            current = STARTUP_EMBEDDED if self.head is not None else STARTUP_OTHER
            while current in self._contexts:
                current += "_"
            self._contexts = {current: self.settings, **self._contexts}
        self.context_name = current
        self._fleet_rows = {name: FleetRow(name, where(s)) for name, s in self._contexts.items()}
        self._fleet = None
        self._render_fleet()

    def _startup_address_known(self, address: str) -> None:
        """The embedded head's dashboard is up: its context can be reached again later."""
        settings = self._contexts.get(self.context_name)
        if settings is not None and not (settings.address or settings.ssh or settings.k8s):
            self._contexts[self.context_name] = settings.model_copy(update={"address": address})

    def _start_fleet(self) -> None:
        if len(self._contexts) > 1 and self._fleet is None:
            self._watch_fleet()

    @work(group="fleet", exclusive=True, exit_on_error=False)
    async def _watch_fleet(self) -> None:
        # every context with a place (the current one is skipped while it is current: the app's
        # own poller has it); started once connected, when the embedded head's URL is known
        watcher = self._fleet = FleetWatcher(
            {n: s for n, s in self._contexts.items() if s.address or s.ssh},
            lambda row: self.post_message(FleetRowUpdated(row)),
        )
        watcher.skip = self.context_name
        try:
            await watcher.run()
        finally:
            self._fleet = None
            await watcher.close()

    def on_fleet_row_updated(self, message: FleetRowUpdated) -> None:
        row = message.row
        if row.name != self.context_name:
            self._fleet_rows[row.name] = replace(row, current=False)
            self._render_fleet()

    def _fleet_snapshot(self, snap: Snapshot) -> None:
        """The current cluster's own row, from the app's own snapshot (no second poller), while
        the Fleet pane shows (and when it is switched to): its sums over every node and job
        took ~10 ms of the UI thread a refresh at 1,000 nodes x 10,000 jobs, on every pane."""
        if self.current_pane != "fleet":
            return
        name = self.context_name
        settings = self._contexts.get(name, self.settings)
        self._fleet_rows[name] = fleet_row(name, where(settings), snap, current=True)
        self._render_fleet()

    def _render_fleet(self) -> None:
        pane = self.query_one(FleetPane)
        pane.set_rows(dict(self._fleet_rows))

    def context_names(self) -> list[str]:
        return list(self._contexts)

    # -- switching --------------------------------------------------------------------------------

    def on_fleet_pane_open_context(self, message: FleetPane.OpenContext) -> None:
        self.switch_context(message.name)

    def switch_context(self, name: str) -> None:
        if name == self.context_name:
            self.notify(f"{name} is the cluster shown now", timeout=3)
            return
        if name not in self._contexts:
            known = ", ".join(self._contexts)
            self.notify(f"no context named {name!r} (known: {known})", severity="warning")
            return
        if isinstance(self.screen, StartupScreen):
            self.notify("the local head is still starting; switch once it is up", timeout=4)
            return
        self._switch_context(name)

    @work(group="context", exclusive=True, exit_on_error=False)
    async def _switch_context(self, name: str) -> None:
        settings = self._contexts[name]
        self.notify(f"opening {name} ({where(settings)})…", timeout=3)
        connection = None
        try:
            connection = await open_connection(
                settings, lambda t: setattr(self, "_opening_tunnel", t)
            )
            await connection.client.version()  # a dashboard answers there: else stay
        except (CockpitError, ValueError) as exc:
            if connection is not None:
                await connection.close()
            elif self._opening_tunnel is not None:
                self._opening_tunnel.shut_down()
            why = exc.one_line() if isinstance(exc, CockpitError) else str(exc)
            self.notify(
                f"cannot open {name}: {why}; still on {self.context_name}",
                severity="warning",
                timeout=10,
            )
            return
        except BaseException:  # cancelled (the app is closing): no ssh left behind
            tunnel = connection.tunnel if connection is not None else self._opening_tunnel
            if tunnel is not None:
                tunnel.shut_down()
            raise
        finally:
            self._opening_tunnel = None
        old = Connection(self.client, self.tunnel) if self.client is not None else None
        self._leave_context()
        if old is not None:
            if old.tunnel is not None and old.tunnel is self.startup_tunnel:
                old.tunnel = None  # the CLI shuts the tunnel it opened down at exit
            await old.close()
        previous = self.context_name
        self.client, self.tunnel = connection.client, connection.tunnel
        self.client.command_log = self.command_log
        self.settings, self.address, self.context_name = settings, connection.client.address, name
        self.snapshot = None
        empty = Snapshot(info=ClusterInfo(address=self.address))
        for pane in self.query(Pane):
            pane.show(empty)
        self.query_one(StatusLine).address = self.shown_address
        self._fleet_rows[previous] = replace(self._fleet_rows[previous], current=False)
        self._fleet_rows[name] = replace(self._fleet_rows[name], current=True)
        self._render_fleet()
        if self._fleet is not None:
            self._fleet.skip = name
        self._load_specs()  # the Launch pane says whether this context is read-only
        self._load_clusters()  # and so does the Clusters pane
        self._connect()
        self.notify(f"now showing {name} ({where(settings)})", timeout=4)

    def _leave_context(self) -> None:
        """Stop everything that talks to the cluster shown now."""
        popped = list(self.screen_stack[1:])
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self._drop_job_screen(popped)
        groups = ("poller", "tail", "tunnel", "launch", "job-actions", "serve", "save")
        # a node's, an actor's, a function's screens: their listings and log followers
        groups += ("node-work", "node-logs", "actor", "tasks", "logstream")
        for group in groups:
            self.workers.cancel_group(self, group)
        for job_id in list(self._tail_workers):
            self._stop_following(job_id)
        self._stream_workers.clear()
        self.poller = None

    def _drop_job_screen(self, popped: list) -> None:
        """The job screen was built for the old context (read-only or not): build it again."""
        screen = self._job_screen
        if screen is None:
            return
        self._job_screen = None
        self.uninstall_screen(screen)
        if screen not in popped:  # one that was popped is removed by Textual itself
            screen.remove()
