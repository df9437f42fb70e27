"""The Serve pane's load test: N requests at concurrency C, checked before anything is sent, and
its answer (p50/p95/p99, requests per second, errors, HTTP statuses) as text."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label

from raycockpit.cockpit.serve_tester import (
    MAX_CONCURRENCY,
    MAX_REQUESTS,
    FormError,
    LoadResult,
    parse_count,
)
from raycockpit.screens.styles import BAD, BAD_STRONG, OK, WARN
from raycockpit.screens.widgets.ordered_input import OrderedInput


def load_result_text(result: LoadResult) -> Text:
    text = Text("load test ", style="bold")
    text.append(f"{result.n} requests in {result.elapsed_s:.2f} s")
    if result.n < result.requested:
        text.append(f" (stopped at the time limit; {result.requested} asked)", style=WARN)
    text.append("\n")
    for name, value in (("p50", result.p50), ("p95", result.p95), ("p99", result.p99)):
        text.append(f"{name} ", style="bold")
        text.append(f"{value:.1f} ms  ")
    text.append("rps ", style="bold")
    text.append(f"{result.rps:.1f}  ")
    text.append("errors ", style="bold")
    text.append(str(result.errors), style=BAD_STRONG if result.errors else OK)
    if result.statuses:
        statuses = ", ".join(f"{s}×{c}" for s, c in result.statuses.items())
        text.append(f"\nstatus {statuses}", style="dim")
    if result.first_error:
        text.append(f"\nfirst error: {result.first_error}", style=BAD)
    return text


class LoadTest(Horizontal):
    """The N and C fields of the load test, and whether one runs (one at a time) or what it gave.

    `start()` checks the counts and marks the test running; `finish()` ends it with its result
    (None when it failed) and says what to show. The request itself comes from the tester's form.
    """

    DEFAULT_CSS = """
    LoadTest .count { width: 8; margin-right: 1; }
    LoadTest .count.-invalid { background: $error 30%; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.running = False
        self.last: LoadResult | None = None  # the last result, once one came back

    def compose(self) -> ComposeResult:
        yield Label("load test: N")
        yield OrderedInput("100", id="serve-n", classes="count", compact=True)
        yield Label("at C")
        yield OrderedInput("8", id="serve-c", classes="count", compact=True)

    def counts(self) -> tuple[int, int]:
        """(N, C) from the fields; the first one that is wrong is marked and FormError says why."""
        values = []
        fields = (
            ("#serve-n", "N (requests)", MAX_REQUESTS),
            ("#serve-c", "C (concurrency)", MAX_CONCURRENCY),
        )
        for selector, name, maximum in fields:
            field = self.query_one(selector, Input)
            field.remove_class("-invalid")
            try:
                values.append(parse_count(field.value, name, maximum))
            except FormError:
                field.add_class("-invalid")
                raise
        return values[0], values[1]

    def start(self) -> None:
        self.running = True

    def finish(self, result: LoadResult | None, error: str = "") -> Text:
        """The test ended: keep its result and return what the result area shows."""
        self.running = False
        self.last = result
        if result is None:
            return Text(f"load test failed: {error}", style=BAD)
        return load_result_text(result)
