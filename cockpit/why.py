"""Why is it pending? One reason and one fix, with the facts behind them, for a PENDING job, a
pending actor, task or placement group, and a Serve deployment that is not healthy.

Pure functions of models (no I/O): `explain(snapshot, work, now)` -> {key: Why}, keys
"job:<submission id>", "actor:<id>", "task:<id>", "pg:<id>", "serve:<app>/<deployment>".

What is combined:
- the demand's shape: a job's entrypoint resources (its supervisor actor's required_resources,
  pending.py), an actor's or task's required_resources, a placement group's bundles and strategy,
  a Serve deployment's per-replica resources x its missing replicas;
- each alive node's total and used logical resources (used counts placement-group
  reservations; the CREATED groups' bundles say how much of it is reserved, and by which group);
- the autoscaler: nodes it is launching (waiting for scale-up) and its recent failures; a demand
  that no node can hold while nothing is launching is infeasible;
- the runtime_env: a job Ray reports as waiting for its runtime environment, and the pip/conda
  error lines of the setup log (Ray 2.60 keeps such a job PENDING and retries the setup);
- how long it has waited.

Categories: infeasible (no node can ever hold it), scale_up (a node is launching), busy (a node
could hold it but its resources are held now), runtime_env (installing), runtime_env_failed,
starting (resources granted, its process is starting), failed (a Serve deployment whose replicas
fail).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

from raycockpit.cockpit.format import human_bytes, human_duration, is_bytes
from raycockpit.cockpit.models import (
    Job,
    PendingWork,
    PlacementGroup,
    ServeApp,
    ServeDeployment,
    Snapshot,
    Why,
)
from raycockpit.cockpit.parse import parse_usage_block

SUPERVISOR_PREFIX = "_ray_internal_job_actor_"
SUPERVISOR_CLASS = "JobSupervisor"
EPS = 1e-9
# where a job's demand is set in the Job API (JobSubmitRequest), by resource
JOB_OPTIONS = {
    "CPU": "entrypoint_num_cpus",
    "GPU": "entrypoint_num_gpus",
    "memory": "entrypoint_memory",
}
SETUP_TIMEOUT_S = 600  # Ray's default runtime_env setup_timeout_seconds
JOB_START_TIMEOUT_S = 900  # Ray's default RAY_JOB_START_TIMEOUT_SECONDS (then the job FAILS)
UNHEALTHY_SERVE = frozenset({"UPDATING", "UPSCALING", "UNHEALTHY", "DEPLOY_FAILED"})


# -- resources -------------------------------------------------------------------------------


def camel(name: str) -> str:
    """The dashboard's camelCase of a resource name (`to_google_style`): custom_thing ->
    customThing, object_store_memory -> objectStoreMemory."""
    parts = name.split("_")
    return parts[0] + "".join(p.title() for p in parts[1:])


def _get(resources: dict[str, float], name: str) -> float:
    if name in resources:
        return resources[name]
    return resources.get(camel(name), 0.0)


def amount_text(name: str, value: float) -> str:
    if is_bytes(name):
        return f"{name} {human_bytes(value)}"
    return f"{name} {value:g}"


def shape_text(shape: dict[str, float]) -> str:
    return ", ".join(amount_text(k, v) for k, v in sorted(shape.items())) or "no resources"


@dataclass(frozen=True)
class NodeCap:
    """One alive node's logical resources: total, used (reservations included) and, of the
    used, what placement groups reserve (group id -> resources)."""

    node_id: str
    name: str
    total: dict[str, float]
    used: dict[str, float]
    reserved: dict[str, dict[str, float]] = field(default_factory=dict)

    def free(self, name: str) -> float:
        return max(0.0, _get(self.total, name) - _get(self.used, name))

    def fits_total(self, shape: dict[str, float]) -> bool:
        return all(_get(self.total, r) + EPS >= v for r, v in shape.items())

    def fits_free(self, shape: dict[str, float]) -> bool:
        return all(self.free(r) + EPS >= v for r, v in shape.items())

    def copies(self, shape: dict[str, float], free: bool) -> int:
        """How many of `shape` this node holds (free now, or in all)."""
        counts = []
        for r, v in shape.items():
            have = self.free(r) if free else _get(self.total, r)
            counts.append(math.floor((have + EPS) / v) if v > 0 else 10**9)
        return min(counts) if counts else 0


def capacities(snap: Snapshot, work: PendingWork) -> list[NodeCap]:
    """Each alive node's resources: the autoscaler's per-node usage when it reports one, else
    the node's own logical text, else its totals (and, on a one-node cluster, the autoscaler's
    cluster-wide usage as its used)."""
    alive = snap.alive_nodes
    caps = []
    for node in alive:
        usage = work.usage_by_node.get(node.node_id)
        if usage:
            total = {k: t for k, (_, t) in usage.items()}
            used = {k: u for k, (u, _) in usage.items()}
        else:
            logical = parse_usage_block(node.logical_text)
            total = {k: u.total for k, u in logical.items()} or dict(node.resources_total)
            used = {k: u.used for k, u in logical.items()}
            if not logical and len(alive) == 1:
                used = {u.name: u.used for u in snap.autoscaler.usage}
        caps.append(NodeCap(node.node_id, node.name, total, used, {}))
    by_id = {c.node_id: c for c in caps}
    for pg in work.placement_groups:
        if pg.state != "CREATED":
            continue
        for bundle, node_id in zip(pg.bundles, pg.bundle_nodes, strict=False):
            cap = by_id.get(node_id)
            if cap is None:
                continue
            held = cap.reserved.setdefault(pg.pg_id, {})
            for r, v in bundle.items():
                held[r] = held.get(r, 0.0) + v
    return caps


def _largest(caps: list[NodeCap], name: str, free: bool = False) -> float:
    values = [c.free(name) if free else _get(c.total, name) for c in caps]
    return max(values, default=0.0)


def _short_of(shape: dict[str, float], caps: list[NodeCap], free: bool) -> list[str]:
    """The resources of `shape` no single node has enough of: 'CPU 64 (largest node: 2)'."""
    out = []
    for r, v in sorted(shape.items()):
        best = _largest(caps, r, free)
        if best + EPS < v:
            what = "most free on a node" if free else "largest node"
            out.append(f"{amount_text(r, v)} ({what}: {_num(r, best)})")
    return out


def _lower(shape: dict[str, float], caps: list[NodeCap]) -> str:
    """How to ask for what the nodes have: 'ask for at most CPU 2', 'do not ask for GPU (no
    node has any)'."""
    parts = []
    for r, v in sorted(shape.items()):
        best = _largest(caps, r)
        if best + EPS >= v:
            continue
        parts.append(
            f"ask for at most {_num(r, best)} {r}" if best > 0 else f"drop {r} (no node has any)"
        )
    return ", ".join(parts) or "ask for less"


