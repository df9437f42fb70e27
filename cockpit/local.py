"""The embedded local Ray head: start it on loopback, wait until its dashboard answers, stop it.

The cockpit core never imports ray: the head is the `ray start --head --block` command run as a
child process in a session of its own. Stopping sends SIGTERM to that process (Ray then stops
what it started) and finally signals the process group it leads, so every process this module
started, and only those, is gone. Nothing is ever killed by name.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from raycockpit.cockpit.config import discover_token
from raycockpit.cockpit.errors import LocalHeadError

LOOPBACK = "127.0.0.1"
START_TIMEOUT_S = 90.0

Progress = Callable[[str], None]


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def port_in_use(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def find_ray_cli() -> str | None:
    """The `ray` command beside this interpreter (a venv), else on PATH."""
    beside = Path(sys.executable).with_name("ray")
    if beside.exists():
        return str(beside)
    return shutil.which("ray")


@dataclass
class HeadPorts:
    """Every port a head opens. `standard()` is Ray's defaults; `isolated()` takes free ones."""

    gcs: int = 6379
    dashboard: int = 8265
    client_server: int | None = None
    node_manager: int | None = None
    object_manager: int | None = None
    agent_listen: int | None = None
    agent_grpc: int | None = None
    runtime_env_agent: int | None = None
    metrics_export: int | None = None
    min_worker: int | None = None
    max_worker: int | None = None

    @classmethod
    def standard(cls) -> HeadPorts:
        return cls()

    @classmethod
    def isolated(cls) -> HeadPorts:
        """Ports of its own, so a test head never meets a cluster the user already runs."""
        # worker ports: a window of 200 ports that is free at the moment we look
        for _ in range(50):
            low = 20000 + (free_port() % 20000)
            if not any(port_in_use(p) for p in range(low, low + 200, 25)):
                break
        window = range(low, low + 200)
        taken: set[int] = set()

        def pick() -> int:
            # Ray refuses to start when a component port lies inside the worker port window
            # ("worker_ports is trying to use a port number ... used by other components"), and
            # the kernel's ephemeral ports overlap the window's range: pick again until outside.
            for _ in range(100):
                port = free_port()
                if port not in window and port not in taken:
                    taken.add(port)
                    return port
            raise LocalHeadError("no free loopback port outside the worker port window")

        return cls(
            gcs=pick(),
            dashboard=pick(),
            client_server=pick(),
            node_manager=pick(),
            object_manager=pick(),
            agent_listen=pick(),
            agent_grpc=pick(),
            runtime_env_agent=pick(),
            metrics_export=pick(),
            min_worker=low,
            max_worker=low + 199,
        )

    def args(self) -> list[str]:
        pairs = {
            "--port": self.gcs,
            "--dashboard-port": self.dashboard,
            "--ray-client-server-port": self.client_server,
            "--node-manager-port": self.node_manager,
            "--object-manager-port": self.object_manager,
            "--dashboard-agent-listen-port": self.agent_listen,
            "--dashboard-agent-grpc-port": self.agent_grpc,
            "--runtime-env-agent-port": self.runtime_env_agent,
            "--metrics-export-port": self.metrics_export,
            "--min-worker-port": self.min_worker,
            "--max-worker-port": self.max_worker,
        }
        return [f"{flag}={value}" for flag, value in pairs.items() if value is not None]


# Variables that make a non-interactive `bash -c` read the user's rc files. Ray 2.60 starts job
# supervisors through `bash -c`, and Debian's bash sources ~/.bashrc for it whenever SSH_CLIENT
# (or SSH2_CLIENT) is set; BASH_ENV and ENV name a file such a shell sources. An rc file that puts
# pyenv or conda shims first on PATH would then pick every job's `python`. The head is a service
# of its own, not part of the login session, so it never inherits them (nor does the cockpit need
# them: only the head's children ever run a shell).
LOGIN_SHELL_VARIABLES = (
    "SSH_CLIENT",
    "SSH2_CLIENT",
    "SSH_CONNECTION",
    "SSH_TTY",
    "BASH_ENV",
    "ENV",
)


