"""What waits to be placed, fetched for the "Why pending?" answers (cockpit/why/): the poller's
"pending" section.

From the state API, each list filtered and bounded (`LIMIT` rows): actors in PENDING_CREATION,
tasks in PENDING_NODE_ASSIGNMENT, placement groups not REMOVED (the CREATED ones hold
reservations), and the JobSupervisor actors alive (a running job's entrypoint resources). A job's
own demand (entrypoint_num_cpus/gpus/resources) is not in /api/jobs/ in Ray 2.60: it is the
`required_resources` of its supervisor actor, `_ray_internal_job_actor_<submission id>`.
Beside them: the structured cluster status (each node's used/total logical resources, with
placement-group reservations counted as used; the placement-group demands with their strategy),
and, while a job waits on its runtime_env, the "ERROR:" lines of the head's runtime_env setup
logs (`runtime_env_setup-*.log` through /api/v0/logs: where pip's error lands while Ray still
reports the job PENDING and retries the setup).

`due(snapshot)` says whether anything may be pending, so the poller asks only then (or while a
pane that shows the answers is up).
"""

from __future__ import annotations

import asyncio
from typing import Any

from raycockpit.cockpit.errors import CockpitError, NotFound
from raycockpit.cockpit.models import (
    PendingActor,
    PendingTask,
    PendingWork,
    PlacementGroup,
    Snapshot,
)

LIMIT = 100  # rows per list: the answers name the first ones; `cut` says there were more
SETUP_LOG_LINES = 400
SUPERVISOR_PREFIX = "_ray_internal_job_actor_"
RUNTIME_ENV_WAIT = "runtime environment"  # Ray 2.60's PENDING message names it this way


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _resources(value: Any) -> dict[str, float]:
    out = {}
    for key, amount in _dict(value).items():
        number = _num(amount)
        if number is not None and number > 0:
            out[str(key)] = number
    return out


def _rows(data: Any) -> tuple[list[dict], bool]:
    """The rows of a state API list's `data`, and whether the list was cut at the limit."""
    result = _dict(_dict(data).get("result"))
    rows = [r for r in _list(result.get("result")) if isinstance(r, dict)]
    total = _num(result.get("total")) or 0
    kept = _num(result.get("num_after_truncation"))
    return rows, len(rows) >= LIMIT or (kept is not None and kept < total)


def due(snapshot: Snapshot) -> bool:
    """Anything may be waiting: a PENDING job, a Serve deployment not HEALTHY, demands in the
    autoscaler's report, or waits seen at the last fetch."""
    if any(j.status == "PENDING" for j in snapshot.jobs):
        return True
    if snapshot.autoscaler.demands:
        return True
    for app in snapshot.serve.apps:
        if any(d.status not in ("HEALTHY", "") for d in app.deployments):
            return True
    pending = snapshot.pending
    return bool(pending.actors or pending.tasks or pending.why)


def parse_actors(data: Any) -> tuple[tuple[PendingActor, ...], bool]:
    rows, cut = _rows(data)
    actors = tuple(
        PendingActor(
            actor_id=_str(r.get("actor_id")),
            class_name=_str(r.get("class_name")),
            name=_str(r.get("name")),
            job_id=_str(r.get("job_id")),
            resources=_resources(r.get("required_resources")),
            placement_group_id=_str(r.get("placement_group_id")),
        )
        for r in rows
        if r.get("actor_id")
    )
    return actors, cut


def parse_tasks(data: Any) -> tuple[tuple[PendingTask, ...], bool]:
    rows, cut = _rows(data)
    tasks = tuple(
        PendingTask(
            task_id=_str(r.get("task_id")),
            name=_str(r.get("name")) or _str(r.get("func_or_class_name")),
            job_id=_str(r.get("job_id")),
            type=_str(r.get("type")),
            actor_id=_str(r.get("actor_id")),
            resources=_resources(r.get("required_resources")),
            placement_group_id=_str(r.get("placement_group_id")),
            created_ms=_num(r.get("creation_time_ms")),
        )
        for r in rows
        if r.get("task_id")
    )
    return tasks, cut


