"""What every pane shares: a title, the section of the snapshot it shows, a stale marker."""

from __future__ import annotations


from rich.text import Text
from textual.containers import Vertical
from textual.widgets import Static

from cockpit import clock
from cockpit.models import Snapshot
from cockpit.widgets.render import human_duration


class Pane(Vertical):
    """A pane renders a Snapshot; it never does I/O. Subclasses set TITLE and SECTIONS."""

    TITLE = ""
    SECTIONS: tuple[str, ...] = ()

    DEFAULT_CSS = """
    Pane { height: 1fr; }
    Pane > .stale { height: auto; color: $warning; display: none; padding: 0 1; }
    Pane > .stale.-visible { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.snapshot: Snapshot | None = None
        self._stale = Static(classes="stale")

    def compose_stale(self) -> Static:
        return self._stale

    def show(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._render_stale(snapshot)
        self.render_snapshot(snapshot)

    def render_snapshot(self, snapshot: Snapshot) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _render_stale(self, snap: Snapshot) -> None:
        lines = []
        now = clock.now()
        for section in self.SECTIONS:
            if section in snap.errors:
                age = snap.age(section, now)
                when = f"last good {human_duration(age)} ago" if age is not None else "no data yet"
                lines.append(f"stale {section} ({when}): {snap.errors[section]}")
        self._stale.update(Text("\n".join(lines)))
        self._stale.set_class(bool(lines), "-visible")