def _num(name: str, value: float) -> str:
    return human_bytes(value) if is_bytes(name) else f"{value:g}"


def _node_lines(caps: list[NodeCap], shape: dict[str, float]) -> list[str]:
    """One line per node (the first 5) with the resources the shape asks for: free of total."""
    lines = []
    for cap in caps[:5]:
        parts = [
            f"{r} {_num(r, cap.free(r))} free of {_num(r, _get(cap.total, r))}"
            for r in sorted(shape) or ["CPU"]
        ]
        lines.append(f"node {cap.name}: " + ", ".join(parts))
    if len(caps) > 5:
        lines.append(f"... and {len(caps) - 5} more nodes")
    return lines


def _holders(snap: Snapshot, work: PendingWork, caps: list[NodeCap], shape: dict[str, float]):
    """Who holds the resources the shape needs: running jobs' entrypoints and placement-group
    reservations, as text ('job busy1 holds CPU 2')."""
    out = []
    running = {j.key for j in snap.jobs if j.status == "RUNNING"}
    for sid, held in sorted(work.running_jobs.items()):
        common = {r: v for r, v in held.items() if r in shape}
        if sid in running and common:
            out.append(f"job {sid} holds {shape_text(common)}")
    for cap in caps:
        for pg_id, held in sorted(cap.reserved.items()):
            common = {r: v for r, v in held.items() if r in shape}
            if common:
                out.append(
                    f"placement group {pg_id[:8]} reserves {shape_text(common)} on {cap.name}"
                )
    return out


