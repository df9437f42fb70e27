"""Keys remapped from the settings file, and the keys list (recorded answers; no cluster)."""

from __future__ import annotations

from raycockpit.cockpit.config import Settings
from raycockpit.screens.app import make_app
from raycockpit.screens.keys import KeysScreen
from tests.ui.helpers import rendered_text
from tests.ui.replay import replay_client

ACTORS = {  # the Actors pane's answers, recorded from the real head
    "/api/v0/actors?state!=DEAD": "api_v0_actors_detail_live.json",
    "/api/v0/actors?state=DEAD": "api_v0_actors_detail_dead.json",
    "/api/v0/actors/summarize": "api_v0_actors_summarize.json",
    "/api/v0/tasks/summarize": "api_v0_tasks_summarize_actors.json",
}


async def test_keys_remapped_by_binding_id():
    app = make_app(
        Settings(refresh=3600, keys={"pane.jobs": "j", "app.keys": "f1"}), client=replay_client()
    )
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
        for words in (
            "Overview",
            "Nodes",
            "GPUs",
            "Autoscaler",
            "Jobs",
            "Serve",
            "Launch",
            "Nodes pane",
            "Filter",
            "Sort",
        ):
            assert words in text, words


async def test_stop_head_is_confirmed_and_refused_when_readonly(tmp_path, monkeypatch):
    """:stop-head names the kept head and asks first; with --readonly it is refused outright.
    The 'kept head' here is a sleeping stand-in process, answered 'n' (the real stop of a kept
    head is tests/e2e/test_hangup.py)."""
    import subprocess
    import time

    from raycockpit.cockpit.kept_heads import KeptHead
    from raycockpit.cockpit.local import start_time
    from raycockpit.screens.dialogs import ConfirmScreen

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    stand_in = subprocess.Popen(["sleep", "60"])
    try:
        kept = KeptHead(
            stand_in.pid,
            start_time(stand_in.pid),
            "http://127.0.0.1:8265",
            "127.0.0.1:6379",
            None,
            time.time(),
        )
        for readonly in (True, False):
            app = make_app(
                Settings(refresh=3600, readonly=readonly), client=replay_client(), kept_head=kept
            )
            async with app.run_test(size=(100, 30)) as pilot:
                app.run_command("stop-head")
                await pilot.pause()
                if readonly:
                    assert not isinstance(app.screen, ConfirmScreen)
                    assert any("read-only" in n.message for n in app._notifications)
                else:
                    assert isinstance(app.screen, ConfirmScreen)
                    assert f"pid {stand_in.pid}" in app.screen.question
                    await pilot.press("n")
                    await pilot.pause()
                    assert not isinstance(app.screen, ConfirmScreen)
        assert stand_in.poll() is None  # nothing was stopped
    finally:
        stand_in.kill()
        stand_in.wait()


def entries(line: str) -> list[str]:
    """The key line's entries ('s Sort', '…', '? Keys'), the palette's left off."""
    return [part.strip() for part in line.split("▏")[0].split("  ") if part.strip()]


def test_the_key_line_leaves_whole_keys_off_and_keeps_esc_and_the_keys_key():
    from rich.text import Text

    from raycockpit.screens.widgets.key_footer import fitting

    parts = [
        (key, Text(f" {key} {text} "))
        for key, text in [
            ("end", "Follow"),
            ("/", "Search"),
            ("esc", "Back"),
            ("d", "Delete"),
            ("?", "Keys"),
            ("q", "Quit"),
        ]
    ]
    every = sum(p.cell_len for _, p in parts)
    assert [t.plain for t in fitting(parts, every)] == [p.plain for _, p in parts]  # all fit
    shown = "".join(t.plain for t in fitting(parts, every - 1))
    assert entries(shown) == ["end Follow", "/ Search", "esc Back", "d Delete", "…", "? Keys"]
    shown = "".join(t.plain for t in fitting(parts, 33))
    assert entries(shown) == ["end Follow", "esc Back", "…", "? Keys"] and len(shown) <= 33
    shown = "".join(t.plain for t in fitting(parts, 32))  # the first key no longer fits
    assert entries(shown) == ["esc Back", "…", "? Keys"]


