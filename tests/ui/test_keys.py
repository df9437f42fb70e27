"""Keys remapped from the settings file, and the keys list (recorded answers; no cluster)."""

from __future__ import annotations

from cockpit.app import make_app
from cockpit.config import Settings
from screens.keys import KeysScreen
from tests.ui.helpers import rendered_text
from tests.ui.replay import replay_client


async def test_keys_remapped_by_binding_id():
    app = make_app(Settings(refresh=3600, keys={"pane.jobs": "j", "app.keys": "f1"}), client=replay_client())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("5")  # the old key no longer switches
        assert app.current_pane == "overview"
        await pilot.press("j")
        assert app.current_pane == "jobs"
        await pilot.press("f1")
        assert isinstance(app.screen, KeysScreen)


async def test_keys_list_names_every_pane_and_the_current_panes_keys():
    app = make_app(Settings(refresh=3600), client=replay_client())
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("2", "question_mark")
        assert isinstance(app.screen, KeysScreen)
        text = rendered_text(app.screen.query_one("Static"))
        for words in ("Overview", "Nodes", "GPUs", "Autoscaler", "Jobs", "Serve", "Launch", "Nodes pane", "Filter", "Sort"):
            assert words in text, words
