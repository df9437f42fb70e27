"""The app's workers for the cluster itself (a mixin of CockpitApp): the embedded head (started
with progress, stopped on `:stop-head`, or a head an earlier cockpit kept) and the ssh tunnel
(watched, re-opened with backoff). Results come back as messages; the handlers here show them."""

from __future__ import annotations

import asyncio

from textual import work

from raycockpit.cockpit.errors import CockpitError
from raycockpit.cockpit.kept_heads import KeptHead
from raycockpit.cockpit.local import LocalHead
from raycockpit.cockpit.poller import Poller
from raycockpit.cockpit.tunnel import SshTunnel
from raycockpit.screens.dialogs import ConfirmScreen
from raycockpit.screens.messages import HeadFailed, HeadProgress, HeadReady, LinkChanged
from raycockpit.screens.startup import StartupScreen
from raycockpit.screens.widgets.status_line import StatusLine


class ClusterWorkers:
    """Mixed into CockpitApp: uses its settings, head, kept_head, tunnel, poller and address."""

    settings: object
    head: LocalHead | None
    head_started: bool
    kept_head: KeptHead | None
    tunnel: SshTunnel | None
    poller: Poller | None
    address: str

    # -- the embedded head --------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="head", exit_on_error=False)
    def _start_head(self) -> None:
        assert self.head is not None
        try:
            self.head.start(progress=lambda text: self.post_message(HeadProgress(text)))
        except CockpitError as exc:
            self.post_message(HeadFailed(exc.one_line()))
            return
        self.head_started = True
        self.post_message(HeadReady(self.head.dashboard_url))

    def on_head_progress(self, message: HeadProgress) -> None:
        if isinstance(self.screen, StartupScreen):
            self.screen.progress(message.text)

    def on_head_failed(self, message: HeadFailed) -> None:
        self.query_one(StatusLine).state_note = "local head failed"
        if isinstance(self.screen, StartupScreen):
            self.screen.failed(message.error)

    def on_head_ready(self, message: HeadReady) -> None:
        self.query_one(StatusLine).state_note = ""
        if isinstance(self.screen, StartupScreen):
            self.pop_screen()
        self.notify(f"local Ray head ready at {message.address}", timeout=4)
        self._connect()

    # -- the ssh tunnel -----------------------------------------------------------------------

    @property
    def shown_address(self) -> str:
        return (
            f"ssh {self.tunnel.target} → :{self.tunnel.remote_port}"
            if self.tunnel
            else self.address
        )

    @property
    def link_state(self) -> str:
        """'' without a tunnel; 'up', or why it is down and when it is tried again."""
        return self._link_state if self.tunnel else ""

    _link_state = "up"

    def on_link_changed(self, message: LinkChanged) -> None:
        self._link_state = message.state
        self._update_status_lines()

    @work(exclusive=True, group="tunnel", exit_on_error=False)
    async def _keep_tunnel(self) -> None:
        """Watch the ssh process; when the link drops, re-open it with backoff (1 s .. 30 s).
        The local port stays, so the poller and any log tail recover on their own."""
        tunnel = self.tunnel
        assert tunnel is not None
        delay, tries = 1.0, 0
        while True:
            await asyncio.sleep(0.5)
            if tunnel.alive():
                continue
            tries += 1
            self.post_message(LinkChanged(f"down · reopening (try {tries})"))
            try:
                await asyncio.to_thread(tunnel.open)
            except CockpitError as exc:
                why = f"down: {exc.message} · try {tries + 1} in {delay:.0f} s"
                self.post_message(LinkChanged(why))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            delay, tries = 1.0, 0
            self.post_message(LinkChanged("up"))
            self.notify(f"the link to {tunnel.target} re-opened", timeout=4)
            if self.poller is not None:
                self.poller.refresh_now()

    def action_stop_head(self) -> None:
        """Stop the local head this cockpit started, or one an earlier cockpit kept (confirmed)."""
        if self.settings.readonly:
            self.notify("read-only mode: the head is not stopped", severity="warning")
            return
        if self.head is not None and self.head.pid is not None:
            pid, url = self.head.pid, self.head.dashboard_url
        elif self.kept_head is not None and self.kept_head.running():
            pid, url = self.kept_head.pid, self.kept_head.dashboard_url
        else:
            self.notify(
                "no head started by raycockpit here: stop a cluster where it was started",
                severity="warning",
            )
            return
        self.push_screen(
            ConfirmScreen(
                f"Stop the local Ray head at {url} (pid {pid})?",
                "Its jobs, actors and Serve apps end, and every process it started is stopped.",
                "Stop head",
            ),
            lambda yes: yes and self._stop_head(),
        )

    @work(thread=True, exclusive=True, group="head", exit_on_error=False)
    def _stop_head(self) -> None:
        self.call_from_thread(self.notify, "stopping the local Ray head…", timeout=4)
        if self.head is not None and self.head.pid is not None:
            self.head.stop()
        elif self.kept_head is not None:
            self.kept_head.stop()
            self.kept_head = None
        self.call_from_thread(self.notify, "local Ray head stopped; q quits", timeout=10)
