"""A bounded, live log view: batched ingestion, follow/pause, search, filter, wrap, save request.

`LogView` is a small composite: a line-API `ScrollView` (`LogLines`) that renders only the rows on
screen, a one-line status (following/paused, line count, search hits, the source's state) and a
search/filter `Input` shown on demand. Lines come in through `append_lines()`, which only buffers;
a timer flushes the buffer once per frame, so a producer writing 50,000 lines/s costs one list
extend and one repaint per frame. Only the newest `max_lines` are kept (the pending buffer is
bounded the same way), so memory stays flat however long the job runs. The lines themselves, the
filter/wrap rows and the search position are plain data in a `LineStore` (`line_store.py`); this
module renders them and owns the keys, the scrolling and the flush timer.

The view never does I/O: the app's worker feeds it (see `cockpit/tail.py`) and handles
`LogView.SaveRequested` by fetching and writing the whole log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.cache import LRUCache
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input, Static

from raycockpit.screens.widgets.line_store import LineStore, line_level, plain_text
from raycockpit.screens.widgets.ordered_input import OrderedInput

__all__ = ["LogLines", "LogQuery", "LogView", "plain_text"]


class LogLines(ScrollView, can_focus=True):
    """The rows of a `LogView` (line API). Part of LogView; not meant to be used alone."""

    BINDINGS = [Binding("end", "scroll_end", "Follow", id="log.follow")]

    COMPONENT_CLASSES = {
        "log-view--match",
        "log-view--current-match",
        "log-view--error",
        "log-view--warning",
        "log-view--event",
    }

    DEFAULT_CSS = """
    LogLines {
        height: 1fr;
        background: $surface;
        color: $text;
        overflow-y: scroll;
        overflow-x: auto;
        &:focus { background-tint: $foreground 5%; }
        &.-wrap { overflow-x: hidden; }
        & > .log-view--error { color: $text-error; }
        & > .log-view--warning { color: $text-warning; }
        & > .log-view--event { color: $text-muted; }
        & > .log-view--match { background: $warning 35%; }
        & > .log-view--current-match { background: $accent; color: $text; text-style: bold; }
    }
    """

    def __init__(self, log_view: LogView, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.log_view = log_view
        self._adjusting = False  # True while the view itself moves scroll_y (not the user)

    def render_line(self, y: int) -> Strip:
        return self.log_view._render_row(
            self.scroll_offset, y, self.scrollable_content_region.width
        )

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.log_view._strip_cache.clear()

    def on_resize(self) -> None:
        self.log_view._width_changed()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self._adjusting:
            return
        top = self.max_scroll_y
        if new_value < old_value and old_value <= top:  # a move up, not a clamp after shrinking
            self.log_view.following = False
        elif new_value > old_value and new_value >= top:  # the user reached the end again
            self.log_view.following = True

    def action_scroll_end(self) -> None:
        self.log_view.action_follow()

    def scroll_rows_to(self, y: float) -> None:
        """Move without pausing or resuming (the view's own moves)."""
        self._adjusting = True
        try:
            self.scroll_to(y=y, animate=False, immediate=True)
        finally:
            self._adjusting = False


class LogQuery(OrderedInput):
    """The search/filter input of a LogView: hidden, and then unfocusable, until opened."""

    BINDINGS = [Binding("escape", "cancel", "Clear and close", id="log.query.cancel")]

    DEFAULT_CSS = """
    LogQuery { display: none; height: 3; }
    LogQuery.-open { display: block; }
    """

    can_focus = False  # only while open: a hidden input must never take the keys
    mode = "search"  # or "filter": what the typed text does

    class Cancelled(Message):
        pass

    def open(self, mode: str, value: str) -> None:
        self.mode = mode
        self.placeholder = (
            "search: Enter jumps, then n / N; Esc clears"
            if mode == "search"
            else "filter: show matching lines only; Enter keeps it, Esc clears"
        )
        self.value = value
        self.can_focus = True
        self.add_class("-open")
        self.focus()

    def close(self) -> None:
        self.remove_class("-open")
        self.can_focus = False

    def action_cancel(self) -> None:
        self.post_message(self.Cancelled())


class LogView(Vertical):
    """A live, bounded log: follows the tail, pauses when you scroll up, searches and filters.

    Feed it with `append_lines(lines)` from anywhere on the app's event loop (a worker's
    callback); it redraws at most once per `flush_interval`. `following` is a reactive the
    screen can show or watch; `source_status` is a one-line text the screen may set (the log
    follower's state) and is shown in the view's status line. Keys: `/` search, `n`/`N` next and
    previous match, `f` filter, `w` wrap, `End` follow, `Esc` clear, `ctrl+s` save.

    The lines, their filter/wrap rows and the search position live in a `LineStore` (plain data,
    no Textual); the view renders them, scrolls, and owns the keys and the flush timer.
    """

    BINDINGS = [
        Binding("slash", "search", "Search", id="log.search"),
        Binding("n", "next_match", "Next match", id="log.next_match"),
        Binding("N", "previous_match", "Previous match", id="log.previous_match"),
        Binding("f", "filter", "Filter", id="log.filter"),
        Binding("w", "toggle_wrap", "Wrap", id="log.wrap"),
        Binding("escape", "clear", "Clear search/filter", id="log.clear", show=False),
        Binding("ctrl+s", "save", "Save log", id="log.save"),
    ]

    DEFAULT_CSS = """
    LogView { height: 1fr; }
    LogView > #log-status { height: 1; padding: 0 1; background: $panel; color: $text-muted; }
    LogView.-following > #log-status { color: $text; }
    LogView.-paused > #log-status { background: $warning 30%; color: $text; }
    """

    following: reactive[bool] = reactive(True)
    """True while the view sticks to the newest line; scrolling up pauses, `End` resumes."""
    wrap: reactive[bool] = reactive(False)
    """Wrap long lines instead of scrolling sideways."""
    search: reactive[str] = reactive("")
    """The highlighted search text ('' for none)."""
    filter: reactive[str] = reactive("")
    """Only lines containing this text are shown ('' for all)."""
    _status_shown: str | None = None  # the status line's text as last drawn

    source_status: reactive[str] = reactive("")
    """A line the owner sets (the follower's state, e.g. 'reconnecting in 2 s'); shown in the
    status."""

    @dataclass
    class SaveRequested(Message):
        """The user asked to save the whole log (ctrl+s). The app fetches and writes it."""

        log_view: LogView

        @property
        def control(self) -> LogView:
            return self.log_view

    def __init__(
        self,
        *,
        max_lines: int = 10_000,
        flush_interval: float = 1 / 30,
        show_status: bool = True,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        # `following` starts True: its class from the start, as adding it on mount restyled the
        # whole view (~50 ms of opening a job's screen)
        super().__init__(name=name, id=id, classes=f"{classes or ''} -following".strip())
        self.store = LineStore(max_lines)
        self.flush_interval = flush_interval
        self.show_status = show_status
        self._flush_timer = None
        self._strip_cache: LRUCache[int, Strip] = LRUCache(256)  # a few screens; bounds memory
        self._rows = LogLines(self, id="log-lines")
        self._pin_scheduled = False

    def compose(self) -> ComposeResult:
        yield self._rows
        status = Static("", id="log-status", markup=False)
        status.display = self.show_status
        yield status
        yield LogQuery(id="log-query")

    def on_mount(self) -> None:
        self._update_status()
        if self.store.pending and self._flush_timer is None:  # fed before it was mounted
            self._flush_timer = self.set_timer(self.flush_interval, self._flush, name="log-flush")

    # -- public API -------------------------------------------------------------------------------

    @property
    def max_lines(self) -> int:
        """How many of the newest lines are kept."""
        return self.store.max_lines

    @max_lines.setter
    def max_lines(self, value: int) -> None:
        self.store.max_lines = max(1, value)

    @property
    def lines(self) -> list[str]:
        """The lines kept (newest `max_lines`), oldest first, pending ones included. A copy."""
        return self.store.lines

    @property
    def line_count(self) -> int:
        return self.store.line_count

    @property
    def visible_lines(self) -> list[str]:
        """The lines the view shows now (after the filter), flushed ones only."""
        return self.store.visible_lines

    @property
    def dropped(self) -> int:
        """How many old lines were dropped to stay within `max_lines`."""
        return self.store.dropped

    def append_lines(self, lines: list[str]) -> None:
        """Queue lines (no newlines in them); they appear at the next flush, once per frame."""
        if not lines:
            return
        self.store.append(lines)
        if self._flush_timer is None and self.is_mounted:
            self._flush_timer = self.set_timer(self.flush_interval, self._flush, name="log-flush")

    def clear(self) -> None:
        """Forget every line (the owner starts a new log)."""
        self.store.clear()
        self.store.rebuild(self.filter, self.wrap)
        self._strip_cache.clear()
        if self.is_mounted:
            self._after_change(0)

    def reset(self) -> None:
        """Start over for another source: no lines, no search or filter, following the end (the
        wrap setting stays: it is the reader's preference)."""
        query = self.query_one(LogQuery)
        if query.has_class("-open"):
            query.close()
        self.search = ""
        self.filter = ""
        self.following = True
        self.clear()

    def flush(self) -> None:
        """Show the pending lines now (tests and benchmarks; the timer does it otherwise)."""
        self._flush()

    @property
    def pending(self) -> int:
        return len(self.store.pending)

    # -- ingestion and scrolling ------------------------------------------------------------------

    def _flush(self) -> None:
        self._flush_timer = None
        removed_rows = self.store.flush()
        if removed_rows is not None:
            self._after_change(removed_rows)

    def _after_change(self, removed_rows: int) -> None:
        lines_view = self._rows
        lines_view.virtual_size = Size(self.store.virtual_width, self.store.row_count())
        if self.following:
            lines_view.scroll_rows_to(lines_view.max_scroll_y)
            if not self._pin_scheduled:  # a scrollbar that appears moves the end: pin again
                self._pin_scheduled = True
                lines_view.call_after_refresh(self._pin_end)
        elif removed_rows:
            lines_view.scroll_rows_to(max(0, lines_view.scroll_y - removed_rows))
        lines_view.refresh()
        self._update_status()

    def _pin_end(self) -> None:
        self._pin_scheduled = False
        rows = self._rows
        if self.following and rows.scroll_y != rows.max_scroll_y:
            rows.scroll_rows_to(rows.max_scroll_y)

    def _width_changed(self) -> None:
        width = max(1, self._rows.scrollable_content_region.width)
        if width != self.store.width:
            self.store.width = width
            if self.store.wrapped:
                self._relayout()

    def _relayout(self) -> None:
        """Rebuild the rows, keeping the line at the top of the screen in view when paused."""
        store = self.store
        top_seq = None
        if not self.following:
            index, _ = store.row_to_entry(int(self._rows.scroll_y))
            if index < store.entry_count():
                top_seq = store.entry_seq(index)
        store.rebuild(self.filter, self.wrap)
        self._after_change(0)
        if top_seq is not None:
            self._scroll_to_seq(top_seq, center=False)

    def _scroll_to_seq(self, seq: int, *, center: bool) -> None:
        lines_view = self._rows
        row = self.store.entry_to_row(self.store.seq_to_entry(seq))
        if center:
            row -= lines_view.scrollable_content_region.height // 2
        lines_view.scroll_rows_to(max(0, min(row, lines_view.max_scroll_y)))

    # -- rendering --------------------------------------------------------------------------------

    def _render_row(self, scroll_offset, y: int, width: int) -> Strip:
        store = self.store
        style = self._rows.rich_style
        scroll_x, scroll_y = scroll_offset
        index, segment = store.row_to_entry(scroll_y + y)
        if index >= store.entry_count():
            return Strip.blank(width, style)
        seq = store.entry_seq(index)
        strip = self._line_strip(seq, style)
        start = segment * store.width if store.wrapped else scroll_x
        return strip.crop_extend(start, start + width, style)

    def _line_strip(self, seq: int, style: Style) -> Strip:
        cached = self._strip_cache.get(seq)
        if cached is not None:
            return cached
        text_str = plain_text(self.store.line(seq))
        text = Text(text_str, no_wrap=True, end="")
        text.stylize(style)
        level = line_level(text_str)
        if level:
            text.stylize(self._rows.get_component_rich_style(f"log-view--{level}"))
        if self.search and self.store.is_match(text_str):
            current = seq == self.store.current_match
            name = "log-view--current-match" if current else "log-view--match"
            match_style = self._rows.get_component_rich_style(name)
            flags = 0 if self.search != self.search.lower() else re.IGNORECASE
            text.highlight_regex(re.compile(re.escape(self.search), flags), match_style)
        strip = Strip(text.render(self.app.console), cell_len(text_str))
        self._strip_cache[seq] = strip
        return strip

    def _update_status(self) -> None:
        if not self.show_status or not self.is_mounted:
            return
        store = self.store
        parts = ["following" if self.following else "paused (End follows)"]
        shown = store.entry_count()
        total = len(store.flushed)
        parts.append(f"{shown:,} of {total:,} lines" if store.filtered else f"{total:,} lines")
        if store.first_seq:
            parts.append(f"{store.first_seq:,} older dropped")
        if self.filter:
            parts.append(f"filter: {self.filter}")
        if self.search:
            parts.append(f"search: {self.search}")
        if self.wrap:
            parts.append("wrap")
        if self.source_status:
            parts.append(self.source_status)
        line = " · ".join(parts)
        if line != self._status_shown:  # one line, height 1: no layout of the screen for it
            self._status_shown = line
            self.query_one("#log-status", Static).update(line, layout=False)

    # -- watchers ---------------------------------------------------------------------------------

    def watch_following(self, following: bool) -> None:
        self.set_class(following, "-following")
        self.set_class(not following, "-paused")
        if following and self.is_mounted:
            lines_view = self._rows
            lines_view.scroll_rows_to(lines_view.max_scroll_y)
        self._update_status()

    def watch_wrap(self, wrap: bool) -> None:
        if not self.is_mounted:
            return
        self._rows.set_class(wrap, "-wrap")
        if wrap:
            self.store.width = max(1, self._rows.scrollable_content_region.width)
        self._relayout()

    def watch_filter(self) -> None:
        if self.is_mounted:
            self._relayout()
            self.refresh_bindings()

    def watch_search(self, search: str) -> None:
        self.store.set_search(search)
        self._strip_cache.clear()
        if self.is_mounted:
            self._rows.refresh()
            self._update_status()
            self.refresh_bindings()

    def watch_source_status(self) -> None:
        self._update_status()

    # -- actions ----------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Keys with nothing to do pass on to the screen (Esc still closes it, n/N stay free)."""
        if action == "clear":
            return bool(self.search or self.filter)
        if action in ("next_match", "previous_match"):
            return bool(self.search)
        return True

    def action_search(self) -> None:
        self.query_one(LogQuery).open("search", self.search)

    def action_filter(self) -> None:
        self.query_one(LogQuery).open("filter", self.filter)

    def action_toggle_wrap(self) -> None:
        self.wrap = not self.wrap

    def action_follow(self) -> None:
        self.following = True
        lines_view = self._rows
        lines_view.scroll_rows_to(lines_view.max_scroll_y)

    def action_clear(self) -> None:
        self.search = ""
        self.filter = ""

    def action_save(self) -> None:
        self.post_message(self.SaveRequested(self))

    def action_next_match(self) -> None:
        self._jump(forward=True)

    def action_previous_match(self) -> None:
        self._jump(forward=False)

    @on(Input.Changed, "#log-query")
    def _query_changed(self, event: Input.Changed) -> None:
        event.stop()
        query = self.query_one(LogQuery)
        if query.mode == "filter":
            self.filter = event.value
        else:
            self.search = event.value

    @on(Input.Submitted, "#log-query")
    def _query_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        query = self.query_one(LogQuery)
        query.close()
        self._rows.focus()
        if query.mode == "search" and self.search:
            self._jump(forward=not self.following, first=True)

    @on(LogQuery.Cancelled)
    def _query_cancelled(self, event: LogQuery.Cancelled) -> None:
        event.stop()
        query = self.query_one(LogQuery)
        if query.mode == "filter":
            self.filter = ""
        else:
            self.search = ""
        query.close()
        self._rows.focus()

    # -- search -----------------------------------------------------------------------------------

    @property
    def current_match(self) -> int | None:
        """Index in `lines` of the line the last n/N jump went to (None before any jump)."""
        return self.store.current_index

    def match_count(self) -> int:
        return self.store.match_count() if self.search else 0

    def _jump(self, *, forward: bool, first: bool = False) -> None:
        """Go to the next (or previous) line that matches the search, wrapping around."""
        if not self.search:
            return
        self._flush()
        store = self.store
        if not store.entry_count():
            return
        top_entry, _ = store.row_to_entry(int(self._rows.scroll_y))
        found = store.find_match(forward=forward, first=first, top_entry=top_entry)
        if found is None:
            self.notify(f"no match for {self.search!r}", severity="warning", timeout=2)
            return
        previous, store.current_match = store.current_match, found
        for seq in (previous, found):
            if seq is not None:
                self._strip_cache.discard(seq)
        self.following = False
        self._scroll_to_seq(found, center=True)
        self._rows.refresh()
