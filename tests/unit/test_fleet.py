"""fleet_row: one line per cluster from a Snapshot (no cluster needed)."""

from __future__ import annotations

from dataclasses import replace

from raycockpit.cockpit.fleet import fleet_row
from raycockpit.cockpit.models import ClusterInfo, Snapshot
from raycockpit.cockpit.parse import parse_jobs, parse_nodes, parse_serve
from tests.conftest import load_fixture


def _snapshot() -> Snapshot:
    nodes = parse_nodes(load_fixture("nodes_view_summary_gpu.json")["data"])
    jobs = parse_jobs(load_fixture("api_jobs.json"))
    serve = parse_serve(load_fixture("api_serve_applications.json"))
    now = max(j.end_time_ms or j.start_time_ms or 0 for j in jobs) / 1000 + 60
    return Snapshot(
        info=ClusterInfo(address="http://h:8265", ray_version="2.60.0"),
        fetched_at=now,
        nodes=nodes,
        jobs=jobs,
        serve=serve,
        connected=True,
    )


def test_a_row_sums_what_the_cluster_has_now():
    snap = _snapshot()
    row = fleet_row("prod", "ssh me@h", snap, current=True)
    alive = [n for n in snap.nodes if n.state == "ALIVE"]
    assert row.reachable and row.current and row.error == "" and row.ray_version == "2.60.0"
    assert (row.nodes_alive, row.nodes_dead) == (len(alive), len(snap.nodes) - len(alive))
    assert row.cpu_total == sum(n.cpu_logical.total for n in alive if n.cpu_logical) > 0
    assert row.gpu_total == sum(n.gpu_logical.total for n in alive if n.gpu_logical)
    assert row.serve_unhealthy == ()

    # a dead node, a job failed 10 minutes ago and one failed 2 hours ago, a Serve app unhealthy
    now_ms = snap.fetched_at * 1000
    failed = [
        replace(snap.jobs[0], submission_id="recent", status="FAILED", end_time_ms=now_ms - 6e5),
        replace(snap.jobs[1], submission_id="old", status="FAILED", end_time_ms=now_ms - 7.2e6),
    ]
    sick = replace(snap.serve.apps[0], status="DEPLOY_FAILED")
    worse = replace(
        snap,
        nodes=(replace(snap.nodes[0], state="DEAD"), *snap.nodes[1:]),
        jobs=(*failed, *snap.jobs[2:]),
        serve=replace(snap.serve, apps=(sick,)),
        errors={"serve": "GET /api/serve/applications/ timed out"},
    )
    row = fleet_row("prod", "ssh me@h", worse)
    assert (row.nodes_alive, row.nodes_dead) == (len(alive) - 1, len(snap.nodes) - len(alive) + 1)
    assert row.jobs_failed_1h == 1 and row.serve_unhealthy == (sick.name,)
    assert row.error == "serve: GET /api/serve/applications/ timed out" and row.reachable


def test_a_cluster_not_reached_says_why():
    snap = Snapshot(
        info=ClusterInfo(address="http://h:8265"),
        fetched_at=5.0,
        connection_error="cannot reach http://h:8265: connection refused",
    )
    row = fleet_row("gone", "http://h:8265", snap)
    assert not row.reachable and row.error.startswith("cannot reach") and row.checked_at == 5.0
    assert row.as_dict()["serve_unhealthy"] == []


async def test_closing_while_a_tunnel_opens_leaves_no_ssh(tmp_path, monkeypatch):
    """The cockpit quit while the fleet was opening a context's ssh tunnel (in a thread): the
    poll's `finally` forgot the tunnel before close() could shut it down, and the ssh (in its own
    session, so not stopped with the app) stayed connected (a multinode CI run found its
    sshd child on the head long after)."""
    import asyncio
    import os
    import subprocess

    from raycockpit.cockpit.config import Settings
    from raycockpit.cockpit.fleet import FleetWatcher
    from raycockpit.cockpit.tunnel import SshTunnel

    fake = tmp_path / "bin" / "ssh"  # a link that never comes up: the tunnel stays "opening"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexec sleep 60\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    started: list[SshTunnel] = []
    real_open = SshTunnel.open
    monkeypatch.setattr(SshTunnel, "open", lambda t: (started.append(t), real_open(t))[1])

    watcher = FleetWatcher({"far": Settings(ssh="alice@far.example")}, lambda row: None)
    task = asyncio.create_task(watcher.run())
    for _ in range(100):
        if started and started[0].process is not None:
            break
        await asyncio.sleep(0.05)
    tunnel = started[0]
    proc = tunnel.process
    assert proc is not None and str(fake) == tunnel.command()[0]
    try:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        await watcher.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            raise AssertionError("the ssh being opened outlived the fleet's close()") from None
    finally:
        if proc.poll() is None:
            proc.kill()  # the test stops what it started, whatever the assertion said
            proc.wait(5)
