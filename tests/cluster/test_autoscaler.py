"""A real autoscaler: the fake_multinode head (tests/cluster/fake_cluster.py) launches a worker
node for a job's CPU demand and removes it when idle, as seen through the real Poller and on the
app's Autoscaler pane (the real app, running against the same head, keys only), whose decision
feed says "demand appeared", then "node launched", then "demand met", then the idle worker's
"node idle-terminated", each once, kept across a pane switch; then the head is stopped while a
second worker node runs, and nothing of it is left. (One fake head and one scale-up cycle for
both: each costs a minute or two on a loaded 2-core box.)

The second job starts (its driver connected) while the first worker idles out, and asks for its
task once that worker is gone: the second scale-up waits for no job start-up."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.config import Settings
from raycockpit.cockpit.local import process_tree, still_running
from raycockpit.cockpit.models import Snapshot
from raycockpit.cockpit.poller import Poller
from raycockpit.screens.app import make_app
from raycockpit.screens.widgets.keyed_table import KeyedTable
from tests.cluster.fake_cluster import WORKER_TYPE, start_fake_cluster
from tests.fixtures.record import DEMAND_DRIVER
from tests.ui.helpers import rendered_text

pytestmark = pytest.mark.cluster


def workers_alive(snap: Snapshot) -> list:
    return [n for n in snap.alive_nodes if not n.is_head]


def worker_listed(snap: Snapshot) -> bool:
    auto = snap.autoscaler
    return any(t == WORKER_TYPE for t, _ in auto.active + auto.idle)


async def wait_for(
    poller: Poller, what: str, ok: Callable[[Snapshot], bool], timeout: float
) -> Snapshot:
    """Poll until `ok(snapshot)`; on timeout fail with the raw `ray status` text and the nodes."""
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        snap = await poller.poll_once()
        if snap.autoscaler.raw_text and (not seen or seen[-1] != snap.autoscaler.raw_text):
            seen.append(snap.autoscaler.raw_text)
        if ok(snap):
            return snap
        if time.monotonic() > deadline:
            nodes = [(n.node_id[-5:], n.node_type, n.state) for n in snap.nodes]
            raise AssertionError(
                f"autoscaler: not {what} after {timeout:.0f} s\nerrors: {snap.errors}\n"
                f"nodes: {nodes}\n"
                "ray status texts seen (last 3):\n" + "\n-----\n".join(seen[-3:])
            )
        await asyncio.sleep(0.3)


async def pane_shows(pilot, what: str, ok: Callable[[str], bool], timeout: float = 30) -> str:
    """Wait until the Autoscaler pane's text satisfies `ok`."""
    view = pilot.app.query_one("#autoscaler-view")
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = rendered_text(view)
        if ok(text):
            return text
        await pilot.pause(0.3)
    raise AssertionError(f"the Autoscaler pane does not show {what} after {timeout:.0f} s:\n{text}")


def pane_rows(text: str, state: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith(state)]


def kinds(snap: Snapshot) -> list[str]:
    """The feed's kinds, oldest first."""
    return [event.kind for event in reversed(snap.autoscaler_feed)]


def before(order: list[str], *sequence: str) -> bool:
    """`sequence` appears in `order` in this order (not necessarily next to each other)."""
    at = -1
    for kind in sequence:
        try:
            at = order.index(kind, at + 1)
        except ValueError:
            return False
    return True


async def feed_shows(pilot, what: str, ok: Callable[[Snapshot], bool], timeout: float) -> Snapshot:
    """Wait until the app's own latest snapshot satisfies `ok`; else fail with its feed."""
    app = pilot.app
    deadline = time.monotonic() + timeout
    while True:
        snap = app.snapshot
        if snap is not None and ok(snap):
            return snap
        if time.monotonic() > deadline:
            feed = [(e.kind, e.text) for e in reversed(snap.autoscaler_feed)] if snap else None
            raise AssertionError(
                f"the app's feed: not {what} after {timeout:.0f} s\nfeed (oldest first): {feed}\n"
                f"errors: {snap.errors if snap else None}"
            )
        await pilot.pause(0.3)


async def check_the_feed(pilot) -> None:
    """The app's decision feed over the cycle so far: demand appeared, node launched, demand met,
    node idle-terminated, each once; on the Autoscaler pane newest first, kept across a switch."""
    app = pilot.app
    snap = await feed_shows(
        pilot,
        f"showing the idle {WORKER_TYPE} removed",
        lambda s: "node idle-terminated" in kinds(s),
        90,
    )
    feed = snap.autoscaler_feed
    appeared = [e for e in feed if e.kind == "demand appeared"]
    launched = [e for e in feed if e.kind == "node launched"]
    assert [e.text for e in appeared] == ["{'CPU': 1.0}: 1+ pending tasks/actors"]
    assert [e.text for e in launched] == [f"1 {WORKER_TYPE} launching"]
    assert launched[0].source == "ray" and appeared[0].source == "report"
    # on this machine's clock (the head is on it): within the test's minutes
    assert all(abs(e.at - time.time()) < 600 for e in feed), feed
    order = kinds(snap)
    assert before(order, "demand appeared", "node launched", "demand met")
    assert before(order, "node launched", "node idle-terminated")
    for kind in ("demand appeared", "node launched", "demand met", "node idle-terminated"):
        assert order.count(kind) == 1, order  # each once, however many polls saw it
    removed = next(e for e in feed if e.kind == "node idle-terminated")
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


