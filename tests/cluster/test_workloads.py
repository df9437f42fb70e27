"""The train, tune, rl and serve workloads' `smoke` presets, shipped to the real local head as a
Job through the Job REST API with a working_dir package (the same path the cockpit takes), succeed
and report parseable progress events (core's and data's run from their forms, unchanged, in
tests/ui/test_launch.py, which checks their results). Serve is called over HTTP on 127.0.0.1,
then stopped, and its app is seen gone."""

from __future__ import annotations

import asyncio
import shlex
import time
from pathlib import Path

import httpx
import pytest

from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.events import parse_events
from raycockpit.cockpit.local import free_port
from raycockpit.cockpit.models import TERMINAL_JOB_STATES
from raycockpit.cockpit.packaging import build_package, ensure_uploaded

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
JOB_TIMEOUT_S = 180.0
TERMINAL = TERMINAL_JOB_STATES
# Results the tests hand on (the train checkpoint is served by the serve test when present).
SHARED: dict[str, str] = {}


@pytest.fixture(scope="module")
async def runtime_env(ray_head):
    async with DashboardClient(ray_head.dashboard_url, discover=False) as c:
        uri = await ensure_uploaded(c, build_package(ROOT))
    return {"working_dir": uri}


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("workloads")


def tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


async def submit(client, runtime_env, name: str, *args: str) -> str:
    entrypoint = shlex.join(["python", "-m", f"workloads.{name}", "--preset", "smoke", *args])
    return await client.submit_job(
        entrypoint, runtime_env=runtime_env, metadata={"raycockpit_workload": name, "test": "smoke"}
    )


async def wait_done(client, job_id: str, timeout: float = JOB_TIMEOUT_S) -> dict:
    deadline = time.monotonic() + timeout
    job = await client.get_job(job_id)
    while job["status"] not in TERMINAL and time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        job = await client.get_job(job_id)
    return job


async def run_smoke(client, runtime_env, name: str, *args: str):
    """Submit, wait, and check status and the event stream; returns (events, logs, seconds)."""
    t0 = time.monotonic()
    job_id = await submit(client, runtime_env, name, *args)
    job = await wait_done(client, job_id)
    seconds = time.monotonic() - t0
    logs = await client.job_logs(job_id)
    if job["status"] not in TERMINAL:
        await client.stop_job(job_id)
    assert job["status"] == "SUCCEEDED", (
        f"{name} smoke job {job['status']} after {seconds:.0f} s: {job.get('message')}\n"
        f"--- log tail ---\n{tail(logs)}"
    )
    events = [e for e in parse_events(logs) if e.workload == name]
    check_stream(name, events, logs)
    return events, logs, seconds


def check_stream(name: str, events, logs: str) -> None:
    kinds = [e.kind for e in events]
    assert kinds and kinds[0] == "start", f"{name}: no start event first: {kinds}\n{tail(logs)}"
    assert kinds.count("start") == 1 and kinds.count("end") == 1, f"{name}: {kinds}"
    assert kinds[-1] == "end", f"{name}: events after end: {kinds}"
    assert "metric" in kinds, f"{name}: no metric event\n{tail(logs)}"
    end = events[-1].data
    assert end["status"] == "ok", f"{name}: end {end}\n{tail(logs)}"
    assert (
        isinstance(events[0].data.get("params"), dict)
        and events[0].data["params"]["preset"] == "smoke"
    )
    for e in events:
        if e.kind == "metric":
            assert e.step is not None and e.metrics, f"{name}: empty metric event {e.data}"


def artifacts(events) -> dict[str, dict]:
    return {e.data["name"]: e.data for e in events if e.kind == "artifact"}


async def test_train_smoke(client, runtime_env, out_dir):
    """Also: an MLflow tracking server that is down costs one line, and training goes on."""
    nobody = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    events, logs, _ = await run_smoke(
        client,
        runtime_env,
        "train",
        "--storage-path",
        str(out_dir / "train"),
        "--mlflow-uri",
        nobody,
    )
    said = [line for line in logs.splitlines() if "raycockpit: mlflow:" in line]
    assert len(said) == 1 and nobody in said[0] and "not reachable" in said[0], said
    assert not any("mlflow" in line for line in logs.splitlines() if "Error" in line), tail(logs)
    metrics = [e for e in events if e.kind == "metric"]
    assert [e.step for e in metrics] == [1.0, 2.0, 3.0]  # one per epoch, once each
    assert all(0.0 <= e.metrics["test_accuracy"] <= 1.0 for e in metrics)
    assert metrics[-1].metrics["test_accuracy"] > 0.5  # it learns even in 3 epochs
    ckpt = artifacts(events)["best_checkpoint"]
    assert Path(ckpt["path"], "model.pt").is_file()
    SHARED["checkpoint"] = ckpt["path"]


