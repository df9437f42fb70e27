"""Ray cluster-launcher configs and runs of Ray's own launcher (`ray up` / `ray exec` / `ray down`).

`find_cluster_configs(dirs)` lists the cluster YAML files (Ray's cluster-launcher format: a
`provider`, an `auth`, start commands) found in some folders, one `ClusterConfig` each; a file
that cannot be read or is not such a config is listed too, with `problem` saying why in one line.

`launcher_argv(action, path)` is the non-interactive `ray` command line for one launcher action
and `LauncherRun` runs it: output lines stream as they come (ANSI colours removed), and `stop()`
ends the whole process tree (the `ray` CLI, its ssh and rsync children, ssh control masters left
in its session) by pid, never by name. Nothing here imports Ray: the `ray` CLI beside this
interpreter does the work, as a user at a shell would.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from raycockpit.cockpit.local import find_ray_cli, process_tree, still_running

ACTIONS = ("up", "down", "exec")
SUFFIXES = (".yaml", ".yml")
LINE_LIMIT = 1 << 20  # one output line may be this long (bytes) before it is cut
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
# A shell started for a login (SSH_CLIENT set) may source rc files that reorder PATH (DESIGN.md).
AUTOSCALER_V2 = "RAY_UP_enable_autoscaler_v2"  # what `ray up` starts the head's autoscaler with
LOGIN_VARIABLES = ("SSH_CLIENT", "SSH_CONNECTION", "SSH_TTY", "RAY_ADDRESS")


@dataclass(frozen=True)
class ClusterConfig:
    """One cluster-launcher YAML file: `name` (its cluster_name, else the file's stem), `path`,
    `provider` (provider.type: local, aws, gcp...), `head` (provider.head_ip, "" where the
    provider makes its own machines), `workers` (how many worker_ips, else max_workers) and
    `problem` (one readable line when the file could not be used, else "")."""

    name: str
    path: Path
    provider: str
    head: str
    workers: int
    problem: str = ""


def find_cluster_configs(dirs: list[Path]) -> list[ClusterConfig]:
    """Every *.yaml / *.yml file directly in `dirs` (missing folders are skipped), sorted by
    name within each folder. Never raises: a bad file comes back with `problem` set."""
    found = []
    for folder in dirs:
        folder = Path(folder)
        if not folder.is_dir():
            continue
        for path in _listing(folder):
            if path.suffix in SUFFIXES and path.is_file():
                found.append(read_cluster_config(path))
    return found


def _listing(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError:
        return []


def read_cluster_config(path: Path) -> ClusterConfig:
    """One file as a ClusterConfig; a file that cannot be used has `problem` set."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        return _broken(path, f"cannot read: {getattr(exc, 'strerror', None) or exc}")
    except yaml.YAMLError as exc:
        return _broken(path, f"not valid YAML: {_first_line(exc)}")
    if not isinstance(data, Mapping):
        return _broken(path, "not a cluster config (the YAML is not a mapping)")
    return _from_mapping(path, data)


def _from_mapping(path: Path, data: Mapping) -> ClusterConfig:
    name = data.get("cluster_name")
    name = str(name) if name not in (None, "") else path.stem
    provider = data.get("provider")
    if not isinstance(provider, Mapping) or not provider.get("type"):
        return ClusterConfig(name, path, "", "", 0, "no provider.type: not a cluster config")
    head = provider.get("head_ip") or ""
    ips = provider.get("worker_ips")
    if isinstance(ips, list):
        workers = len(ips)
    else:
        workers = data.get("max_workers", 0)
        workers = workers if isinstance(workers, int) and not isinstance(workers, bool) else 0
    return ClusterConfig(name, path, str(provider["type"]), str(head), workers)


def _broken(path: Path, problem: str) -> ClusterConfig:
    return ClusterConfig(path.stem, path, "", "", 0, problem)


def _first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return " ".join(lines[:3])[:200] or type(exc).__name__


# -- the launcher -----------------------------------------------------------------------------


def launcher_argv(action: str, path: Path, command: str | None = None) -> list[str]:
    """The `ray` command line for `up`, `down` or `exec COMMAND` on the cluster file `path`:
    no prompt (`-y`), no cached config (`--no-config-cache`) where Ray offers it, no colours.
    Uses the `ray` beside this interpreter. Raises ValueError for another action or an exec
    without a command, RuntimeError when there is no `ray` command."""
    if action not in ACTIONS:
        raise ValueError(f"unknown launcher action {action!r}: one of {', '.join(ACTIONS)}")
    if action == "exec" and not command:
        raise ValueError("`exec` needs a command to run on the head node")
    ray = find_ray_cli()
    if ray is None:
        raise RuntimeError("no `ray` command beside this interpreter or on PATH")
    argv = [ray, action, str(path), "--log-color", "false"]
    if action == "up":
        argv += ["-y", "--no-config-cache"]
    elif action == "down":
        argv += ["-y"]
    else:
        argv += ["--no-config-cache", command]
    return argv


def workers_stop_command(path: Path) -> str | None:
    """For a `local`-provider config: a shell command to run ON THE HEAD (`ray exec`, before
    `ray down`) that runs `ray stop` on every worker over SSH with the key the launcher put there
    (~/ray_bootstrap_key.pem). `ray down` alone does not: it runs `ray stop` on the head and only
    marks the workers terminated in the provider's state file (LocalNodeProvider.terminate_node),
    so a worker's raylet lingers until it gives up on the GCS and its log monitor stays. None for
    another provider, a config without worker_ips or one that cannot be read."""
    try:
        data = yaml.safe_load(Path(path).read_text())
        provider, auth = data["provider"], data.get("auth") or {}
        ips = [str(ip) for ip in provider["worker_ips"]] if provider["type"] == "local" else []
    except (OSError, UnicodeDecodeError, yaml.YAMLError, KeyError, TypeError):
        return None
    if not ips:
        return None
    user = str(auth.get("ssh_user") or "root")
    ssh = (
        "ssh -i ~/ray_bootstrap_key.pem -o StrictHostKeyChecking=no "
        "-o UserKnownHostsFile=/dev/null -o BatchMode=yes -o ConnectTimeout=20"
    )
    remote = shlex.quote("bash --login -c 'ray stop'")  # ray on the worker's login PATH
    return "; ".join(f"{ssh} {shlex.quote(f'{user}@{ip}')} {remote}" for ip in ips)


def launcher_environment(
    extra: Mapping[str, str] | None = None, provider: str = ""
) -> dict[str, str]:
    """This process's environment for the launcher: this interpreter's folder first on PATH,
    unbuffered Python output (lines arrive as they are printed), no usage stats, no login-session
    variables; `extra` (HOME, RAY_TMPDIR, TMPDIR...) last. For the `local` provider the head's
    autoscaler is v1 (RAY_UP_enable_autoscaler_v2=0) unless that is set already: with v2, Ray
    2.60's default, the head's monitor logs "Adding 1 nodes to satisfy min count" every 5 s and
    never starts a worker."""
    env = {k: v for k, v in os.environ.items() if k not in LOGIN_VARIABLES}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if provider == "local":
        env.setdefault(AUTOSCALER_V2, "0")
    env.update(extra or {})
    return env


def strip_ansi(text: str) -> str:
    """`text` without terminal escape sequences (colours, cursor moves) and carriage returns."""
    return ANSI.sub("", text).replace("\r", "")


class LauncherRun:
    """One run of Ray's launcher: `argv` (from `launcher_argv`), `env` (from
    `launcher_environment`), `cwd`, `process` (the asyncio subprocess once started, in a session
    of its own, stdout and stderr merged), `returncode` (None until it has exited), `tree` (every
    process of the run seen so far: pid -> start time, so a reused pid is never signalled)."""

    def __init__(
        self,
        action: str,
        path: Path,
        command: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.argv = launcher_argv(action, path, command)
        self.env = launcher_environment(env, read_cluster_config(Path(path)).provider)
        self.cwd = cwd
        self.process: asyncio.subprocess.Process | None = None
        self.tree: dict[int, int] = {}

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def returncode(self) -> int | None:
        return self.process.returncode if self.process else None

    async def start(self) -> None:
        """Start the command (once); `lines()` starts it too."""
        if self.process is not None:
            return
        self.process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=self.env,
            cwd=self.cwd,
            start_new_session=True,
            limit=LINE_LIMIT,
        )
        self._remember()

    async def lines(self) -> AsyncIterator[str]:
        """Each output line as it comes, decoded, without escape codes or line end; ends when the
        command has closed its output and exited (`returncode` is set then)."""
        await self.start()
        stream = self.process.stdout
        while True:
            try:
                raw = await stream.readline()
            except ValueError:  # a line over LINE_LIMIT: hand over what is buffered
                raw = await stream.read(LINE_LIMIT)
            if not raw:
                break
            self._remember()
            yield strip_ansi(raw.decode(errors="replace").rstrip("\n"))
        await self.process.wait()

    async def wait(self) -> int:
        """Read the output to its end (dropping it) and return the exit code."""
        async for _ in self.lines():
            pass
        return self.process.returncode

    async def stop(self, grace: float = 5.0) -> dict[int, int]:
        """Stop the command and everything it started (its process group and descendants: ssh,
        rsync, ssh control masters) by pid: SIGTERM, SIGKILL after `grace` seconds. Returns what
        still runs after that (normally nothing)."""
        if self.process is None:
            return {}
        self._remember()
        left = still_running(self.tree)
        _signal_all(left, signal.SIGTERM)
        left = await _wait_gone(left, grace)
        _signal_all(left, signal.SIGKILL)
        left = await _wait_gone(left, 2.0)
        if self.process.returncode is None:
            await self.process.wait()
        return left

    def leftovers(self) -> dict[int, int]:
        """Processes of this run that still run (after it exited: ssh control masters that
        linger for their ControlPersist time, say)."""
        self._remember()
        return still_running(self.tree)

    def _remember(self) -> None:
        if self.process is not None:
            self.tree.update(process_tree(self.process.pid))


def _signal_all(tree: Mapping[int, int], sig: int) -> None:
    for pid in tree:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


async def _wait_gone(tree: dict[int, int], timeout: float) -> dict[int, int]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    left = still_running(tree)
    while left and loop.time() < deadline:
        await asyncio.sleep(0.1)
        left = still_running(left)
    return left


def attach_context(config: ClusterConfig) -> dict[str, object]:
    """The settings that reach a launched cluster's dashboard (on its head's loopback, Ray's
    default) over ssh, as the launcher itself logs in: `ssh: user@head_ip` and `ssh_key` from the
    config's `auth`. Only where the config names its head (the `local` provider); a ValueError
    saying what to do otherwise."""
    if config.problem:
        raise ValueError(config.problem)
    if not config.head:
        raise ValueError(
            f"its provider ({config.provider}) picks the head's address itself: "
            f"`ray get-head-ip {config.path}` prints it, then :ctx or --ssh USER@THAT_IP"
        )
    try:
        data = yaml.safe_load(config.path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read {config.path}: {_first_line(exc)}") from None
    auth = data.get("auth") if isinstance(data, Mapping) else None
    auth = auth if isinstance(auth, Mapping) else {}
    user = str(auth.get("ssh_user") or "")
    key = auth.get("ssh_private_key")
    return {
        "ssh": f"{user}@{config.head}" if user else config.head,
        "ssh_key": str(key) if key else None,
        # as the launcher itself logs in to these machines (Ray's SSHCommandRunner): it does not
        # check or record their host keys, so neither does the cockpit's tunnel to them
        "ssh_options": ("-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"),
    }
