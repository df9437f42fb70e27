"""A throwaway OpenSSH sshd on 127.0.0.1 for end-to-end tests.

It lives in a temp dir of its own: its own host key, a client key pair, authorized_keys, an
sshd_config and a client ssh_config whose known_hosts already holds the host key, so `ssh -F
CONFIG testhead ...` connects with no prompt and touches nothing in ~/.ssh. The daemon runs in the
foreground (`sshd -D -e`) in a session of its own. Every process is stopped by its pid: the
daemon's process tree is frozen (SIGSTOP) and then signalled; the per-connection sshd children
call setsid, so they are found as descendants, not by group. Nothing is ever killed by name.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self

from raycockpit.cockpit.local import free_port, process_tree
from tests.e2e.procs import Tree, stop_tree

LOOPBACK = "127.0.0.1"
PRIVSEP_DIR = Path("/run/sshd")  # Debian's sshd refuses to start without it


def find_sshd() -> str | None:
    """The sshd binary (it is usually in /usr/sbin, which a non-root PATH may lack)."""
    found = shutil.which("sshd")
    if found:
        return found
    return "/usr/sbin/sshd" if os.access("/usr/sbin/sshd", os.X_OK) else None


class ThrowawaySshd:
    """`with ThrowawaySshd() as sshd: subprocess.run(sshd.ssh_argv("echo", "ok"))`."""

    def __init__(self, alias: str = "testhead", port: int | None = None) -> None:
        self.sshd = find_sshd()
        if self.sshd is None:
            raise RuntimeError("no OpenSSH sshd here (apt-get install openssh-server)")
        self.alias = alias
        self.port = port or free_port()
        self.user = getpass.getuser()
        self.dir = Path(tempfile.mkdtemp(prefix="rc-sshd-"))
        self.host_key = self.dir / "ssh_host_ed25519_key"
        self.client_key = self.dir / "id_ed25519"
        self.authorized_keys = self.dir / "authorized_keys"
        self.known_hosts = self.dir / "known_hosts"
        self.config = self.dir / "sshd_config"
        self.client_config = self.dir / "ssh_config"
        self.pid_file = self.dir / "sshd.pid"
        self.log_path = self.dir / "sshd.log"
        self.proc: subprocess.Popen | None = None
        self._write_files()

    # -- files --------------------------------------------------------------------------------

    def _keygen(self, path: Path, comment: str) -> None:
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
            check=True,
            stdin=subprocess.DEVNULL,
            capture_output=True,
        )

    def _write_files(self) -> None:
        self._keygen(self.host_key, "raycockpit-test-host")
        self._keygen(self.client_key, "raycockpit-test-client")
        self.authorized_keys.write_text(Path(f"{self.client_key}.pub").read_text())
        self.authorized_keys.chmod(0o600)
        kind, key = Path(f"{self.host_key}.pub").read_text().split()[:2]
        self.known_hosts.write_text(f"[{LOOPBACK}]:{self.port} {kind} {key}\n")
        self.config.write_text(
            f"""\
ListenAddress {LOOPBACK}
Port {self.port}
HostKey {self.host_key}
PidFile {self.pid_file}
AuthorizedKeysFile {self.authorized_keys}
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UsePAM no
PermitRootLogin yes
AllowTcpForwarding yes
PermitTTY yes
X11Forwarding no
LogLevel VERBOSE
"""
        )
        self.client_config.write_text(
            f"""\
Host {self.alias}
  HostName {LOOPBACK}
  Port {self.port}
  User {self.user}
  IdentityFile {self.client_key}
  IdentitiesOnly yes
  UserKnownHostsFile {self.known_hosts}
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  LogLevel ERROR
"""
        )

    # -- running ------------------------------------------------------------------------------

    def ssh_argv(self, *remote: str, tty: bool = False) -> list[str]:
        """`ssh -F CONFIG [-t -t] ALIAS REMOTE...` (`-t -t` forces a remote pty even without one
        here)."""
        return [
            "ssh",
            "-F",
            str(self.client_config),
            *(["-t", "-t"] if tty else []),
            self.alias,
            *remote,
        ]

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def start(self, timeout: float = 15.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        if not PRIVSEP_DIR.is_dir():
            PRIVSEP_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [self.sshd, "-D", "-e", "-f", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"sshd exited with {self.proc.returncode}:\n{self.log()[-2000:]}"
                )
            if _accepts(self.port):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"sshd did not listen on {LOOPBACK}:{self.port} in {timeout:.0f} s:\n"
                    f"{self.log()[-2000:]}"
                )
            time.sleep(0.05)
        last = ""
        while time.monotonic() < deadline:
            probe = subprocess.run(
                self.ssh_argv("true"),
                check=False,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=max(1.0, deadline - time.monotonic()),
            )
            if probe.returncode == 0:
                return
            last = probe.stderr
            time.sleep(0.1)
        raise RuntimeError(f"ssh into the test sshd failed: {last}\n{self.log()[-2000:]}")

    def tree(self) -> Tree:
        """pid -> start time of the master sshd and every process under it (connections, their
        shells and commands). Empty once the master has exited (its pid may be reused then)."""
        if self.proc is None or self.proc.poll() is not None:
            return {}
        return process_tree(self.proc.pid)

    def connections(self) -> Tree:
        """The per-connection sshd children and everything they run (the tree less the master)."""
        return {pid: t for pid, t in self.tree().items() if pid != self.pid}

    def drop_connections(self) -> Tree:
        """Kill every live SSH connection (the master's descendants, by pid) while the listener
        stays: clients see the link drop. Returns what was stopped."""
        stopped = {}

        def find() -> Tree:
            found = self.connections()
            stopped.update(found)
            return found

        left = stop_tree(find, grace=1.0)
        if left:
            raise RuntimeError(f"connection processes would not stop: {sorted(left)}")
        return stopped

    def stop(self) -> None:
        """Stop the master and every process under it, by pid; nothing of its tree is left. The
        tree is frozen (SIGSTOP) first, so nothing in it forks or accepts behind our back."""
        if self.proc is None:
            return
        left = stop_tree(self.tree)  # the master, once frozen, cannot exit before we signal it
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        if left:
            raise RuntimeError(f"sshd processes would not stop: {sorted(left)}")

    def restart(self, timeout: float = 15.0) -> None:
        """Stop, then start again on the same port (a dropped link that comes back)."""
        self.stop()
        self.proc = None
        self.start(timeout)

    def cleanup(self) -> None:
        """Stop, then remove the temp dir."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.cleanup()


def _accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.3)
        return s.connect_ex((LOOPBACK, port)) == 0
