"""A job's metrics from the Prometheus text each Ray node exposes: no Prometheus server needed.

Every Ray node serves its metrics at `http://<node ip>:<metrics_export_port>/metrics` (the port is
`raylet.metricsExportPort` in `/nodes?view=summary`). Seen on a real Ray 2.60 head
(tests/fixtures/prometheus_*.txt.gz):

- a user's `ray.util.metrics` Counter/Gauge/Histogram appears as `ray_<name>` (counters
  `ray_<name>_total`) with the labels `Component="core_worker"`, `NodeAddress`, `SessionName`,
  `Version`, `WorkerId` (the worker process that set it) and the user's own tags, but NO `JobId`:
  a sample is the job's when its `WorkerId` is one of the job's workers (the state API's tasks of
  the job name their `worker_id`) or the job's driver (`<job id>` followed by 48 `f`).
- Ray's built-in `ray_tasks` and `ray_actors` carry `JobId` (the job's hex id) and `State`:
  counted per job as tasks running and actors alive. `ray_tasks` is a sum of state changes
  recorded on two sides: the worker that runs a task (`Source="executor"`: RUNNING +1 as it
  leaves SUBMITTED_TO_WORKER, -1) labels them with the job, the owner that submitted it
  (`Source="owner"`: SUBMITTED_TO_WORKER, FINISHED, FAILED) with `JobId=""` in Ray 2.60. So a
  job's finished and failed counts are not in the text (171 FINISHED of two jobs, unlabelled, in
  tests/fixtures/prometheus_data_two_jobs.txt.gz), and its running ones are its RUNNING* states
  alone (a sum over all its states is 0 while one runs).
- a gauge of a worker that has exited disappears from the text; a counter stays.
- Ray's own libraries set per-worker series the same way (Ray Train's `ray_train_*` with
  `ray_train_*` tags): they are kept, without Ray's tags in their names; the user's tags stay.
- Ray Data is the exception: every `ray_data_*` series of every job is set by ONE detached stats
  actor, whose worker runs tasks of each job that uses Ray Data (tests/fixtures/
  prometheus_data_two_jobs.txt.gz). Its series carry a `dataset` label instead, and the
  dataset-level gauges (`ray_data_dataset_state`, ...) map each dataset to its `job_id`: a job
  gets its own datasets' series, summed over them (a job that makes a dataset per loop has one
  series per operator, not one per loop), except rates and states, which are its latest
  dataset's (by `start_time`). `data_progress{operator=X}` is how far each operator of the
  latest dataset is: its output rows against Ray Data's estimate of its rows, in percent.

Parsed with prometheus_client's text parser; a block it cannot parse is skipped, never fatal.
Series are named `<name> (prometheus)` and plotted against seconds since the screen opened.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from prometheus_client.parser import text_string_to_metric_families

from raycockpit.cockpit.models import Node

SOURCE = "prometheus"
SCRAPE_TIMEOUT_S = 5.0  # a loaded node's agent can take seconds to render ~1 MB of text
MAX_TEXT = 8_000_000  # bytes of one node's answer kept (a big node's text is ~1 MB)
TASK_LIMIT = 1000  # tasks asked of the state API to learn the job's workers
STANDARD_LABELS = frozenset(
    {"Component", "NodeAddress", "SessionName", "Version", "WorkerId", "JobId"}
)
# Ray's own per-worker series that say nothing of the job's work (seen with a worker's WorkerId).
CORE_WORKER_BUILTINS = frozenset({"ray_object_store_memory", "ray_total_lineage_bytes"})
RUNNING_TASK_STATES = ("RUNNING", "GETTING_AND_PINNING_ARGS")  # RUNNING_IN_RAY_GET, ... too
RAY_DATA = "ray_data_"
RAY_DATA_TAGS = frozenset({"dataset", "job_id", "start_time"})  # who it is of, not what
# Ray Data gauges that are a rate, a share or a state: not summed over a job's datasets
RAY_DATA_LATEST = ("average", "_mean", "_max", "utilization", "_state")
PROGRESS = "data_progress"  # % of its estimated rows an operator of the latest dataset has output
_ROWS = {"ray_data_output_rows": 0, "ray_data_operator_estimated_total_rows": 1}
_BLOCK = re.compile(r"(?m)^(?=# HELP )")


@dataclass(frozen=True)
class Sample:
    name: str  # the sample's name (`ray_user_steps_total`)
    kind: str  # its family's type: counter | gauge | histogram | summary | unknown | ...
    labels: dict[str, str]
    value: float


def parse_text(text: str) -> list[Sample]:
    """Every finite sample of a Prometheus text exposition. A block (`# HELP` to the next) that
    the parser refuses is skipped; the rest is kept."""
    try:
        return _samples(text)
    except Exception:  # the parser raises ValueError and others on malformed input
        pass
    out: list[Sample] = []
    for block in _BLOCK.split(text):
        try:
            out.extend(_samples(block))
        except Exception:
            continue
    return out


def _samples(text: str) -> list[Sample]:
    out = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            value = sample.value
            if isinstance(value, (int, float)) and math.isfinite(value):
                out.append(Sample(sample.name, family.type, dict(sample.labels), float(value)))
    return out


def driver_worker_id(job_id: str) -> str:
    """The WorkerId Ray gives a job's driver: the job id then `ff` bytes (28 bytes in all)."""
    return job_id + "f" * (56 - len(job_id)) if job_id else ""


