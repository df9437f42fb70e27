"""Why pending? on the real head: each case is made for real (jobs submitted through the Job
API, drivers that ask for what the head cannot give), the poller fetches its "pending" section,
and the answer's category and numbers are checked; every job is stopped (and Serve shut down)
after."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest

from raycockpit.cockpit.command_log import CommandLog
from raycockpit.cockpit.errors import CockpitError
from raycockpit.cockpit.local import free_port
from raycockpit.cockpit.models import Snapshot, Why
from raycockpit.cockpit.poller import Poller
from raycockpit.cockpit.report import snapshot_dict

pytestmark = pytest.mark.cluster

PROGRAMS = Path(__file__).parent / "why_programs"


async def _poll_until(poller: Poller, find, timeout: float) -> tuple[Snapshot, Why]:
    """Poll until `find(snapshot)` gives a Why; the last snapshot's answers in the failure."""
    deadline = time.monotonic() + timeout
    snap = await poller.poll_once()
    while time.monotonic() < deadline:
        why = find(snap)
        if why is not None:
            return snap, why
        await asyncio.sleep(1.0)
        snap = await poller.poll_once()
    raise AssertionError(
        f"no answer after {timeout} s; errors {snap.errors}; answers {snap.pending.why}"
    )


def _job(key: str, categories: set[str]):
    def find(snap: Snapshot) -> Why | None:
        why = snap.pending.why.get(f"job:{key}")
        return why if why is not None and why.category in categories else None

    return find


async def _stop(client, *ids: str) -> None:
    for job_id in ids:
        try:
            await client.stop_job(job_id)
        except CockpitError:
            pass


async def _head_cpus(poller: Poller) -> float:
    snap = await poller.poll_once()
    return snap.nodes[0].resources_total["CPU"]


async def test_job_asking_for_more_cpus_than_any_node_is_infeasible(client):
    poller = Poller(client)
    cpus = await _head_cpus(poller)
    job = await client.submit_job_body({"entrypoint": "echo never", "entrypoint_num_cpus": 64})
    try:
        snap, why = await _poll_until(poller, _job(job, {"infeasible"}), 60)
        assert f"CPU 64 (largest node: {cpus:g})" in why.reason
        assert why.fix.startswith(f"ask for at most {cpus:g} CPU (entrypoint_num_cpus)")
        assert "CPU 64" in why.fix
        data = snapshot_dict(snap)
        row = next(j for j in data["jobs"] if j["submission_id"] == job)
        assert row["why"]["category"] == "infeasible" and row["why"]["evidence"]

        # Stopped, it stays PENDING: Ray's stop is a call on the job's supervisor actor, which
        # is never created; the answer says the stop has not reached it (from the command log)
        client.command_log = CommandLog()
        assert await client.stop_job(job)

        def stop_waits(snap: Snapshot) -> Why | None:
            why = snap.pending.why.get(f"job:{job}")
            return why if why is not None and why.short.startswith("stop waits") else None

        snap, why = await _poll_until(poller, stop_waits, 30)
        await asyncio.sleep(3)  # Ray has had time to act on the stop, were it able to
        snap, why = await _poll_until(poller, stop_waits, 30)
        assert next(j for j in snap.jobs if j.key == job).status == "PENDING"
        assert why.category == "infeasible" and "not delivered" in why.reason
        assert "CPU 64 (largest node" in why.reason and "start timeout" in why.fix
        assert why.evidence[0].startswith("stop requested at ")
    finally:
        await _stop(client, job)


async def test_job_waiting_behind_a_job_holding_all_cpus_is_busy(client):
    poller = Poller(client)
    cpus = await _head_cpus(poller)
    holder = await client.submit_job_body({"entrypoint": "sleep 300", "entrypoint_num_cpus": cpus})
    waiter = None
    try:
        for _ in range(120):  # the holder runs first, so the waiter waits behind it
            if (await client.get_job(holder))["status"] == "RUNNING":
                break
            await asyncio.sleep(0.5)
        waiter = await client.submit_job_body(
            {"entrypoint": "echo after", "entrypoint_num_cpus": 1}
        )
        _, why = await _poll_until(poller, _job(waiter, {"busy"}), 60)
        assert "CPU 1 (most free on a node: 0)" in why.reason
        assert f"job {holder} holds CPU {cpus:g}" in why.fix
        assert any(f"CPU 0 free of {cpus:g}" in e for e in why.evidence)
        assert why.waited_s is not None
    finally:
        await _stop(client, holder, *([waiter] if waiter else []))


