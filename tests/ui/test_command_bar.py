"""The `:` command bar on recorded answers: commands and their aliases show panes, a mistyped
one is one line with the nearest command."""

from __future__ import annotations

from raycockpit.cockpit.config import Settings
from raycockpit.screens.app import make_app
from raycockpit.screens.keys import KeysScreen
from tests.ui.helpers import wait_for
from tests.ui.replay import replay_client


def notes(app) -> list[str]:
    return [n.message for n in app._notifications]


async def test_commands_aliases_and_a_mistyped_command():
    app = make_app(Settings(refresh=3600), client=replay_client())
    async with app.run_test(size=(110, 32)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, what="the first snapshot")
        for typed, pane in (("nodes", "nodes"), ("gpu", "gpus"), ("as", "autoscaler")):
            await pilot.press("colon", *typed, "enter")
            assert app.current_pane == pane, typed
        await pilot.press("colon", *"jbos", "enter")
        assert app.current_pane == "autoscaler"  # only said
        assert notes(app)[-1] == "unknown command ':jbos'; did you mean :jobs?"
        await pilot.press("colon", *"thme nord", "enter")
        assert notes(app)[-1] == "unknown command ':thme'; did you mean :theme?"
        await pilot.press("colon", *"xyzzy", "enter")
        assert notes(app)[-1].startswith("unknown command ':xyzzy'; try :overview :nodes :gpus")
        await pilot.press("colon", *"keys", "enter")
        assert isinstance(app.screen, KeysScreen)
        await pilot.press("escape")
        await pilot.press("colon", *"jobs", "enter")
        assert app.current_pane == "jobs"
