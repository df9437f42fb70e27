"""Post-mortems: what the cockpit keeps when a job it watches fails or a node dies, so the log and
the state of that moment outlive the cluster (Ray's logs go with the nodes that scale down).

A bundle is one folder under the post-mortem folder (`postmortem_dir`, else
`$XDG_STATE_HOME/raycockpit/postmortems`, else `~/.local/state/raycockpit/postmortems`), named
`job-<submission id>` or `node-<node id>` (one bundle per job or node, never two):

    meta.json      what the list shows: kind, id, when, address, title, status, message, whys
    job.json       the job's info as GET /api/jobs/{id} answered (the snapshot's row when the
                   cluster did not answer)                                     (job bundles)
    log.txt        the job's whole log, GET /api/jobs/{id}/logs                (job bundles)
    node.json      the node as `--once --json` shows it, with its death reason (node bundles)
    snapshot.json  the snapshot of that moment, exactly as `raycockpit --once --json` prints it

A bundle is written into a hidden temporary folder beside the others, then renamed into place:
a reader sees all of it or none of it, and of two writers of the same bundle one wins. After a
write the folder keeps the newest `keep` bundles (by the time they were kept), the oldest go.

`failures(previous, snapshot)` is the rule of what is new, a pure function of two snapshots:
a job seen before and FAILED now, a FAILED job that appeared since the last snapshot of the same
cluster (it failed between two polls), a node ALIVE before and DEAD now. No UI, no network: the
app's worker (screens/workers/postmortems.py) fetches the job's info and log and calls `write`;
`raycockpit postmortem` (postmortem_cli.py) and the Jobs pane's list only read the folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from raycockpit.cockpit.job_message import error_line, message_head
from raycockpit.cockpit.models import Job, Node, Snapshot
from raycockpit.cockpit.recording import BUNDLE_RECORDING
from raycockpit.cockpit.report import snapshot_dict

FORMAT = 1
DEFAULT_KEEP = 50
META, JOB, LOG, NODE, SNAPSHOT = "meta.json", "job.json", "log.txt", "node.json", "snapshot.json"
RECORDING = BUNDLE_RECORDING  # the dashboard's answers at that moment: raycockpit --replay BUNDLE
TMP_PREFIX = ".tmp-"
TMP_STALE_S = 3600.0  # a temporary folder older than this was left by a writer that died
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def default_folder(env: dict[str, str] | None = None) -> Path:
    """`$XDG_STATE_HOME/raycockpit/postmortems`, else `~/.local/state/raycockpit/postmortems`."""
    env = os.environ if env is None else env
    state = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "raycockpit" / "postmortems"


def folder_for(postmortem_dir: str | None, env: dict[str, str] | None = None) -> Path:
    """The settings' `postmortem_dir` (with ~ expanded), else the default folder."""
    return Path(postmortem_dir).expanduser() if postmortem_dir else default_folder(env)


# -- which transitions make a bundle ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Failure:
    """A job that failed or a node that died, to keep a bundle of."""

    kind: str  # "job" | "node"
    key: str  # the job's submission id (else job id), or the node id
    job: Job | None = None
    node: Node | None = None

    @property
    def bundle_id(self) -> str:
        return bundle_id(self.kind, self.key)

    @property
    def title(self) -> str:
        if self.job is not None:
            return self.job.entrypoint
        if self.node is not None:
            return f"node {self.node.name} ({self.node.ip})" if self.node.ip else self.node.name
        return self.key


def bundle_id(kind: str, key: str) -> str:
    """The folder name of a bundle: `job-<id>` / `node-<id>`, only [A-Za-z0-9._-] in it."""
    return f"{kind}-{_UNSAFE.sub('_', key).strip('.') or '_'}"


def job_failure(job: Job) -> Failure:
    return Failure("job", job.key, job=job)


