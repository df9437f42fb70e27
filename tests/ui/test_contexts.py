"""Contexts and the Fleet pane, driven through the real app against two loopback dashboards
(benchmarks/replay.py: real HTTP and websocket log tails) and one address where nothing listens.

The Fleet pane shows a line per context (the one shown now from the app's own snapshots, the
others from the background FleetWatcher), an unreachable one says why; `:ctx NAME` and Enter on a
Fleet row switch the whole cockpit: the old cluster's poller, log tails and job screen stop, the
panes show the new one, a read-only context turns launching off.
"""

from __future__ import annotations

import time

import pytest
from textual.widgets import ContentSwitcher

from benchmarks.replay import ReplayServer
from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.config import Settings
from raycockpit.cockpit.local import free_port
from raycockpit.screens.app import make_app
from raycockpit.screens.fleet import FleetPane
from raycockpit.screens.job import JobScreen
from tests.ui.helpers import wait_for

SIZE = (120, 40)


@pytest.fixture(scope="module")
def clusters():
    alpha = ReplayServer(nodes=3, jobs=20, log_interval=5.0, seed=1)
    beta = ReplayServer(nodes=5, jobs=7, log_interval=5.0, seed=2)
    alpha.start()
    beta.start()
    try:
        yield alpha, beta
    finally:
        alpha.stop()
        beta.stop()


def settings_for(alpha: ReplayServer, beta: ReplayServer) -> Settings:
    return Settings.model_validate(
        {
            "refresh": 0.5,
            "request_timeout": 2.0,
            "contexts": {
                "alpha": {"address": alpha.url},
                "beta": {"address": beta.url, "readonly": True},
                "gone": {"address": f"http://127.0.0.1:{free_port()}"},
            },
            "context": "alpha",
        }
    )


def fleet_rows(app) -> dict:
    return app.query_one(FleetPane).rows


async def test_the_fleet_and_switching_context_live(clusters):
    alpha, beta = clusters
    base = settings_for(alpha, beta)
    settings = base.for_context("alpha")
    client = DashboardClient(alpha.url, discover=False, timeout=2.0)
    app = make_app(settings, client=client, base_settings=base)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot and app.snapshot.jobs, what="alpha's jobs")
        assert app.context_name == "alpha" and len(app.snapshot.nodes) == 3

        # the Fleet pane: 9, a line per context; the unreachable one says why
        await pilot.press("9")
        assert app.query_one(ContentSwitcher).current == "fleet"
        await wait_for(
            pilot,
            lambda: fleet_rows(app)["beta"].reachable and fleet_rows(app)["gone"].checked_at,
            timeout=30,
            what="the other contexts asked in the background",
        )
        rows = fleet_rows(app)
        assert rows["alpha"].current and rows["alpha"].nodes_alive == 3
        assert rows["beta"].nodes_alive == 5 and rows["beta"].ray_version == "2.60.0"
        assert not rows["gone"].reachable and "127.0.0.1" in rows["gone"].error
        shown = app.query_one("#fleet-table").rows_text()
        assert [r[0].strip(" ▶") for r in shown] == ["alpha", "beta", "gone"]
        assert shown[2][1] == "✗ down" and "127.0.0.1" in shown[2][-1]
        assert shown[2][-1].count("\n") == 0

        # a job of alpha open, its log tail live: then `:ctx beta`
        job_id = alpha.job_ids("RUNNING")[0]
        app.open_job(next(j for j in app.snapshot.jobs if j.key == job_id))
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, JobScreen) and alpha.open_websockets == 1,
            what="alpha's job screen and its tail",
        )
        await pilot.press("colon", *"ctx beta", "enter")
        await wait_for(pilot, lambda: app.context_name == "beta", what="the switch to beta")
        await wait_for(
            pilot, lambda: app.snapshot and len(app.snapshot.nodes) == 5, what="beta's nodes"
        )
        assert not isinstance(app.screen, JobScreen) and app._tail_workers == {}
        deadline = time.monotonic() + 10
        while alpha.open_websockets and time.monotonic() < deadline:
            await pilot.pause(0.05)
        assert alpha.open_websockets == 0, "alpha's log tail still open"
        asked = sum(alpha.requests.values())
        await pilot.pause(1.5)  # three of beta's refreshes: alpha only on the fleet's slow beat
        assert sum(alpha.requests.values()) - asked <= 3
        assert app.settings.readonly, "beta is read-only"
        assert fleet_rows(app)["beta"].current and not fleet_rows(app)["alpha"].current

        # an unreachable context: nothing changes, one line says why
        await pilot.press("colon", *"ctx gone", "enter")
        await wait_for(
            pilot,
            lambda: (
                any("cannot open gone" in n.message for n in app._notifications)
                or app.context_name != "beta"
            ),
            what="the refusal",
            timeout=20,
        )
        await pilot.pause(0.5)
        assert app.context_name == "beta"

        # Enter on alpha's Fleet row opens it again
        await pilot.press("9")
        table = app.query_one("#fleet-table")
        table.focus()
        await pilot.press("home")
        while table.selected_key != "alpha":
            await pilot.press("down")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.context_name == "alpha", what="back to alpha")
        await wait_for(
            pilot, lambda: app.snapshot and len(app.snapshot.nodes) == 3, what="alpha's nodes"
        )
        assert not app.settings.readonly
        await pilot.press("colon", *"ctx nope", "enter")
        await pilot.pause(0.2)
        assert any("no context named 'nope'" in n.message for n in app._notifications)
