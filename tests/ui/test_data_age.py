"""The header's "data N s old": the age of what the screen shows, not of sections that only come
on the poller's slower beat (the Launch pane and the forms show none: there it is the last
poll's). Before, the Launch pane and a job screen said "data 5-9 s old" every ten seconds on a
healthy cluster."""

from __future__ import annotations

from textual.app import App, ComposeResult

from raycockpit.cockpit import clock
from raycockpit.cockpit.config import Settings
from raycockpit.cockpit.models import ClusterInfo, Snapshot
from raycockpit.screens.app import make_app
from raycockpit.screens.widgets.status_line import StatusLine
from tests.ui.helpers import wait_for
from tests.ui.replay import replay_client

NOW = 1_800_000_000.0
INFO = ClusterInfo("http://127.0.0.1:8265", ray_version="2.60.0")


class OneLine(App):
    def compose(self) -> ComposeResult:
        yield StatusLine()


def age_text(line: StatusLine) -> str:
    text = line.render().plain
    return text[text.index("data") :] if "data" in text else ""


async def test_the_age_is_of_the_sections_shown(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)
    snap = Snapshot(INFO, fetched_at=NOW - 1, updated_at={"jobs": NOW - 1, "nodes": NOW - 8})
    app = OneLine()
    async with app.run_test():
        line = app.query_one(StatusLine)
        line.snapshot = snap
        line.sections = frozenset({"jobs"})  # the Jobs pane: fresh
        assert age_text(line) == ""
        line.sections = frozenset({"nodes"})  # the Nodes pane, its answer 8 s old
        assert age_text(line) == "data 8s old"
        line.sections = frozenset({"jobs", "nodes"})  # the newest of what is shown
        assert age_text(line) == ""
        line.sections = frozenset()  # a form: the last poll answered 1 s ago
        assert age_text(line) == ""
        line.snapshot = Snapshot(INFO, fetched_at=NOW - 9, updated_at=snap.updated_at)
        assert age_text(line) == "data 9s old"  # no answer for 9 s: said, whatever is shown
        line.sections = None  # no poller (a bare line): every section's newest
        assert age_text(line) == ""


async def test_the_launch_pane_wants_nothing_and_its_header_follows_the_polls(monkeypatch):
    app = make_app(Settings(refresh=3600), client=replay_client())
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, what="a snapshot")
        await pilot.press("7")
        line = app.screen.query_children(StatusLine).first()
        await wait_for(pilot, lambda: line.sections == frozenset(), what="no section wanted")
        await pilot.press("2")
        await wait_for(pilot, lambda: line.sections == {"nodes"}, what="the Nodes pane's")