def _display(sample: Sample) -> str:
    name = sample.name[4:] if sample.name.startswith("ray_") else sample.name
    hidden = RAY_DATA_TAGS if sample.name.startswith(RAY_DATA) else ()
    tags = sorted(
        (k, v)
        for k, v in sample.labels.items()
        if k not in STANDARD_LABELS
        and k not in hidden
        and not k.startswith(("otel_", "ray_"))
        and k != "le"
    )
    if tags:
        name += "{" + ",".join(f"{k}={v}" for k, v in tags) + "}"
    return name


def job_metrics(samples: list[Sample], job_id: str, worker_ids: set[str]) -> dict[str, float]:
    """The job's own metrics out of one scrape (or several nodes' samples together):
    `ray.util.metrics` series of its workers (counters summed over workers, gauges averaged),
    and its tasks and actors by state. Keys are display names without the source."""
    if not job_id:
        return {}
    workers = set(worker_ids) | {driver_worker_id(job_id)}
    datasets = dataset_owners(samples)
    sums: dict[str, float] = {}
    gauges: dict[str, list[float]] = {}
    latest: dict[str, tuple[float, float]] = {}  # Ray Data rates: (dataset start, value)
    rows: dict[tuple[str, str], list[float]] = {}  # (dataset, operator) -> [out, estimated]
    tasks_running = 0.0
    actors_alive = 0.0
    seen_tasks = seen_actors = False
    for sample in samples:
        labels = sample.labels
        if "JobId" in labels:
            if labels["JobId"] != job_id:
                continue
            state = labels.get("State", "")
            if sample.name == "ray_tasks":
                seen_tasks = True
                if state.startswith(RUNNING_TASK_STATES):
                    tasks_running += sample.value
            elif sample.name == "ray_actors":
                seen_actors = True
                if state.startswith("ALIVE"):
                    actors_alive += sample.value
            continue
        if sample.kind in ("histogram", "summary") or sample.name.endswith("_created"):
            continue
        if sample.name.startswith(RAY_DATA) and "dataset" in labels:
            owner, started = datasets.get(labels["dataset"], ("", 0.0))
            if owner == job_id:  # the shared stats actor's: by the dataset, not the worker
                name = _display(sample)
                if sample.name in _ROWS and "operator" in labels:
                    key = (labels["dataset"], labels["operator"])
                    rows.setdefault(key, [0.0, 0.0])[_ROWS[sample.name]] += sample.value
                if sample.kind == "gauge" and any(w in sample.name for w in RAY_DATA_LATEST):
                    if started >= latest.get(name, (-1.0, 0.0))[0]:
                        latest[name] = (started, sample.value)
                else:
                    sums[name] = sums.get(name, 0.0) + sample.value
            continue
        if labels.get("WorkerId") not in workers or sample.name in CORE_WORKER_BUILTINS:
            continue
        name = _display(sample)
        if sample.kind == "gauge":
            gauges.setdefault(name, []).append(sample.value)
        else:
            sums[name] = sums.get(name, 0.0) + sample.value
    out = dict(sums)
    out.update({name: sum(values) / len(values) for name, values in gauges.items()})
    out.update({name: value for name, (_, value) in latest.items()})
    out.update(_progress(rows, {d: s for d, (j, s) in datasets.items() if j == job_id}))
    if seen_tasks:
        out["tasks running"] = max(tasks_running, 0.0)  # (one side's change may come first)
    if seen_actors:
        out["actors alive"] = actors_alive
    return out


def _progress(
    rows: dict[tuple[str, str], list[float]], starts: dict[str, float]
) -> dict[str, float]:
    """Each operator of the job's latest dataset: its output rows in percent of Ray Data's
    estimate of them (an operator with no estimate, like `Input_0`, has none)."""
    if not starts:
        return {}
    newest = max(starts, key=lambda d: starts[d])
    out = {}
    for (dataset, operator), (done, estimated) in sorted(rows.items()):
        if dataset == newest and estimated > 0:
            out[f"{PROGRESS}{{operator={operator}}}"] = max(0.0, min(100.0, 100 * done / estimated))
    return out


def dataset_owners(samples: list[Sample]) -> dict[str, tuple[str, float]]:
    """Ray Data's dataset label -> (its job's hex id, its start time), from the dataset-level
    gauges that carry both (an operator's series names only its dataset)."""
    out: dict[str, tuple[str, float]] = {}
    for sample in samples:
        labels = sample.labels
        if sample.name.startswith(RAY_DATA) and "dataset" in labels and "job_id" in labels:
            try:
                started = float(labels.get("start_time", "0"))
            except ValueError:
                started = 0.0
            out[labels["dataset"]] = (labels["job_id"], started)
    return out


