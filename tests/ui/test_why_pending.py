"""Why pending? in the app, against the real head: a job asking for more CPUs than the head has
shows its short reason in its Jobs row, the reason on the job screen's head line, and reason,
fix and evidence in the job's detail (`i`)."""

from __future__ import annotations

import pytest

from raycockpit.cockpit.config import Settings
from raycockpit.cockpit.errors import CockpitError
from raycockpit.screens.app import make_app
from raycockpit.screens.job import JobScreen
from tests.ui.helpers import rendered_text, table_rows, wait_for

pytestmark = pytest.mark.cluster
SIZE = (160, 40)


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
            await pilot.press("escape")
    finally:
        try:
            await client.stop_job(job_id)
        except CockpitError:
            pass