def raylets(tree: dict[int, int]) -> list[int]:
    return [p for p in tree if cmdline(p).split(" ")[0].endswith("/raylet")]


def cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


async def test_worker_node_launched_active_then_removed_when_idle(tmp_path):
    driver = tmp_path / "demand.py"
    driver.write_text(DEMAND_DRIVER)
    head = start_fake_cluster(temp_dir=None)
    tree: dict[int, int] = {}
    try:
        app = make_app(Settings(refresh=0.5), address=head.dashboard_url)
        async with (
            DashboardClient(head.dashboard_url, discover=False) as client,
            app.run_test(size=(120, 36)) as pilot,
        ):
            await pilot.press("4")
            assert app.current_pane == "autoscaler"
            poller = Poller(client, interval=1.0)
            snap = await wait_for(poller, "reporting", lambda s: s.autoscaler.available, 60)
            assert snap.autoscaler.active == (("ray.head.default", 1),), snap.autoscaler.raw_text
            assert workers_alive(snap) == [] and snap.autoscaler.pending == ()

            release = tmp_path / "release-1"
            job = await client.submit_job(f"{sys.executable} {driver} {release}")

            # 1. the demand shows, and a cpu_worker is launching or pending
            snap = await wait_for(
                poller,
                f"launching a {WORKER_TYPE}",
                lambda s: any(p.node_type == WORKER_TYPE for p in s.autoscaler.pending),
                60,
            )
            pending = [p for p in snap.autoscaler.pending if p.node_type == WORKER_TYPE]
            assert pending[0].status in {
                "launching",
                "uninitialized",
                "pending",
                "setting-up",
                "waiting-for-ssh",
            }, pending
            assert not worker_listed(snap)
            text = await pane_shows(
                pilot,
                f"a pending {WORKER_TYPE}",
                lambda t: any(WORKER_TYPE in r for r in pane_rows(t, "pending")),
            )
            assert "pending tasks/actors" in text  # the demand that caused it

            # 2. active: in `ray status` and ALIVE in the node table; the task runs there
            snap = await wait_for(
                poller,
                f"showing an active {WORKER_TYPE} node",
                lambda s: worker_listed(s) and len(workers_alive(s)) >= 1,
                90,
            )
            (worker,) = workers_alive(snap)
            assert worker.node_type == WORKER_TYPE and worker.resources_total.get("CPU") == 1.0
            assert snap.autoscaler.pending == (), snap.autoscaler.raw_text
            assert snap.errors == {}, snap.errors
            await pane_shows(
                pilot,
                f"an active {WORKER_TYPE}",
                lambda t: (
                    any(WORKER_TYPE in r for r in pane_rows(t, "active"))
                    and not pane_rows(t, "pending")
                ),
            )

            # 3. the task ends; the idle worker is removed (idle_timeout_minutes: 0.1); the next
            # job's driver starts meanwhile and waits for `go` before it asks for a CPU
            release.touch()
            go = tmp_path / "go-2"
            await client.submit_job(f"{sys.executable} {driver} {tmp_path / 'release-2'} {go}")
            snap = await wait_for(
                poller,
                "done with the job",
                lambda s: any(j.key == job and j.terminal for j in s.jobs),
                60,
            )
            (done,) = [j for j in snap.jobs if j.key == job]
            assert done.status == "SUCCEEDED", done.message
            snap = await wait_for(
                poller,
                f"removing the idle {WORKER_TYPE}",
                lambda s: (
                    not worker_listed(s) and not s.autoscaler.pending and not workers_alive(s)
                ),
                90,
            )
            assert any(n.node_id == worker.node_id and n.state == "DEAD" for n in snap.nodes), (
                snap.nodes
            )
            await pane_shows(
                pilot,
                f"the {WORKER_TYPE} removed",
                lambda t: WORKER_TYPE not in t and "ray.head.default" in t,
            )
            await check_the_feed(pilot)  # (the second job has not asked for its CPU yet)

            # 4. scale up once more, and stop the head while the fake node runs
            go.touch()
            await wait_for(poller, "active again", lambda s: len(workers_alive(s)) >= 1, 90)
            tree = process_tree(head.pid)
            assert len(raylets(tree)) >= 2, "expected the head's raylet and the fake node's raylet"
    finally:
        if head.pid:  # everything the head runs as it is stopped (the new node's agents too)
            tree = {**tree, **process_tree(head.pid)}
        head.stop()
    left = still_running(tree)
    # and by ps: nothing of the head's tree runs; an exited worker may linger a moment as a zombie
    # (<defunct>, state Z) until its parent reaps it: that holds no port, memory or CPU
    listed = subprocess.run(
        ["ps", "-o", "pid=,stat=,args=", "-p", ",".join(map(str, tree))],
        capture_output=True,
        text=True,
    ).stdout
    running = [
        line
        for line in listed.splitlines()
        if line.split()[1:2] and not line.split()[1].startswith("Z")
    ]
    assert not left and not running, f"processes left after stop:\n{listed}"
