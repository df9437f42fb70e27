"""Ray's own cluster launcher with the `local` (on-premise) provider on namespace "machines".

Two bare machines (tests/multinode/launcher_fixture.py: A and B, each a network, PID and mount
namespace with an sshd that accepts root with a test key; no Ray running) and a local-provider
cluster YAML naming A as head_ip and B in worker_ips. `LauncherRun` (cockpit/clusters.py) runs
`ray up`: its lines stream while it runs; the head's dashboard (A's loopback) then lists both
nodes ALIVE (B is started by the head's autoscaler over SSH). `ray exec` runs a command on A,
`ray down` stops the cluster, and afterwards nothing the launcher started is left: no raylet or
gcs_server, no process in the machines beyond their sshd, no process of the launcher runs here
(its ssh control masters included). Leftovers are stopped by pid and fail the test.

The launcher's own state goes to a temp HOME and RAY_TMPDIR; Ray hard-codes its ssh control
sockets under /tmp/ray_ssh_<user hash>/<cluster hash>, which the test removes (the cluster name
is random, so that folder is this test's).
"""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import os
import secrets
import shutil
import time
from pathlib import Path

import pytest

from raycockpit.cockpit.clusters import LauncherRun, workers_stop_command
from raycockpit.cockpit.local import find_ray_cli
from tests.e2e.procs import stop_pids, wait_gone
from tests.e2e.sshd import find_sshd
from tests.multinode.cluster import executable
from tests.multinode.launcher_fixture import Machines
from tests.multinode.netns import skip_reason

REPO = Path(__file__).resolve().parents[2]
UP_TIMEOUT_S = 300.0
ALIVE_TIMEOUT_S = 180.0
QUIET_TIMEOUT_S = 60.0


def launcher_skip_reason() -> str | None:
    """What this box lacks for the launcher test, or None."""
    reason = skip_reason()
    if reason:
        return reason
    if find_sshd() is None:
        return "no OpenSSH sshd here: apt-get install openssh-server"
    if find_ray_cli() is None:
        return "Ray is not installed here (./dev setup installs it)"
    if shutil.which("rsync") is None:
        return (
            "no rsync here: `ray up` copies its bootstrap files with `rsync` "
            "(ray/autoscaler/_private/command_runner.py SSHCommandRunner.run_rsync_up); "
            "apt-get install rsync"
        )
    if shutil.which("unshare") is None:
        return "no unshare here (util-linux): the machines need PID and mount namespaces"
    return None


@pytest.fixture
def machines():
    reason = launcher_skip_reason()
    if reason:
        pytest.skip(reason)
    made = Machines(2).start()
    try:
        yield made
    finally:
        problems = made.stop()
        if problems:
            raise RuntimeError("the launcher machines did not clean up: " + "; ".join(problems))


def control_dir(cluster: str) -> Path:
    """Where Ray's SSHCommandRunner puts the launcher's ssh control sockets for `cluster`."""
    user = hashlib.sha256(getpass.getuser().encode()).hexdigest()[:10]
    return Path(f"/tmp/ray_ssh_{user}") / hashlib.sha256(cluster.encode()).hexdigest()[:10]


async def run_launcher(run: LauncherRun, timeout: float) -> list[tuple[float, bool, str]]:
    """Every line of `run` with when it came and whether the command still ran then."""
    got: list[tuple[float, bool, str]] = []

    async def read() -> None:
        async for line in run.lines():
            got.append((time.monotonic(), run.process.returncode is None, line))

    try:
        await asyncio.wait_for(read(), timeout)
    except TimeoutError:
        await run.stop()
        pytest.fail(f"{' '.join(run.argv[1:3])} ran over {timeout:.0f} s:\n{tail(got)}")
    return got


def tail(got: list[tuple[float, bool, str]], count: int = 40) -> str:
    return "\n".join(line for _, _, line in got[-count:])


