"""Why pending? in the app, against the real head: a job asking for more CPUs than the head has
shows its short reason in its Jobs row, the reason on the job screen's head line, and reason,
fix and evidence in the job's detail (`i`); a Serve deployment that cannot get its replicas says
why in its tree line and, under the cursor, in full."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from raycockpit.cockpit.config import Settings
from raycockpit.cockpit.errors import CockpitError
from raycockpit.cockpit.local import free_port
from raycockpit.screens.app import make_app
from raycockpit.screens.job import JobScreen
from raycockpit.screens.serve import ServePane
from tests.ui.helpers import rendered_text, table_rows, wait_for

pytestmark = pytest.mark.cluster
SIZE = (160, 40)
PROGRAMS = Path(__file__).resolve().parents[1] / "cluster" / "why_programs"


async def test_jobs_row_and_job_detail_say_why_a_job_is_pending(ray_head, client):
    job_id = await client.submit_job_body(
        {"entrypoint": "echo never", "entrypoint_num_cpus": 64, "metadata": {"from": "why"}}
    )
    try:
        app = make_app(Settings(refresh=0.5), address=ray_head.dashboard_url)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("5")
            table = app.query_one("#jobs-table")

            def row() -> list[str] | None:
                return next((r for r in table_rows(table) if r[0] == job_id), None)

            await wait_for(
                pilot,
                lambda: row() is not None and row()[-1].startswith("infeasible:"),
                timeout=60,
                what="the short reason in the job's row",
            )
            assert row()[1] == "PENDING"
            assert row()[-1].startswith("infeasible: CPU 64 (largest node: ")
            await pilot.press("slash", *job_id, "enter")
            table.focus()
            await pilot.press("enter")
            assert isinstance(app.screen, JobScreen)
            screen = app.screen
            head = screen.query_one("#job-head")
            await wait_for(
                pilot,
                lambda: "why: infeasible: CPU 64" in rendered_text(head, 160),
                what="the reason on the job screen's head line",
            )
            empty = screen.query_one("#metrics-wait")
            assert rendered_text(empty) == "no metrics yet: the job has not started"
            await pilot.press("i")
            body = screen.query_one("#job-info-body")
            await wait_for(
                pilot,
                lambda: "Why pending" in rendered_text(body, 160),
                what="the answer in the job's detail",
            )
            detail = rendered_text(body, 160)
            assert "no node can ever hold it" in detail and "[infeasible]" in detail
            assert "Fix" in detail and "(entrypoint_num_cpus)" in detail
            assert "Evidence" in detail and "demand: CPU 64" in detail

            # x: the confirmation says a PENDING job stops only once it starts; after y the job
            # stays PENDING (Ray's stop waits for the supervisor actor) and its answer says so
            await pilot.press("x")
            await wait_for(pilot, lambda: app.screen.query("#confirm-detail"), what="the dialog")
            warning = rendered_text(app.screen.query_one("#confirm-detail"), 160)
            assert "Ray delivers a stop to a PENDING job only once it starts" in warning
            await pilot.press("y")
            await wait_for(
                pilot,
                lambda: "why: stop waits for the start; infeasible" in rendered_text(head, 160),
                timeout=30,
                what="the stop that waits, on the job screen's head line",
            )
            assert any("Ray delivers a stop" in n.message for n in app._notifications)
            await pilot.press("escape")
            await wait_for(
                pilot,
                lambda: row() is not None and row()[-1].startswith("stop waits for the start"),
                timeout=30,
                what="the stop that waits, in the job's row",
            )
            assert row()[1] == "PENDING"
    finally:
        try:
            await client.stop_job(job_id)
        except CockpitError:
            pass


async def test_serve_tree_and_detail_say_why_a_deployment_is_not_healthy(ray_head, client):
    """A deployment of CPUs+2 one-CPU replicas: its tree line says it is infeasible, and with
    the cursor on it the detail under the tree gives the reason, the fix and the evidence."""
    cpus = int((await client.node_summary())["summary"][0]["raylet"]["resourcesTotal"]["CPU"])
    program = PROGRAMS / "serve_too_many.py"
    job_id = await client.submit_job(f"{sys.executable} {program} {cpus + 2} {free_port()}")
    try:
        app = make_app(Settings(refresh=0.5), address=ray_head.dashboard_url)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("6")
            pane = app.query_one(ServePane)

            def line() -> str:
                node = pane.tree._by_key.get(("dep", "whytoomany", "TooMany"))
                return "" if node is None else node.label.plain

            await wait_for(
                pilot,
                lambda: "why: infeasible: " in line(),
                timeout=240,
                what="the deployment's short reason in the tree",
            )
            assert f"why: infeasible: {cpus + 2} replicas, room for {cpus}" in line()
            pane.tree.focus()
            pane.tree.cursor_line = 0  # the app
            await pilot.press("down")  # its deployment
            assert pane.tree.cursor_node.data == ("dep", "whytoomany", "TooMany")
            detail = pane.query_one("#serve-detail")
            await wait_for(
                pilot,
                lambda: "fix: set num_replicas" in rendered_text(detail, 160),
                what="the full answer under the tree",
            )
            text = rendered_text(detail, 160)
            assert f"= CPU {cpus + 2}; the cluster holds at most {cpus}" in text
            assert "[infeasible]" in text and "each replica: CPU 1" in text
    finally:
        try:
            await client.stop_job(job_id)
            await client.delete_serve()
        except CockpitError:
            pass