def _launching(snap: Snapshot) -> str:
    pending = snap.autoscaler.pending
    if not pending:
        return ""
    counts: dict[str, int] = {}
    for p in pending:
        counts[p.node_type or "node"] = counts.get(p.node_type or "node", 0) + 1
    return ", ".join(f"{n} {t}" for t, n in sorted(counts.items()))


_FEED_SHAPE = re.compile(r"\{[^{}]*\}")
AUTOSCALED = frozenset({"node launched", "node up", "node idle-terminated"})


def _feed_shape(text: str) -> dict[str, float] | None:
    """The resource dict of an autoscaler feed line ("... {'CPU': 4.0} ..."), else None."""
    match = _FEED_SHAPE.search(text)
    if match is None:
        return None
    out = {}
    for key, value in re.findall(r"'([^']+)':\s*([0-9.eE+-]+)", match[0]):
        try:
            out[key] = float(value)
        except ValueError:
            return None
    return out or None


def _ray_infeasible(snap: Snapshot, shape: dict[str, float]) -> str:
    """The autoscaler feed's "no node type can fulfill <shape>" for this shape, else ""."""
    for event in snap.autoscaler_feed:
        if event.kind == "demand infeasible" and _feed_shape(event.text) == shape:
            return event.text
    return ""


def _autoscales(snap: Snapshot) -> bool:
    """The autoscaler has launched or removed nodes in this session (the feed says so): a
    shape no alive node holds may still get one."""
    return any(event.kind in AUTOSCALED for event in snap.autoscaler_feed)


def _waited(since_ms: float | None, now: float) -> float | None:
    if not since_ms:
        return None
    return max(0.0, now - since_ms / 1000)


def _with_wait(why: Why, waited: float | None) -> Why:
    evidence = why.evidence
    if waited is not None:
        evidence = (*evidence, f"waiting for {human_duration(waited)}")
    return replace(why, waited_s=waited, evidence=evidence)


# -- one shape against the cluster -----------------------------------------------------------


