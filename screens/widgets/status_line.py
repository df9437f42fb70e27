"""The line on top of every screen (address, Ray version, connection, age of the data) and the
banner that says what is wrong and what to do."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from raycockpit.cockpit import clock
from raycockpit.cockpit.format import human_duration
from raycockpit.cockpit.models import Snapshot
from raycockpit.screens.styles import BAD_STRONG, INFO_STRONG, OK, OTHER_STRONG, WARN


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { dock: top; height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    snapshot: reactive[Snapshot | None] = reactive(None, always_update=True, repaint=False)
    paused: reactive[bool] = reactive(False)
    address: reactive[str] = reactive("")
    state_note: reactive[str] = reactive("")  # e.g. "starting local head"
    link: reactive[str] = reactive("")  # the ssh tunnel: '' none, 'up', or why it is down
    recording: reactive[str] = reactive("")  # '● rec FILE' while :record / --record writes
    replay: reactive[str] = reactive("")  # in a replay: where it stands (workers/recording.py)

    stale_after: float = 5.0  # the data's age is shown once it is older than this (seconds)
    # the sections the screen shows (the poller's wanted ones): the age is theirs. None: every
    # section's; none at all (the Launch pane, a form): the last poll's, i.e. the link's
    sections: frozenset[str] | None = None
    _shown: Text | None = None

    def on_mount(self) -> None:
        self.set_interval(1.0, self._repaint_if_changed)  # a stale age ticks even between polls

    def watch_snapshot(self) -> None:
        self._repaint_if_changed()

    def _repaint_if_changed(self) -> None:
        """Repaint only when the line's text changes: over a slow SSH link every repaint of an
        unchanged line is bytes for nothing (benchmarks/idle_cost.py)."""
        text = self.render()
        if text != self._shown:
            self._shown = text
            self.refresh()

    def render(self) -> Text:
        snap = self.snapshot
        text = Text()
        text.append("raycockpit ", style="bold")
        text.append(self.address or (snap.info.address if snap else ""), style=INFO_STRONG)
        if self.link:
            up = self.link == "up"
            text.append(
                f"  ⇄ {'link up' if up else 'link ' + self.link}",
                style=OK if up else BAD_STRONG,
            )
        if snap and snap.info.ray_version:
            text.append(f"  Ray {snap.info.ray_version}")
        if self.state_note:
            text.append(f"  ◌ {self.state_note}", style=WARN)
        elif snap is None:
            text.append("  ◌ connecting", style=WARN)
        elif snap.connected:
            text.append("  ● connected", style=OK)
        else:
            text.append("  ✖ disconnected", style=BAD_STRONG)
        if snap and snap.fetched_at:
            age = self.data_age(snap)
            if age is not None and age >= self.stale_after:  # fresh data needs no ticking clock
                text.append(f"  data {human_duration(age)} old", style=WARN)
        if self.paused:
            text.append("  ‖ paused", style=OTHER_STRONG)
        if self.recording:
            text.append(f"  {self.recording}", style=BAD_STRONG)
        if self.replay:
            text.append(f"  {self.replay}", style=OTHER_STRONG)
        return text

    def data_age(self, snap: Snapshot) -> float | None:
        """Seconds since what this screen shows was fetched: the newest of its sections (the
        others come on the poller's slower beat, up to ~10 s old, and are not on screen); with
        no section shown, since the last poll answered. None when nothing has come yet."""
        if self.sections is None:
            times = list(snap.updated_at.values())
        else:
            times = [snap.updated_at[s] for s in self.sections if s in snap.updated_at]
        newest = max(times, default=0.0) if self.sections != frozenset() else snap.fetched_at
        return max(0.0, clock.now() - newest) if newest else None


class Banner(Static):
    """Hidden unless something is wrong; one line saying what and what to do."""

    DEFAULT_CSS = """
    Banner { dock: top; height: auto; max-height: 3; background: $error 30%; color: $text;
             padding: 0 1; display: none; }
    Banner.-visible { display: block; }
    """

    _message: str | None = None

    def show_message(self, message: str) -> None:
        if message == self._message:
            return  # an unchanged update still re-lays the whole screen
        self._message = message
        self.update(Text("⚠ " + message))
        self.set_class(bool(message), "-visible")
