"""cockpit/clusters.py without a cluster: cluster YAML files found and summarised (bad ones
with a one-line problem), the launcher's command lines and environment, and LauncherRun
streaming a small real subprocess line by line, then stopping a whole process tree by pid."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest

from raycockpit.cockpit import clusters
from raycockpit.cockpit.clusters import (
    ClusterConfig,
    LauncherRun,
    find_cluster_configs,
    launcher_argv,
    launcher_environment,
    strip_ansi,
    workers_stop_command,
)
from raycockpit.cockpit.local import still_running

LOCAL = """\
cluster_name: onprem
provider:
  type: local
  head_ip: 10.0.0.1
  worker_ips: [10.0.0.2, 10.0.0.3]
auth:
  ssh_user: ubuntu
  ssh_private_key: ~/.ssh/id_ed25519
"""
AWS = """\
max_workers: 4
provider: {type: aws, region: us-west-2}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_find_reads_good_configs(tmp_path: Path) -> None:
    local = write(tmp_path, "a.yaml", LOCAL)
    aws = write(tmp_path, "b-cloud.yml", AWS)
    write(tmp_path, "notes.txt", "not a config")
    found = find_cluster_configs([tmp_path, tmp_path / "missing"])
    assert found == [
        ClusterConfig("onprem", local, "local", "10.0.0.1", 2),
        ClusterConfig("b-cloud", aws, "aws", "", 4),
    ]


def test_find_reports_bad_files_in_one_line(tmp_path: Path) -> None:
    write(tmp_path, "a-broken.yaml", "provider: {type: local\n  head_ip: [\n")
    write(tmp_path, "b-list.yaml", "- 1\n- 2\n")
    write(tmp_path, "c-noprovider.yaml", "cluster_name: x\n")
    (tmp_path / "d-binary.yaml").write_bytes(b"\xff\xfe\x00bad")
    found = find_cluster_configs([tmp_path])
    assert [c.name for c in found] == ["a-broken", "b-list", "x", "d-binary"]
    for config in found:
        assert config.problem and "\n" not in config.problem
    assert found[0].problem.startswith("not valid YAML")
    assert "not a mapping" in found[1].problem
    assert "provider.type" in found[2].problem


def test_launcher_argv_is_non_interactive(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    ray = str(Path(sys.executable).with_name("ray"))
    up = launcher_argv("up", path)
    assert up[0].endswith("ray") and up[1:3] == ["up", str(path)]
    assert "-y" in up and "--no-config-cache" in up
    assert "-y" in launcher_argv("down", path)
    exec_argv = launcher_argv("exec", path, "hostname")
    assert exec_argv[1:3] == ["exec", str(path)] and exec_argv[-1] == "hostname"
    if Path(ray).exists():
        assert up[0] == ray
    with pytest.raises(ValueError):
        launcher_argv("exec", path)
    with pytest.raises(ValueError):
        launcher_argv("attach", path)


def test_environment_for_the_local_provider(monkeypatch) -> None:
    env = launcher_environment({"HOME": "/x"}, provider="local")
    assert env["HOME"] == "/x" and env["PYTHONUNBUFFERED"] == "1"
    assert env["PATH"].startswith(str(Path(sys.executable).parent))
    assert env["RAY_UP_enable_autoscaler_v2"] == "0"
    monkeypatch.delenv("RAY_UP_enable_autoscaler_v2", raising=False)
    assert "RAY_UP_enable_autoscaler_v2" not in launcher_environment(provider="aws")


def test_workers_stop_command(tmp_path: Path) -> None:
    command = workers_stop_command(write(tmp_path, "c.yaml", LOCAL))
    assert command.count("ssh -i ~/ray_bootstrap_key.pem") == 2
    assert "ubuntu@10.0.0.2" in command and "ubuntu@10.0.0.3" in command
    assert "ray stop" in command
    assert workers_stop_command(write(tmp_path, "d.yaml", AWS)) is None
    assert workers_stop_command(tmp_path / "missing.yaml") is None


def test_strip_ansi() -> None:
    assert strip_ansi("\x1b[1m\x1b[32mok\x1b[39m\x1b[22m\r") == "ok"


def fake_argv(monkeypatch, code: str) -> None:
    monkeypatch.setattr(clusters, "launcher_argv", lambda *a, **k: [sys.executable, "-c", code])


async def test_run_streams_lines_as_they_come(monkeypatch, tmp_path: Path) -> None:
    code = (
        "import sys, time\n"
        "print('\\x1b[32mone\\x1b[0m', flush=True)\n"
        "time.sleep(1.0)\n"
        "print('two', file=sys.stderr, flush=True)\n"
        "sys.exit(3)\n"
    )
    fake_argv(monkeypatch, code)
    run = LauncherRun("up", tmp_path / "c.yaml", env={"RC_TEST": "1"})
    assert run.returncode is None and run.env["RC_TEST"] == "1"
    got = []
    async for line in run.lines():
        got.append((line, time.monotonic(), run.returncode))
    assert [line for line, _, _ in got] == ["one", "two"]
    assert got[0][2] is None  # the first line came while the command still ran
    assert got[1][1] - got[0][1] > 0.5
    assert run.returncode == 3


async def test_stop_ends_the_whole_tree(monkeypatch, tmp_path: Path) -> None:
    code = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    fake_argv(monkeypatch, code)
    run = LauncherRun("up", tmp_path / "c.yaml")
    lines = run.lines()
    child = int(await asyncio.wait_for(anext(lines), 30))
    run._remember()
    assert child in run.tree
    left = await run.stop(grace=2.0)
    assert left == {} and not still_running(run.tree)
    assert run.returncode is not None
    await lines.aclose()