def place(
    what: str,
    shape: dict[str, float],
    snap: Snapshot,
    work: PendingWork,
    caps: list[NodeCap],
    ask: str = "",
) -> Why:
    """Why a demand of `shape` (resources on ONE node) is not placed. `what` names it in the
    texts ('the job's entrypoint', 'actor Trainer'); `ask` how to ask for less (an option
    name), when there is one."""
    evidence = [f"demand: {shape_text(shape)}", *_node_lines(caps, shape)]
    failures = list(snap.autoscaler.failures)
    if not any(c.fits_total(shape) for c in caps):
        short = _short_of(shape, caps, free=False)
        launching = _launching(snap)
        if launching:
            return Why(
                "scale_up",
                f"{what} needs {shape_text(shape)}: no node has it; the autoscaler is "
                f"launching {launching}",
                f"wait for the new node; if it never joins, see the Autoscaler pane "
                f"(no node now has {'; '.join(short)})",
                (*evidence, f"autoscaler: launching {launching}"),
                short=f"scale-up: {launching} launching",
            )
        verdict = _ray_infeasible(snap, shape)
        if verdict:
            evidence.append(f"autoscaler: {verdict} (Ray's own verdict)")
        elif _autoscales(snap):
            return Why(
                "scale_up",
                f"{what} needs {shape_text(shape)}: no alive node has it; this cluster "
                "autoscales and its autoscaler has not called it infeasible: it waits for a node",
                "wait for the autoscaler to launch a node; if the Autoscaler pane says no node "
                f"type can fulfill it, {_lower(shape, caps)} or add a node type with "
                f"{shape_text(shape)}",
                (*evidence, "autoscaler: has launched nodes in this session"),
                short="scale-up: waits for the autoscaler",
            )
        lower = _lower(shape, caps) + (f" ({ask})" if ask else "")
        return Why(
            "infeasible",
            f"{what} needs {shape_text(shape)}; no node can ever hold it: " + "; ".join(short),
            f"{lower}, or add a node with {shape_text(shape)} "
            "(a worker type in the cluster config the autoscaler can launch)",
            (*evidence, *(f"autoscaler failure: {f}" for f in failures[:3])),
            short="infeasible: " + "; ".join(short),
        )
    if not any(c.fits_free(shape) for c in caps):
        launching = _launching(snap)
        holders = _holders(snap, work, caps, shape)
        short = _short_of(shape, caps, free=True)
        evidence += [f"held: {h}" for h in holders]
        if launching:
            return Why(
                "scale_up",
                f"{what} needs {shape_text(shape)}: busy now; the autoscaler is launching "
                f"{launching}",
                "wait for the new node, or free resources: " + ("; ".join(holders) or "-"),
                (*evidence, f"autoscaler: launching {launching}"),
                short=f"scale-up: {launching} launching",
            )
        free_now = ", ".join(f"{r} {_num(r, _largest(caps, r, True))}" for r in sorted(shape))
        fix = f"wait until {shape_text(shape)} is free on one node (now at most {free_now})"
        if holders:
            fix += f"; or stop what holds it ({'; '.join(holders[:3])})"
        if ask:
            fix += f"; or lower {ask}"
        return Why(
            "busy",
            f"{what} waits for busy resources: it needs {shape_text(shape)} on one node, "
            "and no node has that free now: " + "; ".join(short),
            fix,
            tuple(evidence),
            short="busy: " + "; ".join(short),
        )
    return Why(
        "starting",
        f"{what} fits ({shape_text(shape)} is free on a node): Ray is placing it or starting "
        "its worker process",
        "wait a few seconds; if it stays, look at the raylet log of the node",
        tuple(evidence),
        short="starting: resources are free",
    )


# -- jobs ------------------------------------------------------------------------------------


def _requirement_names(runtime_env: dict) -> list[str]:
    """The package names of a runtime_env's pip/uv list ('torch==2.1' -> 'torch')."""
    packages = []
    for key in ("pip", "uv"):
        value = runtime_env.get(key)
        if isinstance(value, dict):
            value = value.get("packages")
        if isinstance(value, list):
            packages += [str(p) for p in value]
    names = []
    for package in packages:
        name = re.split(r"[\s=<>!~;\[@]", package.strip(), maxsplit=1)[0]
        if name:
            names.append(name)
    return names


def _setup_lines(job: Job, work: PendingWork) -> list[str]:
    names = [n.lower() for n in _requirement_names(job.runtime_env)]
    lines = []
    for line in work.setup_errors:
        low = line.lower()
        if any(n in low or n.replace("-", "_") in low for n in names):
            lines.append(line)
    return lines


def _message_error_lines(message: str) -> list[str]:
    return [ln.strip() for ln in message.splitlines() if ln.strip().startswith("ERROR:")]


def _pip_fix(job: Job, line: str) -> str:
    names = _requirement_names(job.runtime_env)
    what = ", ".join(names) if names else "the packages"
    then = (
        "submit it again"
        if job.terminal
        else "submit it again (Ray keeps this one PENDING while it retries the setup, about 5 "
        "tries, stopped or not)"
    )
    return (
        f"fix runtime_env.pip ({what}): a name or version the cluster's package index does "
        f"not have, or an index it cannot reach; then {then}"
    )


