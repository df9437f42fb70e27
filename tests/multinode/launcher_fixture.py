"""Bare "machines" for Ray's cluster launcher: network namespaces, each with an sshd, no Ray.

    with Machines(2) as machines:        # A (head) and B (worker), each reachable as root@IP:22
        machines.key                     # the private key every machine's root accepts
        machines.write_config(...)       # a local-provider cluster YAML for them

Each machine is a network namespace (tests/multinode/netns.py) whose sshd
(tests/multinode/cluster.py's NamespaceSshd) runs under `unshare --mount --pid --fork
--kill-child --mount-proc`: a PID namespace of its own (Ray's `ray stop`, which the launcher runs
on the nodes and which matches processes BY NAME, sees only that machine's processes, never the
rest of this box) and a mount namespace where /root (root's home: Ray writes
~/ray_bootstrap_config.yaml and ~/ray_bootstrap_key.pem there) and /tmp (Ray's /tmp/ray session
folders, its cluster state file and ssh control sockets) are folders of this test. So what the
launcher and Ray do on a machine stays inside it, as on a real one. root's ~/.bashrc and
~/.profile there put this venv's bin first on PATH (the launcher runs `ray` through
`bash --login -c -i`).

A machine's processes are found by their network namespace (from the root namespace's /proc):
`baseline` is what runs there before the launcher (the unshare wrapper and the sshd); anything
else is the launcher's doing. Everything is stopped by pid; the namespaces and folders are
removed at the end.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Self

import yaml

from tests.e2e.procs import Tree, stop_tree, wait_gone
from tests.e2e.sshd import PRIVSEP_DIR
from tests.multinode.cluster import NamespaceSshd, executable, processes_in_namespace
from tests.multinode.netns import Network

VENV_BIN = Path(sys.executable).parent
SSH_PORT = 22
DASHBOARD = "http://127.0.0.1:8265"
RAY_BINARIES = ("raylet", "gcs_server")
PROFILE = f'export PATH="{VENV_BIN}:$PATH"\nexport RAY_USAGE_STATS_ENABLED=0\n'


def kept_under(folder: Path, path: Path) -> Path | None:
    """The top folder of `path` below `folder` (/root/.pyenv for /root/.pyenv/versions/...), or
    None when `path` is not under `folder`."""
    try:
        return folder / path.relative_to(folder).parts[0]
    except (ValueError, IndexError):
        return None


def machine_script(home: Path, tmp: Path, sshd_dir: Path, sshd_argv: list[str]) -> str:
    """The shell script a machine's namespaces start with: private /root and /tmp (the sshd's
    own folder under /tmp and this interpreter's folder under /root, pyenv's say, bound back
    in), then exec sshd."""
    keep = []
    if sshd_dir.is_relative_to("/tmp"):
        inner = tmp / sshd_dir.relative_to("/tmp")
        keep += [f"mkdir -p {inner}", f"mount --bind {sshd_dir} {inner}"]
    # what the launcher runs there: this interpreter (pyenv's, under /root), the venv and the
    # checkout (under /tmp in a clean clone made there, as CI may make it)
    bound: set[Path] = set()
    for path in (Path(sys.executable).resolve(), Path(sys.prefix), Path(__file__).parents[2]):
        for private, inside in ((Path("/root"), home), (Path("/tmp"), tmp)):
            top = kept_under(private, path.resolve())
            if top is not None and top not in bound:
                bound.add(top)
                target = inside / top.name
                keep += [f"mkdir -p {target}", f"mount --bind {top} {target}"]
    return "\n".join(
        [
            "set -e",
            *keep,
            f"mount --rbind {home} /root",
            f"mount --rbind {tmp} /tmp",
            "exec " + " ".join(sshd_argv),
        ]
    )


class MachineSshd(NamespaceSshd):
    """NamespaceSshd on port 22 inside a "machine" (see the module docstring) that accepts root
    with the shared test key `key`."""

    def __init__(self, net: Network, ns: str, address: str, root: Path, key: Path) -> None:
        self.root, self.shared_key = root, key
        super().__init__(net, ns, address, alias=f"m{address.rsplit('.', 1)[1]}", port=SSH_PORT)

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    def _write_files(self) -> None:
        super()._write_files()
        for suffix in ("", ".pub"):
            shutil.copyfile(f"{self.shared_key}{suffix}", f"{self.client_key}{suffix}")
        self.client_key.chmod(0o600)
        self.authorized_keys.write_text(Path(f"{self.shared_key}.pub").read_text())

    def start(self, timeout: float = 30.0) -> None:
        for folder in (self.home, self.tmp):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name in (".bashrc", ".profile"):
            (self.home / name).write_text(PROFILE)
        PRIVSEP_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
        sshd_argv = [self.sshd, "-D", "-e", "-f", str(self.config)]
        script = machine_script(self.home, self.tmp, self.dir, sshd_argv)
        wrapper = ["unshare", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc"]
        with open(self.log_path, "ab") as log:
            self.proc = self.net.popen(
                self.ns, [*wrapper, "sh", "-c", script], stdout=log, stderr=log
            )
        try:
            self._wait_listening(timeout)
        except BaseException:
            self.stop()
            raise


class Machines:
    """`count` machines (A first: the head), each with its sshd; no Ray anywhere."""

    def __init__(self, count: int = 2) -> None:
        self.net = Network(count)
        self.base = Path(tempfile.mkdtemp(prefix="rcl-"))  # short: unix socket paths
        self.key = self.base / "id_ed25519"
        self.sshds: list[MachineSshd] = []
        self.baseline: dict[str, Tree] = {}
        self.seen: dict[str, Tree] = {}  # every process seen in each namespace, baseline aside

    @property
    def ips(self) -> list[str]:
        return list(self.net.addresses)

    @property
    def head_ns(self) -> str:
        return self.net.names[0]

    def start(self) -> Self:
        """Namespaces, the shared key, one sshd per machine; the baseline of each."""
        try:
            self.net.setup()
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.key)],
                check=True,
                stdin=subprocess.DEVNULL,
                capture_output=True,
            )
            for i, (ns, ip) in enumerate(zip(self.net.names, self.net.addresses, strict=True)):
                sshd = MachineSshd(self.net, ns, ip, self.base / f"m{i}", self.key)
                self.sshds.append(sshd)
                sshd.start()
            for ns in self.net.names:
                self.baseline[ns] = self.processes(ns)
                self.seen[ns] = {}
        except BaseException:
            self.stop()
            raise
        return self

    # -- processes ------------------------------------------------------------------------------

    def inode(self, ns: str) -> str:
        return f"net:[{Path(f'/run/netns/{ns}').stat().st_ino}]"

    def processes(self, ns: str) -> Tree:
        return processes_in_namespace(self.inode(ns))

    def extra(self, ns: str) -> Tree:
        """What runs in `ns` beyond its baseline (the launcher's and Ray's processes)."""
        found = {p: t for p, t in self.processes(ns).items() if self.baseline[ns].get(p) != t}
        self.seen[ns].update(found)
        return found

    def ray_processes(self) -> dict[int, str]:
        """pid -> binary name of every raylet / gcs_server running in the machines."""
        found = {}
        for ns in self.net.names:
            for pid in self.extra(ns):
                name = Path(executable(pid)).name
                if name in RAY_BINARIES:
                    found[pid] = name
        return found

    def wait_quiet(self, timeout: float) -> dict[str, Tree]:
        """Wait until every machine runs only its baseline; returns ns -> what still runs
        beyond it after `timeout` s (nothing when all is well)."""
        deadline = time.monotonic() + timeout
        while True:
            left = {ns: tree for ns in self.net.names if (tree := self.extra(ns))}
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.5)

    def stop_extra(self) -> Tree:
        """Stop by pid whatever runs beyond the baselines; returns what would not stop."""
        left: Tree = {}
        for ns in self.net.names:
            left.update(stop_tree(lambda ns=ns: self.extra(ns), grace=3.0))
        return left

    # -- the dashboard, from inside A -----------------------------------------------------------

    def fetch(self, path: str, timeout: float = 10.0) -> object:
        """GET the head's dashboard (A's 127.0.0.1:8265) from inside A; decoded JSON.
        Raises RuntimeError when it does not answer."""
        code = (
            "import sys, urllib.request\n"
            "with urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])) as r:\n"
            "    sys.stdout.write(r.read().decode())\n"
        )
        done = self.net.run(
            self.head_ns,
            [sys.executable, "-c", code, DASHBOARD + path, str(timeout)],
            timeout=timeout + 20,
        )
        if done.returncode != 0:
            raise RuntimeError(f"GET {path} in {self.head_ns}: {done.stderr.strip()[-300:]}")
        return json.loads(done.stdout)

    def alive_ips(self) -> set[str]:
        """The addresses of the ALIVE nodes the head's dashboard lists."""
        summary = self.fetch("/nodes?view=summary")["data"]["summary"]
        return {
            n["raylet"]["nodeManagerAddress"] for n in summary if n["raylet"]["state"] == "ALIVE"
        }

    # -- a cluster config -----------------------------------------------------------------------

    def cluster_config(self, name: str) -> dict:
        """A local-provider cluster config for these machines (A head, the rest workers).

        The machines are bare, so the start commands have no `ray stop` first (Ray's own
        examples stop a Ray that may already run: two more `ray` runs of a few seconds each), and
        the head's autoscaler updates every second (Ray's default: 5 s) so that it starts B
        soon after the head is up."""
        ray = VENV_BIN / "ray"
        common = "--num-cpus=1 --disable-usage-stats"
        worker_env = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=1 RAY_gcs_rpc_server_reconnect_timeout_s=5"
        return {
            "cluster_name": name,
            "provider": {"type": "local", "head_ip": self.ips[0], "worker_ips": self.ips[1:]},
            "auth": {"ssh_user": "root", "ssh_private_key": str(self.key)},
            "upscaling_speed": 1.0,
            "idle_timeout_minutes": 5,
            "file_mounts": {},
            "initialization_commands": [],
            "setup_commands": [],
            "head_setup_commands": [],
            "worker_setup_commands": [],
            "head_start_ray_commands": [
                "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=1 AUTOSCALER_UPDATE_INTERVAL_S=1 "
                f"{ray} start --head --port=6379 --node-ip-address={self.ips[0]} "
                "--dashboard-host=127.0.0.1 --dashboard-port=8265 "
                f"--autoscaling-config=~/ray_bootstrap_config.yaml {common}",
            ],
            "worker_start_ray_commands": [
                f"{worker_env} {ray} start --address=$RAY_HEAD_IP:6379 "
                f"--node-ip-address=$(hostname -I | cut -d' ' -f1) {common}",
            ],
        }

    def write_config(self, name: str) -> Path:
        path = self.base / f"{name}.yaml"
        path.write_text(yaml.safe_dump(self.cluster_config(name), sort_keys=False))
        return path

    # -- stopping -------------------------------------------------------------------------------

    def stop(self) -> list[str]:
        """Stop everything in the machines by pid, the sshds, delete the namespaces, remove the
        folders. Returns what could not be cleaned (normally nothing)."""
        problems = []
        left = self.stop_extra() if self.baseline else {}
        if left:
            problems.append(f"processes would not stop: {sorted(left)}")
        for sshd in self.sshds:
            try:
                sshd.cleanup()
            except RuntimeError as exc:
                problems.append(str(exc))
        for ns in self.net.names:
            left = stop_tree(lambda ns=ns: self.processes(ns), grace=3.0)
            left.update(wait_gone(left, 2.0))
            if left:
                problems.append(f"processes still in {ns}: {sorted(left)}")
        problems += self.net.teardown()
        shutil.rmtree(self.base, ignore_errors=True)
        return problems

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