def wait_alive(machines: Machines, want: set[str], timeout: float) -> set[str]:
    deadline = time.monotonic() + timeout
    seen: object = "no answer"
    while time.monotonic() < deadline:
        try:
            seen = machines.alive_ips()
            if seen >= want:
                return seen
        except (RuntimeError, ValueError, KeyError, TypeError) as exc:
            seen = exc
        time.sleep(2.0)
    return seen if isinstance(seen, set) else set()


def describe(pids) -> str:
    parts = []
    for pid in sorted(pids):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
        except OSError:
            cmd = "?"
        parts.append(f"{pid} ({Path(executable(pid)).name}: {cmd.strip()})")
    return "; ".join(parts)


async def test_ray_up_exec_down_on_namespace_machines(machines: Machines) -> None:
    cluster = f"rcl-{secrets.token_hex(3)}"
    config = machines.write_config(cluster)
    ltmp = str(machines.base / "ltmp")  # the launcher's state and its config cache
    env = {"HOME": str(machines.base / "lhome"), "RAY_TMPDIR": ltmp, "TMPDIR": ltmp}
    for folder in env.values():
        os.makedirs(folder, exist_ok=True)
    control = control_dir(cluster)
    runs: list[LauncherRun] = []
    try:
        await _up_exec_down(machines, config, env, runs)
    finally:
        leftovers = await _launcher_leftovers(runs)
        shutil.rmtree(control, ignore_errors=True)
        _rmdir_if_empty(control.parent)
    assert not leftovers, f"launcher processes left after `ray down`: {leftovers}"
    left = machines.wait_quiet(QUIET_TIMEOUT_S)
    if left:
        pids = {pid for tree in left.values() for pid in tree}
        text = describe(pids)
        stop_pids({p: t for tree in left.values() for p, t in tree.items()})
        pytest.fail(f"processes left in the machines after `ray down`: {text}")


async def _up_exec_down(machines: Machines, config: Path, env: dict, runs: list) -> None:
    head, worker = machines.ips
    up = LauncherRun("up", config, env=env, cwd=REPO)
    runs.append(up)
    got = await run_launcher(up, UP_TIMEOUT_S)
    assert up.returncode == 0, f"ray up exited with {up.returncode}:\n{tail(got)}"
    lines = [line for _, _, line in got]
    assert any(head in line for line in lines), tail(got)
    assert any("ray start" in line for line in lines), tail(got)
    assert sum(running for _, running, _ in got) > len(got) // 2, "lines came only at the end"
    assert not any("\x1b" in line for line in lines)

    alive = wait_alive(machines, {head, worker}, ALIVE_TIMEOUT_S)
    assert alive == {head, worker}, f"ALIVE nodes: {alive}"
    assert {"raylet", "gcs_server"} <= set(machines.ray_processes().values())

    run = LauncherRun("exec", config, command="hostname -I", env=env, cwd=REPO)
    runs.append(run)
    got = await run_launcher(run, 120.0)
    assert run.returncode == 0, f"ray exec exited with {run.returncode}:\n{tail(got)}"
    assert any(head in line.split() for _, _, line in got), tail(got)

    # `ray down` stops Ray on the head only (the local provider just marks workers terminated)
    run = LauncherRun("exec", config, command=workers_stop_command(config), env=env, cwd=REPO)
    runs.append(run)
    got = await run_launcher(run, 120.0)
    assert run.returncode == 0, f"stopping the workers exited with {run.returncode}:\n{tail(got)}"
    assert any("Stopped" in line for _, _, line in got), tail(got)

    down = LauncherRun("down", config, env=env, cwd=REPO)
    runs.append(down)
    got = await run_launcher(down, 180.0)
    assert down.returncode == 0, f"ray down exited with {down.returncode}:\n{tail(got)}"


async def _launcher_leftovers(runs: list[LauncherRun]) -> str:
    """Wait for the launcher's processes (ssh control masters linger ControlPersist=10s) to end;
    stop by pid and describe what is still there after 20 s."""
    left = {}
    for run in runs:
        left.update(run.leftovers())
    left = wait_gone(left, 20.0)
    if not left:
        return ""
    text = describe(left)
    for run in runs:
        await run.stop(grace=2.0)
    return text


def _rmdir_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass
