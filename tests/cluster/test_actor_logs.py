"""An actor's own logs and detail on the real head: its stdout and stderr followed from Ray's log
stream (each line once, in order, across connections cut twice by a proxy), the whole file for
saving, and the detail of an actor whose constructor raised (the user's traceback)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from raycockpit.cockpit.actor_detail import actor_detail
from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.log_stream import GAP_LINE, MARKER, ActorLogFollower, TaskLogFollower
from raycockpit.cockpit.tail import FOLLOWING, RECONNECTING, TailState
from raycockpit.cockpit.task_list import fetch_task_list
from tests.cluster.test_tail import CutProxy

pytestmark = pytest.mark.cluster

PROGRAM = Path(__file__).parent / "actor_programs" / "chatty.py"


async def start_chatty(client: DashboardClient, count: int, rate: float) -> tuple[str, dict]:
    """Submit the program; returns (job id, {"chatty": id, "broken": id}) once it printed them."""
    job_id = await client.submit_job(f"{sys.executable} {PROGRAM} {count} {rate}")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for line in (await client.job_logs(job_id)).splitlines():
            if line.startswith("@@ids "):
                return job_id, json.loads(line.removeprefix("@@ids "))
        job = await client.get_job(job_id)
        assert job["status"] in ("PENDING", "RUNNING"), job
        await asyncio.sleep(0.5)
    raise AssertionError("the program never printed its actors' ids")


async def wait_until(condition, what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.02)


async def test_actor_stdout_and_stderr_each_line_once_across_cut_streams(client, ray_head):
    count = 300
    job_id, ids = await start_chatty(client, count, 20.0)
    url = urlsplit(ray_head.dashboard_url)
    proxy = CutProxy(url.hostname, url.port)
    await proxy.start()
    out: list[str] = []
    err: list[str] = []
    states: list[TailState] = []
    try:
        async with DashboardClient(
            f"http://127.0.0.1:{proxy.port}", discover=False, timeout=5
        ) as via:
            tasks = [
                asyncio.create_task(
                    ActorLogFollower(
                        via, ids["chatty"], suffix, on_state=states.append, backoff_initial=0.2
                    ).run(sink.extend)
                )
                for suffix, sink in (("out", out), ("err", err))
            ]
            try:
                await wait_until(lambda: len(out) >= 60 and len(err) >= 60, "first lines")
                # 1: cut both streams and refuse new connections a while (lines pile up)
                await proxy.stop_listening()
                assert proxy.cut() >= 2
                await asyncio.sleep(1.5)
                await proxy.start()
                await wait_until(lambda: len(out) >= 180, "lines after the first cut")
                # 2: cut again while the listener stays
                assert proxy.cut() >= 2
                await wait_until(
                    lambda: len(out) >= count and len(err) >= count, "every line", timeout=120
                )
                await asyncio.sleep(2.5)  # a duplicate would arrive with the next read
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        if proxy.server:
            await proxy.stop_listening()
        proxy.cut()
        await client.stop_job(job_id)

    assert out == [f"out {n}" for n in range(count)]  # no marker, no duplicate, no gap
    assert err == [f"err {n}" for n in range(count)]
    assert GAP_LINE not in out + err
    assert any(s.state == RECONNECTING for s in states)
    assert states[-1].state == FOLLOWING

    whole = await client.actor_log(ids["chatty"], "err")  # what ctrl+s saves
    assert [x for x in whole.splitlines() if not MARKER.match(x)] == err


async def test_a_constructor_that_raised_its_detail_and_its_stderr(client):
    job_id, ids = await start_chatty(client, 1, 10.0)
    try:
        err: list[str] = []
        states: list[TailState] = []
        follower = ActorLogFollower(client, ids["broken"], "err", on_state=states.append)
        task = asyncio.create_task(follower.run(err.extend))
        try:
            await wait_until(
                lambda: "ValueError: bad config: lr must be > 0" in err, "the error in stderr"
            )
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        assert not any(MARKER.match(line) for line in err)

        row, logical = {}, {}
        for _ in range(60):  # the state API learns of the death a moment after the log has it
            row, logical = await client.actor_detail(ids["broken"])
            if row.get("state") == "DEAD":
                break
            await asyncio.sleep(0.5)
        detail = actor_detail(row, logical, None)
        assert detail.actor.class_name == "Broken" and detail.actor.state == "DEAD"
        first, *trace = detail.death.splitlines()
        assert first == "creation task failure: ValueError: bad config: lr must be > 0"
        assert trace[0] == "Traceback (most recent call last):"
        assert trace[-1] == "ValueError: bad config: lr must be > 0"
        assert any("chatty.py" in line and "__init__" in line for line in trace), trace
        assert not any("_raylet" in line or "site-packages/ray/" in line for line in trace)
        assert detail.started_at and detail.node_ip
    finally:
        await client.stop_job(job_id)


async def test_an_actor_ray_does_not_know_ends_with_a_reason(client):
    states: list[TailState] = []
    final = await asyncio.wait_for(
        ActorLogFollower(client, "ab" * 16, "out", on_state=states.append).run(lambda _: None),
        timeout=60,
    )
    assert final.error and "does not know this actor" in final.reason, final


TASK_PROGRAM = Path(__file__).parent / "actor_programs" / "task_lines.py"


async def test_a_tasks_own_output_live_then_whole_and_never_the_next_tasks(client):
    """`l` on a task: its own lines by Ray's offsets, followed while it runs (up to where its
    worker begins the next task), then read whole once it ended: never the next task's line."""
    count = 40
    job_id = await client.submit_job(f"{sys.executable} {TASK_PROGRAM} {count} 10")
    try:
        ray_job = ""
        deadline = time.monotonic() + 120
        running = None
        while running is None:
            assert time.monotonic() < deadline, "paced never ran"
            job = await client.get_job(job_id)
            assert job["status"] in ("PENDING", "RUNNING"), job
            ray_job = job.get("job_id") or ""
            rows = (await fetch_task_list(client, "paced")).rows
            running = next(
                (r for r in rows if r.job_id == ray_job and r.state == "RUNNING" and r.own_log),
                None,
            )
            await asyncio.sleep(0.2)
        live: list[str] = []
        states: list[TailState] = []
        follower = TaskLogFollower(
            client, running.task_id, running.attempt, "out", on_state=states.append
        )
        task = asyncio.create_task(follower.run(live.extend))
        try:
            await wait_until(lambda: len(live) >= count, "every line")
            while "@@done" not in await client.job_logs(job_id):
                assert time.monotonic() < deadline + 60, "the driver never finished"
                await asyncio.sleep(0.5)
            await asyncio.sleep(3.0)  # the next task's line would have come by now
        finally:
            if not task.done():
                task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        assert live == [f"paced {n}" for n in range(count)]  # each once, not `next says hi`

        listed = {
            name: next(r for r in (await fetch_task_list(client, name)).rows if r.job_id == ray_job)
            for name in ("paced", "next_one")
        }
        paced, after = listed["paced"], listed["next_one"]
        assert paced.state == "FINISHED" and paced.output_complete
        # Ray gave the job's idle worker the next task: the stream went on into it, and stopped
        assert after.worker_pid == paced.worker_pid, "next_one ran on another worker"
        assert states[-1].reason == "the task ended (its worker began another task)"
        for suffix, expected in (
            ("out", [f"paced {n}" for n in range(count)]),
            ("err", [f"paced err {n}" for n in range(count)]),
        ):
            whole: list[str] = []
            final = await TaskLogFollower(
                client, paced.task_id, paced.attempt, suffix, ended=True
            ).run(whole.extend)
            assert whole == expected, suffix
            assert final.reason == f"the task's whole output, {count} lines"
        whole = []
        await TaskLogFollower(client, after.task_id, after.attempt, "out", ended=True).run(
            whole.extend
        )
        assert whole == ["next says hi"]
    finally:
        await client.stop_job(job_id)
