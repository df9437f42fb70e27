"""Network namespaces for multi-node tests: a few "machines" on one Linux box.

`Network(count)` makes `count` namespaces (`rcN-<random>-<i>`), a bridge in the root namespace
that holds the first address of a private /24 (10.213.X.1) and one veth pair per namespace: the
host end on the bridge, the other end moved into the namespace as `eth0` with 10.213.X.(10+i).
Every namespace reaches every other one and the root namespace; the addresses exist only on the
links made here. `lo` is brought up in each namespace, so a service bound to 127.0.0.1 inside one
is private to it. No default route: a name lookup or Ray's probe of an outside address fails at
once (network unreachable) instead of waiting for a timeout.

`Network.popen(ns, argv)` runs a command inside a namespace (`ip netns exec NS ...`, in a session
of its own; `ip` execs the command, so the Popen's pid is the command's). `Network.teardown()`
deletes everything that was made (namespaces, the veth pairs, the bridge), also after a failed
setup; it never touches a link or namespace it did not make. `skip_reason()` says what is missing
(not root, no `ip`, no namespaces here) or None.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Self

PREFIX = "10.213"
NS_PREFIX = "rcN-"


def _ip_binary() -> str | None:
    found = shutil.which("ip")
    if found:
        return found
    for path in ("/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip"):
        if os.access(path, os.X_OK):
            return path
    return None


def ip(*args: str, check: bool = True, timeout: float = 30.0) -> subprocess.CompletedProcess:
    """Run `ip ARGS...`; raises RuntimeError with ip's own message when it fails and `check`."""
    done = subprocess.run(
        [_ip_binary() or "ip", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done


def skip_reason() -> str | None:
    """Why multi-node tests cannot run here (a sentence with what is missing), or None."""
    if os.name != "posix" or not os.path.isdir("/proc/self/ns"):
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "multi-node tests need root (they create network namespaces with `ip netns add`)"
    if _ip_binary() is None:
        return "no `ip` command here: apt-get install iproute2 to run the multi-node tests"
    probe = f"{NS_PREFIX}probe-{secrets.token_hex(3)}"
    try:
        made = ip("netns", "add", probe, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"`ip netns add` cannot run here: {exc}"
    if made.returncode != 0:
        return f"cannot create a network namespace here (`ip netns add`): {made.stderr.strip()}"
    ip("netns", "del", probe, check=False)
    return None


def _used_subnets() -> set[str]:
    """The 10.213.X prefixes some interface of the root namespace already holds."""
    text = ip("-4", "-o", "addr", "show", check=False).stdout
    used = set()
    for word in text.split():
        if word.startswith(PREFIX + "."):
            used.add(".".join(word.split(".")[:3]))
    return used


@dataclass
class Network:
    """`count` namespaces on one bridge; `with Network(3) as net: net.popen(net.names[0], ...)`."""

    count: int
    tag: str = field(default_factory=lambda: secrets.token_hex(3))
    subnet: str = ""
    names: list[str] = field(default_factory=list)  # namespaces, in order
    addresses: list[str] = field(default_factory=list)  # each namespace's eth0 address
    _made_ns: list[str] = field(default_factory=list)
    _made_links: list[str] = field(default_factory=list)  # root-namespace links we made

    @property
    def bridge(self) -> str:
        return f"rcb{self.tag}"  # interface names: 15 characters at most

    @property
    def host_address(self) -> str:
        return f"{self.subnet}.1"

    def setup(self) -> Self:
        """Create the bridge, the namespaces and their links; on any failure, undo what was made
        and raise."""
        try:
            self._setup()
        except BaseException:
            self.teardown()
            raise
        return self

    def _setup(self) -> None:
        used = _used_subnets()
        third = 1 + secrets.randbelow(250)
        while f"{PREFIX}.{third}" in used:
            third = 1 + secrets.randbelow(250)
        self.subnet = f"{PREFIX}.{third}"
        ipaddress.ip_network(f"{self.subnet}.0/24")  # a sanity check of the text
        ip("link", "add", self.bridge, "type", "bridge")
        self._made_links.append(self.bridge)
        ip("addr", "add", f"{self.host_address}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        for i in range(self.count):
            name = f"{NS_PREFIX}{self.tag}-{i}"
            host_end, ns_end = f"rcv{self.tag}{i}", f"rcp{self.tag}{i}"
            address = f"{self.subnet}.{10 + i}"
            ip("netns", "add", name)
            self._made_ns.append(name)
            ip("link", "add", host_end, "type", "veth", "peer", "name", ns_end)
            self._made_links.append(host_end)
            ip("link", "set", host_end, "master", self.bridge)
            ip("link", "set", host_end, "up")
            ip("link", "set", ns_end, "netns", name)
            ip("-n", name, "link", "set", ns_end, "name", "eth0")
            ip("-n", name, "addr", "add", f"{address}/24", "dev", "eth0")
            ip("-n", name, "link", "set", "eth0", "up")
            ip("-n", name, "link", "set", "lo", "up")
            self.names.append(name)
            self.addresses.append(address)

    def argv(self, ns: str, argv: Sequence[str]) -> list[str]:
        """`ip netns exec NS ARGV...`."""
        return [_ip_binary() or "ip", "netns", "exec", ns, *argv]

    def popen(self, ns: str, argv: Sequence[str], **kwargs) -> subprocess.Popen:
        """Start `argv` inside namespace `ns`, in a session of its own (its pid is argv's)."""
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.Popen(self.argv(ns, argv), start_new_session=True, **kwargs)

    def run(self, ns: str, argv: Sequence[str], timeout: float = 60.0, **kwargs):
        """Run `argv` inside namespace `ns` to its end (a CompletedProcess, text output)."""
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        kwargs.setdefault("capture_output", True)
        return subprocess.run(
            self.argv(ns, argv), timeout=timeout, text=True, start_new_session=True, **kwargs
        )

    def teardown(self) -> list[str]:
        """Delete every namespace and link made here (the processes inside must be stopped
        first). Returns what could not be deleted (normally nothing)."""
        failed = []
        for name in reversed(self._made_ns):
            done = ip("netns", "del", name, check=False)
            if done.returncode != 0 and name in listed_namespaces():
                failed.append(f"netns {name}: {done.stderr.strip()}")
        self._made_ns.clear()
        for link in reversed(self._made_links):
            # a veth's host end goes with its namespace's end (the kernel may take a moment:
            # gone between the show and the del is gone); the bridge is deleted here
            if ip("link", "show", link, check=False).returncode == 0:
                done = ip("link", "del", link, check=False)
                still = ip("link", "show", link, check=False).returncode == 0
                if done.returncode != 0 and still:
                    failed.append(f"link {link}: {done.stderr.strip()}")
        self._made_links.clear()
        return failed

    def __enter__(self) -> Self:
        return self.setup()

    def __exit__(self, *exc) -> None:
        self.teardown()


def listed_namespaces() -> list[str]:
    """The names `ip netns list` shows."""
    text = ip("netns", "list", check=False).stdout
    return [line.split()[0] for line in text.splitlines() if line.strip()]
