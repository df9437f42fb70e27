"""Keys that arrive together act in the order they were typed (screens/key_order.py).

Over a slow SSH link, or typing fast, several keys reach the app in one read. Textual 8.2.8's
Input and TextArea insert a printable key at once but act on any other key (backspace, home, end,
Tab, ...) only after its event has bubbled to the App (Textual #6605): `b a ⌫ c` gave `ba`, and a
digit typed after Tab landed in the field Tab was leaving. Each test posts a whole burst before
the app runs any of it, as the driver does with one read; the real binary gets such a burst
through a real sshd in tests/e2e/test_over_ssh.py."""

from __future__ import annotations

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.containers import Vertical

from raycockpit.cockpit.config import Settings
from raycockpit.screens.app import make_app
from raycockpit.screens.job import JobScreen
from raycockpit.screens.key_order import KeysInOrderApp
from raycockpit.screens.launch_form import LaunchFormScreen
from raycockpit.screens.widgets.ordered_input import OrderedInput, OrderedTextArea
from tests.ui.helpers import wait_for
from tests.ui.replay import replay_client


def burst(app: App, *keys: str) -> None:
    """Post every key before any is handled (one read's worth)."""
    for key in keys:
        character = key if len(key) == 1 else None
        app.post_message(events.Key(key, character))


class OneField(KeysInOrderApp):
    def __init__(self, make) -> None:
        super().__init__()
        self.make = make  # the widget is made in the app's context: a value needs it
        self.widget = None

    def compose(self) -> ComposeResult:
        self.widget = self.make()
        yield self.widget


class TwoFields(KeysInOrderApp):
    BINDINGS = [("ctrl+r", "read", "Read")]
    read: tuple[str, str] | None = None  # both values when ctrl+r ran

    def compose(self) -> ComposeResult:
        with Vertical():
            yield OrderedInput(id="a", select_on_focus=False)
            yield OrderedInput(id="b", select_on_focus=False)

    def action_read(self) -> None:
        self.read = (self.query_one("#a").value, self.query_one("#b").value)


@pytest.mark.parametrize(
    "start,keys,value",
    [
        ("", ("b", "a", "backspace", "c"), "bc"),  # Textual alone: "ba"
        ("1", ("end", "backspace", "4"), "4"),  # Textual alone: "1" or ""
        ("", ("x", "home", "y", "end", "z"), "yxz"),  # Textual alone: "xyz"
        ("abc", ("end", "left", "left", "delete", "Z"), "aZc"),
        ("old", ("end", "ctrl+u", "n", "e", "w"), "new"),
    ],
)
async def test_an_input_takes_a_burst_in_order(start, keys, value):
    app = OneField(lambda: OrderedInput(start, select_on_focus=False))
    async with app.run_test() as pilot:
        field = app.widget
        field.focus()
        await pilot.pause()
        burst(app, *keys)
        await wait_for(pilot, lambda: field.value == value, timeout=5, what=f"{value!r}")
        await pilot.pause(0.2)  # and nothing after it changes it
        assert field.value == value


async def test_keys_after_tab_go_to_the_next_field_and_a_bound_key_sees_all_typed_before():
    app = TwoFields()
    async with app.run_test() as pilot:
        app.query_one("#a").focus()
        await pilot.pause()
        burst(app, "4", "2", "tab", "8", "shift+tab", "backspace", "1", "ctrl+r")
        await wait_for(pilot, lambda: app.read is not None, timeout=5, what="the read")
        assert app.read == ("41", "8")  # Textual alone: ("4218", "") or so
        assert app.focused is app.query_one("#a")


async def test_a_text_area_takes_a_burst_in_order():
    app = OneField(lambda: OrderedTextArea(""))
    async with app.run_test() as pilot:
        area = app.widget
        area.focus()
        await pilot.pause()
        burst(app, "b", "a", "backspace", "c", "home", "X", "enter", "y")
        want = "X\nybc"  # Enter splits the line at the cursor; Textual alone: "ba..."
        await wait_for(pilot, lambda: area.text == want, timeout=5, what=repr(want))
        await pilot.pause(0.2)
        assert area.text == want


