"""The real app against the real local Ray head, driven with keys only."""

from __future__ import annotations

import sys

import pytest

from raycockpit.cockpit.config import Settings
from raycockpit.cockpit.local import free_port
from raycockpit.screens.app import make_app
from raycockpit.screens.job import JobScreen
from raycockpit.screens.keys import KeysScreen
from raycockpit.screens.node_detail import NodeDetailScreen
from raycockpit.screens.node_logs import LogFileScreen, NodeLogsScreen
from raycockpit.screens.widgets.keyed_table import KeyedTable
from raycockpit.screens.widgets.log_view import LogView
from tests.ui.helpers import rendered_text, table_rows, wait_for

pytestmark = pytest.mark.cluster
SIZE = (120, 36)


def _app(url: str):
    return make_app(Settings(refresh=0.5), address=url)


async def test_every_pane_by_keys_and_command_bar(ray_head):
    app = _app(ray_head.dashboard_url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot, lambda: app.snapshot is not None and app.snapshot.nodes, what="first snapshot"
        )
        for key, pane in (
            ("2", "nodes"),
            ("3", "gpus"),
            ("4", "autoscaler"),
            ("5", "jobs"),
            ("1", "overview"),
        ):
            await pilot.press(key)
            assert app.current_pane == pane
        for command in ("nodes", "gpus", "jobs", "autoscaler", "overview"):
            await pilot.press("colon", *command, "enter")
            assert app.current_pane == command, command
        await pilot.press("colon", *"bogus", "enter")
        assert app.current_pane == "overview"  # an unknown command only says so
        await pilot.press("question_mark")
        assert isinstance(app.screen, KeysScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, KeysScreen)


async def test_nodes_filter_sort_and_detail(ray_head):
    app = _app(ray_head.dashboard_url)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        table = app.query_one("#nodes-table")
        await wait_for(pilot, lambda: table.row_count == 1, what="the head in the nodes table")
        assert table_rows(table)[0][1] == "127.0.0.1"
        await pilot.press("slash", *"no-such-host")
        await wait_for(pilot, lambda: table.row_count == 0, what="filter to hide the head")
        await pilot.press("escape")
        await wait_for(pilot, lambda: table.row_count == 1, what="filter cleared")
        await pilot.press("slash", *"127.0", "enter")
        assert table.row_count == 1
        assert table.sort_column is None  # the poller's order: head first
        await pilot.press("s")
        assert table.sort_column == 0
        assert "Host ▲" in "".join(c.plain for c in table._header_cells())
        await pilot.press("S")
        assert table.sort_reverse
        table.focus()
        await pilot.press("enter")
        assert isinstance(app.screen, NodeDetailScreen)
        assert app.screen.node.is_head
        detail = app.screen
        await wait_for(
            pilot, lambda: detail.work is not None, timeout=40, what="the node's tasks listed"
        )
        assert detail.work_error == ""
        assert detail.work.node_id == detail.node.node_id

        await pilot.press("l")  # its log files, then raylet.out followed
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, NodeLogsScreen) and app.screen.is_mounted,
            what="the files",
        )
        files = app.screen.query_one(KeyedTable)
        names = {row[1]: row[0] for row in table_rows(files)}
        assert names.get("raylet.out") == "raylet" and names.get("gcs_server.out"), names
        assert not any(name.endswith("/") for name in names)  # folders are not files
        await pilot.press("slash", *"raylet.out", "enter")
        assert [row[1] for row in table_rows(files)] == ["raylet.out"]
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, LogFileScreen) and app.screen.is_mounted,
            what="raylet.out",
        )
        log = app.screen.query_one(LogView)
        await wait_for(
            pilot, lambda: any("(raylet)" in line for line in log.lines), what="raylet's lines"
        )
        assert log.source_status == "live"
        await pilot.press("escape")
        assert isinstance(app.screen, NodeLogsScreen)
        await wait_for(
            pilot,
            lambda: (
                not app._stream_workers
                and not [w for w in app.workers if w.group == "logstream" and not w.is_finished]
            ),
            what="the file's follower stopped",
        )
        await pilot.press("escape")
        assert app.screen is detail
        await pilot.press("escape")
        assert not isinstance(app.screen, NodeDetailScreen)


async def test_tiny_job_appears_with_final_status_and_log(ray_head, client):
    code = (
        "import ray; ray.init(); "
        "print('squares', sum(ray.get([ray.remote(lambda x: x * x).remote(i) for i in range(10)])))"
    )
    job_id = await client.submit_job(
        f'{sys.executable} -c "{code}"', metadata={"from": "pilot-test"}
    )
    app = _app(ray_head.dashboard_url)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        table = app.query_one("#jobs-table")

        def status() -> str | None:
            for row in table_rows(table):
                if row[0] == job_id:
                    return row[1]
            return None

        await wait_for(pilot, lambda: status() is not None, what="the job in the table")
        await wait_for(
            pilot, lambda: status() in {"SUCCEEDED", "FAILED"}, timeout=120, what="the job to end"
        )
        assert status() == "SUCCEEDED"
        await pilot.press("slash", *job_id, "enter")
        assert [r[0] for r in table_rows(table)] == [job_id]
        table.focus()
        await pilot.press("enter")
        assert isinstance(app.screen, JobScreen)
        log = app.screen.query_one("#job-log")
        await wait_for(
            pilot, lambda: any("squares 285" in line for line in log.lines), what="the driver log"
        )
        screen = app.screen
        await wait_for(
            pilot, lambda: screen.tail.state == "ended", what="the tail to end with the job"
        )
        # it printed no metric: the panel says so, not "waiting for the first metric"
        empty = screen.query_one("#metrics-wait")
        assert rendered_text(empty).startswith("no metrics: the job succeeded without any")
        await pilot.press("escape")


async def test_pause_and_refresh(ray_head):
    app = _app(ray_head.dashboard_url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, what="first snapshot")
        await pilot.press("p")
        assert app.poller.paused
        fetched = app.snapshot.fetched_at
        await pilot.pause(1.5)
        assert app.snapshot.fetched_at == fetched  # nothing polled while paused
        await pilot.press("p")
        await wait_for(pilot, lambda: app.snapshot.fetched_at > fetched, what="polling to resume")
        await pilot.press("p", "r")  # paused again; r asks once...
        assert app.poller.paused


async def test_dashboard_down_shows_banner_not_a_crash():
    app = make_app(
        Settings(refresh=0.5, request_timeout=1.0), address=f"http://127.0.0.1:{free_port()}"
    )
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot,
            lambda: app.snapshot is not None and not app.snapshot.connected,
            what="a failed poll",
        )
        banner = app.query_one("#banner")
        assert banner.has_class("-visible")
        text = str(banner.render())
        assert "cannot reach" in text and "retrying" in text and "Traceback" not in text
        for key in ("2", "3", "4", "5", "1"):
            await pilot.press(key)  # every pane renders an empty, stale snapshot
        assert app.poller.current_interval > 0.5  # backing off