def explain_job(
    job: Job, snap: Snapshot, work: PendingWork, caps: list[NodeCap], now: float
) -> Why | None:
    if job.status == "FAILED" and job.error_type.startswith("RUNTIME_ENV_SETUP"):
        lines = _message_error_lines(job.message) or _setup_lines(job, work)
        line = lines[0] if lines else (job.message.strip().splitlines() or ["-"])[0]
        return Why(
            "runtime_env_failed",
            f"its runtime_env could not be set up: {line}",
            _pip_fix(job, line),
            tuple(lines[:4]),
            short=f"runtime_env failed: {line.removeprefix('ERROR: ')}",
        )
    if job.status != "PENDING":
        return None
    waited = _waited(job.start_time_ms, now)
    sid = job.submission_id
    supervisor = next((a for a in work.actors if sid and a.name == SUPERVISOR_PREFIX + sid), None)
    packages = _requirement_names(job.runtime_env)
    env_wait = "runtime environment" in job.message
    if env_wait:
        lines = _setup_lines(job, work)
        if lines:
            line = lines[0]
            return _with_wait(
                Why(
                    "runtime_env_failed",
                    f"its runtime_env cannot be installed: {line} (Ray keeps the job PENDING "
                    f"and retries the setup for up to {SETUP_TIMEOUT_S} s before it fails it)",
                    _pip_fix(job, line),
                    tuple(lines[:4]) + (f"runtime_env: {_env_keys(job)}",),
                    short=f"runtime_env failed: {line.removeprefix('ERROR: ')}",
                ),
                waited,
            )
        installing = f"pip: {', '.join(packages)}" if packages else _env_keys(job)
        return _with_wait(
            Why(
                "runtime_env",
                f"its runtime_env is being set up ({installing}) for {human_duration(waited)}",
                f"wait: installs can take minutes; Ray fails the job after {SETUP_TIMEOUT_S} s "
                "(runtime_env setup_timeout_seconds); check the package names and that the "
                "cluster reaches its package index",
                (f"runtime_env: {_env_keys(job)}", f"Ray: {job.message}"),
                short=f"runtime_env: installing ({human_duration(waited)})",
            ),
            waited,
        )
    if supervisor is not None and supervisor.resources:
        ask = ", ".join(
            JOB_OPTIONS.get(r, f"entrypoint_resources[{r!r}]") for r in sorted(supervisor.resources)
        )
        why = place("the job's entrypoint", supervisor.resources, snap, work, caps, ask)
        evidence = [*why.evidence, f"Ray: {job.message}"]
        if why.category != "starting" and waited is not None:
            left = max(0.0, JOB_START_TIMEOUT_S - waited)
            evidence.append(
                f"Ray fails a job not started within {JOB_START_TIMEOUT_S} s "
                f"(RAY_JOB_START_TIMEOUT_SECONDS): {human_duration(left)} left"
            )
        return _with_wait(replace(why, evidence=tuple(evidence)), waited)
    if supervisor is not None:
        reason = "its supervisor actor waits to be created (no resources asked)"
    else:
        reason = "its driver is starting (the job's supervisor actor is up)"
    return _with_wait(
        Why(
            "starting",
            reason,
            "wait a few seconds; if it stays PENDING, read the job's driver log",
            (f"Ray: {job.message}",) if job.message else (),
            short="starting",
        ),
        waited,
    )


def _env_keys(job: Job) -> str:
    keys = sorted(k for k in job.runtime_env if not k.startswith("_"))
    return ", ".join(keys) or "-"


# -- actors, tasks, placement groups ---------------------------------------------------------


