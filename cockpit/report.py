"""The headless snapshot (`raycockpit --once`): plain text for people, JSON for scripts.

Plain Python only (no Rich, no Textual), so `--once` starts fast. The JSON keys are stable and
documented in the README.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from raycockpit.cockpit import clock
from raycockpit.cockpit.format import local_time, usage_text
from raycockpit.cockpit.job_message import failure_line
from raycockpit.cockpit.models import Snapshot, Usage
from raycockpit.cockpit.why import as_dict

if TYPE_CHECKING:
    from raycockpit.cockpit.fleet import FleetRow

SCHEMA_VERSION = 1


def _u(usage: Usage | None) -> dict[str, float] | None:
    return None if usage is None else {"used": usage.used, "total": usage.total}


def _why(snap: Snapshot, key: str) -> dict[str, Any] | None:
    why = snap.pending.why.get(key)
    return None if why is None else as_dict(why)


def snapshot_dict(snap: Snapshot) -> dict[str, Any]:
    a = snap.autoscaler
    work = snap.pending
    return {
        "schema": SCHEMA_VERSION,
        "address": snap.info.address,
        "ray_version": snap.info.ray_version,
        "fetched_at": snap.fetched_at,
        "connected": snap.connected,
        "errors": dict(sorted(snap.errors.items())),
        "totals": {name: _u(u) for name, u in sorted(snap.totals().items())},
        "nodes": [
            {
                "node_id": n.node_id,
                "hostname": n.hostname,
                "ip": n.ip,
                "is_head": n.is_head,
                "state": n.state,
                "activity": n.activity,
                "node_type": n.node_type,
                "cpu_percent": n.cpu_percent,
                "cpu": _u(n.cpu_logical),
                "gpu": _u(n.gpu_logical),
                "memory": _u(n.memory),
                "object_store": _u(n.object_store),
                "disk": _u(n.disk),
                "gpus": len(n.gpus),
            }
            for n in snap.nodes
        ],
        "gpus": [
            {
                "node_id": g.node_id,
                "node": g.node_host,
                "index": g.index,
                "name": g.name,
                "uuid": g.uuid,
                "utilization": g.utilization,
                "memory_used_mb": g.memory_used_mb,
                "memory_total_mb": g.memory_total_mb,
                "temperature_c": g.temperature_c,
                "power_w": g.power_w,
                "processes": g.processes,
            }
            for g in snap.gpus
        ],
        "autoscaler": {
            "available": a.available,
            "active": dict(a.active),
            "idle": dict(a.idle),
            "pending": [
                {"what": p.what, "node_type": p.node_type, "status": p.status} for p in a.pending
            ],
            "failures": list(a.failures),
            "demands": list(a.demands),
            "usage": {u.name: _u(u) for u in a.usage},
        },
        "jobs": [
            {
                "submission_id": j.submission_id,
                "job_id": j.job_id,
                "type": j.type,
                "status": j.status,
                "entrypoint": j.entrypoint,
                "start_time_ms": j.start_time_ms,
                "end_time_ms": j.end_time_ms,
                "message": j.message,
                "error": failure_line(j) if j.status == "FAILED" else None,
                "why": _why(snap, f"job:{j.key}"),
            }
            for j in snap.jobs
        ],
        "serve": {
            "running": snap.serve.running,
            "apps": [
                {
                    "name": s.name,
                    "status": s.status,
                    "route_prefix": s.route_prefix,
                    "deployments": {d.name: d.status for d in s.deployments},
                    "why": {
                        d.name: _why(snap, f"serve:{s.name}/{d.name}")
                        for d in s.deployments
                        if f"serve:{s.name}/{d.name}" in work.why
                    },
                }
                for s in snap.serve.apps
            ],
        },
        "pending": {
            "cut": work.cut,
            "actors": [
                {
                    "actor_id": x.actor_id,
                    "class_name": x.class_name,
                    "name": x.name,
                    "job_id": x.job_id,
                    "resources": x.resources,
                    "why": _why(snap, f"actor:{x.actor_id}"),
                }
                for x in work.actors
                if f"actor:{x.actor_id}" in work.why
            ],
            "tasks": [
                {
                    "task_id": t.task_id,
                    "name": t.name,
                    "job_id": t.job_id,
                    "resources": t.resources,
                    "why": _why(snap, f"task:{t.task_id}"),
                }
                for t in work.tasks
                if f"task:{t.task_id}" in work.why
            ],
            "placement_groups": [
                {
                    "placement_group_id": g.pg_id,
                    "name": g.name,
                    "state": g.state,
                    "strategy": g.strategy,
                    "bundles": list(g.bundles),
                    "why": _why(snap, f"pg:{g.pg_id}"),
                }
                for g in work.placement_groups
                if f"pg:{g.pg_id}" in work.why
            ],
        },
    }


def snapshot_json(snap: Snapshot) -> str:
    return json.dumps(snapshot_dict(snap), indent=2)


def _amount(u: Usage | None, is_bytes: bool | None = None) -> str:
    """Used/total the report's compact way: '1.0GiB/2.0GiB', '0.5/8'; '-' when unknown."""
    return usage_text(u, is_bytes=is_bytes, sep="/", compact=True)


