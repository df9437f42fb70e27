"""Faults of a real (loopback) dashboard, driven through the real app with keys only.

The replayer (benchmarks/replay.py) answers like a Ray 2.60 dashboard over real HTTP; one section
at a time misbehaves: a 500 with a Python traceback, HTML instead of JSON, JSON cut in half, an
empty body, a hang (longer than the request timeout), wrong types in the fields. Each is ONE
readable line in the pane of that section (no traceback, no HTML tags), the last good rows stay,
the other sections keep updating, the line goes when the fault does. A dashboard that restarts
with a new session is noticed, with no duplicated rows; with every answer 5 s late the keys still
act at once.
"""

from __future__ import annotations

import itertools
import re

import httpx
import pytest
from textual.widgets import ContentSwitcher, Static

from benchmarks.replay import ReplayServer
from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.config import Settings
from raycockpit.screens.app import make_app
from raycockpit.screens.base import Pane
from tests.ui.helpers import screen_text, wait_for

SIZE = (120, 40)
NODES, GPUS, JOBS = 12, 2, 300
TIMEOUT_S = 2.0  # the request timeout: a hang becomes a timeout quickly
# what the stale line of each fault says (besides the section and the age)
SAYS = {
    "http500": "failed (HTTP 500): ray.exceptions.RpcError",
    "html": "did not return JSON: an HTML page: Ray Dashboard",
    "truncated": "did not return JSON: JSON that is cut short or malformed",
    "empty": "did not return JSON",
    "hang": "in time",
}
WHAT = {"nodes": "GET /nodes", "jobs": "GET /api/jobs/"}
WRONG_TYPES_WHAT = {"nodes": "node summary", "jobs": "jobs"}
WRONG_TYPES_SAYS = {
    "nodes": "expected data.summary to be a list",
    "jobs": "none of the 1 item is a job (submission_id, job_id and status must be text)",
}
EXCEPTION_NAME = re.compile(r"\b[A-Z]\w*(Error|Exception)\b")
_submitted = itertools.count(1)


@pytest.fixture(scope="module")
def server():
    replay = ReplayServer(nodes=NODES, gpus=GPUS, jobs=JOBS, dead_fraction=0.0)
    replay.start()
    try:
        yield replay
    finally:
        replay.stop()


@pytest.fixture(autouse=True)
def healthy(server):
    """Every test starts and ends with a dashboard that answers at once and correctly."""
    server.set_fault("all", None)
    server.set_delay(0)
    yield
    server.set_fault("all", None)
    server.set_delay(0)


def _app(server: ReplayServer, timeout: float = TIMEOUT_S):
    client = DashboardClient(server.url, discover=False, timeout=timeout)
    return make_app(Settings(refresh=0.5, request_timeout=timeout), client=client)


def pane(app, name: str) -> Pane:
    return app.query_one(f"#{name}", Pane)


def stale_text(app, name: str) -> str:
    """The stale lines a pane shows ("" while it shows none)."""
    line = pane(app, name).query_one(".stale", Static)
    return screen_text(line) if line.has_class("-visible") else ""


def keys(app, name: str) -> list[str]:
    return app.query_one(f"#{name}-table").visible_keys


async def submit(server: ReplayServer) -> str:
    """A new job, submitted to the dashboard the way `ray job submit` does."""
    submission_id = f"raysubmit_faulttest{next(_submitted):04d}"
    async with httpx.AsyncClient(base_url=server.url) as http:
        answer = await http.post(
            "/api/jobs/", json={"entrypoint": "echo hi", "submission_id": submission_id}
        )
    answer.raise_for_status()
    return submission_id


def assert_readable(text: str, section: str, kind: str) -> None:
    """One line that says which request failed and how; no traceback, no HTML, no raw JSON
    (wrong types are shown as the values that came, e.g. `summary: {'a': 1}`)."""
    assert text.count("\n") == 0, text
    assert text.startswith(f"stale {section} (last good "), text
    what = WRONG_TYPES_WHAT[section] if kind == "wrong_types" else WHAT[section]
    says = WRONG_TYPES_SAYS[section] if kind == "wrong_types" else SAYS[kind]
    assert what in text and says in text, text
    for noise in ("Traceback", 'File "', "<", ">", '{"', "\\n"):
        assert noise not in text, (noise, text)


def assert_no_error_toasts(app) -> None:
    for note in app._notifications:
        assert note.severity != "error", note.message
        assert not EXCEPTION_NAME.search(note.message), note.message


async def show(pilot, name: str) -> None:
    await pilot.press(str([n for n, _ in pilot.app.pane_titles()].index(name) + 1))
    assert pilot.app.query_one(ContentSwitcher).current == name


