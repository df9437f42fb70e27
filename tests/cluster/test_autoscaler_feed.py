"""The autoscaler's decision feed on a real autoscaler: the fake_multinode head
(tests/cluster/fake_cluster.py, idle_timeout_minutes 0.1) launches a worker for a task's CPU and
removes it when idle, and the real app's own poller turns the reports and Ray's cluster events
into the feed on the Autoscaler pane: "demand appeared", then "node launched", then "demand met",
then the idle worker's "node idle-terminated"; each once, kept across a pane switch."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import pytest

from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.config import Settings
from raycockpit.cockpit.models import Snapshot
from raycockpit.screens.app import make_app
from raycockpit.screens.widgets.keyed_table import KeyedTable
from tests.cluster.fake_cluster import WORKER_TYPE, start_fake_cluster
from tests.fixtures.record import DEMAND_DRIVER

pytestmark = pytest.mark.cluster


def kinds(snap: Snapshot) -> list[str]:
    """The feed's kinds, oldest first."""
    return [event.kind for event in reversed(snap.autoscaler_feed)]


async def until(pilot, what: str, ok: Callable[[Snapshot], bool], timeout: float) -> Snapshot:
    """Wait until the app's latest snapshot satisfies `ok`; else fail with the feed and the
    last `ray status` text."""
    app = pilot.app
    deadline = time.monotonic() + timeout
    while True:
        snap = app.snapshot
        if snap is not None and ok(snap):
            return snap
        if time.monotonic() > deadline:
            feed = [(e.kind, e.text) for e in reversed(snap.autoscaler_feed)] if snap else None
            raise AssertionError(
                f"not {what} after {timeout:.0f} s\nfeed (oldest first): {feed}\n"
                f"errors: {snap.errors if snap else None}\n"
                f"ray status:\n{snap.autoscaler.raw_text if snap else ''}"
            )
        await pilot.pause(0.3)


def before(order: list[str], *sequence: str) -> bool:
    """`sequence` appears in `order` in this order (not necessarily next to each other)."""
    at = -1
    for kind in sequence:
        try:
            at = order.index(kind, at + 1)
        except ValueError:
            return False
    return True


async def test_demand_launch_met_and_idle_termination_in_the_feed(tmp_path):
    driver = tmp_path / "demand.py"
    driver.write_text(DEMAND_DRIVER)
    head = start_fake_cluster()
    try:
        app = make_app(Settings(refresh=0.5), address=head.dashboard_url)
        async with (
            DashboardClient(head.dashboard_url, discover=False) as client,
            app.run_test(size=(120, 40)) as pilot,
        ):
            await pilot.press("4")
            await until(pilot, "reporting", lambda s: s.autoscaler.available, 90)
            release = tmp_path / "release"
            await client.submit_job(f"{sys.executable} {driver} {release}")

            snap = await until(
                pilot,
                "showing the demand met by a launched node",
                lambda s: before(kinds(s), "demand appeared", "node launched", "demand met"),
                120,
            )
            feed = snap.autoscaler_feed
            appeared = [e for e in feed if e.kind == "demand appeared"]
            launched = [e for e in feed if e.kind == "node launched"]
            assert [e.text for e in appeared] == ["{'CPU': 1.0}: 1+ pending tasks/actors"]
            assert [e.text for e in launched] == [f"1 {WORKER_TYPE} launching"]
            assert launched[0].source == "ray" and appeared[0].source == "report"
            # on this machine's clock (the head is on it): within the test's minutes
            assert all(abs(e.at - time.time()) < 600 for e in feed), feed

            release.touch()
            snap = await until(
                pilot,
                f"showing the idle {WORKER_TYPE} removed",
                lambda s: "node idle-terminated" in kinds(s),
                90,
            )
            order = kinds(snap)
            assert before(order, "demand appeared", "node launched", "demand met")
            assert before(order, "node launched", "node idle-terminated")
            for kind in ("demand appeared", "node launched", "demand met", "node idle-terminated"):
                assert order.count(kind) == 1, order  # each once, however many polls saw it
            removed = next(e for e in snap.autoscaler_feed if e.kind == "node idle-terminated")
            assert removed.text == f"1 {WORKER_TYPE} removed (idle)"
            assert "autoscaler_feed" not in snap.errors

            # the pane shows it, newest first; and a pane switch keeps it
            await pilot.press("1")
            await pilot.pause(1.0)
            await pilot.press("4")
            await pilot.pause(0.5)
            table = app.query_one("#autoscaler-feed", KeyedTable)
            shown = table.rows_text()
            shown_kinds = [row[1] for row in shown]
            assert before(
                list(reversed(shown_kinds)),
                "demand appeared",
                "node launched",
                "demand met",
                "node idle-terminated",
            ), shown
            assert shown[0][0].count(":") == 2  # HH:MM:SS
            assert app.focused is table  # up/down/page keys scroll it
    finally:
        head.stop()