async def test_the_key_line_at_80_columns_cuts_no_key_in_half():
    """Before, the line was cropped at the palette's mark: 'r Refre', 'm Next' (of 'Next
    metric'), and a job screen at 80 columns showed neither esc Back nor ? Keys."""
    app = make_app(Settings(refresh=3600), client=replay_client())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await pilot.pause(0.1)
        line = rendered_text(app.screen.query_one("KeyFooter"))
        shown = entries(line)
        assert shown[-2:] == ["…", "? Keys"], line
        names = {"s Sort", "/ Filter", "m Post-mortems", "x Stop", "d Delete", ": Command"}
        assert set(shown[:-2]) <= names, line


async def test_a_preset_key_on_the_launch_list_opens_the_form_filled_with_it():
    from raycockpit.screens.launch_form import LaunchFormScreen

    app = make_app(Settings(refresh=3600), client=replay_client())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("7")
        pane = app.query_one("#launch")
        for _ in range(100):
            if pane.specs:
                break
            await pilot.pause(0.05)
        names = [s.name for s in pane.specs]
        await pilot.press("home", *["down"] * names.index("train"))
        preview = rendered_text(app.query_one("#launch-preview"))
        assert "F2 smoke" in preview and "F3 full" in preview, preview
        await pilot.press("f2")
        await pilot.pause(0.2)
        form = app.screen
        assert isinstance(form, LaunchFormScreen) and form.spec.name == "train"
        smoke = form.spec.preset_values("smoke")
        assert form.values["epochs"] == smoke["epochs"] != form.spec.defaults()["epochs"]
        await pilot.press("escape")
        await pilot.pause(0.1)
        await pilot.press("f5")  # train has two presets
        await pilot.pause(0.1)
        assert not isinstance(app.screen, LaunchFormScreen)
        assert any("train has no preset on F5" in n.message for n in app._notifications)


async def test_the_actor_screens_own_key_comes_before_its_log_views_at_80_columns():
    """`o` (stdout / stderr) was the first key left off at 80 columns: the log view's five
    keys came first. A screen's FOOTER_FIRST keys now lead the line."""
    from raycockpit.screens.actor import ActorScreen
    from tests.ui.helpers import wait_for

    app = make_app(Settings(refresh=3600), client=replay_client(ACTORS))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, what="the first snapshot")
        await pilot.press("0")
        table = app.query_one("#actors-table")
        await wait_for(pilot, lambda: table.row_count > 0, what="the actors")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ActorScreen), what="its screen")
        await pilot.pause(0.3)
        shown = entries(rendered_text(app.screen.query_one("KeyFooter")))
        assert shown[0] in ("o stdout", "o stderr"), shown
        assert shown[-2:] == ["…", "? Keys"] and "esc Back" in shown, shown


async def test_enter_in_the_actors_filter_goes_where_the_matches_are():
    """`/square` Enter on the Actors pane: no actor matches, the summary's task function does;
    the focus goes there, so the next Enter opens its tasks (it went to the empty actors
    table, where Enter did nothing)."""
    from raycockpit.screens.tasks import TasksScreen
    from tests.ui.helpers import wait_for

    app = make_app(Settings(refresh=3600), client=replay_client(ACTORS))
    async with app.run_test(size=(120, 34)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, what="the first snapshot")
        await pilot.press("0")
        summary = app.query_one("#actors-summary")
        await wait_for(pilot, lambda: summary.row_count > 0, what="the summary")
        await pilot.press("slash", *"square", "enter")
        await pilot.pause(0.2)
        assert app.focused is summary and summary.row_count == 1
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TasksScreen), what="its tasks")
        assert app.screen.function == "square"
        await pilot.press("escape")
        await pilot.press("slash", "ctrl+u", *"Counter", "enter")  # actors match: to them
        await pilot.pause(0.2)
        assert app.focused is app.query_one("#actors-table")
