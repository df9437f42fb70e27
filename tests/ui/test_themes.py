"""Themes: the panes' colours come from the Textual theme in use (the settings' `theme:`, or one
picked in the cockpit, which is then kept in the settings file), never from fixed colour names.

Colours are read from what the app draws: its SVG screenshot's text, each word with the fill
of its class."""

from __future__ import annotations

import html
import re

import pytest
from textual.color import Color

from raycockpit.cockpit import clock
from raycockpit.cockpit.config import Settings
from raycockpit.screens.app import make_app
from tests.ui.helpers import wait_for
from tests.ui.replay import RECORDED_AT, replay_client


@pytest.fixture(autouse=True)
def still_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: RECORDED_AT)


def fills_of(app, word: str) -> set[str]:
    """The colours the screen draws `word` in (lower-case hex)."""
    svg = app.export_screenshot()
    classes = dict(re.findall(r"\.(terminal-[\w-]*?r\d+) \{[^}]*?fill: (#[0-9a-fA-F]{6})", svg))
    found = set()
    for cls, text in re.findall(r'<text class="(terminal-[\w-]*?r\d+)"[^>]*>([^<]*)</text>', svg):
        if word in html.unescape(text).replace("\xa0", " ") and cls in classes:
            found.add(classes[cls].lower())
    return found


def theme_colour(app, theme: str, variable: str) -> str:
    themed = app.get_theme(theme)
    value = {**themed.to_color_system().generate(), **themed.variables}[variable]
    return Color.parse(value).hex.lower()[:7]


async def loaded(pilot) -> None:
    await wait_for(pilot, lambda: pilot.app.snapshot is not None, what="the first snapshot")
    await pilot.pause(0.2)


def notes(app) -> list[str]:
    return [n.message for n in app._notifications]


async def test_the_settings_theme_colours_panes_and_tables():
    app = make_app(Settings(refresh=3600, theme="textual-light"), client=replay_client())
    async with app.run_test(size=(110, 32)) as pilot:
        await loaded(pilot)
        assert app.theme == "textual-light"
        ok = theme_colour(app, "textual-light", "text-success")
        assert fills_of(app, "ALIVE") == {ok}  # a Static (the overview's Nodes box)
        await pilot.press("5")
        await pilot.pause(0.3)
        assert ok in fills_of(app, "SUCCEEDED")  # a table's cells (the cursor's row: its own)
        assert ok != theme_colour(app, "textual-dark", "text-success")


async def test_a_picked_theme_recolours_at_once_and_is_kept_in_the_settings(tmp_path):
    path = tmp_path / "cockpit.yaml"
    path.write_text("# my settings\nrefresh: 3600  # an hour\n")
    settings = Settings.load(path)
    app = make_app(settings, client=replay_client(), settings_path=path)
    async with app.run_test(size=(110, 32)) as pilot:
        await loaded(pilot)
        dark_ok = theme_colour(app, "textual-dark", "text-success")
        assert fills_of(app, "ALIVE") == {dark_ok}
        # the command bar
        await pilot.press("colon", *"theme nord", "enter")
        await wait_for(pilot, lambda: app.theme == "nord", what="nord")
        await pilot.pause(0.3)
        # drawn again at once: no refresh comes for an hour
        assert fills_of(app, "ALIVE") == {theme_colour(app, "nord", "text-success")}
        assert path.read_text() == (
            "# my settings\nrefresh: 3600  # an hour\n\n"
            "# theme: kept by raycockpit when chosen in it\ntheme: nord\n"
        )
        assert any(f"theme nord: kept in {path}" in n for n in notes(app))
        # the command palette: ctrl+p -> Theme -> a name
        await pilot.press("ctrl+p", *"theme")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.5)
        await pilot.press(*"dracula")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.theme == "dracula", what="dracula")
        await pilot.pause(0.3)
        assert fills_of(app, "ALIVE") == {theme_colour(app, "dracula", "text-success")}
        assert path.read_text().count("theme:") == 2  # its line replaced, the comment kept
        assert Settings.load(path).theme == "dracula"
        assert Settings.load(path).refresh == 3600


async def test_an_unknown_theme_is_said_with_the_closest_name_and_the_cockpit_runs(tmp_path):
    path = tmp_path / "cockpit.yaml"
    path.write_text("theme: nrod\n")
    app = make_app(Settings.load(path), client=replay_client(), settings_path=path)
    async with app.run_test(size=(110, 32)) as pilot:
        await loaded(pilot)
        assert app.theme == "textual-dark"
        assert any(
            "theme 'nrod' in the settings: not a theme (did you mean 'nord'?)" in n
            for n in notes(app)
        )
        await pilot.press("colon", *"theme solarised", "enter")
        await pilot.pause(0.2)
        assert any(
            "did you mean 'solarized-dark'" in n or "did you mean 'solarized-light'" in n
            for n in notes(app)
        )
        assert app.theme == "textual-dark"
        assert path.read_text() == "theme: nrod\n"  # nothing picked: the file as it was


async def test_a_text_set_before_the_change_takes_the_new_colours_on_any_open_screen():
    """Textual fixes a Static's Text colours when it is set: a screen that draws once (a
    head, a detail) would keep the old theme's until its next update."""
    from rich.text import Text
    from textual.screen import Screen
    from textual.widgets import Static

    from raycockpit.screens.styles import BAD_STRONG

    class Once(Screen):
        def compose(self):
            yield Static(Text("BROKEN-ONCE", style=BAD_STRONG))

    app = make_app(Settings(refresh=3600), client=replay_client())
    async with app.run_test(size=(110, 32)) as pilot:
        await loaded(pilot)
        await app.push_screen(Once())
        await pilot.pause(0.2)
        assert fills_of(app, "BROKEN-ONCE") == {theme_colour(app, "textual-dark", "text-error")}
        app.use_theme("gruvbox")
        await wait_for(pilot, lambda: app.theme == "gruvbox", what="gruvbox")
        await pilot.pause(0.3)
        assert fills_of(app, "BROKEN-ONCE") == {theme_colour(app, "gruvbox", "text-error")}