async def to_core_on_the_launch_pane(app: App, pilot) -> list[str]:
    """The Launch pane shown, its cursor on the core workload; the workloads' names."""
    await pilot.press("7")
    pane = app.query_one("#launch")
    await wait_for(pilot, lambda: pane.specs, what="the workload specs")
    names = [s.name for s in pane.specs]
    await pilot.press("home", *["down"] * names.index("core"))
    await pilot.pause()
    return names


async def test_the_launch_form_and_a_filter_take_a_burst_in_order():
    app = make_app(Settings(refresh=3600), client=replay_client())
    async with app.run_test(size=(120, 40)) as pilot:
        await to_core_on_the_launch_pane(app, pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LaunchFormScreen), what="the form")
        form = app.screen
        field = form.query_one("#f-num_tasks", OrderedInput)
        field.focus()
        await pilot.pause()
        # a typo mended in the same read: "2000" -> end, 3 x backspace, "5", "x", backspace, "0"
        burst(app, "end", "backspace", "backspace", "backspace", "5", "x", "backspace", "0")
        await wait_for(pilot, lambda: field.value == "250", timeout=5, what="num_tasks 250")
        await pilot.pause(0.2)
        assert field.value == "250" and not form.errors, form.errors
        assert form.read()[0]["num_tasks"] == "250"

        await pilot.press("escape")  # back to the Launch pane, then the Jobs pane
        await pilot.press("5")
        bar = app.screen.query_one("#jobs FilterBar", OrderedInput)
        # `/` opens the filter bar and gives it the focus only once it has bubbled to the App:
        # the letters behind it went to the table (Textual alone: the filter read "" or "n")
        burst(app, "slash", "r", "u", "m", "backspace", "n")
        await wait_for(pilot, lambda: bar.value == "run", timeout=5, what="filter 'run'")
        assert app.focused is bar


async def test_keys_behind_the_key_that_opens_a_screen_go_to_that_screen():
    """Enter on the Launch pane posts OpenForm, the App pushes the form, the form focuses its
    first field on mount: the keys typed in the same read as Enter wait for that field (they
    went to the pane's list, and the form's num tasks stayed 2000)."""
    app = make_app(Settings(refresh=3600), client=replay_client())
    async with app.run_test(size=(120, 40)) as pilot:
        names = await to_core_on_the_launch_pane(app, pilot)
        burst(app, "enter", "end", "backspace", "backspace", "backspace", "9")
        await wait_for(pilot, lambda: isinstance(app.screen, LaunchFormScreen), what="the form")
        field = app.screen.query_one("#f-num_tasks", OrderedInput)
        await wait_for(pilot, lambda: field.value == "29", timeout=5, what="num_tasks 29")
        await pilot.pause(0.2)
        assert field.value == "29" and app.focused is field

        # Escape and the keys behind it: back on the Launch pane, the list takes them
        first = app.screen
        burst(app, "escape", "down", "enter", "tab")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, LaunchFormScreen) and app.screen is not first,
            what="another form",
        )
        want = names[names.index("core") + 1]
        assert app.screen.spec is not None and app.screen.spec.name == want, app.screen.spec

        # Enter on a job row opens the job screen: a key behind it acts there, not on the table
        await pilot.press("escape", "5")
        jobs = app.query_one("#jobs")
        await wait_for(pilot, lambda: jobs.table.row_count, what="job rows")
        jobs.table.focus()
        await pilot.pause()
        burst(app, "enter", "i")  # i: the job's info, on the job screen; nothing on the table
        await wait_for(pilot, lambda: isinstance(app.screen, JobScreen), what="the job screen")
        info = app.screen.query_one("#job-info")
        await wait_for(pilot, lambda: info.has_class("-open"), timeout=5, what="the info open")
