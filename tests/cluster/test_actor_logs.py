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
from raycockpit.cockpit.log_stream import GAP_LINE, MARKER, ActorLogFollower
from raycockpit.cockpit.tail import FOLLOWING, RECONNECTING, TailState
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
