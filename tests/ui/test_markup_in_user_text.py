"""Text the user wrote (an entrypoint, a typed value, a path) is shown as written: Textual reads
`[...]` in a plain string as markup, so `echo [/]` raised MarkupError in the stop confirmation
and `[bold]x` lost its brackets."""

from __future__ import annotations

from textual.app import App
from textual.widgets import Static

from raycockpit.cockpit.config import Settings
from raycockpit.screens.app import make_app
from raycockpit.screens.dialogs import ConfirmScreen, ScaleScreen
from raycockpit.screens.key_order import KeysInOrderApp
from tests.ui.helpers import rendered_text, wait_for
from tests.ui.replay import replay_client

ENTRYPOINT = "python run.py --tags [a,b] [bold]x[/] [/] $[HOME]"


class Host(KeysInOrderApp):
    answer: object = "unset"


async def test_the_stop_confirmation_shows_an_entrypoint_with_brackets_as_written():
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        app.push_screen(
            ConfirmScreen("Stop job [x]?", ENTRYPOINT, "Stop"),
            lambda yes: setattr(app, "answer", yes),
        )
        await wait_for(pilot, lambda: app.screen.query("#confirm-detail"), what="the dialog")
        detail = app.screen.query_one("#confirm-detail", Static)
        question = app.screen.query_one("#confirm-question", Static)
        assert rendered_text(detail, 100) == ENTRYPOINT
        assert rendered_text(question, 100) == "Stop job [x]?"
        await pilot.press("y")
        await wait_for(pilot, lambda: app.answer is True, what="the answer")


async def test_the_scale_dialog_quotes_a_bad_value_with_brackets():
    app: App = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        app.push_screen(ScaleScreen("app", "dep", 1))
        await wait_for(pilot, lambda: app.screen.query("#scale-error"), what="the dialog")
        await pilot.press("ctrl+u", *"[/]", "enter")
        error = app.screen.query_one("#scale-error", Static)
        await wait_for(pilot, lambda: "not '[/]'" in rendered_text(error, 100), what="the error")


async def test_notifications_are_plain_text():
    """A log search for `[/]` that matches nothing says so (it raised MarkupError)."""
    app = make_app(Settings(refresh=3600), client=replay_client())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        for text in ("no match for '[/]'", "no match for '[ERROR]'", ENTRYPOINT):
            app.screen.notify(text)  # a widget's notify passes markup=True
        await pilot.pause(0.3)
        shown = [n.message for n in app._notifications]
        assert shown[-3:] == ["no match for '[/]'", "no match for '[ERROR]'", ENTRYPOINT]
        assert all(not n.markup for n in app._notifications)


async def test_textuals_own_notifications_are_said_plainly(tmp_path, monkeypatch):
    """ctrl+c showed 'Press [b]ctrl+q[/b] to quit the app' (Textual's markup in a notification
    the cockpit keeps plain); the palette's Screenshot went to ~/Downloads (missing on a head's
    login: 'Failed to save screenshot', no reason)."""
    monkeypatch.chdir(tmp_path)
    app = make_app(Settings(refresh=3600), client=replay_client())
    async with app.run_test(size=(100, 30)) as pilot:

        def said(text: str) -> bool:
            return any(text in n.message for n in app._notifications)

        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: said("Press ^q or q to quit"), what="how to quit")
        assert not any("[b]" in n.message for n in app._notifications)
        assert app.is_running

        app.deliver_screenshot()
        await wait_for(pilot, lambda: said(f"Saved screenshot to {tmp_path}"), what="saved")
        assert len(list(tmp_path.glob("raycockpit_*.svg"))) == 1

        app.deliver_screenshot(path=str(tmp_path / "missing"))
        await wait_for(pilot, lambda: said("Screenshot not saved: [Errno 2]"), what="why not")