def _group_fit(pg: PlacementGroup, caps: list[NodeCap], free: bool) -> tuple[bool, str]:
    """Whether the group's bundles fit the nodes (in all, or free now) under its strategy, and
    what falls short."""
    fits = (lambda c, s: c.fits_free(s)) if free else (lambda c, s: c.fits_total(s))
    strategy = pg.strategy or "PACK"
    if strategy == "STRICT_PACK":
        need: dict[str, float] = {}
        for bundle in pg.bundles:
            for r, v in bundle.items():
                need[r] = need.get(r, 0.0) + v
        ok = any(fits(c, need) for c in caps)
        short = "; ".join(_short_of(need, caps, free))
        return ok, f"STRICT_PACK needs {shape_text(need)} on one node: {short}"
    if strategy == "STRICT_SPREAD":
        largest = max(pg.bundles, key=lambda b: sum(b.values()), default={})
        nodes = sum(1 for c in caps if fits(c, largest))
        ok = nodes >= len(pg.bundles)
        return ok, (
            f"STRICT_SPREAD needs {len(pg.bundles)} nodes with {shape_text(largest)}; "
            f"{nodes} {'have it free' if free else 'can hold it'}"
        )
    left = [dict(c.total) if not free else {r: c.free(r) for r in c.total} for c in caps]
    for i, bundle in enumerate(pg.bundles):
        for have in left:
            if all(_get(have, r) + EPS >= v for r, v in bundle.items()):
                for r, v in bundle.items():
                    key = r if r in have else camel(r)
                    have[key] = have.get(key, 0.0) - v
                break
        else:
            short = "; ".join(_short_of(bundle, caps, free)) or "the other bundles took the room"
            return False, f"bundle {i} ({shape_text(bundle)}) fits no node: {short}"
    return True, ""


def explain_pg(pg: PlacementGroup, snap: Snapshot, caps: list[NodeCap], now: float) -> Why | None:
    if pg.state not in ("PENDING", "RESCHEDULING"):
        return None
    waited = _waited(pg.created_ms, now)
    bundles = " + ".join(f"{{{shape_text(b)}}}" for b in pg.bundles)
    strategy = pg.strategy or "PACK (strategy not reported)"
    evidence = [f"bundles: {bundles}", f"strategy: {strategy}", *_node_lines(caps, _sum(pg))]
    if pg.scheduling_state:
        evidence.append(f"Ray: scheduling state {pg.scheduling_state}")
    name = f"placement group {pg.name or pg.pg_id[:8]}"
    ok_total, short_total = _group_fit(pg, caps, free=False)
    launching = _launching(snap)
    if not ok_total and launching:
        why = Why(
            "scale_up",
            f"{name} does not fit the nodes now ({short_total}); the autoscaler is launching "
            f"{launching}",
            "wait for the new nodes; if they never join, see the Autoscaler pane",
            (*evidence, f"autoscaler: launching {launching}"),
            short=f"scale-up: {launching} launching",
        )
        return _with_wait(why, waited)
    if not ok_total:
        largest = ", ".join(f"{r} {_num(r, _largest(caps, r))}" for r in sorted(_sum(pg)))
        strict = pg.strategy == "STRICT_PACK"
        fix = (
            f"make it fit nodes of at most {largest}: smaller bundles"
            + (", or PACK/SPREAD instead of STRICT_PACK" if strict else "")
            + f", or add nodes with {shape_text(_sum(pg) if strict else _max(pg))}"
        )
        why = Why(
            "infeasible",
            f"{name} can never be placed: {short_total}",
            fix,
            tuple(evidence),
            short=f"infeasible: {short_total}",
        )
        return _with_wait(why, waited)
    ok_free, short_free = _group_fit(pg, caps, free=True)
    if not ok_free:
        holders = _holders(snap, PendingWork(), caps, _sum(pg))
        why = Why(
            "busy",
            f"{name} waits for busy resources: {short_free}",
            "wait for running work to finish, or remove what holds them"
            + (f" ({'; '.join(holders[:3])})" if holders else ""),
            (*evidence, *(f"held: {h}" for h in holders)),
            short=f"busy: {short_free}",
        )
        return _with_wait(why, waited)
    why = Why(
        "starting",
        f"{name} fits the free resources: Ray is reserving its bundles",
        "wait a few seconds",
        tuple(evidence),
        short="starting: resources are free",
    )
    return _with_wait(why, waited)


