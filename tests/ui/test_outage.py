"""The embedded head, and a real head that goes away and comes back while the cockpit runs.

0. With no address the app starts its own head with progress on the start-up screen.
1. The dashboard freezes (its process SIGSTOPped: the head and the job keep running, every answer
   hangs) while a job's screen follows its log: the banner says so, keys still work, and when it
   thaws the tail resumes, and at the end the job's lines are each shown exactly once.
2. The head is stopped and started again on the same ports: the banner at once, then the cockpit
   reconnects by itself, says the cluster restarted, and shows only the new session's rows.

The poller's backoff while the cluster is unreachable is capped at 2 s here (30 s in the product):
the reconnect is the same code, but it comes within 2 s of the head answering again rather than
after a 16-30 s wait of the doubled interval.

One head of its own (the session head is shared by other tests), stopped by its pid at the end:
its whole process group is gone afterwards.
"""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile

import pytest

from raycockpit.cockpit import poller
from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.config import Settings
from raycockpit.cockpit.local import HeadPorts, LocalHead, process_tree
from raycockpit.cockpit.tail import ENDED
from raycockpit.screens.app import make_app
from raycockpit.screens.job import JobScreen
from raycockpit.screens.startup import StartupScreen
from raycockpit.screens.widgets.log_view import LogView
from tests.ui.helpers import wait_for

pytestmark = pytest.mark.cluster
SIZE = (120, 36)
LINES = 120
PRINTER = (
    'python -c "import time\nfor i in range(LINES): '
    "print(f'line {i:04d}', flush=True); time.sleep(0.1)\""
).replace("LINES", str(LINES))


def dashboard_pid(head: LocalHead) -> int:
    """The head's dashboard process, found among the processes this head started."""
    for pid in process_tree(head.pid):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if any(arg.endswith(b"dashboard/dashboard.py") for arg in argv):
            return pid
    raise AssertionError("no dashboard process in the head's process tree")


def banner_text(app) -> str:
    banner = app.query_one("#banner")
    return str(banner.render()) if banner.has_class("-visible") else ""


async def test_embedded_head_then_a_frozen_dashboard_then_a_restart(monkeypatch):
    monkeypatch.setattr(poller, "MAX_BACKOFF_S", 2.0)  # see the module's docstring
    head = LocalHead(ports=HeadPorts.isolated(), temp_dir=tempfile.mkdtemp(prefix="rc-outage-"))
    app = make_app(Settings(refresh=0.5, request_timeout=1.5), head=head)
    frozen = None
    try:
        async with app.run_test(size=SIZE) as pilot:
            # 0. the embedded head starts with progress
            await pilot.pause(0.1)
            assert isinstance(app.screen, StartupScreen)
            startup_log = app.screen.query_one("#startup-log")
            await wait_for(pilot, lambda: startup_log.line_count > 0, what="startup progress")
            assert "starting a local Ray head" in startup_log.lines[0]
            await wait_for(pilot, lambda: app.head_started, timeout=120, what="the head to start")
            await wait_for(
                pilot, lambda: app.snapshot and app.snapshot.connected, what="a snapshot"
            )
            assert not isinstance(app.screen, StartupScreen)
            assert app.snapshot.nodes[0].ip == "127.0.0.1"
            pid = head.pid

            # submitted with the default timeout: the app's is 1.5 s (to see a freeze quickly),
            # and a loaded box may take longer than that to answer a POST to a new head
            async with DashboardClient(head.dashboard_url, discover=False) as client:
                job_id = await client.submit_job(PRINTER)
            await wait_for(
                pilot,
                lambda: any(j.key == job_id for j in app.snapshot.jobs),
                what="the job in the list",
            )
            app.open_job(next(j for j in app.snapshot.jobs if j.key == job_id))
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, JobScreen) and app.screen.query(LogView),
                what="the job screen",
            )
            log = app.screen.query_one(LogView)
            await wait_for(pilot, lambda: log.store.line_count >= 10, what="the first lines")

            # 1. the dashboard freezes mid-tail
            frozen = dashboard_pid(head)
            os.kill(frozen, signal.SIGSTOP)
            await wait_for(pilot, lambda: "did not answer" in banner_text(app), what="banner")
            assert "Traceback" not in banner_text(app)
            await pilot.press("i")  # keys still work on the job screen while polls hang
            await pilot.pause(2.0)
            os.kill(frozen, signal.SIGCONT)
            frozen = None
            await wait_for(pilot, lambda: not banner_text(app), timeout=30, what="reconnect")
            await wait_for(
                pilot,
                lambda: app.screen.tail.state == ENDED,
                timeout=90,
                what="the tail to end with the job",
            )
            lines = [x for x in log.store.lines if x.startswith("line ")]
            assert lines == [f"line {i:04d}" for i in range(LINES)], "each line once, in order"
            assert app.screen.tail.job_status == "SUCCEEDED"
            await pilot.press("escape")

            # 2. the head stops and starts again on the same ports
            session = app.snapshot.info.session_name
            await asyncio.to_thread(head.stop)
            await wait_for(pilot, lambda: "cannot reach" in banner_text(app), what="banner")
            await pilot.press("5", "2")  # panes still switch, showing the last data
            await asyncio.to_thread(head.start)
            await wait_for(
                pilot,
                lambda: app.snapshot.connected and app.snapshot.info.session_name != session,
                timeout=60,
                what="the new session",
            )
            await wait_for(pilot, lambda: not banner_text(app), what="the banner to go")
            assert app.snapshot.info.session_changes >= 1
            assert any("restarted" in n.message for n in app._notifications)
            await wait_for(
                pilot,
                lambda: all(j.key != job_id for j in app.snapshot.jobs),
                what="the old session's job to go",
            )
            await wait_for(
                pilot,
                lambda: [n.state for n in app.snapshot.nodes] == ["ALIVE"],
                what="the new session's one node, and only it",
            )
    finally:
        if frozen is not None:
            os.kill(frozen, signal.SIGCONT)
        await asyncio.to_thread(head.stop)
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