async def test_tune_smoke(client, runtime_env, out_dir):
    events, _, _ = await run_smoke(
        client, runtime_env, "tune", "--storage-path", str(out_dir / "tune")
    )
    trials = [e for e in events if e.kind == "trial"]
    ids = {e.data["trial_id"] for e in trials}
    assert len(ids) == 2
    assert {"lr", "hidden_size", "dropout"} <= set(trials[0].data["config"])
    assert sum(1 for e in trials if e.data["state"] == "TERMINATED") == 2
    end = events[-1].data
    assert 0.5 < end["metrics"]["best_accuracy"] <= 1.0
    assert set(end["best_config"]) == {"lr", "hidden_size", "dropout"}
    best = artifacts(events)["best_checkpoint"]  # the best trial's model, as train's is
    assert Path(best["path"], "model.pt").is_file() and best["accuracy"] == pytest.approx(
        end["metrics"]["best_accuracy"]
    )


async def test_rl_smoke_on_the_custom_env(client, runtime_env, out_dir):
    """The rl smoke preset, once, on the registered custom environment (CartPole, the default,
    runs from the form in tests/ui/test_launch.py)."""
    events, _, _ = await run_smoke(
        client, runtime_env, "rl", "--env", "custom", "--storage-path", str(out_dir / "rl")
    )
    start, end = events[0].data, events[-1].data
    assert start["params"]["env"] == "custom"
    assert end["env_id"] == "raycockpit-match-argmax-v0"
    metrics = [e for e in events if e.kind == "metric"]
    assert len(metrics) == 3
    assert metrics[-1].metrics["env_steps"] >= 3000
    # 20 steps a episode, reward 0 or 1 each: the mean return lies in [0, 20] (above 0 once it
    # plays: even a random policy matches the argmax one step in four)
    assert 0.0 < metrics[-1].metrics["episode_return_mean"] <= 20.0
    assert 0.0 <= end["metrics"]["episode_return_mean"] <= 20.0
    assert Path(artifacts(events)["checkpoint"]["path"]).is_dir()


async def test_serve_smoke_http_then_stop(client, runtime_env):
    port = free_port()
    app = "digits-smoke"
    ckpt = SHARED.get("checkpoint")
    args = ["--port", str(port), "--app-name", app, "--duration", "300"]
    if ckpt:
        args += ["--checkpoint", ckpt]
    job_id = await submit(client, runtime_env, "serve", *args)
    url, logs = None, ""
    try:
        deadline = time.monotonic() + JOB_TIMEOUT_S
        while url is None and time.monotonic() < deadline:
            job = await client.get_job(job_id)
            logs = await client.job_logs(job_id)
            found = artifacts(e for e in parse_events(logs) if e.workload == "serve")
            if "serve_url" in found:
                url = found["serve_url"]["url"]
            elif job["status"] in TERMINAL:
                break
            else:
                await asyncio.sleep(1.0)
        assert url == f"http://127.0.0.1:{port}/", f"no serve_url artifact:\n{tail(logs)}"
        from workloads import _digits

        _, _, x_te, y_te = _digits.load_split()
        async with httpx.AsyncClient(timeout=30.0) as http:
            health = (await http.get(url + "health")).json()
            assert health["status"] == "ok"
            assert health["model"] == ("checkpoint" if ckpt else "random-init")
            resp = await http.post(url + "predict", json=x_te[:16].tolist())
            assert resp.status_code == 200, resp.text
            body = resp.json()
            assert len(body["predictions"]) == 16 and len(body["probabilities"][0]) == 10
            assert all(0 <= p <= 9 for p in body["predictions"])
            if ckpt:  # a trained model reads most digits right
                pairs = zip(body["predictions"], y_te[:16], strict=False)
                correct = sum(int(p == y) for p, y in pairs)
                assert correct >= 10
            bad = await http.post(url + "predict", json=[[1, 2, 3]])
            assert bad.status_code == 422
        # the smoke preset's self-test runs once the URL is announced; its metric follows (a
        # loaded box can take seconds over 5 requests, so wait for it rather than read once)
        deadline = time.monotonic() + 90
        self_tested = False
        while not self_tested and time.monotonic() < deadline:
            logs = await client.job_logs(job_id)
            events = [e for e in parse_events(logs) if e.workload == "serve"]
            self_tested = any(
                e.kind == "metric" and e.metrics.get("self_test_requests") == 5 for e in events
            )
            if not self_tested:
                await asyncio.sleep(1.0)
        assert self_tested, f"no self-test metric:\n{tail(logs)}"
    finally:
        await client.stop_job(job_id)
        job = await wait_done(client, job_id, timeout=60)
    logs = await client.job_logs(job_id)
    assert job["status"] == "STOPPED", f"{job['status']}: {job.get('message')}\n{tail(logs)}"
    events = [e for e in parse_events(logs) if e.workload == "serve"]
    check_stream("serve", events, logs)
    assert events[-1].data["stop_reason"].startswith("signal")
    deadline = time.monotonic() + 60
    apps = (await client.serve_applications()).get("applications") or {}
    while app in apps and time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        apps = (await client.serve_applications()).get("applications") or {}
    assert app not in apps, f"Serve app {app} still there after the job stopped: {apps[app]}"