def failures(previous: Snapshot | None, snapshot: Snapshot) -> list[Failure]:
    """What failed between `previous` and `snapshot`, in the snapshot's order.

    - a job in both, not FAILED before and FAILED now;
    - a job FAILED now that `previous` did not list, when `previous` is of the same cluster and
      session and had its job list (it was submitted and failed between two polls: not one of the
      failures of old that a first look at a cluster lists);
    - a node in both, ALIVE before and DEAD now.
    Nothing on the first snapshot, after a switch to another cluster, or while not connected."""
    if previous is None or not snapshot.connected:
        return []
    if previous.info.address != snapshot.info.address:
        return []
    found: list[Failure] = []
    # the poller keeps an unchanged section's very object: nothing in it can have failed
    jobs = () if snapshot.jobs is previous.jobs else snapshot.jobs
    before = {j.key: j.status for j in previous.jobs} if jobs else {}
    same_session = previous.info.session_name == snapshot.info.session_name
    listed_before = "jobs" in previous.updated_at
    for job in jobs:
        if job.status != "FAILED":
            continue
        status = before.get(job.key)
        if status is None and not (same_session and listed_before):
            continue
        if status != "FAILED":
            found.append(job_failure(job))
    nodes = () if snapshot.nodes is previous.nodes else snapshot.nodes
    alive = {n.node_id for n in previous.nodes if n.state == "ALIVE"} if nodes else set()
    for node in nodes:
        if node.state == "DEAD" and node.node_id in alive:
            found.append(Failure("node", node.node_id, node=node))
    return found


# -- the why-explanations of that moment -----------------------------------------------------------

_ID_FIELDS = (  # an actor's or a task's row names its job too: their own id first
    ("actor_id", "actor"),
    ("task_id", "task"),
    ("placement_group_id", "pg"),
    ("submission_id", "job"),
    ("job_id", "job"),
)


def _about(item: dict[str, Any], parent: str) -> str:
    for name, kind in _ID_FIELDS:
        if item.get(name):
            return f"{kind}:{item[name]}"
    if item.get("name") and parent == "apps":  # a Serve application
        return f"serve:{item['name']}"
    return parent


def _collect(value: Any, parent: str, out: list[dict[str, Any]]) -> None:
    """Every non-empty `why` the JSON report carries, each with `about` (job:ID, actor:ID, ...)."""
    if isinstance(value, list):
        for item in value:
            _collect(item, parent, out)
        return
    if not isinstance(value, dict):
        return
    about = _about(value, parent)
    for key, item in value.items():
        if key == "why":
            if isinstance(item, dict) and "reason" in item:
                out.append({"about": about, **item})
            elif isinstance(item, dict):  # a Serve app's: deployment name -> why
                for name, why in item.items():
                    if isinstance(why, dict) and "reason" in why:
                        out.append({"about": f"{about}/{name}", **why})
        else:
            _collect(item, key if about == parent else about, out)


