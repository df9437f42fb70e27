"""Ray's own cluster launcher with the `local` (on-premise) provider on namespace "machines",
driven by keys in the Clusters pane.

Two bare machines (tests/multinode/launcher_fixture.py: A and B, each a network, PID and mount
namespace with an sshd that accepts root with a test key; no Ray running) and a local-provider
cluster YAML naming A as head_ip and B in worker_ips, in the user's cluster folder. In the pane:
`u` (confirmed) runs `ray up`, its lines streamed into the pane; `x` runs a command on the head;
`a` makes the head a context (ssh with the config's key) and the cockpit shows both nodes ALIVE
(B is started by the head's autoscaler over SSH); `D` (confirmed) stops the workers' Ray from the
head and runs `ray down`. Afterwards no process is left in the machines beyond their sshd
(leftovers are stopped by pid and fail the test); the pane stops every process of each launcher
run by pid when it ends (cockpit/clusters.py LauncherRun.stop).

The launcher's own state goes to a temp HOME, RAY_TMPDIR and TMPDIR; Ray hard-codes its ssh
control sockets under /tmp/ray_ssh_<user hash>/<cluster hash>, which the test removes (the
cluster name is random, so that folder is this test's).
"""

from __future__ import annotations

import getpass
import hashlib
import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from benchmarks.replay import ReplayServer
from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.config import Settings
from raycockpit.cockpit.local import find_ray_cli
from raycockpit.screens.app import make_app
from raycockpit.screens.clusters import ClustersPane
from tests.e2e.procs import stop_pids
from tests.e2e.sshd import find_sshd
from tests.multinode.cluster import executable
from tests.multinode.launcher_fixture import Machines
from tests.multinode.netns import skip_reason
from tests.ui.helpers import wait_for

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


def describe(pids) -> str:
    parts = []
    for pid in sorted(pids):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
        except OSError:
            cmd = "?"
        parts.append(f"{pid} ({Path(executable(pid)).name}: {cmd.strip()})")
    return "; ".join(parts)


def end_control_masters(folder: Path) -> None:
    """Ask each of Ray's ssh control masters for the cluster (ControlPersist 10 s after the last
    command) to exit now, through its socket: the machines are then quiet at once."""
    for sock in folder.glob("*") if folder.is_dir() else ():
        subprocess.run(
            ["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "placeholder"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=10,
            check=False,
        )


def ssh_clients_to(ips) -> str:
    """The ssh client processes here whose command line names one of the machines (a report
    only: a session left in a machine is someone's ssh, Ray's control master or the cockpit's
    tunnel)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if Path(executable(int(entry.name))).name != "ssh":
                continue
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError):
            continue
        if any(ip in cmd for ip in ips):
            found.append(f"{entry.name} (ppid {_ppid(entry)}: {cmd.strip()[:200]})")
    return "; ".join(found)


def _ppid(entry: Path) -> str:
    try:
        stat = (entry / "stat").read_text()
        return stat[stat.rindex(")") + 2 :].split()[1]
    except (OSError, ValueError, IndexError):
        return "?"


def _rmdir_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


async def test_the_clusters_pane_brings_a_cluster_up_attaches_and_takes_it_down(
    machines: Machines, monkeypatch, tmp_path
) -> None:
    """The same by keys in the Clusters pane: `u` (confirmed) brings the cluster up, `a` makes
    its head a context and the cockpit shows its two nodes, `D` (confirmed) takes it down, and
    nothing is left."""
    cluster = f"rcl-{secrets.token_hex(3)}"
    folder = tmp_path / "config" / "raycockpit" / "clusters"
    folder.mkdir(parents=True)
    shutil.copy(machines.write_config(cluster), folder / f"{cluster}.yaml")
    ltmp = machines.base / "ltmp"
    for name, value in {
        "XDG_CONFIG_HOME": tmp_path / "config",
        "HOME": machines.base / "lhome",
        "RAY_TMPDIR": ltmp,
        "TMPDIR": ltmp,
    }.items():
        os.makedirs(value, exist_ok=True)
        monkeypatch.setenv(name, str(value))
    head, worker = machines.ips
    first = ReplayServer(nodes=2, jobs=3)  # the cluster the cockpit shows at first
    first.start()
    try:
        app = make_app(Settings(refresh=1.0), client=DashboardClient(first.url, discover=False))
        async with app.run_test(size=(120, 40)) as pilot:
            pane = app.query_one(ClustersPane)
            log = pane.query_one("#clusters-log")

            async def run(key: str, action: str, timeout: float, typed: str = "") -> None:
                await pilot.press("8")
                table = pane.query_one("#clusters-table")
                await wait_for(pilot, lambda: cluster in {c.name for c in pane.configs.values()})
                table.focus()
                await pilot.press("home")
                while pane.configs[table.selected_key].name != cluster:
                    await pilot.press("down")
                await pilot.press(key)
                if typed:  # the command to run, asked first
                    await pilot.press(*typed, "enter")
                await pilot.press("y")
                await wait_for(
                    pilot,
                    lambda: log.source_status.startswith(f"ray {action} f"),
                    timeout=timeout,
                    what=f"ray {action} to end",
                )
                log.flush()
                assert log.source_status == f"ray {action} finished", "\n".join(log.lines[-40:])

            await run("u", "up", UP_TIMEOUT_S)
            assert any(head in line for line in log.lines), "\n".join(log.lines[-40:])
            assert any("ray start" in line for line in log.lines)
            assert not any("\x1b" in line for line in log.lines)
            assert {"raylet", "gcs_server"} <= set(machines.ray_processes().values())

            await run("x", "exec", 120.0, typed="hostname -I")  # on the head
            assert any(head in line.split() for line in log.lines), "\n".join(log.lines[-20:])

            await pilot.press("a")  # its head as a context, over ssh with the config's key
            await wait_for(
                pilot,
                lambda: (
                    app.context_name == f"cluster-{cluster}"
                    and app.snapshot is not None
                    and {n.ip for n in app.snapshot.nodes if n.state == "ALIVE"} == {head, worker}
                ),
                timeout=ALIVE_TIMEOUT_S,
                what="the launched cluster's two nodes in the cockpit",
            )
            await pilot.press("colon", *"ctx default", "enter")
            await wait_for(pilot, lambda: app.context_name == "default", what="back")

            await run("D", "down", 240.0)
            assert any("Stopped" in line for line in log.lines), "the workers were not stopped"
    finally:
        first.stop()
        end_control_masters(control_dir(cluster))
        shutil.rmtree(control_dir(cluster), ignore_errors=True)
        _rmdir_if_empty(control_dir(cluster).parent)
    left = machines.wait_quiet(QUIET_TIMEOUT_S)
    if left:
        text = describe({pid for tree in left.values() for pid in tree})
        stop_pids({p: t for tree in left.values() for p, t in tree.items()})
        clients = ssh_clients_to(machines.ips)  # who held the session: for the next reader
        pytest.fail(
            f"processes left in the machines after D: {text}; "
            f"ssh clients to them still running here: {clients or 'none'}"
        )
