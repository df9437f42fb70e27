"""The Actors pane (key 0) in the real app against the real head: after the core workload ran
with its smallest values, its actor is listed by class with its death cause and its tasks by
function; `/` filters both tables, `s` sorts, Enter opens the actor's screen; the section is
asked for only while the pane is shown."""

from __future__ import annotations

import pytest

from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.config import Settings
from raycockpit.screens.actor import ActorScreen
from raycockpit.screens.app import make_app
from tests.cluster.test_actors_state import CORE_MIN, entrypoint, run_jobs
from tests.ui.helpers import rendered_text, table_rows, wait_for

pytestmark = pytest.mark.cluster
SIZE = (120, 36)


@pytest.fixture(scope="module")
async def core_ran(ray_head):
    async with DashboardClient(ray_head.dashboard_url, discover=False) as client:
        await run_jobs(client, {"core": entrypoint("core", CORE_MIN)}, timeout=120.0)
    return ray_head


async def test_actors_pane_lists_core_actors_and_tasks(core_ran):
    app = make_app(Settings(refresh=0.5), address=core_ran.dashboard_url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, what="first snapshot")
        assert "actors" not in app.poller.wanted and not app.snapshot.actors.fetched
        await pilot.press("0")
        assert app.current_pane == "actors" and "actors" in app.poller.wanted
        actors = app.query_one("#actors-table")
        summary = app.query_one("#actors-summary")

        def classes() -> set[str]:
            return {row[0] for row in table_rows(actors)}

        await wait_for(pilot, lambda: "Accumulator" in classes(), what="core's actor listed")
        row = next(r for r in table_rows(actors) if r[0] == "Accumulator")
        assert row[1] == "DEAD" and row[5], row  # the death cause Ray gives
        await wait_for(
            pilot,
            lambda: {"slice_stats", "monte_carlo_pi"} <= {r[0] for r in table_rows(summary)},
            what="core's tasks in the summary",
        )
        heading = rendered_text(app.query_one("#actors-heading"))
        assert heading.startswith("Actors ") and "listed of" not in heading, heading

        await pilot.press("slash", *"monte_carlo")
        await wait_for(
            pilot,
            lambda: (
                [r[0] for r in table_rows(summary)] == ["monte_carlo_pi"]
                and table_rows(actors) == []
            ),
            what="the filter on both tables",
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: "Accumulator" in classes(), what="the filter cleared")

        actors.focus()
        await pilot.press("s")  # the first column: by class
        shown = [r[0] for r in table_rows(actors)]
        assert actors.sort_column == 0 and shown == sorted(shown, key=str.lower), shown

        await pilot.press("home", "enter")  # the actor's screen (tests/ui/test_actor_screen.py)
        await wait_for(pilot, lambda: isinstance(app.screen, ActorScreen), what="actor screen")
        assert app.screen.actor_id == actors.selected_key
        await pilot.press("escape")

        await pilot.press("2")  # another pane: the actors are no longer asked for
        assert "actors" not in app.poller.wanted
