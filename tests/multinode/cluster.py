"""A real three-node Ray cluster on one Linux box, each node in a network namespace of its own.

    cluster = MultiNodeCluster(); cluster.start()   # head + 2 workers + an sshd on the head
    ...; cluster.kill_raylet("worker1"); cluster.restart_worker("worker1"); ...
    cluster.stop()                                   # every process by pid, then the namespaces

The head runs in namespace A (`ray start --head --node-ip-address=<A's address>`, dashboard on A's
LOOPBACK only: nothing outside A reaches it except through SSH), the workers in B and C
(`ray start --address=<A>:6379 --node-ip-address=<their address>`, with
RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=1, without which Ray 2.60 refuses to join). Each `ray start`
runs with `--block`, in the foreground, as the parent of its node's processes, in a session of its
own, with a short temp dir of its own (unix socket paths are limited to 107 characters). An
OpenSSH sshd (tests/e2e/sshd.py's ThrowawaySshd, listening on A's address) runs in A, so `ssh`
from the root namespace reaches the head machine as users reach a real cluster, and a tunnel to
its 127.0.0.1:8265 reaches the dashboard.

A node's processes are its `ray start` process tree plus every process inside its namespace
(Ray's workers leave the process group and are re-parented when a raylet dies; a process inside
a namespace made for this test is this test's). They are frozen and stopped by pid, checked
against their start time; nothing is ever matched by name or command line (Ray's agents rename
their process titles). The raylet is found as the `ray start` child whose executable file is
Ray's `raylet` binary (/proc/PID/exe, which a title change does not touch).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from raycockpit.cockpit.local import (
    find_ray_cli,
    process_tree,
    ray_environment,
    start_time,
    still_running,
)
from tests.e2e.procs import Tree, stop_tree, wait_gone
from tests.e2e.sshd import LOOPBACK, PRIVSEP_DIR, ThrowawaySshd
from tests.multinode.netns import Network

REPO = Path(__file__).resolve().parents[2]
GCS_PORT = 6379
DASHBOARD_PORT = 8265
SSH_PORT = 22
START_TIMEOUT_S = 180.0
WORKERS = ("worker1", "worker2")
# The GCS notices a dead raylet after `failure_threshold` missed health checks: ~3 s here, not
# Ray's default ~30 s.
HEAD_ENV = {
    "RAY_health_check_initial_delay_ms": "1000",
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_timeout_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
}


def net_namespace_inode(pid: int | str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return None


def processes_in_namespace(ns_inode: str) -> Tree:
    """pid -> start time of every live process inside the network namespace `ns_inode`."""
    found: Tree = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and net_namespace_inode(entry) == ns_inode:
            started = start_time(int(entry))
            if started is not None:
                found[int(entry)] = started
    return found


def executable(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return ""


class NamespaceSshd(ThrowawaySshd):
    """ThrowawaySshd listening on `address` inside namespace `ns` (its files name that address
    instead of 127.0.0.1); `ssh -F sshd.client_config ALIAS` from the root namespace reaches it."""

    def __init__(self, net: Network, ns: str, address: str, alias: str, port: int) -> None:
        self.net, self.ns, self.address = net, ns, address
        super().__init__(alias=alias, port=port)

    def _write_files(self) -> None:
        super()._write_files()
        for path in (self.config, self.client_config):
            path.write_text(
                path.read_text()
                .replace(f"ListenAddress {LOOPBACK}", f"ListenAddress {self.address}")
                .replace(f"HostName {LOOPBACK}", f"HostName {self.address}")
            )
        kind, key = Path(f"{self.host_key}.pub").read_text().split()[:2]
        host = self.address if self.port == 22 else f"[{self.address}]:{self.port}"
        self.known_hosts.write_text(f"{host} {kind} {key}\n")

    def start(self, timeout: float = 30.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        PRIVSEP_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = self.net.popen(
                self.ns, [self.sshd, "-D", "-e", "-f", str(self.config)], stdout=log, stderr=log
            )
        try:
            self._wait_listening(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"sshd exited with {self.proc.returncode}:\n{self.log()[-2000:]}"
                )
            probe = subprocess.run(
                [*self.ssh_argv("true"), "-o", "ConnectTimeout=5"],
                check=False,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=max(1.0, deadline - time.monotonic()),
            )
            if probe.returncode == 0:
                return
            last = probe.stderr
            time.sleep(0.2)
        raise RuntimeError(
            f"ssh to {self.address}:{self.port} in {self.ns} failed: {last}\n{self.log()[-2000:]}"
        )


@dataclass
class RayNode:
    """One Ray node: its namespace, address, temp dir and `ray start --block` process."""

    name: str
    ns: str
    ip: str
    temp_dir: Path
    is_head: bool = False
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    starts: int = 0
    known: Tree = field(default_factory=dict)  # every process of this node seen so far

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace") if self.log_path else ""
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class MultiNodeCluster:
    """A head (namespace A) and two workers (B, C), each node one `ray start --block`, plus an
    sshd in A. See the module docstring."""

    def __init__(self, workdir: Path = REPO) -> None:
        self.workdir = workdir  # never /tmp (DESIGN.md): Ray's /tmp/ray would shadow the package
        self.ray = find_ray_cli()
        self.net = Network(1 + len(WORKERS))
        self.base = Path(tempfile.mkdtemp(prefix="rcmn-"))  # short: unix socket paths
        self.nodes: dict[str, RayNode] = {}
        self.sshd: NamespaceSshd | None = None
        self._ns_inodes: dict[str, str] = {}

    # -- addresses ------------------------------------------------------------------------------

    @property
    def head(self) -> RayNode:
        return self.nodes["head"]

    @property
    def gcs_address(self) -> str:
        return f"{self.head.ip}:{GCS_PORT}"

    @property
    def ips(self) -> dict[str, str]:
        return {name: node.ip for name, node in self.nodes.items()}

    # -- starting -------------------------------------------------------------------------------

    def start(self, timeout: float = START_TIMEOUT_S) -> None:
        """Namespaces, sshd, head, then both workers; returns once the dashboard lists three
        ALIVE nodes. On failure everything made so far is stopped and removed, and the error
        says what (with the nodes' log tails)."""
        if self.ray is None:
            raise RuntimeError("no `ray` command beside this interpreter or on PATH")
        deadline = time.monotonic() + timeout
        try:
            self.net.setup()
            names = ["head", *WORKERS]
            for i, name in enumerate(names):
                ns = self.net.names[i]
                self.nodes[name] = RayNode(
                    name,
                    ns,
                    self.net.addresses[i],
                    self.base / (name[0] + name[-1]),  # hd, w1, w2
                    is_head=(i == 0),
                )
            self.sshd = NamespaceSshd(
                self.net, self.head.ns, self.head.ip, alias="mnhead", port=SSH_PORT
            )
            self.sshd.start()
            self._launch(self.head)
            self.wait_alive(1, deadline - time.monotonic())
            for name in WORKERS:
                self._launch(self.nodes[name])
            self.wait_alive(3, deadline - time.monotonic())
        except BaseException:
            self.stop()
            raise

    def _command(self, node: RayNode) -> list[str]:
        common = [
            self.ray,
            "start",
            "--block",
            f"--node-ip-address={node.ip}",
            "--num-cpus=1",
            "--disable-usage-stats",
            f"--temp-dir={node.temp_dir}",
        ]
        if node.is_head:
            return [
                *common,
                "--head",
                f"--port={GCS_PORT}",
                f"--dashboard-host={LOOPBACK}",
                f"--dashboard-port={DASHBOARD_PORT}",
                "--include-dashboard=true",
            ]
        return [*common, f"--address={self.gcs_address}"]

    def _launch(self, node: RayNode) -> None:
        node.temp_dir.mkdir(parents=True, exist_ok=True)
        node.starts += 1
        node.log_path = self.base / f"{node.name}-{node.starts}.log"
        env = ray_environment(HEAD_ENV if node.is_head else {})
        if not node.is_head:
            env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "1"  # else Ray 2.60 refuses to join
        # The machines share this box's host name, which resolves to 127.0.0.1: torch's gloo
        # (Ray Train's process group on CPUs) would give its peers that address. Name the NIC,
        # as on any machine whose host name resolves to loopback.
        env["GLOO_SOCKET_IFNAME"] = "eth0"
        with open(node.log_path, "wb") as log:
            node.process = self.net.popen(
                node.ns,
                self._command(node),
                cwd=self.workdir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._ns_inodes.setdefault(node.ns, "")
        self.processes(node)

    # -- the dashboard, from inside the head's namespace ----------------------------------------

    def fetch(self, path: str, timeout: float = 10.0) -> object:
        """GET http://127.0.0.1:8265{path} from inside namespace A (the dashboard listens on A's
        loopback only); the decoded JSON. Raises RuntimeError when it does not answer."""
        code = (
            "import sys, urllib.request\n"
            "with urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])) as r:\n"
            "    sys.stdout.write(r.read().decode())\n"
        )
        url = f"http://{LOOPBACK}:{DASHBOARD_PORT}{path}"
        done = self.net.run(
            self.head.ns, [sys.executable, "-c", code, url, str(timeout)], timeout=timeout + 20
        )
        if done.returncode != 0:
            raise RuntimeError(f"GET {url} in {self.head.ns}: {done.stderr.strip()[-300:]}")
        return json.loads(done.stdout)

    def node_table(self) -> list[dict]:
        """The dashboard's node summary: one dict per node the GCS knows (dead ones too)."""
        return self.fetch("/nodes?view=summary")["data"]["summary"]

    def states(self) -> dict[str, str]:
        """node id -> ALIVE / DEAD, from the dashboard."""
        return {n["raylet"]["nodeId"]: n["raylet"]["state"] for n in self.node_table()}

    def alive_by_ip(self) -> dict[str, str]:
        """node ip -> node id of the ALIVE nodes."""
        return {
            n["raylet"]["nodeManagerAddress"]: n["raylet"]["nodeId"]
            for n in self.node_table()
            if n["raylet"]["state"] == "ALIVE"
        }

    def node_id(self, name: str) -> str | None:
        """The ALIVE node id of node `name` (by its address), or None."""
        return self.alive_by_ip().get(self.nodes[name].ip)

    def wait_alive(self, count: int, timeout: float) -> dict[str, str]:
        """Wait until `count` nodes, all of them ours, are ALIVE; ip -> node id."""
        deadline = time.monotonic() + max(timeout, 1.0)
        last: object = "no answer yet"
        while time.monotonic() < deadline:
            for node in self.nodes.values():
                if node.process is not None and node.process.poll() is not None:
                    raise RuntimeError(
                        f"ray start of {node.name} ({node.ns}) exited with "
                        f"{node.process.returncode}:\n{node.log_tail()}"
                    )
            try:
                alive = self.alive_by_ip()
                last = alive
                if len(alive) >= count:
                    for node in self.nodes.values():
                        self.processes(node)
                    return alive
            except (RuntimeError, ValueError, KeyError, TypeError) as exc:
                last = exc
            time.sleep(1.0)
        tails = "\n".join(
            f"--- {n.name} ({n.ns}, {n.ip}):\n{n.log_tail()}" for n in self.nodes.values()
        )
        raise RuntimeError(f"{count} ALIVE nodes not seen in {timeout:.0f} s: {last}\n{tails}")

    # -- processes ------------------------------------------------------------------------------

    def _ns_inode(self, ns: str) -> str | None:
        if not self._ns_inodes.get(ns):
            path = f"/run/netns/{ns}"
            try:
                st = os.stat(path)
            except OSError:
                return None
            self._ns_inodes[ns] = f"net:[{st.st_ino}]"
        return self._ns_inodes[ns]

    def processes(self, node: RayNode) -> Tree:
        """The node's live processes: its `ray start` tree and everything in its namespace (less
        the head namespace's sshd), remembered in `node.known`."""
        found: Tree = {}
        if node.process is not None and node.process.poll() is None:
            found.update(process_tree(node.process.pid))
        inode = self._ns_inode(node.ns)
        if inode:
            found.update(processes_in_namespace(inode))
        if node.is_head and self.sshd is not None:
            for pid in self.sshd.tree():
                found.pop(pid, None)
        node.known.update(found)
        return found

    def raylet_pid(self, name: str) -> int:
        """The pid of node `name`'s raylet: the child of its `ray start` whose executable is
        Ray's raylet binary."""
        node = self.nodes[name]
        tree = self.processes(node)
        for pid in tree:
            if Path(executable(pid)).name == "raylet" and _ppid(pid) == node.pid:
                return pid
        raise RuntimeError(f"no raylet among the processes of {name}: {sorted(tree)}")

    def kill_raylet(self, name: str) -> int:
        """SIGKILL node `name`'s raylet (by its pid); returns that pid."""
        if self.nodes[name].is_head:
            raise ValueError("kill_raylet is for worker nodes")
        pid = self.raylet_pid(name)
        os.kill(pid, 9)
        return pid

    def stop_node(self, node: RayNode, grace: float = 5.0) -> Tree:
        """Freeze and stop every process of the node by pid; returns what would not stop."""

        def find() -> Tree:
            return self.processes(node)

        left = stop_tree(find, grace=grace)
        left.update(wait_gone(still_running(node.known), 5.0))
        if node.process is not None:
            try:
                node.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait(timeout=5)
        node.process = None
        return left

    def restart_worker(self, name: str, timeout: float = START_TIMEOUT_S) -> str:
        """Stop what is left of worker `name`, start it again in its namespace; returns its new
        node id once it is ALIVE."""
        node = self.nodes[name]
        if node.is_head:
            raise ValueError("restart_worker is for worker nodes")
        left = self.stop_node(node)
        if left:
            raise RuntimeError(f"processes of {name} would not stop: {sorted(left)}")
        shutil.rmtree(node.temp_dir, ignore_errors=True)
        self._launch(node)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if node.process.poll() is not None:
                raise RuntimeError(f"ray start of {name} exited:\n{node.log_tail()}")
            try:
                new = self.node_id(name)
            except (RuntimeError, ValueError, KeyError, TypeError):
                new = None
            if new is not None:
                self.processes(node)
                return new
            time.sleep(1.0)
        raise RuntimeError(f"{name} not ALIVE again in {timeout:.0f} s:\n{node.log_tail()}")

    def heal(self, timeout: float = START_TIMEOUT_S) -> None:
        """Start again every worker that is not ALIVE (after a test that failed half-way)."""
        alive = self.alive_by_ip()
        for name in WORKERS:
            node = self.nodes[name]
            running = node.process is not None and node.process.poll() is None
            if node.ip not in alive or not running:
                self.restart_worker(name, timeout)

    # -- stopping -------------------------------------------------------------------------------

    def stop(self) -> list[str]:
        """Stop the sshd, the workers, then the head (all by pid), delete the namespaces and
        links, remove the temp dirs. Returns what could not be cleaned (normally nothing)."""
        problems: list[str] = []
        if self.sshd is not None:
            try:
                self.sshd.cleanup()
            except RuntimeError as exc:
                problems.append(str(exc))
        for node in sorted(self.nodes.values(), key=lambda n: n.is_head):
            left = self.stop_node(node)
            if left:
                problems.append(f"processes of {node.name} would not stop: {sorted(left)}")
        for ns in self.net.names:
            inode = self._ns_inode(ns)
            left = processes_in_namespace(inode) if inode else {}
            if left:
                problems.append(f"processes still in {ns}: {sorted(left)}")
        problems += self.net.teardown()
        shutil.rmtree(self.base, ignore_errors=True)
        return problems


def _ppid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    return int(text[text.rindex(")") + 2 :].split()[1])