def _pg_strategies(structured: Any) -> list[tuple[tuple[tuple[tuple[str, float], ...], ...], str]]:
    """(bundles, strategy) of each placement-group demand in the structured cluster status."""
    report = _dict(_dict(_dict(structured).get("clusterStatus")).get("loadMetricsReport"))
    out = []
    for item in _list(report.get("pgDemand")):
        pg = _dict(item[0]) if isinstance(item, list) and item else {}
        bundles = []
        for entry in _list(pg.get("bundles")):
            if isinstance(entry, list) and len(entry) >= 2:
                count = int(_num(entry[1]) or 1)
                bundles += [_key(_resources(entry[0]))] * count
        out.append((tuple(bundles), _str(pg.get("strategy"))))
    return out


def _key(resources: dict[str, float]) -> tuple[tuple[str, float], ...]:
    return tuple(sorted(resources.items()))


def parse_placement_groups(
    data: Any, structured: Any = None
) -> tuple[tuple[PlacementGroup, ...], bool]:
    rows, cut = _rows(data)
    strategies = _pg_strategies(structured)
    groups = []
    for r in rows:
        pg_id = _str(r.get("placement_group_id"))
        state = _str(r.get("state"))
        if not pg_id or state == "REMOVED":
            continue
        raw_bundles = sorted(
            (b for b in _list(r.get("bundles")) if isinstance(b, dict)),
            key=lambda b: _num(_dict(b.get("bundle_id")).get("bundle_index")) or 0,
        )
        bundles = tuple(_resources(b.get("unit_resources")) for b in raw_bundles)
        stats = _dict(r.get("stats"))
        created_ns = _num(stats.get("creation_request_received_ns"))
        strategy = _str(r.get("strategy"))
        if not strategy and state != "CREATED":
            shape = tuple(sorted(_key(b) for b in bundles))
            strategy = next((s for b, s in strategies if tuple(sorted(b)) == shape), "")
        groups.append(
            PlacementGroup(
                pg_id=pg_id,
                state=state,
                name=_str(r.get("name")),
                job_id=_str(r.get("creator_job_id")),
                bundles=bundles,
                bundle_nodes=tuple(_str(b.get("node_id")) for b in raw_bundles),
                strategy=strategy,
                scheduling_state=_str(stats.get("scheduling_state")),
                created_ms=None if not created_ns else created_ns / 1e6,
            )
        )
    return tuple(groups), cut


def parse_usage_by_node(structured: Any) -> dict[str, dict[str, tuple[float, float]]]:
    """node id -> {resource: (used, total)} from the structured cluster status (autoscaler v1;
    {} with v2). Resource names come camelCased there (why/ looks both ways)."""
    report = _dict(_dict(_dict(structured).get("clusterStatus")).get("loadMetricsReport"))
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for node_id, usage in _dict(report.get("usageByNode")).items():
        pairs = {}
        for name, pair in _dict(usage).items():
            if isinstance(pair, list) and len(pair) >= 2:
                used, total = _num(pair[0]), _num(pair[1])
                if used is not None and total is not None:
                    pairs[str(name)] = (used, total)
        out[str(node_id)] = pairs
    return out


def parse_running_jobs(data: Any) -> dict[str, dict[str, float]]:
    """Submission id -> the entrypoint resources of each alive job supervisor."""
    rows, _ = _rows(data)
    out = {}
    for r in rows:
        name = _str(r.get("name"))
        if name.startswith(SUPERVISOR_PREFIX):
            out[name[len(SUPERVISOR_PREFIX) :]] = _resources(r.get("required_resources"))
    return out


