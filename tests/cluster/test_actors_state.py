"""The Actors section against the real head: the core and rl workloads, with the smallest values
their specs allow (rl with one env runner, so it has an actor), run as Jobs; then the poller,
wanting the section, lists their actors by class (with death causes once the jobs ended) and
their tasks by function, with what Ray 2.60 really answers."""

from __future__ import annotations

import asyncio
import shlex
import time
from pathlib import Path

import pytest

from raycockpit.cockpit.actors import ActorsFetcher, decode_actor_list, decode_summary
from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.models import TERMINAL_JOB_STATES
from raycockpit.cockpit.packaging import build_package, ensure_uploaded
from raycockpit.cockpit.poller import Poller

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
# the smallest values of configs/workloads/{core,rl}.yaml (rl: one env runner, for an actor)
CORE_MIN = {
    "num_tasks": 1,
    "waves": 1,
    "samples_per_task": 1,
    "array_mb": 0.01,
    "readers": 1,
    "cpus_per_task": 0.01,
}
RL_MIN = {
    "num_env_runners": 1,
    "envs_per_env_runner": 1,
    "cpus_per_env_runner": 0.1,
    "num_learners": 0,
    "max_iterations": 1,
    "train_batch_size": 64,
    "minibatch_size": 8,
    "num_epochs": 1,
    "hidden_size": 4,
}


def entrypoint(workload: str, values: dict) -> str:
    args = [f"--{k.replace('_', '-')}={v}" for k, v in values.items()]
    return shlex.join(["python", "-m", f"workloads.{workload}", *args])


async def run_jobs(client: DashboardClient, jobs: dict[str, str], timeout: float = 240.0) -> None:
    uri = await ensure_uploaded(client, build_package(ROOT))
    ids = {
        name: await client.submit_job(
            command, runtime_env={"working_dir": uri}, metadata={"test": "actors"}
        )
        for name, command in jobs.items()
    }
    deadline = time.monotonic() + timeout
    pending = dict(ids)
    while pending and time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        for name, job_id in list(pending.items()):
            job = await client.get_job(job_id)
            if job["status"] in TERMINAL_JOB_STATES:
                assert job["status"] == "SUCCEEDED", (name, job.get("message"))
                del pending[name]
    for job_id in pending.values():
        await client.stop_job(job_id)
    assert not pending, f"still running after {timeout:.0f} s: {sorted(pending)}"


@pytest.fixture(scope="module")
async def ran(ray_head):
    async with DashboardClient(ray_head.dashboard_url, discover=False) as client:
        await run_jobs(
            client, {"core": entrypoint("core", CORE_MIN), "rl": entrypoint("rl", RL_MIN)}
        )
    return ray_head


async def test_poller_lists_the_workloads_actors_and_tasks(ran):
    async with DashboardClient(ran.dashboard_url, discover=False) as client:
        poller = Poller(client, interval=1.0)
        poller.want({"actors", "nodes"})
        snap = await poller.poll_once()
    assert "actors" not in snap.errors, snap.errors
    status = snap.actors
    classes = {g.name: dict(g.states) for g in status.classes}
    assert "Accumulator" in classes, classes  # core's stateful actor
    assert any("EnvRunner" in name for name in classes), classes  # rl's env runner
    listed = {a.class_name: a for a in status.actors}
    acc = listed["Accumulator"]
    assert acc.state == "DEAD" and acc.death_cause, acc  # its job ended: Ray says why it died
    assert acc.resources == {} and acc.pid  # num_cpus=0
    runner = next(a for name, a in listed.items() if "EnvRunner" in name)
    assert runner.resources.get("CPU") == pytest.approx(0.1), runner
    tasks = {g.name: g for g in status.tasks}
    assert {"slice_stats", "monte_carlo_pi"} <= set(tasks), sorted(tasks)
    assert dict(tasks["monte_carlo_pi"].states).get("FINISHED") == 1
    assert tasks["monte_carlo_pi"].kind == "NORMAL_TASK"
    assert status.total >= len(status.actors) == status.listed and not status.cut


async def test_a_small_limit_is_said_as_listed_of_total(ran):
    async with DashboardClient(ran.dashboard_url, discover=False) as client:
        answer = await ActorsFetcher(limit=1, dead_limit=1).fetch(client)
    actors, listed, matched, _ = decode_actor_list(answer.dead)
    assert listed == 1 and matched >= 2  # Ray filtered, then cut at the limit
    classes, total = decode_summary(answer.classes, "summary", "actor")
    assert total >= 2 and sum(g.total for g in classes) == total
