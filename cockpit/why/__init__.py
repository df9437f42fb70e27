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

The parts: capacity.py (each node's resources, the texts), place.py (one shape against the
cluster), jobs.py, groups.py (placement groups), serve.py; this module puts them together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from raycockpit.cockpit.models import PendingWork, Snapshot, Why
from raycockpit.cockpit.why.capacity import camel, capacities
from raycockpit.cockpit.why.groups import explain_pg, in_group
from raycockpit.cockpit.why.jobs import SUPERVISOR_CLASS, SUPERVISOR_PREFIX, explain_job
from raycockpit.cockpit.why.place import place, waited_since, with_wait
from raycockpit.cockpit.why.serve import explain_deployment

__all__ = ["annotate", "as_dict", "camel", "explain"]


def _waiting(what, item, snap, work, caps, out, groups, now) -> Why:
    """A pending actor's or task's answer: its placement group's, else where its resources
    could go, with how long it has waited."""
    why = in_group(what, item.placement_group_id, out, groups)
    if why is not None:
        return why
    return with_wait(
        place(what, item.resources, snap, work, caps, "its num_cpus/num_gpus/resources")
        if item.resources
        else _no_resources(what),
        waited_since(item.created_ms, now),
    )


def explain(
    snap: Snapshot, work: PendingWork, now: float, stops: Mapping[str, float] | None = None
) -> dict[str, Why]:
    """Every explanation the snapshot calls for, by key. `stops`: job id -> when this cockpit
    asked Ray to stop it (a PENDING job's answer then says the stop has not reached it)."""
    stops = stops or {}
    out: dict[str, Why] = {}
    caps = capacities(snap, work)
    for job in snap.jobs:
        if job.status == "PENDING" or job.error_type.startswith("RUNTIME_ENV_SETUP"):
            why = explain_job(job, snap, work, caps, now, stops.get(job.key))
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


def annotate(snap: Snapshot, now: float, stops: Mapping[str, float] | None = None) -> Snapshot:
    """The snapshot with `pending.why` computed (the poller calls it on each build); the same
    snapshot when nothing waits, before or now."""
    work = snap.pending
    whys = explain(snap, work, now, stops)
    if not whys and not work.why:
        return snap
    return replace(snap, pending=replace(work, why=whys))
