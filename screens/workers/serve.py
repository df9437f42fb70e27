"""The app's side of the Serve pane: its request Messages become workers that call the core
(`raycockpit.cockpit.serve_tester`, `DashboardClient`); each worker posts its result as a Message
(screens/messages.py), and the handlers here hand it to the pane.

A mixin of CockpitApp, so app.py stays composition and wiring. Every failure reaches the pane as
one line; nothing here raises into the UI.
"""

from __future__ import annotations

import asyncio
import time

from textual import work

from raycockpit.cockpit import serve_tester
from raycockpit.cockpit.errors import CockpitError
from raycockpit.cockpit.prom_metrics import scrape_nodes, unreachable_line
from raycockpit.cockpit.serve_traffic import ServeTraffic, proxy_targets
from raycockpit.screens.messages import (
    LoadTestDone,
    ServeActionDone,
    ServeAnswered,
    ServeTrafficUpdated,
)
from raycockpit.screens.serve import ServePane

TRAFFIC_BEAT_S = 10.0  # Ray exports metrics every ~10 s


class ServeWorkers:
    """Handlers for ServePane's Messages. Mixed into an App that has `client` and `settings`."""

    def _serve_pane(self) -> ServePane | None:
        panes = list(self.query(ServePane))  # type: ignore[attr-defined]
        return panes[0] if panes else None

    def _request_timeout(self) -> float:
        settings = getattr(self, "settings", None)
        return float(getattr(settings, "request_timeout", 10.0) or 10.0)

    def _readonly(self) -> bool:
        settings = getattr(self, "settings", None)
        return bool(getattr(settings, "readonly", False))

    # -- request tester ----------------------------------------------------------------------------

    def on_serve_pane_send_request(self, message: ServePane.SendRequest) -> None:
        self._serve_send(message.url, message.method, message.body)

    @work(group="serve", exit_on_error=False)
    async def _serve_send(self, url: str, method: str, body: str | None) -> None:
        result = await serve_tester.send_request(url, method, body, timeout=self._request_timeout())
        self.post_message(ServeAnswered(method, url, result))  # type: ignore[attr-defined]

    def on_serve_answered(self, message: ServeAnswered) -> None:
        pane = self._serve_pane()
        if pane is not None:
            pane.show_result(message.method, message.url, message.result)

    def on_serve_pane_run_load_test(self, message: ServePane.RunLoadTest) -> None:
        self._serve_load(message.url, message.method, message.body, message.n, message.concurrency)

    @work(group="serve", exit_on_error=False)
    async def _serve_load(
        self, url: str, method: str, body: str | None, n: int, concurrency: int
    ) -> None:
        try:
            result = await serve_tester.load_test(
                url, method, body, n, concurrency, timeout=self._request_timeout()
            )
        except Exception as exc:  # the pane must learn that the test ended, whatever happened
            done = LoadTestDone(None, f"{type(exc).__name__}: {exc}".splitlines()[0])
        else:
            done = LoadTestDone(result)
        self.post_message(done)  # type: ignore[attr-defined]

    def on_load_test_done(self, message: LoadTestDone) -> None:
        pane = self._serve_pane()
        if pane is not None:
            pane.show_load_result(message.result, message.error)

    # -- cluster actions (refused in read-only mode) -----------------------------------------------

    def on_serve_pane_scale_deployment(self, message: ServePane.ScaleDeployment) -> None:
        what = f"scale {message.app_name}/{message.deployment} to {message.replicas}"
        self._serve_action(
            what, "scale_deployment", message.app_name, message.deployment, message.replicas
        )

    def on_serve_pane_delete_app(self, message: ServePane.DeleteApp) -> None:
        self._serve_action(f"delete app {message.app_name}", "delete_serve_app", message.app_name)

    def on_serve_pane_shutdown_serve(self, message: ServePane.ShutdownServe) -> None:
        self._serve_action("shut down Serve", "delete_serve")

    @work(group="serve", exit_on_error=False)
    async def _serve_action(self, what: str, method: str, *args: object) -> None:
        client = getattr(self, "client", None)
        if self._readonly():
            text, error = f"refused to {what}: read-only mode (--readonly)", True
        elif client is None:
            text, error = f"cannot {what}: not connected", True
        else:
            try:
                answer = await getattr(client, method)(*args)
            except CockpitError as exc:
                text, error = exc.one_line(), True
            else:
                text = f"{what}: done" + (
                    f" ({answer})" if isinstance(answer, str) and answer else ""
                )
                error = False
                poller = getattr(self, "poller", None)
                if poller is not None:
                    poller.refresh_now()
        self.post_message(ServeActionDone(text, error))  # type: ignore[attr-defined]

    def on_serve_action_done(self, message: ServeActionDone) -> None:
        pane = self._serve_pane()
        if pane is not None:
            pane.show_action(message.text, error=message.error)
        severity = "error" if message.error else "information"
        self.notify(message.text, severity=severity, timeout=6)  # type: ignore[attr-defined]

    # -- traffic from the proxies' metrics --------------------------------------------------------

    def follow_serve_traffic(self) -> None:
        """The Serve pane is shown: its apps' traffic, every TRAFFIC_BEAT_S while it stays so."""
        self._serve_traffic()

    @work(group="serve-traffic", exclusive=True, exit_on_error=False)
    async def _serve_traffic(self) -> None:
        """Each beat: the proxies' Prometheus text (cockpit/serve_traffic.py) -> each app's
        requests per second, errors and latency, handed to the pane; ends once another pane is
        shown (a new one starts when the Serve pane is shown again)."""
        client = getattr(self, "client", None)
        if client is None or getattr(client, "replay", None):
            return  # a replay has no proxies to ask
        traffic = ServeTraffic()
        async with client.node_http() as http:
            while getattr(self, "current_pane", "") == "serve":
                snap = getattr(self, "snapshot", None)
                if snap is not None and snap.serve.running and snap.serve.apps:
                    targets = proxy_targets(snap.serve, snap.nodes)
                    if targets:
                        scrape = await scrape_nodes(http, targets)
                        result = traffic.add(scrape.samples, time.monotonic())
                        note = unreachable_line(scrape).split(";")[0]
                        self.post_message(ServeTrafficUpdated(result, note))  # type: ignore[attr-defined]
                await asyncio.sleep(TRAFFIC_BEAT_S)

    def on_serve_traffic_updated(self, message: ServeTrafficUpdated) -> None:
        pane = self._serve_pane()
        if pane is not None:
            pane.set_traffic(message.traffic, message.note)
