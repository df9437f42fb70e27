"""The scale replayer (benchmarks/replay.py) speaks what the cockpit's own client and parsers
accept, adds up, moves, breaks on demand and comes back. It is a load fixture, not a Ray mock:
these tests check the replayer, not the cockpit's behaviour against Ray."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx
import pytest

from benchmarks.replay import FAULTS, ReplayServer
from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.errors import BadResponse, DashboardTimeout, DashboardUnreachable
from raycockpit.cockpit.parse import (
    merge_structured_autoscaler,
    parse_autoscaler_text,
    parse_jobs,
    parse_nodes,
    parse_serve,
)
from raycockpit.cockpit.tail import JobLogFollower

NODES, GPUS, JOBS, DEAD = 20, 2, 200, 2


@pytest.fixture(scope="module")
def replay():
    server = ReplayServer(
        nodes=NODES,
        gpus=GPUS,
        jobs=JOBS,
        actors=30,
        serve_apps=3,
        dead_fraction=DEAD / NODES,
        seed=7,
        log_interval=0.05,
        submit_run_s=0.3,
    )
    with server:
        yield server


@pytest.fixture(scope="module")
async def client(replay):
    async with DashboardClient(replay.url, discover=False, timeout=5.0) as c:
        yield c


@pytest.fixture(scope="module")
async def impatient(replay):
    """A client that gives up after 0.3 s (to see a hang as a timeout)."""
    async with DashboardClient(replay.url, discover=False, timeout=0.3) as c:
        yield c


async def test_nodes_and_gpus_add_up(replay, client):
    nodes = parse_nodes(await client.node_summary())
    alive = [n for n in nodes if n.state == "ALIVE"]
    assert len(nodes) == NODES and len(alive) == NODES - DEAD
    assert nodes[0].is_head and len({n.node_id for n in nodes}) == NODES
    assert all(len(n.node_id) == 56 for n in nodes)
    assert len({n.hostname for n in nodes}) == NODES and all(n.ip.startswith("10.") for n in nodes)
    gpus = [g for n in alive for g in n.gpus]
    assert len(gpus) == len(alive) * GPUS and len({g.uuid for g in gpus}) == len(gpus)
    assert {g.index for g in gpus} == set(range(GPUS))
    assert set(replay.node_ids("DEAD")) == {n.node_id for n in nodes if n.state == "DEAD"}

    text = await client.cluster_status_text()
    status = merge_structured_autoscaler(parse_autoscaler_text(text), await client.cluster_status())
    assert status.available and status.active_count == len(alive)
    usage = {u.name: u for u in status.usage}
    assert usage["CPU"].total == sum(n.cpu_logical.total for n in alive)
    assert usage["GPU"].total == len(alive) * GPUS
    assert len(status.failures) == DEAD


async def test_jobs_serve_actors_and_the_rest(replay, client):
    jobs = parse_jobs(await client.list_jobs())
    counts = Counter(j.status for j in jobs)
    assert len(jobs) == JOBS and set(counts) == {
        "PENDING",
        "RUNNING",
        "STOPPED",
        "SUCCEEDED",
        "FAILED",
    }
    assert counts == {s: len(replay.job_ids(s)) for s in counts}
    assert counts["SUCCEEDED"] > JOBS / 2 and counts["RUNNING"] < JOBS / 10
    running = replay.job_ids("RUNNING")[0]
    assert (await client.get_job(running))["status"] == "RUNNING"
    assert "Running entrypoint for job" in await client.job_logs(running)

    serve = parse_serve(await client.serve_applications())
    assert serve.running and len(serve.apps) == 3
    assert all(d.replicas for app in serve.apps for d in app.deployments)

    actors = await client.list_actors(limit=10)
    assert actors["result"]["total"] == 30 and len(actors["result"]["result"]) == 10
    assert "node_id_to_summary" in (await client.actor_summary())["result"]["result"]
    assert (await client.task_summary())["result"]["total"] > 0
    assert (await client.version())["ray_version"] == "2.60.0"
    assert await client.auth_mode() == "disabled"
    assert not await client.package_exists("_ray_pkg_abc.zip")
    await client.upload_package("_ray_pkg_abc.zip", b"PK")
    assert await client.package_exists("_ray_pkg_abc.zip")
    assert replay.requests["/api/jobs/"] >= 1 and replay.requests["/api/v0/actors"] >= 1


async def test_utilisation_moves_between_requests(client):
    def readings(nodes):
        return [
            (n.cpu_percent, tuple((g.utilization, g.memory_used_mb) for g in n.gpus)) for n in nodes
        ]

    first = parse_nodes(await client.node_summary())
    second = parse_nodes(await client.node_summary())
    assert readings(first) != readings(second)
    assert [n.node_id for n in first] == [n.node_id for n in second]


@pytest.mark.parametrize("kind", [k for k in FAULTS if k != "restart"])
async def test_each_fault_on_nodes_raises_typed_then_clears(replay, impatient, kind):
    replay.set_fault("nodes", kind)
    try:
        with pytest.raises(DashboardTimeout if kind == "hang" else BadResponse):
            parse_nodes(await impatient.node_summary())
        await impatient.list_jobs()  # other sections still answer
    finally:
        replay.set_fault("nodes", None)
    assert len(parse_nodes(await impatient.node_summary())) == NODES


async def test_submit_stop_and_http_control(replay, client):
    submitted = await client.submit_job("python -c 'print(1)'")
    assert (await client.get_job(submitted))["status"] == "RUNNING"
    other = await client.submit_job("python -c 'print(2)'")
    assert await client.stop_job(other)
    assert (await client.get_job(other))["status"] == "STOPPED"
    async with httpx.AsyncClient(base_url=replay.url) as http:
        await http.post("/_replay/fault", params={"section": "jobs", "kind": "html"})
        with pytest.raises(BadResponse):
            await client.list_jobs()
        await http.post("/_replay/fault", params={"section": "jobs"})
        stats = (await http.get("/_replay/stats")).json()
    assert stats["faults"] == {} and stats["open_websockets"] == 0
    assert stats["requests"]["/api/jobs/"] >= 1
    await asyncio.sleep(0.4)
    assert (await client.get_job(submitted))["status"] == "SUCCEEDED"


async def test_tail_delivers_counts_and_closes(replay, client):
    job_id = replay.job_ids("RUNNING")[0]  # generated RUNNING: its log grows for ever
    tail = client.tail_job_logs(job_id)
    chunks = [await tail.__anext__() for _ in range(3)]
    assert all(0 < c.count("\n") <= 10 for c in chunks)
    assert replay.open_websockets == 1
    await tail.aclose()
    deadline = time.monotonic() + 3
    while replay.open_websockets and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert replay.open_websockets == 0


async def test_follower_reads_a_submitted_job_exactly_once(client):
    job_id = await client.submit_job("python train.py")
    lines: list[str] = []
    final = await JobLogFollower(client, job_id).run(lines.extend)
    assert final.job_status == "SUCCEEDED"
    assert lines == (await client.job_logs(job_id)).splitlines()


async def test_tail_faults(replay, client):
    job_id = replay.job_ids("RUNNING")[0]
    for kind, error in (("http500", BadResponse), ("truncated", DashboardUnreachable)):
        replay.set_fault("tail", kind)
        try:
            with pytest.raises(error):
                async for _chunk in client.tail_job_logs(job_id):
                    pass
        finally:
            replay.set_fault("tail", None)


def test_restart_changes_session_and_node_ids():
    with ReplayServer(nodes=4, jobs=10, actors=5, dead_fraction=0.0, seed=3) as server:
        before = httpx.get(server.url + "/api/version").json()["session_name"]
        old_ids = server.node_ids()
        lost = len(server.job_ids("RUNNING")) + len(server.job_ids("PENDING"))
        server.restart_session()
        after = httpx.get(server.url + "/api/version").json()["session_name"]
        assert after != before
        assert server.node_ids("DEAD") == old_ids
        assert not set(server.node_ids("ALIVE")) & set(old_ids)
        assert len(server.node_ids("ALIVE")) == 4
        assert len(server.job_ids("RUNNING")) == lost  # they failed; as many new ones run
