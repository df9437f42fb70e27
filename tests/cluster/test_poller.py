"""The Poller against the real session head."""

from __future__ import annotations

import asyncio
import time

import pytest

from raycockpit.cockpit.models import SECTIONS
from raycockpit.cockpit.poller import Poller

pytestmark = pytest.mark.cluster


async def test_snapshot_of_the_real_head(client, ray_head):
    poller = Poller(client, interval=1.0)
    deadline = time.monotonic() + 60
    snap = await poller.poll_once()
    while (
        not snap.autoscaler.available and time.monotonic() < deadline
    ):  # the autoscaler reports late
        await asyncio.sleep(1)
        snap = await poller.poll_once()
    assert snap.autoscaler.available, f"no autoscaler report in 60 s: {snap.autoscaler.raw_text!r}"
    assert snap.connected and snap.errors == {}, snap.errors
    assert snap.info.ray_version == "2.60.0" and snap.info.session_name
    # serve: unless not installed on the head; actors and pending: only while a pane wants them
    # or something may be waiting
    assert set(SECTIONS) - {"serve", "actors", "pending"} <= set(snap.updated_at)

    (head,) = snap.nodes
    assert head.is_head and head.state == "ALIVE" and head.ip == "127.0.0.1"
    assert head.cpu_logical is not None and head.cpu_logical.total >= 1
    assert head.memory is not None and head.memory.total > 0
    assert head.object_store is not None and head.object_store.total > 0

    auto = snap.autoscaler
    assert auto.active_count == 1 and auto.pending == () and auto.failures == ()
    cpu = auto.usage_of("CPU")
    assert cpu is not None and cpu.total == head.cpu_logical.total, auto.raw_text
    assert isinstance(snap.jobs, tuple)
    assert snap.totals()["CPU"].total == cpu.total
    assert not any(snap.stale(s) for s in SECTIONS)
    assert poller.current_interval == 1.0