def setup_error_lines(text: str) -> tuple[str, ...]:
    """The error lines of a runtime_env setup log, in order, each once ("ERROR: Could not find
    a version that satisfies the requirement ...", "ERROR: No matching distribution ...")."""
    seen: dict[str, None] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("ERROR:"):
            seen.setdefault(stripped[:400], None)
    return tuple(seen)


def wants_setup_log(snapshot: Snapshot) -> bool:
    """A job waits on a runtime_env that installs packages (pip, uv, conda)."""
    return any(
        j.status == "PENDING"
        and RUNTIME_ENV_WAIT in j.message
        and any(k in j.runtime_env for k in ("pip", "uv", "conda"))
        for j in snapshot.jobs
    )


async def fetch_pending(client: Any, snapshot: Snapshot) -> PendingWork:
    """One fetch of everything the answers need (a handful of bounded requests at once). A list
    that fails raises: the section is then stale and keeps its last value."""
    alive = [("state", "=", "ALIVE"), ("class_name", "=", "JobSupervisor")]
    calls = [
        client.list_state_detail("actors", [("state", "=", "PENDING_CREATION")], LIMIT),
        client.list_state_detail("tasks", [("state", "=", "PENDING_NODE_ASSIGNMENT")], LIMIT),
        client.list_state_detail("placement_groups", [("state", "!=", "REMOVED")], LIMIT),
        client.list_state_detail("actors", alive, LIMIT),
        client.cluster_status(),
    ]
    answers = await asyncio.gather(*calls, return_exceptions=True)
    for answer in answers:
        if isinstance(answer, NotFound):  # no state API on this dashboard: no answers, no error
            return PendingWork()
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    actors_data, tasks_data, pgs_data, running_data, structured = answers
    actors, actors_cut = parse_actors(actors_data)
    tasks, tasks_cut = parse_tasks(tasks_data)
    created = {t.actor_id: t.created_ms for t in tasks if t.actor_id and t.created_ms}
    actors = tuple(
        a if a.actor_id not in created else _with_created(a, created[a.actor_id]) for a in actors
    )
    groups, pgs_cut = parse_placement_groups(pgs_data, {"clusterStatus": _status(structured)})
    errors: tuple[str, ...] = ()
    first = not snapshot.jobs and any(a.name.startswith(SUPERVISOR_PREFIX) for a in actors)
    if wants_setup_log(snapshot) or first:  # first: the first poll (--once) knows no jobs yet
        errors = await _setup_errors(client, snapshot)
    return PendingWork(
        fetched=True,
        actors=actors,
        tasks=tasks,
        placement_groups=groups,
        usage_by_node=parse_usage_by_node({"clusterStatus": _status(structured)}),
        running_jobs=parse_running_jobs(running_data),
        setup_errors=errors,
        cut=actors_cut or tasks_cut or pgs_cut,
    )


def _status(structured: Any) -> Any:
    return _dict(structured).get("clusterStatus")


def _with_created(actor: PendingActor, created_ms: float) -> PendingActor:
    from dataclasses import replace

    return replace(actor, created_ms=created_ms)


async def _setup_errors(client: Any, snapshot: Snapshot) -> tuple[str, ...]:
    """The error lines of the head's runtime_env setup logs (job supervisors' runtime envs are
    set up on the head). Best effort: a log that cannot be read gives no lines."""
    head = next((n.node_id for n in snapshot.alive_nodes if n.is_head), "")
    try:
        if not head:  # the first poll: no nodes known yet
            data = await client.list_state("nodes", [("is_head_node", "=", "True")], 1)
            rows, _ = _rows(data)
            head = _str(rows[0].get("node_id")) if rows else ""
        if not head:
            return ()
        names = await client.log_names(head, "runtime_env_setup-*.log")
        lines: list[str] = []
        for name in names[:4]:
            lines += setup_error_lines(await client.log_file(head, name, SETUP_LOG_LINES))
    except CockpitError:
        return ()
    return tuple(dict.fromkeys(lines))