async def test_gpu_actor_and_a_placement_group_that_cannot_fit(client):
    poller = Poller(client)
    cpus = await _head_cpus(poller)
    program = PROGRAMS / "gpu_actor_and_group.py"
    job = await client.submit_job(f"{sys.executable} {program}")
    try:

        def find(snap: Snapshot) -> Why | None:
            actors = [k for k in snap.pending.why if k.startswith("actor:")]
            # the strategy comes from the autoscaler's report, a few seconds after the group
            groups = [
                k
                for k, why in snap.pending.why.items()
                if k.startswith("pg:") and "STRICT_PACK" in why.reason
            ]
            return snap.pending.why[actors[0]] if actors and groups else None

        snap, actor_why = await _poll_until(poller, find, 120)
        assert actor_why.category == "infeasible"
        assert "GPU 1 (largest node: 0)" in actor_why.reason
        assert actor_why.fix.startswith("drop GPU (no node has any)")
        (group_key,) = [k for k in snap.pending.why if k.startswith("pg:")]
        group_why = snap.pending.why[group_key]
        assert group_why.category == "infeasible"
        assert "STRICT_PACK needs CPU 9 on one node" in group_why.reason
        assert f"at most CPU {cpus:g}" in group_why.fix and "CPU 9" in group_why.fix
        assert "Ray: scheduling state INFEASIBLE" in group_why.evidence
        data = snapshot_dict(snap)["pending"]
        assert [a["class_name"] for a in data["actors"]] == ["GpuHolder"]
        assert data["placement_groups"][0]["strategy"] == "STRICT_PACK"
    finally:
        await _stop(client, job)


async def test_serve_deployment_with_more_replicas_than_the_cluster_holds(client):
    poller = Poller(client)
    cpus = int(await _head_cpus(poller))
    replicas = cpus + 2
    program = PROGRAMS / "serve_too_many.py"
    job = await client.submit_job(f"{sys.executable} {program} {replicas} {free_port()}")
    try:
        key = "serve:whytoomany/TooMany"

        def find(snap: Snapshot) -> Why | None:
            why = snap.pending.why.get(key)
            return why if why is not None and why.category == "infeasible" else None

        _, why = await _poll_until(poller, find, 240)
        assert f"{replicas} replicas x CPU 1 = CPU {replicas}" in why.reason
        assert f"at most {cpus}" in why.reason and f"at most {cpus}" in why.fix
        assert "num_replicas" in why.fix
        assert any(e.endswith(f"running of {replicas}") for e in why.evidence)
        assert "each replica: CPU 1" in why.evidence
    finally:
        await _stop(client, job)
        try:
            await client.delete_serve()
        except CockpitError:
            pass


async def test_pip_package_that_does_not_exist_shows_the_pip_error_line(client):
    """Last in this file: Ray's setup retries keep the runtime_env agent busy for a while.
    No network here: pip fails at once, after Ray clones the venv for it (~60 s on this box,
    under load); Ray then keeps the job PENDING and retries (it FAILED after ~6 min)."""
    poller = Poller(client)
    package = "raycockpit-no-such-package-zz==1.0"
    job = await client.submit_job("echo never", runtime_env={"pip": [package]})
    try:
        snap, why = await _poll_until(poller, _job(job, {"runtime_env"}), 60)
        assert "pip: raycockpit-no-such-package-zz" in why.reason
        snap, why = await _poll_until(poller, _job(job, {"runtime_env_failed"}), 300)
        line = f"ERROR: Could not find a version that satisfies the requirement {package}"
        assert line in why.reason and any(e.startswith(line) for e in why.evidence)
        assert "raycockpit-no-such-package-zz" in why.fix
        assert snap.pending.why[f"job:{job}"].short.startswith("runtime_env failed: Could not")
    finally:
        # Ray 2.60 keeps it PENDING while the setup retries run, stopped or not (still PENDING
        # a minute after the stop here): so this test runs last in the file
        await _stop(client, job)