def _sum(pg: PlacementGroup) -> dict[str, float]:
    need: dict[str, float] = {}
    for bundle in pg.bundles:
        for r, v in bundle.items():
            need[r] = need.get(r, 0.0) + v
    return need


def _max(pg: PlacementGroup) -> dict[str, float]:
    return max(pg.bundles, key=lambda b: sum(b.values()), default={})


def _in_group(
    what: str, pg_id: str, whys: dict[str, Why], groups: dict[str, PlacementGroup]
) -> Why | None:
    """A demand inside a placement group waits for its group when the group is pending."""
    pg = groups.get(pg_id)
    group_why = whys.get(f"pg:{pg_id}")
    if pg is None or group_why is None:
        return None
    return replace(
        group_why,
        reason=f"{what} waits for its placement group {pg.name or pg_id[:8]}: {group_why.reason}",
        short=f"placement group: {group_why.short}",
    )


# -- Serve -----------------------------------------------------------------------------------


def explain_deployment(
    app: ServeApp,
    dep: ServeDeployment,
    snap: Snapshot,
    work: PendingWork,
    caps: list[NodeCap],
    now: float,
) -> Why | None:
    if dep.status not in UNHEALTHY_SERVE:
        return None
    running = sum(1 for r in dep.replicas if r.state == "RUNNING")
    target = dep.target_replicas if dep.target_replicas is not None else running
    missing = max(0, target - running)
    shape = {r: v for r, v in dep.resources.items() if v > 0}
    waited = None if app.last_deployed_s is None else max(0.0, now - app.last_deployed_s)
    name = f"{app.name}/{dep.name}"
    evidence = [f"replicas: {running} running of {target}"]
    if shape:
        evidence.append(f"each replica: {shape_text(shape)}")
    evidence += _node_lines(caps, shape) if shape else []
    if dep.message:
        evidence.append(f"Serve: {dep.message.strip().splitlines()[0][:300]}")
    if missing and shape:
        # what the cluster holds: the running replicas keep their share
        held_total = sum(c.copies(shape, free=False) for c in caps)
        fit_free = sum(c.copies(shape, free=True) for c in caps)
        launching = _launching(snap)
        if fit_free >= missing:
            why = Why(
                "starting",
                f"{name}: {missing} replica(s) starting ({shape_text(shape)} each is free)",
                "wait for the replicas to start; if they do not, read a replica's log",
                tuple(evidence),
                short=f"starting {missing} replica(s)",
            )
        elif launching:
            why = Why(
                "scale_up",
                f"{name}: {missing} replica(s) wait for the autoscaler, launching {launching}",
                "wait for the new nodes; if they never join, see the Autoscaler pane",
                (*evidence, f"autoscaler: launching {launching}"),
                short=f"scale-up: {missing} replica(s) wait",
            )
        elif held_total < target:
            need = {r: v * target for r, v in shape.items()}
            why = Why(
                "infeasible",
                f"{name} wants {target} replicas x {shape_text(shape)} = {shape_text(need)}; "
                f"the cluster holds at most {held_total}",
                f"set num_replicas (or autoscaling max_replicas) to at most {held_total}, "
                f"lower each replica's resources (ray_actor_options), or add nodes for "
                f"{target - held_total} more replica(s) of {shape_text(shape)}",
                tuple(evidence),
                short=f"infeasible: {target} replicas, room for {held_total}",
            )
        else:
            holders = _holders(snap, work, caps, shape)
            why = Why(
                "busy",
                f"{name}: {missing} replica(s) wait for busy resources: room for {fit_free} "
                f"more replica(s) of {shape_text(shape)} now",
                "wait for other work to finish, or free resources"
                + (f" ({'; '.join(holders[:3])})" if holders else "")
                + f", or lower num_replicas to {running + fit_free}",
                (*evidence, *(f"held: {h}" for h in holders)),
                short=f"busy: {missing} replica(s) wait",
            )
        return _with_wait(why, waited)
    first = (dep.message.strip().splitlines() or [""])[0][:300]
    if dep.status in ("UNHEALTHY", "DEPLOY_FAILED"):
        why = Why(
            "failed",
            f"{name} is {dep.status}: {first or 'its replicas fail their health checks'}",
            "read a replica's log (its constructor or health check raised), fix the "
            "deployment and deploy it again",
            tuple(evidence),
            short=f"{dep.status.lower()}: {first[:60]}" if first else dep.status.lower(),
        )
        return _with_wait(why, waited)
    why = Why(
        "starting",
        f"{name} is {dep.status}: {first or 'Serve is bringing its replicas up'}",
        "wait for the update to finish",
        tuple(evidence),
        short=dep.status.lower(),
    )
    return _with_wait(why, waited)


