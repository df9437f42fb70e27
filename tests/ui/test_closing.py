"""The app closing while results still come (recorded answers; no cluster)."""

from __future__ import annotations

from raycockpit.cockpit.config import Settings
from raycockpit.screens.app import make_app
from raycockpit.screens.clusters import ClustersPane
from raycockpit.screens.messages import ClustersLoaded
from tests.ui.replay import replay_client


async def test_a_result_that_comes_as_the_app_closes_is_dropped_not_a_traceback():
    """Textual takes a closing app's widgets down children first: a late listing (seen in CI:
    the Clusters pane's; a job tail's state) found its widget gone and the app ended with a
    traceback. Simulated exactly: the widget removed, the app exiting, the result arriving."""
    app = make_app(Settings(refresh=3600), client=replay_client())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.3)
        await app.query_one(ClustersPane).query_one("#clusters-help").remove()
        app.post_message(ClustersLoaded([], ["/nowhere"]))  # not closing: the error stands
        await pilot.pause(0.3)
        assert app._exception is not None
        app._exception = None  # (what run_test would raise at the end)
    app = make_app(Settings(refresh=3600), client=replay_client())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.3)
        await app.query_one(ClustersPane).query_one("#clusters-help").remove()
        app._exit = True  # what app.exit() sets first, as q and a hangup do
        app.post_message(ClustersLoaded([], ["/nowhere"]))
        await pilot.pause(0.3)
        assert app._exception is None
