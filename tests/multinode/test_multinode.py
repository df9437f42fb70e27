"""The cockpit against a real three-node Ray cluster, reached the way a user reaches one: over SSH
from outside the head machine (here: from the root namespace into the head's namespace, whose
dashboard listens on that namespace's loopback only).

(1) `raycockpit --ssh HEAD --once --json` lists the three nodes ALIVE, with their three addresses
    and one CPU each.
(2) A worker's raylet killed: within two refreshes of the GCS calling it DEAD, the cockpit's
    poller (through the app's own SSH tunnel and client) shows it DEAD and the alive CPUs drop;
    the worker started again joins as a NEW node, ALIVE.
(The bundled workloads spread over the nodes: test_workloads_on_nodes.py.)
"""

from __future__ import annotations

import asyncio
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.poller import Poller
from raycockpit.cockpit.tunnel import SshTarget, SshTunnel

pytestmark = pytest.mark.cluster

RAYCOCKPIT = Path(sys.executable).with_name("raycockpit")
DEAD_TIMEOUT_S = 60.0
REJOIN_TIMEOUT_S = 120.0


def settings_file(tmp_path: Path, cluster) -> Path:
    path = tmp_path / "cockpit.yaml"
    path.write_text(json.dumps({"ssh_options": ["-F", str(cluster.sshd.client_config)]}))
    return path


def once_json(cluster, tmp_path: Path) -> dict:
    done = subprocess.run(
        [
            str(RAYCOCKPIT),
            "--once",
            "--json",
            "--ssh",
            cluster.sshd.alias,
            "--config",
            str(settings_file(tmp_path, cluster)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def alive_cpus(snap) -> float:
    return sum(n.cpu_logical.total for n in snap.alive_nodes if n.cpu_logical is not None)


def test_once_over_ssh_lists_three_alive_nodes(multinode, tmp_path):
    for _ in range(5):  # the cluster-wide total comes from the autoscaler's report, a beat late
        report = once_json(multinode, tmp_path)
        assert report["connected"], report["errors"]
        if (report["totals"].get("CPU") or {}).get("total") == 3.0:
            break
        time.sleep(2)
    alive = [n for n in report["nodes"] if n["state"] == "ALIVE"]
    assert sorted(n["ip"] for n in alive) == sorted(multinode.ips.values()), report["nodes"]
    assert len({n["node_id"] for n in alive}) == 3
    (head,) = [n for n in alive if n["is_head"]]
    assert head["ip"] == multinode.head.ip
    for node in alive:
        assert node["cpu"] is not None and node["cpu"]["total"] == 1.0, node
    assert report["totals"]["CPU"]["total"] == 3.0, report["totals"]


@pytest.fixture
async def tunnel_client(multinode):
    """The app's own pieces: an SshTunnel to the head's sshd and a DashboardClient on its end."""
    tunnel = SshTunnel(
        SshTarget.parse(multinode.sshd.alias),
        options=["-F", str(multinode.sshd.client_config)],
    )
    await asyncio.to_thread(tunnel.open)
    try:
        async with DashboardClient(tunnel.address) as client:
            yield client
    finally:
        tunnel.shut_down()


async def poll_until(poller: Poller, check, timeout: float, what: str, refresh=None):
    deadline = time.monotonic() + timeout
    snap = await poller.poll_once()
    if refresh is not None:
        await refresh()
    while not check(snap):
        if time.monotonic() > deadline:
            nodes = [(n.ip, n.node_id[:8], n.state) for n in snap.nodes]
            raise AssertionError(f"{what}: not seen in {timeout:.0f} s; nodes {nodes}")
        await asyncio.sleep(poller.interval)
        snap = await poller.poll_once()
        if refresh is not None:
            await refresh()
    return snap


_log_cache: dict[str, str] = {}


async def _cache_log(client: DashboardClient, job_id: str) -> None:
    _log_cache[job_id] = await client.job_logs(job_id)


PINNED = """
import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

ray.init()

@ray.remote(num_cpus=1, max_retries=0)
def stay():
    import time
    print("@@running", flush=True)
    time.sleep(600)

ref = stay.options(
    scheduling_strategy=NodeAffinitySchedulingStrategy("NODE_ID", soft=False)
).remote()
try:
    ray.get(ref)
except Exception as exc:
    print("@@failed", type(exc).__name__, exc, flush=True)
    raise SystemExit(1)
"""


async def test_killed_raylet_shows_dead_then_a_restarted_worker_joins_as_a_new_node(
    multinode, tunnel_client
):
    poller = Poller(tunnel_client, interval=1.0)
    ip = multinode.nodes["worker1"].ip
    snap = await poll_until(
        poller, lambda s: len(s.alive_nodes) == 3, 60, "three ALIVE nodes in the cockpit"
    )
    (old,) = [n for n in snap.nodes if n.ip == ip and n.state == "ALIVE"]
    assert alive_cpus(snap) == 3.0
    # a job whose task runs on that worker when it dies (pinned there, no retries)
    job_id = await tunnel_client.submit_job(
        shlex.join([sys.executable, "-c", PINNED.replace("NODE_ID", old.node_id)])
    )
    await poll_until(
        poller,
        lambda s: "@@running" in _log_cache.get(job_id, ""),
        60,
        "the pinned task running on the worker",
        refresh=lambda: _cache_log(tunnel_client, job_id),
    )

    multinode.kill_raylet("worker1")
    # the cluster's own word: wait until the GCS calls the node DEAD
    deadline = time.monotonic() + DEAD_TIMEOUT_S
    while multinode.states().get(old.node_id) != "DEAD":
        assert time.monotonic() < deadline, f"the GCS did not call {old.node_id} DEAD"
        time.sleep(0.5)
    # ... then the cockpit shows it within two refreshes
    for _ in range(2):
        snap = await poller.poll_once()
        dead = [n for n in snap.nodes if n.node_id == old.node_id]
        if dead and dead[0].state == "DEAD":
            break
    assert dead and dead[0].state == "DEAD", [(n.ip, n.state) for n in snap.nodes]
    assert len(snap.alive_nodes) == 2 and alive_cpus(snap) == 2.0
    assert ip not in {n.ip for n in snap.alive_nodes}
    # the cluster-wide total (from the autoscaler's report, which lags a little) follows
    await poll_until(poller, lambda s: s.totals()["CPU"].total == 2.0, 60, "2 CPUs in all")
    # the task's failure is visible: its job FAILED in the cockpit, the node's death in its log
    snap = await poll_until(
        poller,
        lambda s: any(j.key == job_id and j.status == "FAILED" for j in s.jobs),
        90,
        "the pinned task's job FAILED",
    )
    logs = await tunnel_client.job_logs(job_id)
    # Ray words the loss of the task's node in more than one way, by timing: its worker died or
    # crashed, or the pinned node "doesn't exist any more" (TaskUnschedulableError)
    lost = ("died", "crash", "doesn't exist any more")
    assert "@@failed" in logs and any(w in logs.lower() for w in lost), logs[-2000:]

    new_id = await asyncio.to_thread(multinode.restart_worker, "worker1", REJOIN_TIMEOUT_S)
    assert new_id != old.node_id
    snap = await poll_until(
        poller,
        lambda s: any(n.node_id == new_id and n.state == "ALIVE" for n in s.nodes),
        60,
        "the restarted worker ALIVE",
    )
    (new,) = [n for n in snap.nodes if n.node_id == new_id]
    assert new.ip == ip and not new.is_head
    assert len(snap.alive_nodes) == 3 and alive_cpus(snap) == 3.0
    assert [n.state for n in snap.nodes if n.node_id == old.node_id] == ["DEAD"]
