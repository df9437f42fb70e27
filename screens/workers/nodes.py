"""The app's workers for a node's detail screen (a mixin of CockpitApp): while the screen is open it
lists the node's tasks and actors from Ray's state API (cockpit/node_work.py) every few seconds and
posts them as NodeWorkLoaded; the handler hands them to the screen. `l` there lists the node's
log files (NodeLogsScreen), and Enter on one follows it (LogFileScreen, through
screens/workers/log_streams.py)."""

from __future__ import annotations

import asyncio

from textual import work

from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.errors import CockpitError
from raycockpit.cockpit.node_work import fetch_node_work
from raycockpit.screens.messages import (
    NodeLogsListed,
    NodeLogsWanted,
    NodeLogWanted,
    NodeWorkLoaded,
)
from raycockpit.screens.node_detail import NodeDetailScreen
from raycockpit.screens.node_logs import LogFileScreen, NodeLogsScreen
from raycockpit.screens.workers.jobs import write_log_file

# The state API is heavier on the head than the summaries the poller reads: a slower beat.
MIN_INTERVAL_S = 5.0


class NodeWorkers:
    """Mixed into CockpitApp: uses its client, settings and screen stack."""

    client: DashboardClient | None
    settings: object

    def _node_screen(self, node_id: str) -> NodeDetailScreen | None:
        for screen in self.screen_stack:  # type: ignore[attr-defined]
            if isinstance(screen, NodeDetailScreen) and screen.node.node_id == node_id:
                return screen
        return None

    @work(exclusive=True, group="node-work", exit_on_error=False)
    async def watch_node_work(self, node_id: str) -> None:
        """List the node's work now and again every refresh (at least 5 s) while its screen is
        open; a failure is one line on the screen and the next beat tries again."""
        interval = max(MIN_INTERVAL_S, float(getattr(self.settings, "refresh", 2.0)))
        while self._node_screen(node_id) is not None and self.client is not None:
            try:
                work_ = await fetch_node_work(self.client, node_id)
            except CockpitError as exc:
                message = NodeWorkLoaded(node_id, None, exc.one_line())
            else:
                message = NodeWorkLoaded(node_id, work_)
            self.post_message(message)  # type: ignore[attr-defined]
            await asyncio.sleep(interval)

    def on_node_work_loaded(self, message: NodeWorkLoaded) -> None:
        screen = self._node_screen(message.node_id)
        if screen is not None:
            screen.show_work(message.work, message.error)

    # -- the node's log files ---------------------------------------------------------------------

    def on_node_logs_wanted(self, message: NodeLogsWanted) -> None:
        self._list_node_logs(message.node)

    @work(group="node-logs", exclusive=True, exit_on_error=False)
    async def _list_node_logs(self, node) -> None:
        if self.client is None:
            return
        try:
            files = await self.client.log_files(node.node_id)
        except CockpitError as exc:
            self.post_message(NodeLogsListed(node, {}, exc.one_line()))  # type: ignore[attr-defined]
        else:
            self.post_message(NodeLogsListed(node, files))  # type: ignore[attr-defined]

    def on_node_logs_listed(self, message: NodeLogsListed) -> None:
        screen = self.screen  # type: ignore[attr-defined]
        if isinstance(screen, NodeDetailScreen) and screen.node.node_id == message.node.node_id:
            self.push_screen(NodeLogsScreen(message.node, message.files, message.error))  # type: ignore[attr-defined]

    def on_node_log_wanted(self, message: NodeLogWanted) -> None:
        self.open_log_file(LogFileScreen.of_node_file(message.node, message.filename))

    def open_log_file(self, screen: LogFileScreen) -> None:
        """Show the screen and follow its file until it leaves the stack."""
        self.stop_streams(screen.key)  # type: ignore[attr-defined]  # a Closed may be queued
        self.push_screen(screen)  # type: ignore[attr-defined]
        self.follow_stream(  # type: ignore[attr-defined]
            screen.key, screen.key, screen.target, ended=screen.ended
        )

    def on_log_file_screen_closed(self, message: LogFileScreen.Closed) -> None:
        if not self._stream_screens(message.key):  # type: ignore[attr-defined]
            self.stop_streams(message.key)  # type: ignore[attr-defined]

    def on_log_file_screen_save_wanted(self, message: LogFileScreen.SaveWanted) -> None:
        self._save_shown(message.stem, message.lines)

    @work(group="save", exit_on_error=False)
    async def _save_shown(self, stem: str, lines: list[str]) -> None:
        text = "".join(f"{line}\n" for line in lines)
        try:
            path = await asyncio.to_thread(write_log_file, stem.replace("/", "_"), text)
        except OSError as exc:
            self.notify(f"log not saved: {exc}", severity="error", timeout=8)  # type: ignore[attr-defined]
            return
        self.notify(  # type: ignore[attr-defined]
            f"saved the {len(lines):,} lines shown (the file's last ones) to {path}", timeout=8
        )
