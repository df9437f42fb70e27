"""The `k8s` context kind (cockpit/kubectl_forward.py) against the suite's real Ray head.

There is no Kubernetes here and no kubectl: the `kubectl` on PATH in these tests is a STAND-IN
(written below) that does what `kubectl port-forward --address 127.0.0.1 svc/<cluster>-head-svc
LOCAL:8265` does for the cockpit: it listens on LOCAL and forwards every connection, for real, to
the test head's dashboard; for any other service it fails as kubectl does ("NotFound"). It logs
its arguments, so the tests also check the exact kubectl command the cockpit runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from raycockpit.cockpit.config import Settings
from raycockpit.cockpit.fleet import open_connection
from raycockpit.screens.app import make_app
from tests.ui.helpers import wait_for

pytestmark = pytest.mark.cluster

RAYCOCKPIT = Path(sys.executable).with_name("raycockpit")

STAND_IN = '''#!{python}
"""A STAND-IN for kubectl (tests only): port-forward to the test head, nothing else."""
import asyncio, os, sys

args = sys.argv[1:]
with open(os.environ["STANDIN_KUBECTL_LOG"], "a") as log:
    log.write(" ".join(args) + "\\n")
if not args or args[0] != "port-forward":
    sys.exit("stand-in kubectl: only port-forward")
service, ports = args[-2], args[-1]
if service != os.environ["STANDIN_KUBECTL_SERVICE"]:
    name = service.split("/")[-1]
    sys.stderr.write(f'Error from server (NotFound): services "{{name}}" not found\\n')
    sys.exit(1)
local = int(ports.split(":")[0])
host, port = os.environ["STANDIN_KUBECTL_TARGET"].rsplit(":", 1)

async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()

async def handle(reader, writer):
    up_reader, up_writer = await asyncio.open_connection(host, int(port))
    await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", local)
    print(f"Forwarding from 127.0.0.1:{{local}} -> {{port}}", flush=True)
    async with server:
        await server.serve_forever()

asyncio.run(main())
'''


@pytest.fixture
def stand_in(tmp_path, ray_head, monkeypatch):
    """PATH with the stand-in kubectl first; its log of arguments."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    kubectl = bindir / "kubectl"
    kubectl.write_text(STAND_IN.format(python=sys.executable))
    kubectl.chmod(0o755)
    log = tmp_path / "kubectl.log"
    env = {
        "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
        "STANDIN_KUBECTL_LOG": str(log),
        "STANDIN_KUBECTL_SERVICE": "svc/ray-cluster-head-svc",
        "STANDIN_KUBECTL_TARGET": ray_head.dashboard_url.split("://", 1)[1],
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return log


def settings_file(tmp_path: Path, **context) -> Path:
    path = tmp_path / "cockpit.yaml"
    path.write_text(json.dumps({"contexts": {"kr": {"k8s": "ray-cluster", **context}}}))
    return path


def run_cockpit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(RAYCOCKPIT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_once_through_a_kubectl_port_forward(stand_in, tmp_path):
    config = settings_file(tmp_path, k8s_namespace="ml", kube_context="kind-test")
    done = run_cockpit("--config", str(config), "--context", "kr", "--once", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["connected"] and len(report["nodes"]) == 1
    assert "opening kubectl port-forward to k8s ml/svc/ray-cluster-head-svc" in done.stderr
    (line,) = stand_in.read_text().splitlines()
    args = line.split()
    assert args[:-1] == [
        "port-forward",
        "--address",
        "127.0.0.1",
        "--namespace",
        "ml",
        "--context",
        "kind-test",
        "svc/ray-cluster-head-svc",
    ]
    assert args[-1].endswith(":8265")


def test_a_cluster_that_is_not_there_is_one_line_with_a_hint(stand_in, tmp_path):
    path = tmp_path / "cockpit.yaml"
    path.write_text(json.dumps({"contexts": {"kr": {"k8s": "nope"}}}))
    done = run_cockpit("--config", str(path), "--context", "kr", "--once")
    assert done.returncode == 2
    assert "kubectl port-forward to k8s svc/nope-head-svc failed" in done.stderr
    assert 'services "nope-head-svc" not found' in done.stderr
    assert "kubectl get svc nope-head-svc" in done.stderr and "Traceback" not in done.stderr


def test_no_kubectl_on_path_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing there
    done = subprocess.run(
        [str(RAYCOCKPIT), "--config", str(settings_file(tmp_path)), "--context", "kr", "--once"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PATH": str(tmp_path)},
    )
    assert done.returncode == 2 and "no `kubectl` on PATH" in done.stderr


async def test_the_app_reopens_a_dropped_forward(stand_in, tmp_path):
    settings = Settings.model_validate(
        {"refresh": 0.5, "contexts": {"kr": {"k8s": "ray-cluster"}}, "context": "kr"}
    )
    mine = settings.for_context("kr")
    connection = await open_connection(mine)
    forward = connection.tunnel
    try:
        app = make_app(mine, client=connection.client, tunnel=forward, base_settings=settings)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.snapshot and app.snapshot.connected, what="data")
            first = forward.process.pid
            forward.process.kill()  # the port-forward dies, as kubectl's do when a pod restarts
            await wait_for(
                pilot,
                lambda: forward.opened == 2,
                timeout=30,
                what="the forward re-opened",
            )
            assert forward.alive() and forward.process.pid != first
            before = app.snapshot
            await wait_for(
                pilot,
                lambda: app.snapshot is not before and app.snapshot.connected,
                timeout=30,
                what="data through the new forward",
            )
            assert any("re-opened" in n.message for n in app._notifications)
    finally:
        forward.shut_down()
        await asyncio.sleep(0)
    assert not forward.alive()