def report_whys(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The why-explanations in a `--once --json` report, in the report's order."""
    out: list[dict[str, Any]] = []
    _collect(report, "", out)
    return out


def own_why(failure: Failure, log: str | None = None) -> dict[str, Any]:
    """The failure in Ray's own words when the report has no explanation of it: the job's message,
    error type, exit code and the error its log ends with (a traceback's last line among its last
    lines, else its last line: cockpit/job_message.py), or the node's death reason."""
    about = f"{failure.kind}:{failure.key}"
    if failure.job is not None:
        job = failure.job
        head, tail = message_head(job.message), error_line(log)
        evidence = [f"status {job.status}"]
        if job.error_type:
            evidence.append(f"error type {job.error_type}")
        if job.driver_exit_code is not None:
            evidence.append(f"driver exit code {job.driver_exit_code}")
        if head:
            evidence.append(f"Ray's message: {head}")
        if tail:
            evidence.append(f"the log ends with: {tail}")
        if job.driver_exit_code not in (None, 0):
            reason = f"the entrypoint exited with code {job.driver_exit_code}"
            short = f"exit code {job.driver_exit_code}" + (f": {tail}" if tail else "")
            fix = "read the end of the log (raycockpit postmortem show) for the error it printed"
        else:
            reason = head or "Ray gives no message for this failure"
            short = reason
            fix = "read the log (raycockpit postmortem show) and Ray's message above"
        return {
            "about": about,
            "category": "failed",
            "reason": reason,
            "fix": fix,
            "evidence": evidence,
            "short": short,
            "source": "ray",
        }
    node = failure.node
    reason = (node.state_message if node is not None else "") or "Ray gives no death reason"
    return {
        "about": about,
        "category": "node_died",
        "reason": f"the node died: {reason}",
        "fix": "see the node's raylet log on that machine; its jobs and actors were lost with it",
        "evidence": [f"node {node.name} {node.ip}" if node is not None else about],
        "short": reason,
        "source": "ray",
    }


def whys_for(
    failure: Failure, report: dict[str, Any], log: str | None = None
) -> list[dict[str, Any]]:
    """The failure's own explanation first (the report's, else Ray's own words), then every other
    explanation the report carries at that moment."""
    found = report_whys(report)
    about = f"{failure.kind}:{failure.key}"
    mine = [w for w in found if w["about"] == about]
    rest = [w for w in found if w["about"] != about]
    return [*(mine or [own_why(failure, log)]), *rest]


# -- the folder ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bundle:
    """One kept post-mortem, as its meta.json says (what the list shows)."""

    bundle_id: str
    path: Path
    kind: str
    key: str
    created_at: float
    title: str = ""
    status: str = ""
    message: str = ""
    address: str = ""
    ray_version: str = ""
    whys: tuple[dict[str, Any], ...] = ()
    log_bytes: int | None = None
    log_error: str = ""
    job_info_error: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def why_text(self) -> str:
        """The first explanation in one line (the list's column)."""
        if not self.whys:
            return message_head(self.message)
        why = self.whys[0]
        return str(why.get("short") or why.get("reason") or "")


def exists(folder: Path, failure: Failure) -> bool:
    return (folder / failure.bundle_id / META).is_file()


def _dump(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def write(
    folder: Path,
    failure: Failure,
    snapshot: Snapshot,
    *,
    job_info: dict[str, Any] | None = None,
    log: str | None = None,
    log_error: str = "",
    job_info_error: str = "",
    keep: int = DEFAULT_KEEP,
    now: float | None = None,
    recording: Path | None = None,
) -> Path | None:
    """Write the bundle of `failure` (atomically), then keep the newest `keep` bundles.

    `job_info`: the job's JSON from the dashboard (None: the snapshot's row is kept instead, and
    `job_info_error` says why); `log`: its whole log (None: `log_error` says why it is missing);
    `recording`: a recording of that moment (cockpit/recording.py), moved into the bundle.
    Returns the bundle's folder, or None when the bundle was there already (never written twice).
    An OSError (a folder that cannot be written) is the caller's to report."""
    now = time.time() if now is None else now
    target = folder / failure.bundle_id
    if (target / META).is_file():
        return None
    folder.mkdir(parents=True, exist_ok=True)
    report = snapshot_dict(snapshot)
    whys = whys_for(failure, report, log)
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{failure.bundle_id}-", dir=folder))
    try:
        meta: dict[str, Any] = {
            "format": FORMAT,
            "kind": failure.kind,
            "id": failure.key,
            "bundle": failure.bundle_id,
            "created_at": now,
            "address": snapshot.info.address,
            "ray_version": snapshot.info.ray_version,
            "title": failure.title,
            "why": whys,
        }
        if failure.job is not None:
            job = failure.job
            if job_info is None:
                job_info = _job_row(report, failure.key) or asdict(job)
            text = log if log is not None else ""
            (tmp / LOG).write_text(text, encoding="utf-8", errors="replace")
            _dump(tmp / JOB, job_info)
            meta.update(
                status=str(job_info.get("status") or job.status),
                message=str(job_info.get("message") or job.message or ""),
                entrypoint=job.entrypoint,
                log_bytes=len(text.encode("utf-8", errors="replace")) if log is not None else None,
                log_error=log_error if log is None else "",
                job_info_error=job_info_error,
            )
        if failure.node is not None:
            node = _node_row(report, failure.key) or {"node_id": failure.key}
            node["death_reason"] = failure.node.state_message
            _dump(tmp / NODE, node)
            meta.update(status=failure.node.state, message=failure.node.state_message)
        _dump(tmp / SNAPSHOT, report)
        if recording is not None and recording.is_file():
            shutil.move(recording, tmp / RECORDING)
            meta["recording"] = RECORDING
        _dump(tmp / META, meta)  # last: a folder with meta.json is a whole bundle
        os.chmod(tmp, 0o755)  # mkdtemp makes it 0700
        try:
            tmp.rename(target)
        except OSError:
            if (target / META).is_file():
                return None  # another writer kept it first
            shutil.rmtree(target, ignore_errors=True)  # a leftover without meta: not a bundle
            tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    prune(folder, keep, now=now)
    return target


def _job_row(report: dict[str, Any], key: str) -> dict[str, Any] | None:
    for job in report.get("jobs", []):
        if key in (job.get("submission_id"), job.get("job_id")):
            return dict(job)
    return None


def _node_row(report: dict[str, Any], node_id: str) -> dict[str, Any] | None:
    for node in report.get("nodes", []):
        if node.get("node_id") == node_id:
            return dict(node)
    return None


def _read_meta(path: Path) -> Bundle | None:
    try:
        meta = json.loads((path / META).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict):
        return None
    whys = meta.get("why")
    created = meta.get("created_at")
    log_bytes = meta.get("log_bytes")
    return Bundle(
        bundle_id=path.name,
        path=path,
        kind=str(meta.get("kind") or ""),
        key=str(meta.get("id") or path.name),
        created_at=float(created) if isinstance(created, (int, float)) else 0.0,
        title=str(meta.get("title") or ""),
        status=str(meta.get("status") or ""),
        message=str(meta.get("message") or ""),
        address=str(meta.get("address") or ""),
        ray_version=str(meta.get("ray_version") or ""),
        whys=tuple(w for w in whys if isinstance(w, dict)) if isinstance(whys, list) else (),
        log_bytes=log_bytes if isinstance(log_bytes, int) else None,
        log_error=str(meta.get("log_error") or ""),
        job_info_error=str(meta.get("job_info_error") or ""),
        meta=meta,
    )


def list_bundles(folder: Path) -> list[Bundle]:
    """The kept bundles, newest first; a folder that is missing lists none, a bundle whose
    meta.json cannot be read is left out (a temporary folder is never listed)."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    bundles = []
    for path in entries:
        if path.name.startswith(".") or not path.is_dir():
            continue
        bundle = _read_meta(path)
        if bundle is not None:
            bundles.append(bundle)
    bundles.sort(key=lambda b: (b.created_at, b.bundle_id), reverse=True)
    return bundles


def find(folder: Path, ident: str) -> Bundle | None:
    """The bundle named `ident`: its folder name, its job or node id, or the start of one when
    only one bundle starts so. None when there is none (or more than one)."""
    ident = ident.strip()
    if not ident or ident.startswith(".") or "/" in ident:
        return None
    bundles = list_bundles(folder)
    for bundle in bundles:
        if ident in (bundle.bundle_id, bundle.key):
            return bundle
    starts = [b for b in bundles if b.key.startswith(ident) or b.bundle_id.startswith(ident)]
    return starts[0] if len(starts) == 1 else None


@dataclass(frozen=True, slots=True)
class Contents:
    """A bundle read whole (the detail screen and `raycockpit postmortem show`)."""

    bundle: Bundle
    job_info: dict[str, Any] | None
    node: dict[str, Any] | None
    log: str | None
    snapshot: dict[str, Any] | None


def _json_file(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def read(bundle: Bundle) -> Contents:
    try:
        log = (bundle.path / LOG).read_text(encoding="utf-8", errors="replace")
    except OSError:
        log = None
    job, node = _json_file(bundle.path / JOB), _json_file(bundle.path / NODE)
    snap = _json_file(bundle.path / SNAPSHOT)
    return Contents(
        bundle=bundle,
        job_info=job if isinstance(job, dict) else None,
        node=node if isinstance(node, dict) else None,
        log=log,
        snapshot=snap if isinstance(snap, dict) else None,
    )


def prune(folder: Path, keep: int, *, now: float | None = None) -> list[str]:
    """Drop the oldest bundles beyond `keep`, and temporary folders a dead writer left (older than
    an hour). Returns the names of the bundles dropped."""
    now = time.time() if now is None else now
    bundles = list_bundles(folder)
    dropped = []
    for bundle in bundles[max(keep, 0) :]:
        shutil.rmtree(bundle.path, ignore_errors=True)
        dropped.append(bundle.bundle_id)
    try:
        entries = list(folder.iterdir())
    except OSError:
        return dropped
    for path in entries:
        if path.name.startswith(TMP_PREFIX):
            try:
                old = now - path.stat().st_mtime > TMP_STALE_S
            except OSError:
                continue
            if old:
                shutil.rmtree(path, ignore_errors=True)
    return dropped
