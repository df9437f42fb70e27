"""A managed SSH tunnel to a remote head whose dashboard listens on that machine's loopback.

`raycockpit --ssh [user@]host[:port]` runs the system `ssh -N -L 127.0.0.1:LOCAL:127.0.0.1:8265`
and talks HTTP and websockets to the local end. The system client, not a Python SSH library,
because it is the one users have already set up: `~/.ssh/config` (Host aliases, User, Port,
IdentityFile, ProxyJump), their agent, their known_hosts and their security keys work exactly as
with `ssh host`, with nothing to re-implement or keep in step. Options that keep it a bounded,
non-interactive background link:
- `BatchMode=yes`: never a password or host-key prompt that would hang behind the TUI; an unknown
  or changed host key, or a refused login, ends ssh at once with its own message, which becomes
  one readable line with what to do;
- `ConnectTimeout` plus a deadline of our own: opening never waits longer than that;
- `ServerAliveInterval`/`CountMax`: a dead link is noticed in ~15 s even when no packet says so;
- `ExitOnForwardFailure=yes`: a forward that cannot listen ends ssh instead of idling;
- `ControlPath=none`: a connection of its own, never a user's multiplexed master, so the
  process's life is the link's life.
The local port stays the same across re-opens, so the client's address never changes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass

from raycockpit.cockpit.errors import TunnelError
from raycockpit.cockpit.local import LOOPBACK, free_port, port_in_use

DEFAULT_REMOTE_DASHBOARD = 8265
CONNECT_TIMEOUT_S = 10.0
_TARGET = re.compile(
    r"^(?:(?P<user>[^@\s:/]+)@)?(?P<host>\[[0-9a-fA-F:.]+\]|[^@\s:/\[\]]+)(?::(?P<port>\d{1,5}))?$"
)


@dataclass(frozen=True)
class SshTarget:
    host: str
    user: str | None = None
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> SshTarget:
        """`[user@]host[:port]`; host may be an alias from ~/.ssh/config. Raises ValueError."""
        match = _TARGET.match((text or "").strip())
        port = int(match["port"]) if match and match["port"] else None
        if not match or (port is not None and not 0 < port < 65536):
            raise ValueError(
                f"--ssh {text!r} is not [user@]host[:port] (e.g. alice@head.example:22)"
            )
        return cls(host=match["host"].strip("[]"), user=match["user"], port=port)

    @property
    def destination(self) -> str:
        return f"{self.user}@{self.host}" if self.user else self.host

    def __str__(self) -> str:
        return self.destination + (f":{self.port}" if self.port else "")


def explain(stderr: str, target: SshTarget, timeout: float) -> tuple[str, str]:
    """ssh's own words -> (what failed, what to do)."""
    text = stderr.strip()
    low = text.lower()
    if "host key verification failed" in low or "remote host identification has changed" in low:
        return (
            f"ssh: the host key of {target.host} is not trusted (unknown or changed)",
            f"check it and accept it once with `ssh {target.destination}`, "
            "or fix ~/.ssh/known_hosts",
        )
    if "permission denied" in low or "too many authentication failures" in low:
        return (
            f"ssh: {target.destination} refused the login",
            "check the user name, --ssh-key FILE or your ssh-agent "
            "(raycockpit never asks for passwords)",
        )
    if "could not resolve hostname" in low or "name or service not known" in low:
        return (
            f"ssh: cannot resolve host {target.host}",
            "check the name or its Host entry in ~/.ssh/config",
        )
    if "connection refused" in low:
        return (
            f"ssh: nothing accepts SSH connections on {target.host}:{target.port or 22}",
            "check the host and port (user@host:port), and that sshd runs there",
        )
    if "timed out" in low:
        return (
            f"ssh: {target.host} did not answer in {timeout:.0f} s",
            "check the host, the network or a ProxyJump",
        )
    if "address already in use" in low or "cannot listen" in low:
        return "ssh: the tunnel's local port is taken", "try again (raycockpit picks another port)"
    last = [line for line in text.splitlines() if line.strip()][-1:] or [
        "ssh ended without a message"
    ]
    return (
        f"ssh to {target} failed: {last[0][:200]}",
        "try `ssh " + target.destination + "` by hand to see why",
    )


