"""LogView driven by keys: bounded lines, follow/pause, search n/N, filter, wrap, save request."""

from __future__ import annotations

from textual.app import App, ComposeResult

from raycockpit.screens.widgets.log_view import LogLines, LogQuery, LogView

SIZE = (80, 24)


class LogApp(App):
    def __init__(self, **log_kwargs) -> None:
        super().__init__()
        self.log_kwargs = log_kwargs
        self.saves: list[LogView.SaveRequested] = []

    def compose(self) -> ComposeResult:
        yield LogView(id="log", **self.log_kwargs)

    def on_mount(self) -> None:
        self.query_one(LogLines).focus()

    def on_log_view_save_requested(self, message: LogView.SaveRequested) -> None:
        self.saves.append(message)


async def feed(pilot, view: LogView, lines: list[str]) -> None:
    """Append like the follower does, then let the view's own timer flush and paint."""
    view.append_lines(lines)
    for _ in range(500):  # the timer flushes within a frame; a loaded machine may take longer
        if not view.pending:
            break
        await pilot.pause(0.02)
    await pilot.pause()
    assert view.pending == 0


def row_text(view: LogView, y: int) -> str:
    return view.query_one(LogLines).render_line(y).text


def screen_rows(view: LogView) -> list[str]:
    rows = view.query_one(LogLines)
    return [row_text(view, y).rstrip() for y in range(rows.scrollable_content_region.height)]


async def test_only_the_newest_max_lines_stay():
    app = LogApp(max_lines=50)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(LogView)
        everything = [f"line {i}" for i in range(150)]
        for start in range(0, 150, 30):  # several flushes
            await feed(pilot, view, everything[start : start + 30])
        assert view.lines == everything[-50:]
        assert view.line_count == 50 and view.dropped == 100
        assert view.query_one(LogLines).virtual_size.height == 50
        assert screen_rows(view)[-1] == "line 149"  # following: the newest line is on screen
        # one burst of 3 x max_lines before a flush: the pending buffer is bounded too
        burst = [f"burst {i}" for i in range(150)]
        view.append_lines(burst)
        assert view.pending == 50
        await feed(pilot, view, [])
        assert view.lines == burst[-50:] and view.visible_lines == burst[-50:]
        assert "following" in str(view.query_one("#log-status").render())


async def test_scroll_up_pauses_end_follows():
    app = LogApp(max_lines=1000)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(LogView)
        rows = view.query_one(LogLines)
        await feed(pilot, view, [f"line {i}" for i in range(200)])
        assert view.following and rows.scroll_y == rows.max_scroll_y
        await pilot.press("up", "up", "pageup")
        await pilot.pause()
        assert not view.following and view.has_class("-paused")
        assert "paused" in str(view.query_one("#log-status").render())
        held = rows.scroll_y
        top_line = screen_rows(view)[0]
        await feed(pilot, view, [f"more {i}" for i in range(100)])
        assert rows.scroll_y == held and screen_rows(view)[0] == top_line  # the screen stays put
        assert rows.scroll_y < rows.max_scroll_y
        await pilot.press("end")
        await pilot.pause()
        assert view.following and view.has_class("-following")
        assert rows.scroll_y == rows.max_scroll_y
        await feed(pilot, view, ["newest"])
        assert screen_rows(view)[-1] == "newest"
        # paused while old lines are dropped: the same text stays on screen
        view.max_lines = 300  # 301 lines kept: the next lines push old ones out
        await pilot.press("pageup")
        await pilot.pause()
        assert not view.following
        top_line = screen_rows(view)[0]
        await feed(pilot, view, [f"push {i}" for i in range(20)])
        assert screen_rows(view)[0] == top_line


async def test_search_jumps_with_n_and_N_and_highlights():
    app = LogApp(max_lines=1000)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(LogView)
        rows = view.query_one(LogLines)
        lines = [f"{i:04d} {'needle here' if i % 50 == 7 else 'hay'}" for i in range(400)]
        await feed(pilot, view, lines)
        matches = [i for i in range(400) if i % 50 == 7]
        await pilot.press("slash")
        assert isinstance(app.focused, LogQuery)
        await pilot.press(*"needle", "enter")
        await pilot.pause()
        assert view.search == "needle" and isinstance(app.focused, LogLines)
        assert view.current_match == matches[-1]  # while following, Enter goes to the newest
        assert not view.following
        await pilot.press("n")
        assert view.current_match == matches[0]  # wraps around to the oldest
        await pilot.press("n")
        assert view.current_match == matches[1]
        await pilot.press("N", "N")
        assert view.current_match == matches[-1]
        assert view.match_count() == len(matches)
        # the current match is on screen, highlighted with the current-match style
        y = matches[-1] - int(rows.scroll_y)
        assert 0 <= y < rows.scrollable_content_region.height
        strip = rows.render_line(y)
        assert strip.text.startswith(f"{matches[-1]:04d} needle")
        current = rows.get_component_rich_style("log-view--current-match")
        styled = [seg for seg in strip if seg.text == "needle"]
        assert styled and styled[0].style.bgcolor == current.bgcolor
        other = [seg for seg in rows.render_line(y + 1) if "hay" in seg.text]
        assert other and other[0].style.bgcolor != current.bgcolor
        await pilot.press("escape")
        assert view.search == "" and view.current_match is None


