"""Helpers for driving the real app: wait for a condition while the app keeps running."""

from __future__ import annotations

import time

from rich.text import Text


async def wait_for(pilot, condition, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def cell_text(value) -> str:
    return value.plain if isinstance(value, Text) else str(value)


def table_rows(table) -> list[list[str]]:
    """The plain cells of every row a KeyedTable shows (filtered and sorted as on screen)."""
    return table.rows_text()


def screen_text(widget) -> str:
    """The plain text a Static or Log currently shows."""
    rendered = widget.render()
    return getattr(rendered, "plain", None) or str(rendered)


def rendered_text(widget, width: int = 120) -> str:
    """What a widget shows, as plain text (Rich renderables included)."""
    import io

    from rich.console import Console

    rendered = getattr(widget, "content", None)
    if rendered is None or isinstance(rendered, str):
        rendered = widget.render()
    if hasattr(rendered, "plain"):
        return rendered.plain
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(rendered)
    return console.export_text()