async def test_each_fault_is_one_line_while_the_rest_stays_live(server):
    node_ids = server.node_ids()
    app = _app(server)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "nodes")
        await wait_for(
            pilot,
            lambda: len(keys(app, "nodes")) == NODES and app.snapshot.jobs,
            what="the first snapshot",
        )
        assert keys(app, "nodes") == node_ids and stale_text(app, "nodes") == ""

        async def fault(section: str, kind: str, live: str) -> None:
            """`section` fails with `kind`: its pane keeps its rows under one stale line, the
            pane of `live` still updates, and clearing the fault clears the line."""
            rows = keys(app, section)
            server.set_fault(section, kind)
            job = await submit(server) if live == "jobs" else ""
            nodes_at = app.snapshot.updated_at["nodes"]
            await wait_for(
                pilot,
                lambda: stale_text(app, section),
                timeout=TIMEOUT_S + 10,
                what=f"{section} {kind}: the stale line",
            )
            assert_readable(stale_text(app, section), section, kind)
            assert keys(app, section) == rows, f"{section} {kind}: rows lost"
            # a hang too: /api/version answers, so the dashboard is there and only a section is
            # stale (no banner, no backoff)
            assert not app.query_one("#banner").has_class("-visible"), f"{section} {kind}"

            await show(pilot, live)
            if live == "jobs":  # the job submitted meanwhile is shown
                await wait_for(
                    pilot, lambda: job in keys(app, "jobs"), what=f"{kind}: the new job shown"
                )
            else:  # the nodes are fetched again (their CPU and GPU use move with every answer)
                await wait_for(
                    pilot,
                    lambda: app.snapshot.updated_at["nodes"] > nodes_at,
                    what=f"{kind}: fresh nodes",
                )
                assert keys(app, "nodes") == node_ids
            assert stale_text(app, live) == "", f"{section} {kind}"
            assert app.snapshot.connected
            server.set_fault(section, None)

            await show(pilot, section)
            await wait_for(
                pilot,
                lambda: stale_text(app, section) == "",
                timeout=TIMEOUT_S + 10,
                what=f"{section} {kind}: the stale line to go",
            )
            assert keys(app, section) == (node_ids if section == "nodes" else rows)
            assert_no_error_toasts(app)

        for kind in ("http500", "html", "truncated", "empty", "hang", "wrong_types"):
            await fault("nodes", kind, live="jobs")

        await show(pilot, "jobs")
        await fault("jobs", "http500", live="nodes")

        # Wrong types in the job list's fields (ids and status as numbers and lists): not one
        # job in it, so the list is stale under one line, never a row of junk
        await fault("jobs", "wrong_types", live="nodes")


async def test_keys_act_at_once_while_every_answer_is_5_s_late(server):
    app = _app(server, timeout=10.0)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot and app.snapshot.jobs, what="first snapshot")
        server.set_delay(5)
        asked = sum(server.requests.values())
        await pilot.press("r")
        await wait_for(
            pilot, lambda: sum(server.requests.values()) > asked, what="a poll to be asked"
        )
        await pilot.pause(0.3)  # any poll asked before the delay has answered by now
        pending = app.snapshot  # and the next one waits 5 s for its answers
        switcher = app.query_one(ContentSwitcher)
        for key, name in (("2", "nodes"), ("5", "jobs")):
            await pilot.press(key)
            assert switcher.current == name and app.current_pane == name
            assert app.snapshot is pending, f"{key}: pressed while a poll is pending"
        assert keys(app, "jobs") == [job.key for job in pending.jobs]


async def test_a_restart_with_a_new_session_is_noticed_without_duplicates(server):
    app = _app(server)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "jobs")
        await wait_for(
            pilot,
            lambda: sorted(keys(app, "jobs")) == sorted(server.job_ids()),
            what="the jobs",
        )
        old_session = app.snapshot.info.session_name
        old_nodes = set(server.node_ids("ALIVE"))
        running = set(server.job_ids("RUNNING"))
        assert running

        server.restart_session()
        new_nodes = set(server.node_ids("ALIVE"))
        assert not old_nodes & new_nodes
        await wait_for(
            pilot,
            lambda: app.snapshot.info.session_changes == 1,
            timeout=15,
            what="the restart noticed",
        )
        messages = [note.message for note in app._notifications]
        assert any("restarted" in m and app.snapshot.info.session_name in m for m in messages)
        assert app.snapshot.info.session_name != old_session

        expected = server.job_ids()
        await wait_for(
            pilot, lambda: sorted(keys(app, "jobs")) == sorted(expected), what="the new jobs"
        )
        shown = keys(app, "jobs")
        assert len(shown) == len(set(shown)) == len(expected)
        status = {row[0]: row[1] for row in app.query_one("#jobs-table").rows_text()}
        assert all(status[job] == "FAILED" for job in running)  # how they ended

        await show(pilot, "nodes")
        await wait_for(pilot, lambda: new_nodes <= set(keys(app, "nodes")), what="the new node ids")
        shown = keys(app, "nodes")
        assert len(shown) == len(set(shown)) and set(shown) <= new_nodes | old_nodes
        rows = app.query_one("#nodes-table").rows_text()
        states = {key: row[3] for key, row in zip(shown, rows, strict=True)}
        assert all(states[node] == "DEAD" for node in old_nodes & set(shown))
        assert all(states[node] != "DEAD" for node in new_nodes)
        assert stale_text(app, "nodes") == ""
        assert_no_error_toasts(app)
