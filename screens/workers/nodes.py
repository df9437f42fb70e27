"""The app's worker for a node's detail screen (a mixin of CockpitApp): while the screen is open it
lists the node's tasks and actors from Ray's state API (cockpit/node_work.py) every few seconds and
posts them as NodeWorkLoaded; the handler hands them to the screen."""

from __future__ import annotations

import asyncio

from textual import work

from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.errors import CockpitError
from raycockpit.cockpit.node_work import fetch_node_work
from raycockpit.screens.messages import NodeWorkLoaded
from raycockpit.screens.node_detail import NodeDetailScreen

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
