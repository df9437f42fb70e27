"""The DashboardClient against a real local Ray head."""

from __future__ import annotations

import asyncio
import sys
import time

import pytest

from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.errors import DashboardUnreachable, NotFound
from raycockpit.cockpit.local import free_port
from raycockpit.cockpit.models import TERMINAL_JOB_STATES
from raycockpit.cockpit.node_work import fetch_node_work

pytestmark = pytest.mark.cluster


async def wait_status(client, job_id, statuses, timeout=90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = await client.get_job(job_id)
        if job["status"] in statuses:
            return job
        await asyncio.sleep(0.5)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s")


async def test_version_and_auth_mode(client):
    version = await client.version()
    assert version["ray_version"] == "2.60.0"
    assert await client.auth_mode() in {"disabled", "token"}


async def test_nodes_and_cluster_status(client):
    nodes = await client.node_summary()
    assert len(nodes["summary"]) == 1
    assert nodes["summary"][0]["raylet"]["isHeadNode"] is True
    deadline = time.monotonic() + 60
    text = await client.cluster_status_text()
    while "Node status" not in text and time.monotonic() < deadline:  # the autoscaler reports late
        await asyncio.sleep(1)
        text = await client.cluster_status_text()
    assert "Node status" in text and "CPU" in text
    structured = await client.cluster_status()
    assert "clusterStatus" in structured


async def test_tiny_job_succeeds_and_logs(client):
    code = (
        "import ray; ray.init(); "
        "print('sum', sum(ray.get([ray.remote(lambda x: x * x).remote(i) for i in range(10)])))"
    )
    job_id = await client.submit_job(f'{sys.executable} -c "{code}"', metadata={"test": "tiny"})
    job = await wait_status(client, job_id, TERMINAL_JOB_STATES)
    assert job["status"] == "SUCCEEDED", job.get("message")
    assert "sum 285" in await client.job_logs(job_id)
    assert any(j["submission_id"] == job_id for j in await client.list_jobs())
    assert await client.delete_job(job_id) is True
    with pytest.raises(NotFound):
        await client.get_job(job_id)


async def test_stop_sleeping_job_and_tail(client):
    code = "import time\nfor i in range(600):\n    print('tick', i, flush=True); time.sleep(0.2)"
    job_id = await client.submit_job(f'{sys.executable} -u -c "{code}"')
    await wait_status(client, job_id, {"RUNNING"})
    received = ""
    async for chunk in client.tail_job_logs(job_id):
        received += chunk
        if "tick 3" in received:
            break
    assert "tick 0" in received and "tick 3" in received
    assert await client.stop_job(job_id) is True
    job = await wait_status(client, job_id, TERMINAL_JOB_STATES)
    assert job["status"] == "STOPPED"


async def test_unreachable_dashboard_is_a_typed_error():
    async with DashboardClient(f"http://127.0.0.1:{free_port()}", discover=False, timeout=2) as c:
        with pytest.raises(DashboardUnreachable) as info:
            await c.version()
    assert "cannot reach" in str(info.value) and "Traceback" not in str(info.value)


async def test_actor_and_task_summaries(client):
    code = (
        "import ray; ray.init()\n"
        "@ray.remote\nclass Counter:\n    def inc(self): return 1\n"
        "c = Counter.remote(); print(sum(ray.get([c.inc.remote() for _ in range(5)])))"
    )
    job_id = await client.submit_job(f'{sys.executable} -c "{code}"')
    job = await wait_status(client, job_id, TERMINAL_JOB_STATES)
    assert job["status"] == "SUCCEEDED", job.get("message")
    tasks = (await client.task_summary())["result"]["result"]["node_id_to_summary"]["cluster"][
        "summary"
    ]
    assert any("Counter" in name for name in tasks), list(tasks)
    actors = await client.actor_summary()
    assert "Counter" in str(actors)
    listed = (await client.list_actors())["result"]
    assert any(row["class_name"] == "Counter" for row in listed["result"])
    # the node's own listing (its detail screen): the actor and its method's tasks, by state
    head = next(n for n in (await client.node_summary())["summary"] if n["raylet"]["isHeadNode"])
    work = await fetch_node_work(client, head["raylet"]["nodeId"])
    actors = {g.name: dict(g.states) for g in work.actors.groups}
    assert actors.get("Counter", {}).get("DEAD", 0) >= 1, actors
    tasks = {g.name: dict(g.states) for g in work.tasks.groups}
    assert tasks.get("Counter.inc", {}).get("FINISHED", 0) >= 5, tasks
    assert not work.tasks.partial
    elsewhere = await fetch_node_work(client, "0" * 56)
    assert elsewhere.tasks.groups == () and elsewhere.actors.groups == ()


async def test_working_dir_uploaded_once_per_content_hash(client, tmp_path):
    from raycockpit.cockpit.packaging import build_package, ensure_uploaded

    (tmp_path / "job").mkdir()
    (tmp_path / "job" / "hello.py").write_text(f"print('hello from {tmp_path.name}')\n")
    package = build_package(tmp_path, include=("job",))
    assert await client.package_exists(package.name) is False
    uploads = []
    real_upload = client.upload_package

    async def counting_upload(name, data):
        uploads.append(name)
        await real_upload(name, data)

    client.upload_package = counting_upload
    uri = await ensure_uploaded(client, package)
    assert await ensure_uploaded(client, build_package(tmp_path, include=("job",))) == uri
    assert uploads == [package.name]  # the second launch found it on the cluster
    job_id = await client.submit_job(
        f"{sys.executable} job/hello.py", runtime_env={"working_dir": uri}
    )
    job = await wait_status(client, job_id, TERMINAL_JOB_STATES)
    assert job["status"] == "SUCCEEDED", job.get("message")
    assert f"hello from {tmp_path.name}" in await client.job_logs(job_id)
