"""The lines of a log view, as plain data: what `LogView` shows, without any Textual in it.

`LineStore` keeps the newest `max_lines` lines and numbers every line ever appended with a
sequence number (`seq`), so a line keeps its identity while older ones are dropped in front:
`first_seq` is the seq of the oldest line kept (how many were dropped before it). Lines arrive in
`pending` and join the kept ones at `flush()`; the pending buffer is bounded the same way, so
memory stays flat however fast a producer writes.

On top of the kept lines sits the view's bookkeeping, kept up to date batch by batch rather than
recomputed: with a filter, the seqs of the matching lines (the *entries* the view shows; without
one, every kept line is an entry); with wrap, the cumulative row count of the entries, so a screen
row maps to an entry (and the part of it) by bisection. The search keeps a matcher and the seq of
the line the last n/N jump went to.

Matching uses smart case (a query with a capital letter matches case-sensitively) on the line as
shown (`plain_text`).
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable
from itertools import accumulate

from rich.cells import cell_len

from raycockpit.cockpit.job_message import is_error_line

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
_LEVEL = re.compile(r"\b(?:(ERROR|CRITICAL|FATAL)|(WARNING|WARN))\b")
LEVEL_SCAN = 160  # a log record's level is near its start (after a timestamp and a prefix)
VARIATION_SELECTOR = "\ufe0f"  # VS16: "draw the one before as an emoji"
EVENT_MARKER = "@@cockpit "  # cockpit/events.py's progress lines: read by the panel, dimmed here


def line_level(line: str) -> str:
    """How a shown line is coloured: "error" (an ERROR/CRITICAL/FATAL record, a traceback's
    head or the error it ends with), "warning", "event" (a progress event line), or ""."""
    head = line[:LEVEL_SCAN]
    if head.startswith(EVENT_MARKER):
        return "event"
    found = _LEVEL.search(head)
    if found is not None:
        return "error" if found.group(1) else "warning"
    if head.startswith("Traceback (most recent call last)") or is_error_line(head):
        return "error"
    return ""


def plain_text(line: str) -> str:
    """A log line as shown: ANSI escapes removed, tabs expanded, other control codes visible,
    emoji variation selectors dropped (`✔️` is 2 cells to Rich and 1 to many terminals: the
    rest of the row moved; `✔` is 1 to both)."""
    if VARIATION_SELECTOR in line:
        line = line.replace(VARIATION_SELECTOR, "")
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    if "\t" in line:
        line = line.expandtabs()
    return _CONTROL.sub("\ufffd", line)


def matcher(query: str) -> Callable[[str], bool]:
    """Smart case: a query with a capital letter matches case-sensitively."""
    if query != query.lower():
        return lambda line: query in line
    return lambda line: query in line.lower()


class LineStore:
    """The newest `max_lines` lines of a log, their filter/wrap rows and the search position."""

    def __init__(self, max_lines: int = 10_000) -> None:
        self.max_lines = max(1, max_lines)
        self.flushed: list[str] = []  # the newest max_lines lines
        self.first_seq = 0  # lines dropped from the front so far: the seq of flushed[0]
        self.pending: list[str] = []  # appended, not yet flushed
        self.max_len = 0  # widest line seen (characters), for sideways scrolling
        self.width = 0  # the width lines wrap at
        self.filter = ""  # only lines containing this are entries ('' for all)
        self.wrapped = False  # whether the row bookkeeping is wrapped
        self.current_match: int | None = None  # seq of the line n/N went to
        self._view: list[int] | None = None  # filter on: the seqs of the matching lines
        self._filter_match: Callable[[str], bool] | None = None
        self._search_match: Callable[[str], bool] | None = None
        self._cum: list[int] = []  # wrap on: absolute row end of each entry
        self._cum_base = 0  # wrap on: absolute row start of the first entry

    # -- the lines --------------------------------------------------------------------------------

    @property
    def lines(self) -> list[str]:
        """The lines kept (newest `max_lines`), oldest first, pending ones included. A copy."""
        kept = self.flushed + self.pending
        return kept[-self.max_lines :]

    @property
    def line_count(self) -> int:
        return min(len(self.flushed) + len(self.pending), self.max_lines)

    @property
    def dropped(self) -> int:
        """How many old lines were dropped to stay within `max_lines`, pending ones included."""
        extra = max(0, len(self.flushed) + len(self.pending) - self.max_lines)
        return self.first_seq + extra

    @property
    def visible_lines(self) -> list[str]:
        """The lines the view shows (after the filter), flushed ones only."""
        if self._view is None:
            return list(self.flushed)
        base = self.first_seq
        return [self.flushed[seq - base] for seq in self._view]

    def line(self, seq: int) -> str:
        return self.flushed[seq - self.first_seq]

    def append(self, lines: list[str]) -> None:
        """Queue lines; when more than `max_lines` wait, the oldest go now (they would anyway)."""
        pending = self.pending
        pending.extend(lines)
        if len(pending) > self.max_lines:
            extra = len(pending) - self.max_lines
            del pending[:extra]
            self.first_seq += len(self.flushed) + extra
            self.flushed.clear()
            if self._view is not None:
                self._view.clear()
            self._cum.clear()
            self._cum_base = 0

    def flush(self) -> int | None:
        """Pending lines join the kept ones. Returns how many rows left the front of the view,
        or None when nothing was pending."""
        batch = self.pending
        if not batch:
            return None
        self.pending = []
        lines = self.flushed
        old_first = self.first_seq
        start_seq = old_first + len(lines)
        lines.extend(batch)
        overflow = len(lines) - self.max_lines
        if overflow > 0:
            del lines[:overflow]
            self.first_seq += overflow
        self.max_len = max(self.max_len, max(map(len, batch)))
        if self._view is None and not self.wrapped:  # the common case: one row per line
            return self.first_seq - old_first
        return self._extend_view(batch, start_seq, old_first)

    def clear(self) -> None:
        """Forget every line (a new log starts); the filter and wrap settings stay."""
        self.flushed.clear()
        self.pending.clear()
        self.first_seq = 0
        self.max_len = 0
        self.current_match = None
        self.rebuild(self.filter, self.wrapped)

    # -- entries and rows: filter and wrap --------------------------------------------------------

    @property
    def filtered(self) -> bool:
        return self._view is not None

    @property
    def virtual_width(self) -> int:
        return self.width if self.wrapped else self.max_len

    def entry_count(self) -> int:
        return len(self.flushed) if self._view is None else len(self._view)

    def entry_seq(self, index: int) -> int:
        return self.first_seq + index if self._view is None else self._view[index]

    def entry_line(self, index: int) -> str:
        return self.line(self.entry_seq(index))

    def seq_to_entry(self, seq: int) -> int:
        """The entry of a line; with a filter, the nearest matching line at or above it."""
        if self._view is None:
            return seq - self.first_seq
        return max(0, bisect_right(self._view, seq) - 1)

    def row_count(self) -> int:
        if self.wrapped:
            return self._cum[-1] - self._cum_base if self._cum else 0
        return self.entry_count()

    def row_to_entry(self, row: int) -> tuple[int, int]:
        """(entry index, wrapped segment) of a row; index == entry count past the end."""
        if not self.wrapped:
            return row, 0
        absolute = self._cum_base + row
        index = bisect_right(self._cum, absolute)
        start = self._cum[index - 1] if index else self._cum_base
        return index, absolute - start

    def entry_to_row(self, index: int) -> int:
        if not self.wrapped:
            return index
        return (self._cum[index - 1] if index else self._cum_base) - self._cum_base

    def rebuild(self, filter: str, wrap: bool) -> None:
        """Recompute the filter and wrap bookkeeping from scratch (query, wrap or width changed)."""
        self.filter = filter
        if filter:
            match = self._filter_match = matcher(filter)
            base = self.first_seq
            lines = self.flushed
            self._view = [base + i for i, line in enumerate(lines) if match(plain_text(line))]
        else:
            self._filter_match = None
            self._view = None
        self._cum = []
        self._cum_base = 0
        self.wrapped = wrap
        if wrap:
            if self._view is None:
                entries = self.flushed
            else:
                base = self.first_seq
                entries = [self.flushed[seq - base] for seq in self._view]
            self._extend_cum(entries)

    def _extend_view(self, batch: list[str], start_seq: int, old_first: int) -> int:
        """Filter/wrap bookkeeping for a flushed batch; returns the rows dropped in front."""
        first_kept = self.first_seq
        if start_seq < first_kept:  # the front of the batch itself was dropped
            batch = batch[first_kept - start_seq :]
            start_seq = first_kept
        if self._view is None:  # wrap, no filter: one entry per kept line
            gone = min(first_kept - old_first, len(self._cum))
            removed_rows = self._drop_entries(gone)
            self._extend_cum(batch)
            return removed_rows
        view = self._view
        gone = 0
        while gone < len(view) and view[gone] < first_kept:
            gone += 1
        removed_rows = self._drop_entries(gone)
        del view[:gone]
        match = self._filter_match
        assert match is not None
        new = [start_seq + i for i, line in enumerate(batch) if match(plain_text(line))]
        view.extend(new)
        if self.wrapped:
            self._extend_cum([batch[seq - start_seq] for seq in new])
        return removed_rows

    def _rows_of(self, line: str) -> int:
        width = self.width
        if width <= 0:
            return 1
        return max(1, math.ceil(cell_len(plain_text(line)) / width))

    def _extend_cum(self, lines: Iterable[str]) -> None:
        last = self._cum[-1] if self._cum else self._cum_base
        running = accumulate(map(self._rows_of, lines), initial=last)
        next(running)  # `initial` comes out first
        self._cum.extend(running)

    def _drop_entries(self, count: int) -> int:
        """`count` entries leave the front of the view; returns how many rows they took."""
        if not self.wrapped or count <= 0:
            return max(0, count)
        end = self._cum[count - 1]
        removed = end - self._cum_base
        self._cum_base = end
        del self._cum[:count]
        return removed

    # -- search -----------------------------------------------------------------------------------

    def set_search(self, query: str) -> None:
        """A new search ('' for none); the jump position starts over."""
        self._search_match = matcher(query) if query else None
        self.current_match = None

    def is_match(self, text: str) -> bool:
        """Whether a line as shown (`plain_text`) matches the search."""
        return self._search_match is not None and self._search_match(text)

    @property
    def current_index(self) -> int | None:
        """Index in `lines` of the line the last jump went to (None before any, or once dropped)."""
        if self.current_match is None or self.current_match < self.first_seq:
            return None
        return self.current_match - self.first_seq

    def match_count(self) -> int:
        match = self._search_match
        if match is None:
            return 0
        return sum(1 for i in range(self.entry_count()) if match(plain_text(self.entry_line(i))))

    def find_match(self, *, forward: bool, first: bool, top_entry: int) -> int | None:
        """The seq of the next (or previous) entry that matches the search, wrapping around.

        It counts from the last jump's line; for a `first` jump, or once that line is gone, from
        the entry at the top of the screen (`top_entry`, included), or from the end when a first
        jump goes backwards. None when nothing matches.
        """
        match = self._search_match
        count = self.entry_count()
        if match is None or not count:
            return None
        if self.current_match is not None and self.current_match >= self.first_seq and not first:
            start = self.seq_to_entry(self.current_match)
        elif first and not forward:
            start = count  # from the end: the newest match
        else:
            start = top_entry - 1  # include the top line
        step = 1 if forward else -1
        index = start
        for _ in range(count):
            index = (index + step) % count
            if match(plain_text(self.entry_line(index))):
                return self.entry_seq(index)
        return None