class SshTunnel:
    """One `ssh -N -L` process, opened, watched and re-opened by its owner (the CLI or the app)."""

    def __init__(
        self,
        target: SshTarget,
        *,
        remote_port: int = DEFAULT_REMOTE_DASHBOARD,
        key: str | None = None,
        options: tuple[str, ...] | list[str] = (),
        connect_timeout: float = CONNECT_TIMEOUT_S,
        ssh: str | None = None,
    ) -> None:
        self.target = target
        self.remote_port = remote_port
        self.key = key
        self.options = tuple(options)
        self.connect_timeout = connect_timeout
        self.ssh = ssh or shutil.which("ssh")
        self.local_port = free_port()
        self.process: subprocess.Popen | None = None
        self.opened = 0  # how many times the link came up
        self.last_error = ""
        self._shut = False  # shut_down() was called: never open again
        self._lock = threading.Lock()  # open() runs in a worker thread, shut_down() on exit

    @property
    def address(self) -> str:
        return f"http://{LOOPBACK}:{self.local_port}"

    @property
    def label(self) -> str:
        return f"{self.target} (dashboard :{self.remote_port}, via ssh)"

    def command(self) -> list[str]:
        cmd = [
            self.ssh or "ssh",
            "-N",
            "-T",
            "-L",
            f"{LOOPBACK}:{self.local_port}:127.0.0.1:{self.remote_port}",
            "-o",
            "BatchMode=yes",
            "-o",
            f"ConnectTimeout={max(1, round(self.connect_timeout))}",
            "-o",
            "ServerAliveInterval=5",
            "-o",
            "ServerAliveCountMax=3",
            "-o",
            "ExitOnForwardFailure=yes",
            "-o",
            "ControlPath=none",
            "-o",
            "ControlMaster=no",
        ]
        if self.target.port:
            cmd += ["-p", str(self.target.port)]
        if self.key:
            cmd += ["-i", self.key, "-o", "IdentitiesOnly=yes"]
        return [*cmd, *self.options, self.target.destination]

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def open(self) -> None:
        """Start ssh and return once the local end accepts connections. Raises TunnelError with
        one line and a hint; never waits longer than the connect timeout plus a few seconds."""
        self.close()
        self._check_client()
        errors = tempfile.TemporaryFile()
        with self._lock:
            if self._shut:
                errors.close()
                raise TunnelError("the tunnel is shut down")
            self.process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                start_new_session=True,  # never reads the cockpit's terminal, never gets its hangup
            )
        deadline = time.monotonic() + self.connect_timeout + 5.0
        try:
            proc = self.process
            while time.monotonic() < deadline:
                if self._shut:
                    raise TunnelError("the tunnel is shut down")
                if proc.poll() is not None:
                    errors.seek(0)
                    what, hint = self._explain(errors.read().decode(errors="replace"))
                    self.process = None
                    self.last_error = what
                    raise TunnelError(what, hint=hint)
                if port_in_use(self.local_port):
                    self.opened += 1
                    self.last_error = ""
                    return
                time.sleep(0.1)
            self.close()
            self.last_error, hint = self._no_link()
            raise TunnelError(self.last_error, hint=hint)
        finally:
            errors.close()

    # -- what differs between link kinds (KubectlForward overrides these) ----------------------

    def _check_client(self) -> None:
        if self.ssh is None:
            raise TunnelError(
                "no `ssh` client on PATH",
                hint="install OpenSSH's client (apt-get install openssh-client)",
            )

    def _explain(self, stderr: str) -> tuple[str, str]:
        return explain(stderr, self.target, self.connect_timeout)

    def _no_link(self) -> tuple[str, str]:
        return (
            f"ssh: no link to {self.target} after {self.connect_timeout + 5:.0f} s",
            "check the host, the network or a ProxyJump",
        )

    def shut_down(self) -> None:
        """Close for good: an open() still running in a worker thread starts no new ssh."""
        with self._lock:
            self._shut = True
        self.close()

    def close(self) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