def ray_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a loopback head (and anything joining it) needs (DESIGN.md): jobs find
    this interpreter first on PATH, and no login-session variable lets a shell's rc files move
    another one in front of it."""
    env = {k: v for k, v in os.environ.items() if k not in LOGIN_SHELL_VARIABLES}
    env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # else Ray swaps 127.0.0.1 for the outward IP
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")  # job entrypoints find this python
    env.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # On SIGTERM Ray 2.60's `ray start --block` first drains its node for up to 30 s while
    # anything holds resources (Ray Data's and Serve's background actors always do), so a quit
    # waited 30 s and then killed it anyway. Ours stop now, as `q` says.
    env.setdefault("RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S", "0")
    env.pop("RAY_ADDRESS", None)
    env.update(extra or {})
    return env


@dataclass
class LocalHead:
    """One Ray head on loopback, owned by whoever started it."""

    ports: HeadPorts = field(default_factory=HeadPorts.standard)
    num_cpus: int | None = None
    temp_dir: str | None = None
    extra_args: Sequence[str] = ()
    extra_env: dict[str, str] = field(default_factory=dict)
    workdir: str | None = None
    log_path: Path | None = None
    process: subprocess.Popen | None = None

    @property
    def dashboard_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ports.dashboard}"

    @property
    def gcs_address(self) -> str:
        return f"{LOOPBACK}:{self.ports.gcs}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def command(self, ray_cli: str) -> list[str]:
        cmd = [
            ray_cli,
            "start",
            "--head",
            "--block",
            f"--node-ip-address={LOOPBACK}",
            f"--dashboard-host={LOOPBACK}",
            "--include-dashboard=true",
            "--disable-usage-stats",
            *self.ports.args(),
        ]
        if self.num_cpus is not None:
            cmd.append(f"--num-cpus={self.num_cpus}")
        if self.temp_dir:
            cmd.append(f"--temp-dir={self.temp_dir}")
        cmd.extend(self.extra_args)
        return cmd

    def start(self, progress: Progress | None = None, timeout: float = START_TIMEOUT_S) -> None:
        """Start the head and return once its dashboard and GCS answer. Raises LocalHeadError."""
        say = progress or (lambda _msg: None)
        ray_cli = find_ray_cli()
        if ray_cli is None:
            raise LocalHeadError(
                "Ray is not installed here, so no local cluster can be started",
                hint="install it (./dev setup) or attach to a cluster with --address URL",
            )
        if port_in_use(self.ports.gcs) or port_in_use(self.ports.dashboard):
            raise LocalHeadError(
                f"port {self.ports.gcs} or {self.ports.dashboard} on {LOOPBACK} is taken",
                hint="another Ray may be running: attach with --address, or stop it first",
            )
        workdir = self.workdir or str(Path.home())  # never /tmp: Ray's /tmp/ray shadows the package
        log_dir = Path(self.temp_dir or Path.home() / ".cache" / "raycockpit")
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"ray-head-{self.ports.dashboard}.log"
        say(f"starting a local Ray head on {LOOPBACK} (dashboard :{self.ports.dashboard})")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.command(ray_cli),
                cwd=workdir,
                env=ray_environment(self.extra_env),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: we stop exactly what we started
            )
        # Ray turns token auth on when RAY_AUTH_MODE=token, or when unset and a token exists
        # (~/.ray/auth_token): the readiness probe sends the token the head will expect.
        token = discover_token(ray_environment(self.extra_env))
        deadline = time.monotonic() + timeout
        started = time.monotonic()
        while time.monotonic() < deadline:
            if self.process is None:
                raise LocalHeadError("the local Ray head was stopped while it started")
            if self.process.poll() is not None:
                tail = self.log_tail()
                self.process = None
                raise LocalHeadError(f"ray start exited early:\n{tail}")
            if dashboard_healthy(self.dashboard_url, token=token):
                say(f"local Ray head ready in {time.monotonic() - started:.1f} s")
                return
            say(f"waiting for the Ray dashboard... {time.monotonic() - started:.0f} s")
            time.sleep(0.5)
        self.stop()
        raise LocalHeadError(f"the local Ray head did not become ready in {timeout:.0f} s")

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace") if self.log_path else ""
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the head (Ray stops its own processes), then clear its process group."""
        proc, self.process = self.process, None
        if proc is not None:
            stop_head_process(proc.pid, timeout=timeout, child=proc)