# -- everything ------------------------------------------------------------------------------


def _waiting(what, item, snap, work, caps, out, groups, now) -> Why:
    """A pending actor's or task's answer: its placement group's, else where its resources
    could go, with how long it has waited."""
    why = _in_group(what, item.placement_group_id, out, groups)
    if why is not None:
        return why
    return _with_wait(
        place(what, item.resources, snap, work, caps, "its num_cpus/num_gpus/resources")
        if item.resources
        else _no_resources(what),
        _waited(item.created_ms, now),
    )


def explain(snap: Snapshot, work: PendingWork, now: float) -> dict[str, Why]:
    """Every explanation the snapshot calls for, by key."""
    out: dict[str, Why] = {}
    caps = capacities(snap, work)
    for job in snap.jobs:
        if job.status == "PENDING" or job.error_type.startswith("RUNTIME_ENV_SETUP"):
            why = explain_job(job, snap, work, caps, now)
            if why is not None:
                out[f"job:{job.key}"] = why
    groups = {pg.pg_id: pg for pg in work.placement_groups}
    for pg in work.placement_groups:
        why = explain_pg(pg, snap, caps, now)
        if why is not None:
            out[f"pg:{pg.pg_id}"] = why
    for actor in work.actors:
        if actor.class_name == SUPERVISOR_CLASS or actor.name.startswith(SUPERVISOR_PREFIX):
            continue  # a job's own: its job's answer says it
        what = f"actor {actor.class_name}" + (f" ({actor.name})" if actor.name else "")
        out[f"actor:{actor.actor_id}"] = _waiting(what, actor, snap, work, caps, out, groups, now)
    for task in work.tasks:
        if task.type == "ACTOR_CREATION_TASK":
            continue  # its actor's answer says it
        what = f"task {task.name}"
        out[f"task:{task.task_id}"] = _waiting(what, task, snap, work, caps, out, groups, now)
    for app in snap.serve.apps:
        for dep in app.deployments:
            why = explain_deployment(app, dep, snap, work, caps, now)
            if why is not None:
                out[f"serve:{app.name}/{dep.name}"] = why
    return out


def _no_resources(what: str) -> Why:
    return Why(
        "starting",
        f"{what} asks for no resources: it waits for a worker process or its arguments",
        "wait a few seconds; if it stays, look at the raylet log of the node",
        short="starting",
    )


def as_dict(why: Why) -> dict:
    """The JSON form (`--once --json`): reason, fix, evidence, plus category and waited_s."""
    return {
        "category": why.category,
        "reason": why.reason,
        "fix": why.fix,
        "evidence": list(why.evidence),
        "waited_s": None if why.waited_s is None else round(why.waited_s, 1),
    }


def annotate(snap: Snapshot, now: float) -> Snapshot:
    """The snapshot with `pending.why` computed (the poller calls it on each build); the same
    snapshot when nothing waits, before or now."""
    work = snap.pending
    whys = explain(snap, work, now)
    if not whys and not work.why:
        return snap
    return replace(snap, pending=replace(work, why=whys))
