"""Checks before submit of the files and folders a workload reads: a spec's `str` params marked
`path: file` or `path: dir` (the data workload's `csv_path`, the serve workload's `checkpoint`).

Only when every alive node of the cluster is this machine (the embedded head, a local multinode
cluster) can a path be checked from here: one that is not there is refused, with its name,
before anything is sent (the data workload otherwise failed 11 s later with FileNotFoundError).
A relative path is the job's working_dir's, where it runs; a URI (s3://...) is left to the
program; `~` is refused with the full path, since the program gets it as typed.
"""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

from raycockpit.cockpit.fit import Finding
from raycockpit.cockpit.launch import JobRequest
from raycockpit.cockpit.models import Snapshot


def check_paths(request: JobRequest, snap: Snapshot | None) -> list[Finding]:
    """One refusal per path of the request that is not what the program needs (module doc)."""
    if not request.paths or not cluster_is_here(snap):
        return []
    out = []
    for label, value, kind in request.paths:
        if "://" in value:
            continue
        want = "file" if kind == "file" else "folder"
        if value.startswith("~"):
            full = Path(value).expanduser()
            out.append(
                Finding("refuse", f"{label}: the program gets {value} as it is (no ~): give {full}")
            )
            continue
        path = Path(value)
        if not path.is_absolute():
            if request.package_root is None:
                continue
            path = Path(request.package_root) / path
        if path.is_file() if kind == "file" else path.is_dir():
            continue
        if not path.exists():
            what = "does not exist"
        else:
            what = "is a folder, not a file" if kind == "file" else "is a file, not a folder"
        out.append(
            Finding(
                "refuse",
                f"{label}: {path} {what} on this machine, where the cluster runs: give an "
                f"existing {want}, or leave it empty",
            )
        )
    return out


def cluster_is_here(snap: Snapshot | None) -> bool:
    """Every alive node of the snapshot is this machine (loopback, or one of its addresses)."""
    nodes = [node for node in snap.nodes if node.state == "ALIVE"] if snap is not None else []
    if not nodes:
        return False
    here: set[str] | None = None
    for node in nodes:
        try:
            if ipaddress.ip_address(node.ip).is_loopback:
                continue
        except ValueError:
            return False
        if here is None:
            here = this_machines_addresses()
        if node.ip not in here:
            return False
    return True


def this_machines_addresses() -> set[str]:
    try:
        return {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)}
    except OSError:
        return set()