def stop_head_process(
    pid: int,
    *,
    timeout: float = 30.0,
    child: subprocess.Popen | None = None,
    started: int | None = None,
) -> None:
    """Stop a `ray start --head --block` process that leads its own process group, and every
    process it started: SIGTERM (Ray stops what it started), wait, then the group, then the
    stragglers by pid. `child` when it is ours to wait for; else `started` (its start time)
    guards against a reused pid."""
    tree = process_tree(pid)  # before anything exits and is re-parented
    if started is not None and tree.get(pid) != started:
        tree.pop(pid, None)  # that pid is another process now: only its old tree is ours
        _stop_pids(tree)
        return
    if child is not None:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout=10)
    elif pid in tree:
        _signal_pid(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while still_running({pid: tree[pid]}) and time.monotonic() < deadline:
            time.sleep(0.2)
        _signal_pid(pid, signal.SIGKILL)
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _group_alive(pid):
        time.sleep(0.2)
    _signal_group(pid, signal.SIGKILL)
    # Ray's workers (and a job's supervisor and driver) put themselves in process groups of
    # their own, so the group signal misses them; they exit once their raylet is gone, but
    # not at once. Stop the ones this head started, by pid (checked against their start time
    # so that a reused pid is never hit).
    _stop_pids({p: t for p, t in tree.items() if p != pid})


def dashboard_healthy(url: str, timeout: float = 2.0, token: str | None = None) -> bool:
    """The GCS answers, the job agent answers, and the node table has the head in it."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.get(f"{url}/api/gcs_healthz", timeout=timeout)
        if response.status_code != 200 or response.text.strip() != "success":
            return False
        # the job agent and the node table fill in a little after the GCS answers
        if httpx.get(f"{url}/api/jobs/", timeout=timeout, headers=headers).status_code != 200:
            return False
        nodes = httpx.get(
            f"{url}/nodes", params={"view": "summary"}, timeout=timeout, headers=headers
        ).json()
        return bool(nodes.get("data", {}).get("summary"))
    except (httpx.HTTPError, ValueError, AttributeError):
        return False


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


# -- processes by pid (Linux /proc; elsewhere these find nothing and stop() relies on the group) --


def _stat(pid: int) -> tuple[int, int, int] | None:
    """(ppid, pgid, start time in clock ticks) of a live, non-zombie process, else None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):  # a zombie or dead process holds nothing but its pid
        return None
    return int(fields[1]), int(fields[2]), int(fields[19])


def start_time(pid: int) -> int | None:
    """When a live process started (clock ticks since boot): with the pid, it names one process."""
    stat = _stat(pid)
    return stat[2] if stat else None


def process_tree(leader: int) -> dict[int, int]:
    """The processes a head started: its process group and every descendant of the group's
    members (Ray's workers leave the group). Maps pid -> start time, to tell a reused pid."""
    stats = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return {}
    for entry in entries:
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None:
                stats[int(entry)] = stat
    found = {pid for pid, (_, pgid, _) in stats.items() if pgid == leader}
    if leader in stats:
        found.add(leader)
    grew = True
    while grew:
        grew = False
        for pid, (ppid, _, _) in stats.items():
            if pid not in found and ppid in found:
                found.add(pid)
                grew = True
    return {pid: stats[pid][2] for pid in found}


def still_running(tree: dict[int, int]) -> dict[int, int]:
    """The processes of a `process_tree()` result that still run (same pid AND start time)."""
    out = {}
    for pid, started in tree.items():
        stat = _stat(pid)
        if stat is not None and stat[2] == started:
            out[pid] = started
    return out


def _stop_pids(tree: dict[int, int], grace: float = 5.0) -> None:
    """SIGTERM what still runs of `tree`, then SIGKILL what is left after `grace` seconds."""
    left = still_running(tree)
    for pid in left:
        _signal_pid(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = still_running(left)
    for pid in left:
        _signal_pid(pid, signal.SIGKILL)


def _signal_pid(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
