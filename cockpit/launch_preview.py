"""What the Launch pane says of the workload under the cursor, before its form is opened: what it
does, what each preset changes, what it asks of the cluster and whether that fits now, and how
its last runs on this cluster went (the jobs the cockpit launched from it, read back from their
metadata: status, when, how long, which preset, the error of a failed one).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from raycockpit.cockpit.fit import Capacity, asks, check_resources
from raycockpit.cockpit.job_message import failure_line
from raycockpit.cockpit.launch import (
    CUSTOM,
    META_OPTIONS,
    META_SPEC,
    META_VALUES,
    WorkloadSpec,
    launched_by_cockpit,
)
from raycockpit.cockpit.models import Job, Snapshot

RUNS = 5  # last runs shown


@dataclass(frozen=True)
class PresetLine:
    name: str
    changes: str  # "num_samples=2 max_epochs=3", "the defaults" (a preset that is them)
    asks: str  # "1 worker x 1 CPU at once", or "" when its parameters ask nothing countable
    fit: str  # "" when it fits (or the cluster is not known yet), else the first warning
    preset: bool = True  # False: the line of the defaults, which no preset is


@dataclass(frozen=True)
class RecentRun:
    submission_id: str
    status: str
    start_ms: int | None
    duration_s: float | None
    preset: str  # the preset its values match, "defaults", or "edited"
    error: str  # a failed run's error in one line, else ""


@dataclass(frozen=True)
class Preview:
    name: str
    title: str
    description: str
    presets: tuple[PresetLine, ...]
    fits_note: str  # "2 CPU, 2 free now" (and GPUs); "" before the first snapshot with nodes
    runs: tuple[RecentRun, ...]  # newest first, at most RUNS
    runs_total: int  # all runs of it among the cluster's jobs


CUSTOM_DESCRIPTION = (
    "Any command, as `ray job submit` runs it: an entrypoint, a working_dir to ship (Ray's "
    "packing rules and upload limit are checked before it is sent), pip packages, env vars, "
    "entrypoint resources and metadata."
)


def _changes(spec: WorkloadSpec, values: dict[str, str]) -> str:
    defaults = spec.defaults()
    changed = [f"{k}={v}" for k, v in values.items() if defaults.get(k) != v]
    return " ".join(changed) or "the defaults"


def _preset_of(spec: WorkloadSpec | None, values: dict[str, str]) -> str:
    if spec is None:
        return ""
    for name in spec.presets:
        if spec.preset_values(name) == {**spec.defaults(), **values}:
            return name
    return "defaults" if {**spec.defaults(), **values} == spec.defaults() else "edited"


def recent_runs(
    name: str, spec: WorkloadSpec | None, jobs: tuple[Job, ...] | list[Job], now_ms: float
) -> tuple[tuple[RecentRun, ...], int]:
    """The runs of workload `name` (CUSTOM: custom jobs) among `jobs`, newest first (RUNS of
    them), and how many there are."""
    # a cheap look at each job first: a big cluster may keep thousands; only the shown are parsed
    mine = [job for job in jobs if job.metadata.get(META_SPEC) == name]
    mine.sort(key=lambda job: job.start_time_ms or 0, reverse=True)
    runs = []
    for job in mine[:RUNS]:
        launched = launched_by_cockpit(job.metadata)
        runs.append(
            RecentRun(
                submission_id=job.key,
                status=job.status,
                start_ms=job.start_time_ms,
                duration_s=job.duration_s(now_ms),
                preset=_preset_of(spec, launched[1]) if launched is not None else "",
                error=failure_line(job) if job.status == "FAILED" else "",
            )
        )
    return tuple(runs), len(mine)


def preview(spec: WorkloadSpec | None, snap: Snapshot | None, now_ms: float) -> Preview:
    """The preview of `spec` (None: the Custom job) on the cluster of `snap`."""
    capacity = Capacity.from_snapshot(snap)
    jobs = snap.jobs if snap is not None else ()
    if spec is None:
        runs, total = recent_runs(CUSTOM, None, jobs, now_ms)
        return Preview(
            CUSTOM, "Custom job", CUSTOM_DESCRIPTION, (), _fits_note(capacity), runs, total
        )
    presets = []
    for name in [*spec.presets, None]:  # each preset, then the defaults when no preset is them
        values = spec.preset_values(name) if name is not None else spec.defaults()
        if name is None and any(spec.preset_values(p) == values for p in spec.presets):
            continue
        findings = check_resources(
            values,
            entrypoint_cpus=None,
            entrypoint_gpus=None,
            entrypoint_memory=None,
            capacity=capacity,
        )
        presets.append(
            PresetLine(
                name=name or "defaults",
                changes=_changes(spec, values) if name else "no preset: every parameter's default",
                asks="; ".join(asks(values, capacity)),
                fit=findings[0].text if findings else "",
                preset=name is not None,
            )
        )
    runs, total = recent_runs(spec.name, spec, jobs, now_ms)
    return Preview(
        spec.name,
        spec.title,
        spec.description,
        tuple(presets),
        _fits_note(capacity),
        runs,
        total,
    )


def _fits_note(capacity: Capacity) -> str:
    if not capacity.known:
        return ""
    note = f"{capacity.cpus:g} CPU, {capacity.free_cpus:g} free now"
    if capacity.gpus:
        note += f"; {capacity.gpus:g} GPU, {capacity.free_gpus:g} free now"
    return note


def job_launch_line(job: Job) -> str:
    """What a job runs and asks, in one line for its screen's head: a workload the cockpit
    launched says what its parameters ask (`tune · asks trials of 1 CPU each, ...`), any other
    job its entrypoint; with the entrypoint's own resources when it was given some."""
    meta = job.metadata
    return _launch_line(
        meta.get(META_SPEC), meta.get(META_VALUES), meta.get(META_OPTIONS), job.entrypoint
    )


@lru_cache(maxsize=64)  # the head redraws twice a second; the metadata is JSON to parse
def _launch_line(spec: str | None, values: str | None, options: str | None, entry: str) -> str:
    pairs = ((META_SPEC, spec), (META_VALUES, values), (META_OPTIONS, options))
    launched = launched_by_cockpit({k: v for k, v in pairs if v is not None})
    if launched is None or launched[0] == CUSTOM:
        line = f"entrypoint: {entry}"
    else:
        name, params, _ = launched
        asked = asks(params, Capacity())
        line = f"{name} · asks {'; '.join(asked)}" if asked else name
    if launched is not None:
        opts = launched[2]
        given = [
            f"{amount} {what}"
            for amount, what in (
                (opts.num_cpus, "CPU"),
                (opts.num_gpus, "GPU"),
                (opts.memory, "memory"),
            )
            if amount
        ]
        if given:
            line += f" · entrypoint {', '.join(given)}"
    return line