def _bar(fraction: float, width: int = 20) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "[" + "#" * filled + "." * (width - filled) + "]"


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False)).rstrip()]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip() for r in rows]
    return out


def snapshot_text(snap: Snapshot) -> str:
    lines = [
        f"raycockpit  {snap.info.address}  Ray {snap.info.ray_version or '?'}  "
        f"{local_time(snap.fetched_at or clock.now())}"
    ]
    for section, error in sorted(snap.errors.items()):
        lines.append(f"! {section}: {error}")

    lines += ["", "== Overview"]
    totals = snap.totals()
    for key, label in (
        ("CPU", "CPU"),
        ("GPU", "GPU"),
        ("memory", "Memory"),
        ("object_store_memory", "Object store"),
    ):
        u = totals.get(key)
        if u is None or u.total <= 0:
            lines.append(f"{label:<13} none")
        else:
            lines.append(f"{label:<13} {_bar(u.fraction)} {100 * u.fraction:5.1f}%  {_amount(u)}")
    states: dict[str, int] = {}
    for n in snap.nodes:
        states[n.state] = states.get(n.state, 0) + 1
    jobs: dict[str, int] = {}
    for j in snap.jobs:
        jobs[j.status] = jobs.get(j.status, 0) + 1
    fmt_counts = lambda d: ", ".join(f"{k} {v}" for k, v in sorted(d.items())) or "none"  # noqa: E731
    lines.append(f"Nodes         {fmt_counts(states)}")
    lines.append(f"Jobs          {fmt_counts(jobs)}")
    a = snap.autoscaler
    lines.append(
        f"Autoscaler    active {a.active_count}, idle {a.idle_count}, "
        f"pending {a.pending_count}, failed {len(a.failures)}"
        if a.available
        else "Autoscaler    no report yet"
    )
    serve = snap.serve
    if serve.running:
        apps = ", ".join(f"{s.name} {s.status}" for s in serve.apps) or "no applications"
    else:
        apps = "not running"
    lines.append(f"Serve         {apps}")

    lines += ["", "== Nodes"]
    rows = [
        [
            n.hostname or "-",
            n.ip,
            "head" if n.is_head else "",
            n.activity or n.state,
            "-" if n.cpu_percent is None else f"{n.cpu_percent:.1f}%",
            _amount(n.cpu_logical),
            _amount(n.memory, True),
            _amount(n.object_store, True),
            _amount(n.gpu_logical) if n.gpu_logical else str(len(n.gpus)),
        ]
        for n in snap.nodes
    ]
    lines += _table(
        ["HOST", "IP", "ROLE", "STATE", "CPU%", "CPUS", "MEMORY", "OBJECT STORE", "GPUS"], rows
    )

    lines += ["", "== GPUs"]
    if snap.gpus:
        rows = [
            [
                g.node_host,
                str(g.index),
                g.name,
                "n/a" if g.utilization is None else f"{g.utilization:.0f}%",
                f"{g.memory_used_mb:.0f}/{g.memory_total_mb:.0f}MiB",
                "-" if g.temperature_c is None else f"{g.temperature_c:.0f}C",
                "-" if g.power_w is None else f"{g.power_w:.0f}W",
            ]
            for g in snap.gpus
        ]
        lines += _table(["NODE", "#", "NAME", "UTIL", "MEMORY", "TEMP", "POWER"], rows)
    else:
        lines.append("no GPUs reported by this cluster")

    lines += ["", "== Autoscaler"]
    if not a.available:
        lines.append("the autoscaler has not reported yet")
    else:
        for t, c in a.active:
            lines.append(f"active   {c} {t}")
        for t, c in a.idle:
            lines.append(f"idle     {c} {t}")
        for p in a.pending:
            lines.append(f"pending  {p.node_type} {p.what} {p.status}".rstrip())
        for f in a.failures:
            lines.append(f"failed   {f}")
        for d in a.demands:
            lines.append(f"demand   {d}")
        for u in a.usage:
            lines.append(f"usage    {u.name} {_amount(u)}")

    lines += _why_lines(snap)

    lines += ["", "== Jobs"]
    if snap.jobs:
        now_ms = clock.now() * 1000
        rows = []
        for j in snap.jobs:
            d = j.duration_s(now_ms)
            entry = j.entrypoint if len(j.entrypoint) <= 50 else j.entrypoint[:47] + "..."
            error = failure_line(j) if j.status == "FAILED" else ""
            error = error if len(error) <= 80 else error[:77] + "..."
            rows.append([j.key, j.status, entry, "-" if d is None else f"{d:.0f}s", error])
        lines += _table(["SUBMISSION ID", "STATUS", "ENTRYPOINT", "DURATION", "ERROR"], rows)
    else:
        lines.append("no jobs")
    return "\n".join(lines) + "\n"