# Ray's libraries' series worth a first look, in this order; their others follow by name
LIBRARY_FIRST = (
    PROGRESS,
    "data_output_rows",
    "data_output_bytes",
    "data_num_tasks_running",
    "data_num_tasks_finished",
    "data_cpu_usage_cores",
    "data_obj_store_mem_used",
    "data_spilled_bytes",
)
# Ray's libraries' and Ray core's per-worker series (a driver exports its scheduler_placement_*)
LIBRARY_PREFIXES = ("data_", "train_", "tune_", "serve_", "rllib_", "scheduler_")
JOB_COUNTS = ("tasks running", "actors alive")


def rank(metric: str) -> tuple[int, int]:
    """Where a series of this module goes in a list: the user's own `ray.util.metrics` first,
    then the job's tasks and actors, then Ray's libraries' key series (a Ray Data job has ~100
    of them per operator), then the rest."""
    base = metric.split("{", 1)[0]
    if base in JOB_COUNTS:
        return 1, JOB_COUNTS.index(base)
    if base in LIBRARY_FIRST:
        return 2, LIBRARY_FIRST.index(base)
    if base.startswith(LIBRARY_PREFIXES):
        return 3, 0
    return 0, 0


def series_name(metric: str) -> str:
    return f"{metric} ({SOURCE})"


def metrics_targets(
    nodes: Iterable[Node], only: Iterable[str] | None = None
) -> list[tuple[str, int]]:
    """(ip, metrics port) of each alive node of a snapshot (parse.py reads the port from
    `raylet.metricsExportPort` of `/nodes?view=summary`): the poller's nodes, so the scraper
    never fetches and decodes the node summary itself (18 MB at 1,000 nodes). With `only`: those
    node ids and the head (a job's nodes: on a big cluster not every node is asked)."""
    wanted = None if only is None else set(only)
    out: list[tuple[str, int]] = []
    for node in nodes:
        if wanted is not None and node.node_id not in wanted and not node.is_head:
            continue
        if node.state == "ALIVE" and node.ip and node.metrics_port is not None:
            if (node.ip, node.metrics_port) not in out:
                out.append((node.ip, node.metrics_port))
    return out


class StateLister(Protocol):  # DashboardClient.list_state
    async def list_state(
        self, kind: str, filters: list[tuple[str, str, str]], limit: int = 100
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class JobPlaces:
    """Where a job ran: its workers (Ray labels a user's metrics with them) and their nodes
    (the only ones worth scraping, with the head, where the driver runs)."""

    workers: frozenset[str]
    nodes: frozenset[str]


async def job_places(client: StateLister, job_id: str) -> JobPlaces:
    """The workers and nodes that ran the job's tasks and actors (the state API's task list)."""
    data = await client.list_state("tasks", [("job_id", "=", job_id)], TASK_LIMIT)
    inner = data.get("result") if isinstance(data, dict) else None
    rows = inner.get("result") if isinstance(inner, dict) else None
    workers, nodes = set(), set()
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict):
            continue
        for key, into in (("worker_id", workers), ("node_id", nodes)):
            value = row.get(key)
            if isinstance(value, str) and value:
                into.add(value)
    return JobPlaces(frozenset(workers), frozenset(nodes))


@dataclass
class Scrape:
    """One beat's answer: the samples of the nodes that answered and one line per node that
    did not (its address and why)."""

    samples: list[Sample]
    unreachable: list[str]


async def scrape_nodes(
    http: httpx.AsyncClient, targets: list[tuple[str, int]], timeout: float = SCRAPE_TIMEOUT_S
) -> Scrape:
    samples: list[Sample] = []
    unreachable: list[str] = []
    for ip, port in targets:
        where = f"{ip}:{port}"
        try:
            answer = await http.get(f"http://{where}/metrics", timeout=timeout)
        except httpx.HTTPError as exc:
            unreachable.append(f"{where} ({type(exc).__name__})")
            continue
        if answer.status_code != 200:
            unreachable.append(f"{where} (HTTP {answer.status_code})")
            continue
        samples.extend(parse_text(answer.text[:MAX_TEXT]))
    return Scrape(samples, unreachable)


def unreachable_line(scrape: Scrape) -> str:
    """One line for the screen, or "" when every node answered."""
    if not scrape.unreachable:
        return ""
    shown = ", ".join(scrape.unreachable[:3])
    more = f" and {len(scrape.unreachable) - 3} more" if len(scrape.unreachable) > 3 else ""
    return (
        f"node metrics unreachable: {shown}{more}; charts use the log only "
        "(the metrics port must be reachable from here, e.g. on the cluster's network)"
    )


def add_to_series(series: Any, metrics: dict[str, float], seconds: float) -> bool:
    """Append one beat's values to a MetricSeries (cockpit/events.py), x = seconds since the
    screen began scraping; True when anything was added."""
    for metric, value in metrics.items():
        name = series_name(metric)
        points = series.series.get(name)
        if points is None:
            points = series.series[name] = deque(maxlen=series.max_points)
        if points and points[-1][0] >= seconds:
            continue
        points.append((seconds, value))
    return bool(metrics)
