"""LineStore, the log view's lines as plain data: bounded, numbered, filtered, wrapped, searched.
No Textual: the widget's behaviour on top of it is in tests/ui/test_log_view.py."""

from __future__ import annotations

import math
import random
import subprocess
import sys

from raycockpit.screens.widgets.line_store import LineStore, line_level, plain_text


def test_no_textual_needed():
    code = "import sys, raycockpit.screens.widgets.line_store; print('textual' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_keeps_the_newest_max_lines_and_numbers_them():
    store = LineStore(max_lines=5)
    store.append([f"a{i}" for i in range(3)])
    assert store.lines == ["a0", "a1", "a2"] and store.flushed == [] and store.line_count == 3
    assert store.flush() == 0 and store.flushed == ["a0", "a1", "a2"]
    assert store.flush() is None  # nothing waited
    store.append([f"b{i}" for i in range(4)])
    assert store.dropped == 2 and store.lines == ["a2", "b0", "b1", "b2", "b3"]
    assert store.flush() == 2  # two rows left the front
    assert store.first_seq == 2 and store.line(2) == "a2" and store.entry_seq(0) == 2
    # a burst larger than max_lines before a flush: the pending buffer is bounded too
    store.append([f"c{i}" for i in range(12)])
    assert len(store.pending) == 5 and store.flushed == [] and store.dropped == 14
    store.flush()
    assert store.flushed == [f"c{i}" for i in range(7, 12)] and store.first_seq == 14
    store.clear()
    assert store.lines == [] and store.dropped == 0 and store.row_count() == 0


def test_filter_entries_follow_new_and_dropped_lines():
    store = LineStore(max_lines=6)
    store.append(["1 ERROR", "2 ok", "3 error", "4 ok"])
    store.flush()
    store.rebuild("ERROR", wrap=False)  # a capital: case-sensitive
    assert store.filtered and store.visible_lines == ["1 ERROR"]
    store.rebuild("error", wrap=False)  # lower case: matches either
    assert store.visible_lines == ["1 ERROR", "3 error"] and store.row_count() == 2
    store.append(["5 ok", "6 error", "7 ok"])
    assert store.flush() == 1  # "1 ERROR" dropped: one filtered row gone
    assert store.visible_lines == ["3 error", "6 error"]
    assert store.seq_to_entry(4) == 0  # "5 ok" is hidden: the nearest match above it
    store.rebuild("", wrap=False)
    assert not store.filtered and store.visible_lines == store.flushed


def test_wrapped_rows_map_to_entries():
    store = LineStore(max_lines=100)
    store.width = 10
    store.append(["short", "x" * 25, "\tend"])
    store.flush()
    store.rebuild("", wrap=True)
    assert store.row_count() == 1 + 3 + 2  # the tab expands to 8 columns: "        end"
    rows = [store.row_to_entry(r) for r in range(6)]
    assert rows == [(0, 0), (1, 0), (1, 1), (1, 2), (2, 0), (2, 1)]
    assert store.row_to_entry(6)[0] == store.entry_count()  # past the end
    assert [store.entry_to_row(i) for i in range(3)] == [0, 1, 4]
    assert store.virtual_width == 10


def test_rows_stay_consistent_under_random_feeds():
    rng = random.Random(3)
    store = LineStore(max_lines=50)
    store.width = 17
    made = 0
    for step in range(200):
        batch = [
            f"{made + i} {'ERR' if rng.random() < 0.3 else 'ok'} {'w' * rng.randrange(0, 60)}"
            for i in range(rng.randrange(1, 70))
        ]
        made += len(batch)
        store.append(batch)
        if rng.random() < 0.8:
            store.flush()
        if rng.random() < 0.2:
            store.rebuild(rng.choice(["", "ERR"]), wrap=rng.random() < 0.5)
        expected = [line for line in store.flushed if not store.filter or "ERR" in line]
        assert store.visible_lines == expected, step
        if store.wrapped:
            want = sum(max(1, math.ceil(len(plain_text(line)) / 17)) for line in expected)
        else:
            want = len(expected)
        assert store.row_count() == want, step


def test_search_jumps_wrap_around_and_count():
    store = LineStore()
    store.append([f"{i} {'needle' if i % 10 == 3 else 'hay'}" for i in range(40)])
    store.flush()
    assert store.find_match(forward=True, first=True, top_entry=0) is None  # no search yet
    store.set_search("needle")
    assert store.match_count() == 4 and store.is_match("a Needle")  # smart case
    assert store.find_match(forward=False, first=True, top_entry=0) == 33  # from the end
    assert store.find_match(forward=True, first=True, top_entry=5) == 13  # from the top line
    store.current_match = 33
    assert store.find_match(forward=True, first=False, top_entry=0) == 3  # wraps around
    assert store.current_index == 33
    store.set_search("Needle")  # a capital: case-sensitive
    assert store.match_count() == 0 and not store.is_match("a needle")
    store.set_search("nothing")
    assert store.current_match is None
    assert store.find_match(forward=True, first=False, top_entry=0) is None


def test_plain_text_strips_escapes_and_shows_control_codes():
    assert plain_text("\x1b[31mred\x1b[0m\tx\x07") == "red     x\ufffd"


def test_line_levels_as_ray_and_python_write_them():
    assert line_level("2026-11-29 08:47:31,933\tERROR worker.py:12 -- lost a worker") == "error"
    assert line_level("(raylet) [2026-11-29 08:47:31,933 C 1 1] FATAL check failed") == "error"
    assert line_level("CRITICAL:root:disk full") == "error"
    assert line_level("Traceback (most recent call last):") == "error"
    assert line_level("(TrainWorker pid=12) RuntimeError: CUDA out of memory") == "error"
    assert line_level("ValueError: lr must be positive") == "error"
    assert line_level("2026-11-29 08:47:31,933 WARNING tune.py:1 -- slow trial") == "warning"
    assert line_level("WARNING:root:careful") == "warning"
    assert line_level('@@cockpit {"v": 1, "kind": "metric"}') == "event"
    for plain in (
        "2026-11-29 08:47:31,933 INFO job_manager.py:581 -- Runtime env is setting up.",
        '  File "x.py", line 3, in <module>',
        "no errors so far",
        "Errors: 0",
        "errorless WARNINGS_SEEN=0",
        "",
    ):
        assert line_level(plain) == "", plain
    # only a record's start is read: a level word deep in a long line's payload is not its level
    assert line_level("x" * 200 + " ERROR ") == ""


def test_an_emoji_variation_selector_is_dropped_so_every_terminal_agrees_on_the_width():
    """Ray Data ends each run with `✔️  Dataset ... execution finished` (U+2714 U+FE0F): Rich
    counts 2 cells, tmux and many terminals draw 1, and every cell right of it on that row
    (the metrics panel beside the log) moved one over. Without the selector both say 1."""
    from rich.cells import cell_len

    shown = plain_text("✔️  Dataset dataset_1 execution finished in 5.2 seconds ⚠️")
    assert shown == "✔  Dataset dataset_1 execution finished in 5.2 seconds ⚠"
    assert cell_len(shown) == len(shown)