def _why_lines(snap: Snapshot) -> list[str]:
    """`== Why pending`: each waiting thing, its reason, its fix (none: no section)."""
    whys = snap.pending.why
    if not whys:
        return []
    lines = ["", "== Why pending"]
    for key, why in whys.items():
        kind, _, name = key.partition(":")
        lines.append(f"{kind} {name}  [{why.category}]")
        lines.append(f"  reason: {why.reason}")
        lines.append(f"  fix:    {why.fix}")
    if snap.pending.cut:
        lines.append("(the state API lists were cut at their limit: more waits than shown)")
    return lines


def fleet_text(rows: list[FleetRow]) -> str:
    """`--once --all-contexts`: one line per cluster, why for those that did not answer."""
    table = []
    for r in rows:
        if not r.reachable:
            table.append([r.name, "down", "-", "-", "-", "-", "-", "-", r.where, r.error])
            continue
        table.append(
            [
                r.name,
                "up",
                r.ray_version or "?",
                f"{r.nodes_alive}" + (f"+{r.nodes_dead} dead" if r.nodes_dead else ""),
                f"{r.cpu_used:g}/{r.cpu_total:g}",
                f"{r.gpu_used:g}/{r.gpu_total:g}",
                str(r.jobs_running),
                str(r.jobs_failed_1h),
                r.where,
                ", ".join(r.serve_unhealthy) + " unhealthy" if r.serve_unhealthy else "",
            ]
        )
    headers = ["context", "state", "ray", "nodes", "cpus", "gpus", "running", "failed 1h"]
    return "\n".join(_table([*headers, "where", "notes"], table)) + "\n"