async def test_filter_shows_matching_lines_only():
    app = LogApp(max_lines=1000)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(LogView)
        lines = [f"{i} {'ERROR boom' if i % 3 == 0 else 'ok'}" for i in range(90)]
        await feed(pilot, view, lines)
        await pilot.press("f", *"ERROR", "enter")
        await pilot.pause()
        expected = [line for line in lines if "ERROR" in line]
        assert view.filter == "ERROR" and view.visible_lines == expected
        assert view.query_one(LogLines).virtual_size.height == len(expected)
        await feed(pilot, view, ["90 ok", "91 ERROR late", "92 ok"])
        assert view.visible_lines == [*expected, "91 ERROR late"]
        assert screen_rows(view)[-1] == "91 ERROR late"
        assert all("ERROR" in row for row in screen_rows(view) if row)
        assert len(view.lines) == 93  # the filter hides, it never drops
        await pilot.press("f", "escape")
        await pilot.pause()
        assert view.filter == "" and len(view.visible_lines) == 93


async def test_wrap_toggles():
    app = LogApp(max_lines=100)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(LogView)
        rows = view.query_one(LogLines)
        long = "".join(str(i % 10) for i in range(200))
        await feed(pilot, view, ["short", long, "end"])
        width = rows.scrollable_content_region.width
        assert rows.virtual_size.height == 3 and rows.virtual_size.width >= 200
        await pilot.press("w")
        await pilot.pause()
        assert view.wrap
        pieces = -(-200 // width)
        assert rows.virtual_size.height == 2 + pieces and rows.virtual_size.width <= width
        shown = [row for row in screen_rows(view) if row]
        assert shown == ["short", *[long[i : i + width] for i in range(0, 200, width)], "end"]
        await feed(pilot, view, [long])  # new lines wrap too
        assert rows.virtual_size.height == 2 + 2 * pieces
        await pilot.press("w")
        await pilot.pause()
        assert not view.wrap and rows.virtual_size.height == 4


async def test_ctrl_s_posts_save_requested_and_hidden_input_takes_no_focus():
    app = LogApp()
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(LogView)
        await feed(pilot, view, ["a", "b"])
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert len(app.saves) == 1 and app.saves[0].log_view is view
        query = view.query_one(LogQuery)
        assert not query.can_focus and not query.display
        await pilot.press("tab", "tab")
        assert app.focused is not query
        await pilot.press("f")
        assert app.focused is query and query.display
        await pilot.press("escape")
        assert not query.can_focus and not query.display and isinstance(app.focused, LogLines)


async def test_filter_wrap_and_dropping_stay_consistent():
    """Seeded random feeds, filters, wraps and pauses: the rows always match the kept lines."""
    import math
    import random

    from rich.cells import cell_len

    from raycockpit.screens.widgets.log_view import plain_text

    rng = random.Random(7)
    app = LogApp(max_lines=120)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(LogView)
        rows = view.query_one(LogLines)
        made = 0
        for step in range(40):
            batch = [
                f"{made + i} {'ERR' if rng.random() < 0.3 else 'ok'}\t{'w' * rng.randrange(0, 170)}"
                for i in range(rng.randrange(1, 90))
            ]
            made += len(batch)
            await feed(pilot, view, batch)
            action = rng.choice(["none", "wrap", "filter", "unfilter", "pause", "follow"])
            if action == "wrap":
                await pilot.press("w")
            elif action == "filter":
                view.filter = "ERR"
            elif action == "unfilter":
                view.filter = ""
            elif action == "pause":
                await pilot.press("pageup")
            elif action == "follow":
                await pilot.press("end")
            await pilot.pause()
            kept = [f"{n} " for n in range(made - min(made, 120), made)]
            pairs = zip(view.lines, kept, strict=False)
            assert [line.split("\t")[0][: len(k)] for line, k in pairs] == kept
            expected = [line for line in view.lines if not view.filter or "ERR" in line]
            assert view.visible_lines == expected, step
            width = rows.scrollable_content_region.width
            if view.wrap:
                want = sum(
                    max(1, math.ceil(cell_len(plain_text(line)) / width)) for line in expected
                )
            else:
                want = len(expected)
            assert rows.virtual_size.height == want, (step, action)
            if view.following:
                assert rows.scroll_y == rows.max_scroll_y


async def test_keys_with_nothing_to_do_reach_the_screen():
    class Outer(LogApp):
        BINDINGS = [("escape", "outer('escape')"), ("n", "outer('n')")]

        def __init__(self) -> None:
            super().__init__()
            self.outer_keys: list[str] = []

        def action_outer(self, key: str) -> None:
            self.outer_keys.append(key)

    app = Outer()
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(LogView)
        await feed(pilot, view, ["x needle", "y"])
        await pilot.press("escape", "n")
        assert app.outer_keys == ["escape", "n"]  # no search, no filter: the screen's keys
        view.search = "needle"
        await pilot.press("n", "escape")
        assert app.outer_keys == ["escape", "n"] and view.search == ""  # the view took both
        assert view.current_match is None


async def test_paused_position_survives_wrap_and_filter():
    app = LogApp(max_lines=1000)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(LogView)
        await feed(
            pilot,
            view,
            [f"step {i} {'needle ' if i % 9 == 0 else ''}{'x' * (i % 70)}" for i in range(300)],
        )
        await pilot.press("pageup", "pageup")
        await pilot.pause()
        top = screen_rows(view)[0]
        assert not view.following and top.startswith("step 2")
        await pilot.press("w")
        await pilot.pause()
        assert screen_rows(view)[0] == top  # the same line stays at the top when wrapping
        await pilot.press("w")
        await pilot.pause()
        assert screen_rows(view)[0] == top
        view.filter = "step 1"  # 'step 1', 'step 10'.. 'step 199': keeps the nearest match above
        await pilot.pause()
        assert screen_rows(view)[0].startswith("step 1")
        view.filter = ""
        await pilot.pause()
        first_shown = int(screen_rows(view)[0].split()[1])
        assert first_shown < int(top.split()[1])
        assert screen_rows(view)[0].startswith("step 1")


async def test_clear_starts_a_new_log():
    app = LogApp(max_lines=10)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(LogView)
        await feed(pilot, view, [f"old {i}" for i in range(25)])
        view.clear()
        await feed(pilot, view, ["new 0", "new 1"])
        assert view.lines == ["new 0", "new 1"] and view.dropped == 0
        assert [row for row in screen_rows(view) if row] == ["new 0", "new 1"]


async def test_a_search_or_filter_with_brackets_is_taken_as_typed():
    """`[/]` in the status line's 'search: …' raised MarkupError and ended the app (seen in the
    real binary); `[ERROR]` would have lost its brackets."""
    app = LogApp(max_lines=1000)
    async with app.run_test(size=(100, 24)) as pilot:
        view = app.query_one(LogView)
        await feed(pilot, view, ["[ERROR] disk full", "[/] odd", "plain"])
        status = view.query_one("#log-status")
        for text, count in (("[/]", 1), ("[ERROR]", 1), ("[nothing]", 0)):
            await pilot.press("slash", "ctrl+u", *text, "enter")
            await pilot.pause()
            assert view.search == text and view.match_count() == count
            assert f"search: {text}" in str(status.render())
        await pilot.press("f")  # the filter of the same text: nothing matches, nothing breaks
        await pilot.pause()
        assert app.is_running


async def test_errors_warnings_and_progress_events_are_coloured():
    app = LogApp()
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(LogView)
        lines = [
            "2026-11-29 08:47:31,933 INFO worker.py:1 -- Connected",
            "WARNING:root:careful",
            "Traceback (most recent call last):",
            "ValueError: boom",
            '@@cockpit {"v": 1}',
        ]
        await feed(pilot, view, lines)
        rows = view.query_one(LogLines)

        def colour(y: int):
            return rows.render_line(y)._segments[0].style.color

        plain = colour(0)
        styles = {
            name: rows.get_component_rich_style(f"log-view--{name}").color
            for name in ("error", "warning", "event")
        }
        assert len({plain, *styles.values()}) == 4  # four different colours
        assert [colour(y) for y in range(5)] == [
            plain,
            styles["warning"],
            styles["error"],
            styles["error"],
            styles["event"],
        ]
