"""Scale replayer: a Ray 2.60 dashboard of any size, served for real over HTTP and websockets on
loopback.

THIS IS A LOAD FIXTURE FOR SCALE BENCHMARKS AND FAULT TESTS, NOT A MOCK OF RAY'S BEHAVIOUR.
Behaviour tests use the real Ray head (tests/cluster, tests/ui, tests/e2e). The replayer answers
the endpoints the cockpit polls with the SHAPES Ray 2.60 recorded in tests/fixtures/ (see its
README), scaled up to N nodes x G GPUs, J jobs, A actors and S Serve apps, so that benchmarks can
measure the cockpit against a 1,000-node cluster that nobody has at hand, and fault tests can make
one section of the dashboard misbehave on demand. What it makes up (which node is busy, how long a
job runs, what a log says) is plausible, not Ray's logic.

    .venv/bin/python benchmarks/replay.py --nodes 1000 --gpus 8 --jobs 10000 [--port P]
    .venv/bin/python benchmarks/replay.py --nodes 1000 --gpus 8 --jobs 10000 --sizes

The first prints `replay: http://127.0.0.1:PORT (...)` once it answers and serves until SIGINT or
SIGTERM; `--sizes` prints each answer's size and the generation time, then exits.

What it serves: GET /api/version, /api/authentication_mode, /api/gcs_healthz, /nodes?view=summary
(and view=hostNameList), /api/cluster_status (structured) and ?format=1 (the `ray status` text,
with node counts and usage totals that add up to the generated nodes), /api/jobs/ and POST (a new
job RUNS for `submit_run_s` then SUCCEEDS), /api/jobs/{id}, its /logs, its /stop, DELETE, the log
tail websocket /api/jobs/{id}/logs/tail (replays the log from its start in chunks of at most 10
lines like Ray, then a new line every `log_interval` s while the job runs, then closes),
/api/serve/applications/, /api/v0/actors (limit, detail, state filters), /api/v0/actors/summarize,
/api/v0/tasks/summarize, GET (404 until PUT) and PUT /api/packages/gcs/{name}. Anything else 404s.

The cluster: a head and N-1 workers, every live node (the head too) with G GPUs shaped like
nodes_view_summary_gpu.json (index 0..G-1, unique uuids), 16 CPUs per GPU (16 without GPUs);
round(N * dead_fraction) workers DEAD, listed under the autoscaler's recent failures. Jobs come in
every status, most finished (JOB_MIX); job ids count up in start order like Ray's; a RUNNING job's
log grows by one line every `log_interval` s, for ever. GPU utilisation, memoryUsed, CPU % and
logical CPU use move from one request to the next; a RUNNING job's duration moves with the clock.

Speed: every big answer is encoded once into bytes. The node summary and both cluster_status forms
are a ring of FRAMES pre-encoded variants with different utilisation (CPU %, GPU utilisationGpu,
memoryUsed, logical CPU use), handed out in turn, one per request; each job is encoded on its own
and the list is the join of those bytes, redone only when a job changes.

Faults, per section (nodes, jobs, autoscaler, serve, version, actors, tail; "all" for every one):
http500 (500, a Python traceback as text), html (200 text/html), truncated (200, JSON cut in half;
for the tail: half the log, then the connection drops without a close frame), empty (200, no
body; the tail: accepted then closed at once), hang (no answer until the fault is cleared or
HANG_S pass, then a normal answer), wrong_types (right names, wrong types, e.g. `"summary":
{"a": 1}`, job `"status": 5`, `data: []`; the tail: binary frames), restart (= restart_session()).
Control them from Python (set_fault, set_delay, restart_session) or over HTTP on the same port:
POST /_replay/fault?section=nodes&kind=html (no kind clears), POST /_replay/restart,
POST /_replay/delay?seconds=5, GET /_replay/stats. /_replay/* is never delayed, faulted or counted.

What a restart models: the head restarts with its GCS state kept (GCS fault tolerance): a new
session_name; every worker raylet registers again under a NEW node id from the same host and IP,
while the old ids stay in the summary as DEAD (at most MAX_DEAD_NODES kept); finished jobs keep
their ids; jobs that were PENDING or RUNNING end FAILED (JOB_SUPERVISOR_ACTOR_DIED) and as many
new jobs start RUNNING with new ids; actors and Serve replicas move to the new node ids; the
autoscaler's list of recent failures starts empty.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import random
import signal
import string
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from aiohttp import web

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
SECTIONS = ("nodes", "jobs", "autoscaler", "serve", "version", "actors", "tail")
FAULTS = ("http500", "html", "truncated", "empty", "hang", "wrong_types", "restart")
FRAMES = 4  # pre-encoded variants of each moving answer
HANG_S = 30.0
TAIL_CHUNK_LINES = 10  # Ray's file_tail_iterator sends at most 10 lines a frame
MAX_DEAD_NODES = 1000  # Ray's default dead-node cache (maximum_gcs_dead_node_cached_count)
MAX_STATE_LIMIT = 10_000  # RAY_MAX_LIMIT_FROM_API_SERVER
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "STOPPED"})
# share of each status among generated jobs; the rest SUCCEEDED (a long-lived cluster)
JOB_MIX = (("PENDING", 0.005), ("RUNNING", 0.02), ("STOPPED", 0.04), ("FAILED", 0.08))
H100 = "NVIDIA H100 80GB HBM3"
H100_MB = 81559
GIB = 2**30
HEAD_TYPE = "ray.head.default"
NOW_TOKEN = "@@REPLAY_NOW@@"
ALNUM = string.ascii_letters + string.digits
WORKLOADS = (
    ("train", "python -m workloads.train --num-workers {a} --epochs {b}"),
    ("tune", "python -m workloads.tune --num-samples {a} --max-epochs {b}"),
    ("rl", "python -m workloads.rl --num-env-runners {a} --iterations {b}"),
    ("data", "python -m workloads.data --rows {a}000000 --blocks {b}"),
    ("core", "python -m workloads.core --tasks {a}00 --rounds {b}"),
)
HTML_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"/><title>Ray Dashboard</title>'
    "</head><body><noscript>You need to enable JavaScript to run this app.</noscript>"
    '<div id="root"></div></body></html>'
)
SITE = "/opt/venv/lib/python3.11/site-packages"


def traceback_text(head_ip: str) -> str:
    """What a failing dashboard handler sends with its 500: a Python traceback."""
    return "\n".join(
        [
            "Traceback (most recent call last):",
            f'  File "{SITE}/aiohttp/web_protocol.py", line 510, in _handle_request',
            "    resp = await request_handler(request)",
            f'  File "{SITE}/ray/dashboard/optional_utils.py", line 176, in _handler_route',
            "    return await handler(bind_info.instance, req)",
            f'  File "{SITE}/ray/_private/gcs_aio_client.py", line 94, in wrapper',
            "    return await func(*args, **kwargs)",
            "ray.exceptions.RpcError: failed to connect to all addresses; last error: "
            f"UNAVAILABLE: ipv4:{head_ip}:6379: Connection refused",
            "",
        ]
    )


# -- recorded answers (tests/fixtures) -------------------------------------------------------------


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@dataclass(frozen=True)
class Templates:
    """The recorded Ray 2.60 answers that the replay scales up."""

    head: dict
    worker: dict
    dead_raylet: dict
    core_worker: dict
    version: dict
    log_lines: tuple[str, ...]
    log_submission_id: str
    log_entrypoint: str
    serve: dict
    structured: dict
    actor_classes: tuple[str, ...]
    task_summary: dict

    @property
    def head_id(self) -> str:
        return self.head["raylet"]["nodeId"]

    @property
    def session(self) -> str:
        return self.version["session_name"]


@functools.cache
def templates() -> Templates:
    gpu_nodes = _fixture("nodes_view_summary_gpu.json")["data"]["summary"]
    removed = _fixture("nodes_view_summary_fake_removed.json")["data"]["summary"]
    job = _fixture("api_jobs_id.json")
    head = gpu_nodes[0]
    actors = _fixture("api_v0_actors.json")["data"]["result"]["result"]
    return Templates(
        head=head,
        worker=gpu_nodes[1],
        dead_raylet=next(n["raylet"] for n in removed if n["raylet"]["state"] == "DEAD"),
        core_worker=next(
            w for w in head["raylet"]["coreWorkersStats"] if w["workerType"] == "WORKER"
        ),
        version=_fixture("api_version.json"),
        log_lines=tuple(_fixture("api_jobs_id_logs.json")["logs"].splitlines()[:5]),
        log_submission_id=job["submission_id"],
        log_entrypoint=job["entrypoint"],
        serve=_fixture("api_serve_applications.json"),
        structured=_fixture("api_cluster_status_fake_active.json"),
        actor_classes=tuple(sorted({a["class_name"] for a in actors})),
        task_summary=_fixture("api_v0_tasks_summarize.json"),
    )


# -- small helpers ---------------------------------------------------------------------------------


def _clamp(x: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return lo if x < lo else hi if x > hi else x


def fmt_bytes(n: float) -> str:
    """Sizes the way `ray status` writes them: 0B, 11.43KiB, 16.13GiB."""
    for unit, size in (("TiB", 2**40), ("GiB", GIB), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.2f}{unit}"
    return f"{int(n)}B"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _node_ip(index: int) -> str:
    """10.x.y.z, unique per node index, never .0 or .255."""
    n = index + 1
    block = n // 254
    return f"10.{block // 256 % 256}.{block % 256}.{n % 254 + 1}"


def _job_hex(counter: int) -> str:
    """Ray's JobID: a 4-byte little-endian counter, as hex ("01000000", "02000000"...)."""
    return counter.to_bytes(4, "little").hex()


def _uuid(rng: random.Random, prefix: str = "GPU") -> str:
    h = rng.randbytes(16).hex()
    return f"{prefix}-{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _session_name(rng: random.Random, when: float) -> str:
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S", time.localtime(when))
    return f"session_{stamp}_{int(when % 1 * 1e6):06d}_{rng.randint(1000, 65000)}"


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def _ray_time(when: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when)) + f".{int(when % 1 * 1e6):06d}"


# -- the cluster's nodes ---------------------------------------------------------------------------


@dataclass
class NodeSpec:
    index: int  # the host's place in the cluster: its name and IP derive from it
    node_id: str
    hostname: str
    ip: str
    is_head: bool
    cpus: int
    gpus: int
    gpu_uuids: tuple[str, ...]
    load: float  # 0..1, how busy the host is; frames jitter around it
    start_ms: int
    alive: bool = True
    failed: bool = False  # listed under the autoscaler's "Recent failures"
    end_ms: int = 0
    death: str = ""

    @property
    def node_type(self) -> str:
        if self.is_head:
            return HEAD_TYPE
        return "gpu_worker" if self.gpus else "cpu_worker"

    @property
    def mem_bytes(self) -> int:
        return self.cpus * 8 * GIB

    @property
    def ray_memory(self) -> int:
        return int(self.mem_bytes * 0.7)

    @property
    def store_bytes(self) -> int:
        return int(self.mem_bytes * 0.3)

    @property
    def busy_gpus(self) -> int:
        return round(self.gpus * self.load) if self.load > 0.3 else 0

    @property
    def pid_base(self) -> int:
        return 20000 + (self.index * 37) % 40000


def make_nodes(
    rng: random.Random, count: int, gpus: int, dead_fraction: float, now: float
) -> list[NodeSpec]:
    """The head (index 0) and count-1 workers; round(count * dead_fraction) workers DEAD."""
    ids: set[str] = set()
    nodes = [_make_node(rng, i, gpus, now, ids) for i in range(count)]
    dead = min(max(0, count - 1), round(count * dead_fraction))
    for node in rng.sample(nodes[1:], dead):
        _kill(
            node, now, "UNEXPECTED_TERMINATION", "health check failed: the node stopped answering"
        )
        node.failed = True
    return nodes


def _new_node_id(rng: random.Random, ids: set[str]) -> str:
    while True:
        node_id = rng.randbytes(28).hex()  # 56 hex characters, like Ray's
        if node_id not in ids:
            ids.add(node_id)
            return node_id


def _make_node(rng: random.Random, index: int, gpus: int, now: float, ids: set[str]) -> NodeSpec:
    busy = rng.random() < 0.75
    kind = "gpu" if gpus else "cpu"
    return NodeSpec(
        index=index,
        node_id=_new_node_id(rng, ids),
        hostname="ray-head" if index == 0 else f"{kind}-worker-{index:05d}",
        ip=_node_ip(index),
        is_head=index == 0,
        cpus=16 * gpus if gpus else 16,
        gpus=gpus,
        gpu_uuids=tuple(_uuid(rng) for _ in range(gpus)),
        load=rng.uniform(0.55, 0.95) if busy else rng.uniform(0.0, 0.1),
        start_ms=int((now - rng.uniform(86400, 30 * 86400)) * 1000),
    )


def _kill(node: NodeSpec, now: float, reason: str, message: str) -> None:
    node.alive = False
    node.end_ms = int(now * 1000)
    node.death = f"{reason}|{message}"


def _resources(node: NodeSpec) -> dict[str, float]:
    out = {
        "memory": float(node.ray_memory),
        "CPU": float(node.cpus),
        "objectStoreMemory": float(node.store_bytes),
        f"node:{node.ip}": 1.0,
    }
    if node.gpus:
        out.update({"GPU": float(node.gpus), "accelerator_type:H100": 1.0})
    if node.is_head:
        out["node:InternalHead"] = 1.0
    return out


def _core_workers(t: Templates, node: NodeSpec) -> list[dict]:
    """One busy worker process per GPU (at least two), shaped like the recorded ones."""
    out = []
    for i in range(max(2, node.gpus)):
        pid = node.pid_base + i
        out.append(
            {
                **t.core_worker,
                "pid": pid,
                "port": str(10002 + i),
                "ipAddress": node.ip,
                "workerId": f"{pid:08x}" + node.node_id[8:],
                "actorId": f"{pid:024x}" + "0e000000",
                "numExecutedTasks": 10 * i + node.index % 10,
            }
        )
    return out


def static_node_json(t: Templates, node: NodeSpec, head_ip: str, session: str) -> str:
    """An ALIVE node's summary item without its moving fields and without the closing brace."""
    base = t.head if node.is_head else t.worker
    workers = _core_workers(t, node)
    raylet = {
        **base["raylet"],
        "coreWorkersStats": workers,
        "numWorkers": len(workers),
        "objectStoreUsedMemory": 0,
        "objectStoreAvailableMemory": node.store_bytes,
        "storeStats": {
            **base["raylet"]["storeStats"],
            "objectStoreBytesAvail": str(node.store_bytes),
        },
        "nodeId": node.node_id,
        "nodeManagerAddress": node.ip,
        "nodeManagerHostname": node.hostname,
        "nodeName": node.ip,
        "resourcesTotal": _resources(node),
        "startTimeMs": str(node.start_ms),
        "isHeadNode": node.is_head,
        "labels": {"ray.io/node-id": node.node_id},
        "state": "ALIVE",
        "nodeTypeName": node.node_type,
        "endTimeMs": "0",
    }
    own = {
        "hostname": node.hostname,
        "ip": node.ip,
        "cpus": [node.cpus, node.cpus // 2],
        "hostMem": [node.mem_bytes // 10, node.mem_bytes],
        "cgroupMem": [node.mem_bytes // 10, node.mem_bytes],
        "raylet": raylet,
    }
    shared = _shared_json(node.is_head, head_ip, session).replace(t.head_id, node.node_id)
    return json.dumps(own)[:-1] + ", " + shared


OWN_KEYS = ("now", "cpu", "mem", "loadAvg", "gpus", "hostname", "ip", "cpus", "hostMem")
OWN_KEYS += ("cgroupMem", "raylet")


@functools.cache
def _shared_json(is_head: bool, head_ip: str, session: str) -> str:
    """The recorded fields every node copies (agent, cmdline, disk...), encoded once."""
    t = templates()
    base = t.head if is_head else t.worker
    text = json.dumps({k: v for k, v in base.items() if k not in OWN_KEYS})[1:-1]
    return text.replace(t.session, session).replace("127.0.0.1", head_ip)


def dead_node_json(t: Templates, node: NodeSpec) -> str:
    """A DEAD node as Ray 2.60 lists it (raylet part recorded in nodes_view_summary_fake_removed),
    with the hostname and IP of its last stats; its other physical stats are purged."""
    reason, _, message = node.death.partition("|")
    raylet = {
        **t.dead_raylet,
        "nodeId": node.node_id,
        "endTimeMs": str(node.end_ms),
        "deathInfo": {"reason": reason, "reasonMessage": message},
        "stateMessage": f"{reason.replace('_', ' ').capitalize()}: {message}",
    }
    item = {"now": node.end_ms / 1000, "hostname": node.hostname, "ip": node.ip, "raylet": raylet}
    return json.dumps(item)


@dataclass(frozen=True)
class NodeMoment:
    """One node in one frame: the tail of its JSON, its logical usage text and sums."""

    tail: str
    logical: str
    cpu_used: float
    gpu_used: float
    store_used: int


def gpu_json(node: NodeSpec, index: int, load: float, rng: random.Random) -> str:
    """One GPU entry (the reporter's GpuUtilizationInfo, as in nodes_view_summary_gpu.json).
    Written as text, not json.dumps: it is the hot loop of a 1,000 x 8 frame."""
    busy = index < node.busy_gpus
    util = int(100 * _clamp(load + rng.gauss(0, 0.1))) if busy else 0
    used = int(H100_MB * _clamp(0.5 + 0.45 * load + rng.gauss(0, 0.03))) if busy else 1
    procs = (
        f'[{{"pid": {node.pid_base + index}, "gpuMemoryUsage": {used - 320}, '
        f'"gpuUtilization": {util}}}]'
        if busy
        else "[]"
    )
    noise = rng.random()
    return (
        f'{{"index": {index}, "name": "{H100}", "uuid": "{node.gpu_uuids[index]}", '
        f'"utilizationGpu": {util}, "memoryUsed": {used}, "memoryTotal": {H100_MB}, '
        f'"processesPids": {procs}, "powerMw": {70000 + util * 6000 + int(noise * 9000)}, '
        f'"temperatureC": {32 + util * 2 // 5 + int(noise * 4)}}}'
    )


def node_moment(node: NodeSpec, rng: random.Random, now: float) -> NodeMoment:
    load = _clamp(node.load + rng.gauss(0, 0.08))
    cpu = round(100 * _clamp(load + rng.gauss(0, 0.05)), 1)
    total = node.mem_bytes
    used = int(total * (0.08 + 0.6 * load))
    la = [round(node.cpus * load * f, 2) for f in (1.0, 0.9, 0.8)]
    per_cpu = [round(x / node.cpus, 2) for x in la]
    gpus = ", ".join(gpu_json(node, i, load, rng) for i in range(node.gpus))
    tail = (
        f', "now": {now:.6f}, "cpu": {cpu}, "mem": [{total}, {total - used}, '
        f'{round(100 * used / total, 1)}, {used}], "loadAvg": [{la}, {per_cpu}], '
        f'"gpus": [{gpus}]}}'
    )
    cpu_used = float(min(node.cpus, round(node.cpus * load)))
    gpu_used = float(node.busy_gpus)
    store_used = int(node.store_bytes * 0.2 * load)
    lines = [f"{cpu_used}/{float(node.cpus)} CPU"]
    if node.gpus:
        lines.append(f"{gpu_used}/{float(node.gpus)} GPU")
    lines.append(f"0B/{fmt_bytes(node.ray_memory)} memory")
    lines.append(f"{fmt_bytes(store_used)}/{fmt_bytes(node.store_bytes)} object_store_memory")
    return NodeMoment(tail, "\n".join(lines), cpu_used, gpu_used, store_used)


# -- jobs ------------------------------------------------------------------------------------------


@dataclass
class JobSpec:
    key: str  # submission_id, or job_id for a DRIVER job
    job_id: str | None  # hex; None while PENDING
    submission_id: str | None
    type: str
    status: str
    workload: str
    entrypoint: str
    start_ms: int
    end_ms: int | None
    driver_node_id: str
    driver_ip: str
    pid: int
    metadata: dict[str, str] = field(default_factory=dict)
    runtime_env: dict | None = None
    message: str = ""
    error_type: str | None = None
    exit_code: int | None = None
    log_t0: float | None = None  # wall time its log started growing (live jobs)
    ends_at: float | None = None  # a submitted job: when it SUCCEEDS
    fixed_lines: int = 0  # a job that ended before the replay: its log's length

    def as_dict(self) -> dict[str, Any]:
        submission = self.type == "SUBMISSION"
        return {
            "type": self.type,
            "job_id": self.job_id,
            "submission_id": self.submission_id,
            "driver_info": None
            if self.job_id is None
            else {"id": self.job_id, "node_ip_address": self.driver_ip, "pid": str(self.pid)},
            "status": self.status,
            "entrypoint": self.entrypoint,
            "message": self.message or None,
            "error_type": self.error_type,
            "start_time": self.start_ms,
            "end_time": self.end_ms,
            "metadata": self.metadata,
            "runtime_env": self.runtime_env,
            "driver_agent_http_address": f"http://{self.driver_ip}:52365" if submission else None,
            "driver_node_id": self.driver_node_id if submission else None,
            "driver_exit_code": self.exit_code,
        }


MESSAGES = {
    "PENDING": (
        "Job has not started yet. It may be waiting for resources (CPUs, GPUs, memory, custom "
        "resources) to become available. It may be waiting for the runtime environment to be "
        "set up."
    ),
    "RUNNING": "Job is currently running.",
    "SUCCEEDED": "Job finished successfully.",
    "STOPPED": "Job was intentionally stopped.",
    "FAILED": (
        "Job entrypoint command failed with exit code 1, last available logs (truncated to 20,000 "
        'chars):\n  File "/tmp/ray/session_latest/runtime_resources/working_dir_files/train.py", '
        "line 88\nRuntimeError: CUDA error: an illegal memory access was encountered"
    ),
}


def job_statuses(total: int, rng: random.Random) -> list[str]:
    """`total` statuses in the JOB_MIX shares, every status present from 5 jobs up, shuffled."""
    if total < 5:
        return ["RUNNING", "SUCCEEDED", "FAILED", "STOPPED", "PENDING"][:total]
    counts = {status: max(1, round(total * share)) for status, share in JOB_MIX}
    out = [status for status, n in counts.items() for _ in range(n)]
    out += ["SUCCEEDED"] * (total - len(out))
    rng.shuffle(out)
    return out


def _submission_id(rng: random.Random) -> str:
    return "raysubmit_" + "".join(rng.choices(ALNUM, k=16))


def _entrypoint(rng: random.Random) -> tuple[str, str]:
    workload, pattern = rng.choice(WORKLOADS)
    return workload, pattern.format(a=rng.randint(1, 64), b=rng.randint(5, 200))


def _times(status: str, rng: random.Random, now: float) -> tuple[int, int | None]:
    if status == "PENDING":
        return int((now - rng.uniform(5, 120)) * 1000), None
    if status == "RUNNING":
        return int((now - rng.uniform(60, 6 * 3600)) * 1000), None
    start = now - rng.uniform(3600, 30 * 86400)
    return int(start * 1000), int((start + rng.uniform(20, 7200)) * 1000)


def _launch_metadata(workload: str, rng: random.Random) -> dict[str, str]:
    """A quarter none, half an owner, a quarter launched by the cockpit (launch.py's keys)."""
    pick = rng.random()
    if pick < 0.25:
        return {}
    if pick < 0.75:
        return {"owner": rng.choice(("alice", "bob", "ml-platform", "nightly"))}
    values = {"epochs": str(rng.randint(5, 100)), "seed": str(rng.randint(0, 9))}
    return {
        "raycockpit.spec": workload,
        "raycockpit.values": json.dumps(values, sort_keys=True),
        "raycockpit.options": "{}",
    }


def make_job(
    rng: random.Random, status: str, driver: NodeSpec, now: float, interval: float
) -> JobSpec:
    """A job in `status`; its job_id is given when the server adds it (Ray's counter)."""
    workload, entrypoint = _entrypoint(rng)
    start_ms, end_ms = _times(status, rng, now)
    is_driver = status in ("SUCCEEDED", "FAILED") and rng.random() < 0.2
    submission_id = None if is_driver else _submission_id(rng)
    job = JobSpec(
        key=submission_id or "",
        job_id=None,
        submission_id=submission_id,
        type="DRIVER" if is_driver else "SUBMISSION",
        status=status,
        workload=workload,
        entrypoint=entrypoint,
        start_ms=start_ms,
        end_ms=end_ms,
        driver_node_id=driver.node_id,
        driver_ip=driver.ip,
        pid=rng.randint(2000, 60000),
        message=MESSAGES[status],
    )
    if not is_driver:
        job.metadata = _launch_metadata(workload, rng)
        if rng.random() < 0.7:
            job.runtime_env = {"working_dir": f"gcs://_ray_pkg_{rng.randbytes(16).hex()}.zip"}
    if status == "FAILED":
        job.error_type, job.exit_code = "JOB_ENTRYPOINT_COMMAND_ERROR", 1
    elif status in ("SUCCEEDED", "STOPPED"):
        job.exit_code = 0 if status == "SUCCEEDED" else -15
    if status == "RUNNING":
        job.log_t0 = now - 40 * interval  # 40 lines written already
    elif status in TERMINAL:
        job.fixed_lines = rng.randint(20, 200)
    return job


def log_line(t: Templates, job: JobSpec, i: int) -> str:
    """Line i of a job's driver log: Ray's recorded header, then training lines and events."""
    if i < len(t.log_lines):
        line = t.log_lines[i].replace(t.log_submission_id, job.key)
        return line.replace(t.log_entrypoint, job.entrypoint)
    step = i - len(t.log_lines)
    loss = 2.0 / (1 + 0.05 * step)
    if step % 4 == 0:
        event = {"v": 1, "kind": "metric", "workload": job.workload, "step": step}
        event["metrics"] = {"loss": round(loss, 5), "lr": 0.001}
        return "@@cockpit " + json.dumps(event)
    return (
        f"(RayTrainWorker pid={job.pid + step % 4}, ip={job.driver_ip}) step {step}: "
        f"loss={loss:.5f} throughput={900 + step % 97} samples/s"
    )


# -- the other sections ----------------------------------------------------------------------------


def make_actors(
    t: Templates, rng: random.Random, count: int, nodes: list[NodeSpec], job_ids: list[str]
) -> list[tuple[bytes, bytes]]:
    """(brief row, detail row) per actor, encoded, as /api/v0/actors lists them (snake_case)."""
    out = []
    jobs = job_ids or [_job_hex(1)]
    for _ in range(count):
        node = rng.choice(nodes)
        job = rng.choice(jobs)
        state = rng.choices(("ALIVE", "DEAD", "PENDING_CREATION", "RESTARTING"), (80, 15, 3, 2))[0]
        # an actor on a GPU node holds one of its GPUs (a tenth half of one): its pid is that
        # GPU's process while the GPU is busy (gpu_json), so the Actors pane matches them; on a
        # GPU that is not busy it shows idle (the GPU alert, after a minute)
        gpu = rng.randrange(node.gpus) if node.gpus else None
        brief = {
            "actor_id": rng.randbytes(12).hex() + job,
            "class_name": rng.choice(t.actor_classes),
            "state": state,
            "job_id": job,
            "name": "",
            "node_id": node.node_id,
            "pid": node.pid_base + gpu if gpu is not None else rng.randint(2000, 60000),
            "ray_namespace": _uuid(rng, "ns")[3:],
        }
        death = None
        if state == "DEAD":
            death = {
                "actor_died_error_context": {
                    "reason": "OUT_OF_SCOPE",
                    "error_message": "The actor is dead because all references to the actor "
                    "were removed.",
                }
            }
        detail = {
            **brief,
            "serialized_runtime_env": "{}",
            "required_resources": (
                {"GPU": 0.5 if rng.random() < 0.1 else 1.0} if node.gpus else {"CPU": 1.0}
            ),
            "death_cause": death,
            "is_detached": False,
            "placement_group_id": None,
            "repr_name": "",
            "num_restarts": "0",
            "num_restarts_due_to_lineage_reconstruction": "0",
        }
        out.append((_json(brief), _json(detail)))
    return out


def actor_summary(rows: list[tuple[bytes, bytes]]) -> dict:
    summary: dict[str, dict] = {}
    for brief, _ in rows:
        actor = json.loads(brief)
        entry = summary.setdefault(
            actor["class_name"], {"class_name": actor["class_name"], "state_counts": {}}
        )
        counts = entry["state_counts"]
        counts[actor["state"]] = counts.get(actor["state"], 0) + 1
    cluster = {"summary": summary, "total_actors": len(rows), "summary_by": "class"}
    return _state_reply({"node_id_to_summary": {"cluster": cluster}}, len(rows))


def task_summary(t: Templates, scale: int) -> dict:
    recorded = t.task_summary["data"]["result"]["result"]["node_id_to_summary"]["cluster"]
    summary = {
        name: {**entry, "state_counts": {k: v * scale for k, v in entry["state_counts"].items()}}
        for name, entry in recorded["summary"].items()
    }
    cluster = {
        **recorded,
        "summary": summary,
        "total_tasks": recorded["total_tasks"] * scale,
        "total_actor_tasks": recorded["total_actor_tasks"] * scale,
        "total_actor_scheduled": recorded["total_actor_scheduled"] * scale,
    }
    total = t.task_summary["data"]["result"]["total"] * scale
    return _state_reply({"node_id_to_summary": {"cluster": cluster}}, total)


def _state_reply(result: Any, total: int) -> dict:
    return {
        "result": True,
        "msg": "",
        "data": {
            "result": {
                "total": total,
                "num_after_truncation": total,
                "num_filtered": total,
                "result": result,
                "partial_failure_warning": "",
                "warnings": None,
            }
        },
    }


APP_NAMES = ("predictor", "embedder", "ranker", "chat", "classifier", "detector", "summarizer")


def make_serve(
    t: Templates, rng: random.Random, apps: int, nodes: list[NodeSpec], now: float
) -> dict:
    """Serve with `apps` applications, replicas spread over the workers, a proxy per node."""
    alive = [n for n in nodes if n.alive]
    head = alive[0]
    workers = alive[1:] or alive
    data = {k: v for k, v in t.serve.items() if k not in ("applications", "proxies")}
    data["controller_info"] = {**t.serve["controller_info"], "node_id": head.node_id}
    data["controller_info"]["node_ip"] = head.ip
    proxy = next(iter(t.serve["proxies"].values()))
    data["proxies"] = {
        n.node_id: {
            **proxy,
            "node_id": n.node_id,
            "node_ip": n.ip,
            "actor_name": f"SERVE_PROXY_ACTOR-{n.node_id}",
            "log_file_path": f"/serve/proxy_{n.ip}.log",
        }
        for n in alive
    }
    data["applications"] = {}
    for i in range(apps):
        name = APP_NAMES[i % len(APP_NAMES)] + ("" if i < len(APP_NAMES) else f"-{i}")
        data["applications"][name] = _serve_app(t, rng, name, i, workers, now)
    return data


def _serve_app(
    t: Templates, rng: random.Random, name: str, i: int, workers: list[NodeSpec], now: float
) -> dict:
    recorded = next(iter(t.serve["applications"].values()))
    dep_template = next(iter(recorded["deployments"].values()))
    deploying = i % 5 == 4
    deployments = {}
    for dep_name in ("Ingress", "Model")[: 1 + i % 2]:
        target = 1 + (i + len(dep_name)) % 4
        running = target - 1 if deploying else target
        replicas = [
            _replica(dep_template, rng, name, dep_name, workers, now) for _ in range(target)
        ]
        for replica in replicas[running:]:
            replica["state"] = "STARTING"
        deployments[dep_name] = {
            **dep_template,
            "name": dep_name,
            "status": "UPSCALING" if deploying else "HEALTHY",
            "target_num_replicas": target,
            "deployment_config": {**dep_template["deployment_config"], "name": dep_name},
            "replicas": replicas,
        }
    return {
        **recorded,
        "name": name,
        "route_prefix": f"/{name}",
        "status": "DEPLOYING" if deploying else "RUNNING",
        "last_deployed_time_s": now - rng.uniform(60, 86400),
        "deployments": deployments,
        "deployment_topology": {"app_name": name, "nodes": {}, "ingress_deployment": "Ingress"},
    }


def _replica(
    dep_template: dict, rng: random.Random, app: str, dep: str, workers: list[NodeSpec], now: float
) -> dict:
    node = rng.choice(workers)
    replica_id = "".join(rng.choices(string.ascii_lowercase, k=8))
    return {
        **dep_template["replicas"][0],
        "node_id": node.node_id,
        "node_ip": node.ip,
        "actor_id": rng.randbytes(16).hex(),
        "actor_name": f"SERVE_REPLICA::{app}#{dep}#{replica_id}",
        "worker_id": rng.randbytes(28).hex(),
        "log_file_path": f"/serve/replica_{app}_{dep}_{replica_id}.log",
        "replica_id": replica_id,
        "state": "RUNNING",
        "pid": rng.randint(2000, 60000),
        "start_time_s": now - rng.uniform(60, 86400),
    }


# -- the autoscaler's two answers ------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterTotals:
    """What one frame of the cluster adds up to."""

    active: dict[str, int]  # node type -> alive nodes
    cpu: tuple[float, float]
    gpu: tuple[float, float]
    memory: float
    store: tuple[float, float]


def cluster_totals(nodes: list[NodeSpec], moments: dict[str, NodeMoment]) -> ClusterTotals:
    alive = [n for n in nodes if n.alive]
    active: dict[str, int] = {}
    for node in alive:
        active[node.node_type] = active.get(node.node_type, 0) + 1
    return ClusterTotals(
        active=active,
        cpu=(sum(moments[n.node_id].cpu_used for n in alive), float(sum(n.cpus for n in alive))),
        gpu=(sum(moments[n.node_id].gpu_used for n in alive), float(sum(n.gpus for n in alive))),
        memory=float(sum(n.ray_memory for n in alive)),
        store=(
            float(sum(moments[n.node_id].store_used for n in alive)),
            float(sum(n.store_bytes for n in alive)),
        ),
    )


def _demand(gpus: int) -> dict[str, float]:
    """What a PENDING job waits for."""
    return {"CPU": 1.0, "GPU": float(gpus)} if gpus else {"CPU": 16.0}


def status_text(totals: ClusterTotals, failed: list[NodeSpec], pending: int, gpus: int) -> str:
    """The `ray status` text (autoscaler v1 layout, recorded in api_cluster_status_format1*)."""
    rule = "-" * 63
    lines = [f"======== Autoscaler status: {NOW_TOKEN} ========", "Node status", rule, "Active:"]
    lines += [f" {count} {name}" for name, count in totals.active.items()]
    lines += ["Pending:", " (no pending nodes)", "Recent failures:"]
    lines += [f" {n.node_type}: NodeTerminated (ip: {n.ip})" for n in failed] or [" (no failures)"]
    lines += ["", "Resources", rule, "Total Usage:", f" {totals.cpu[0]}/{totals.cpu[1]} CPU"]
    if totals.gpu[1]:
        lines.append(f" {totals.gpu[0]}/{totals.gpu[1]} GPU")
    lines.append(f" 0B/{fmt_bytes(totals.memory)} memory")
    lines.append(f" {fmt_bytes(totals.store[0])}/{fmt_bytes(totals.store[1])} object_store_memory")
    lines += ["", "From request_resources:", " (none)", "Pending Demands:"]
    if pending:
        lines.append(f" {_demand(gpus)}: {pending}+ pending tasks/actors")
    else:
        lines.append(" (no resource demands)")
    return "\n".join(lines)


def legacy_status(totals: ClusterTotals) -> str:
    """`autoscalingStatus`: the v1 monitor's own summary (recorded in api_cluster_status*)."""
    workers = {k: v for k, v in totals.active.items() if k != HEAD_TYPE}
    usage = f"{totals.cpu[0]}/{totals.cpu[1]} CPU"
    if totals.gpu[1]:
        usage += f", {totals.gpu[0]}/{totals.gpu[1]} GPU"
    lines = [
        f"Cluster status: {sum(totals.active.values())} nodes",
        " - NodeIdleSeconds: Min=0 Mean=0 Max=0",
        f" - ResourceUsage: {usage}, 0.0 GiB/{totals.memory / GIB:.2f} GiB memory",
        " - TimeSinceLastHeartbeat: Min=0 Mean=0 Max=0",
        "Worker node types:",
    ]
    return "\n".join(lines + [f" - {name}: {count}" for name, count in workers.items()])


def structured_status(
    t: Templates, nodes: list[NodeSpec], moments: dict[str, NodeMoment], pending: int
) -> dict:
    """`/api/cluster_status` (format=0), shaped like the recorded fake_active answer."""
    totals = cluster_totals(nodes, moments)
    alive = [n for n in nodes if n.alive]
    recorded = t.structured["data"]["clusterStatus"]
    report = {
        **recorded["autoscalerReport"],
        "activeNodes": {_camel(k): v for k, v in totals.active.items()},
        "failedNodes": [[n.ip, n.node_type] for n in nodes if n.failed],
        "nodeTypeMapping": {n.node_id: n.node_type for n in alive},
        "nodeAvailabilitySummary": {"nodeAvailabilities": {}},
    }
    usage = {
        "CPU": list(totals.cpu),
        "memory": [0.0, totals.memory],
        "objectStoreMemory": list(totals.store),
    }
    if totals.gpu[1]:
        usage["GPU"] = list(totals.gpu)
    by_node = {
        n.node_id: {
            "CPU": [moments[n.node_id].cpu_used, float(n.cpus)],
            "GPU": [moments[n.node_id].gpu_used, float(n.gpus)],
            "memory": [0.0, float(n.ray_memory)],
            f"node:{n.ip}": [0.0, 1.0],
        }
        for n in alive
    }
    gpus = alive[0].gpus if alive else 0
    load = {
        **recorded["loadMetricsReport"],
        "usage": usage,
        "usageByNode": by_node,
        "resourceDemand": [[_demand(gpus), pending]] if pending else [],
        "nodeTypes": [],
    }
    status = {**recorded, "time": NOW_TOKEN, "autoscalerReport": report, "loadMetricsReport": load}
    data = {
        "autoscalingStatus": legacy_status(totals),
        "autoscalingError": None,
        "clusterStatus": status,
    }
    return {"result": True, "msg": "Got cluster status.", "data": data}


# -- one generated cluster, encoded ----------------------------------------------------------------


@dataclass
class Encoded:
    """Every answer of one cluster state, as bytes ready to send."""

    node_frames: list[bytes]
    status_text: list[list[bytes]]  # split at NOW_TOKEN: joined with the time of the request
    status_structured: list[list[bytes]]
    hostnames: bytes
    serve: bytes
    serve_declarative: bytes
    actors: list[tuple[bytes, bytes]]
    actor_summary: bytes
    task_summary: bytes
    version: bytes


def encode_nodes(
    t: Templates, nodes: list[NodeSpec], session: str, rng: random.Random, now: float
) -> tuple[list[bytes], list[dict[str, NodeMoment]]]:
    """FRAMES variants of the node summary, and each frame's per-node moments."""
    alive = [n for n in nodes if n.alive]
    head_ip = alive[0].ip if alive else "10.0.0.1"
    prefixes = {n.node_id: static_node_json(t, n, head_ip, session) for n in alive}
    dead = [dead_node_json(t, n) for n in nodes if not n.alive]
    frames, all_moments = [], []
    for k in range(FRAMES):
        moments = {n.node_id: node_moment(n, rng, now - k * 0.5) for n in alive}
        items = [prefixes[n.node_id] + moments[n.node_id].tail for n in alive] + dead
        logical = {node_id: m.logical for node_id, m in moments.items()}
        body = (
            '{"result": true, "msg": "Node summary fetched.", "data": {"summary": ['
            + ", ".join(items)
            + '], "nodeLogicalResources": '
            + json.dumps(logical)
            + "}}"
        )
        frames.append(body.encode())
        all_moments.append(moments)
    return frames, all_moments


# -- the server ------------------------------------------------------------------------------------


def section_of(path: str) -> str | None:
    if path.startswith("/nodes"):
        return "nodes"
    if path.startswith("/api/cluster_status"):
        return "autoscaler"
    if path.startswith("/api/jobs/") and path.endswith("/logs/tail"):
        return "tail"
    if path.startswith(("/api/jobs", "/api/packages")):
        return "jobs"
    if path.startswith("/api/serve"):
        return "serve"
    if path.startswith("/api/v0"):
        return "actors"
    if path in ("/api/version", "/api/authentication_mode", "/api/gcs_healthz"):
        return "version"
    return None


WRONG_TYPES: dict[str, Any] = {
    "nodes": {
        "result": True,
        "msg": "Node summary fetched.",
        "data": {"summary": {"a": 1, "cpu": "lots"}, "nodeLogicalResources": []},
    },
    "autoscaler": {"result": True, "msg": "Got cluster status.", "data": []},
    "jobs": [
        {
            "type": 5,
            "job_id": 7,
            "submission_id": ["raysubmit_x"],
            "status": 5,
            "entrypoint": {},
            "start_time": "yesterday",
            "end_time": [],
            "metadata": [],
            "runtime_env": "none",
        }
    ],
    "job": [],
    "logs": {"logs": 5},
    "serve": {"applications": [], "controller_info": "yes", "proxies": 3, "http_options": 8000},
    "version": {"version": 4, "ray_version": 2.6, "ray_commit": [], "session_name": None},
    "actors": {"result": "yes", "msg": 5, "data": {"result": {"total": "many", "result": {}}}},
}


def _wrong_types_key(section: str, request: web.Request) -> str:
    if section != "jobs" or request.path == "/api/jobs/":
        return section
    return "logs" if request.path.endswith("/logs") else "job"


class ReplayServer:
    """A Ray 2.60 dashboard of any size on loopback (see the module docstring).

    Use `with ReplayServer(nodes=1000, gpus=8, jobs=10000) as server:` and talk to `server.url`.
    """

    def __init__(
        self,
        *,
        nodes: int = 10,
        gpus: int = 0,
        jobs: int = 100,
        actors: int = 50,
        serve_apps: int = 2,
        dead_fraction: float = 0.02,
        delay: float = 0.0,
        error_rate: float = 0.0,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        log_interval: float = 0.5,
        submit_run_s: float = 3.0,
    ) -> None:
        if nodes < 1:
            raise ValueError("nodes must be at least 1 (the head)")
        started = time.perf_counter()
        self.host, self.port = host, port
        self.gpus, self.actor_count, self.serve_apps = gpus, actors, serve_apps
        self.log_interval, self.submit_run_s = log_interval, submit_run_s
        self.delay, self.error_rate = float(delay), float(error_rate)
        self.url = ""
        self.requests: Counter[str] = Counter()
        self._rng = random.Random(seed)
        self._fault_rng = random.Random(seed + 1)
        self._faults: dict[str, str] = {}
        self._turns: Counter[str] = Counter()
        self._sockets: set[web.WebSocketResponse] = set()
        self._packages: set[str] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._stopping = False
        now = time.time()
        self.session_name = _session_name(self._rng, now)
        self._nodes = make_nodes(self._rng, nodes, gpus, dead_fraction, now)
        self._job_counter = 0
        self._jobs: dict[str, JobSpec] = {}
        self._by_id: dict[str, JobSpec] = {}
        self._job_bytes: dict[str, bytes] = {}
        self._jobs_body: bytes | None = None
        self._live: list[JobSpec] = []  # submitted jobs that will SUCCEED
        made = [
            make_job(self._rng, status, self._head(), now, log_interval)
            for status in job_statuses(jobs, self._rng)
        ]
        for job in sorted(made, key=lambda j: j.start_ms):  # ids count up in start order
            self._add_job(job)
        self._encoded = self._encode(now)
        self.generation_s = time.perf_counter() - started

    # -- public API --------------------------------------------------------------------------------

    def start(self) -> str:
        """Serve in a thread of its own; returns the base URL once the server answers."""
        if self._thread is not None:
            return self.url
        ready = threading.Event()
        errors: list[BaseException] = []
        self._stopping = False
        self._thread = threading.Thread(
            target=self._serve, args=(ready, errors), name="replay-server", daemon=True
        )
        self._thread.start()
        ready.wait(60)
        if errors:
            self._thread.join()
            self._thread = None
            raise errors[0]
        self._wait_until_answering()
        return self.url

    def stop(self) -> None:
        """Close every websocket, stop serving and join the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._close(), loop).result(timeout=60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=60)
        self._thread = None
        self._loop = None

    def __enter__(self) -> ReplayServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_fault(self, section: str, kind: str | None) -> None:
        """Make `section` (or "all") answer with fault `kind` from now on; None clears it."""
        if section not in (*SECTIONS, "all"):
            raise ValueError(f"unknown section {section!r}: one of {', '.join(SECTIONS)}, all")
        if kind is not None and kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}: one of {', '.join(FAULTS)}")
        if kind == "restart":
            self.restart_session()
            return
        self._on_loop(self._apply_fault, section, kind)

    def set_delay(self, seconds: float) -> None:
        """Delay every answer (not /_replay/*) by `seconds` from now on."""
        self.delay = max(0.0, float(seconds))

    def restart_session(self) -> None:
        """The dashboard restarts (what this models: see the module docstring)."""
        self._on_loop(self._restart)

    @property
    def open_websockets(self) -> int:
        return len(self._sockets)

    @property
    def faults(self) -> dict[str, str]:
        return dict(self._faults)

    def job_ids(self, status: str | None = None) -> list[str]:
        """Ids to ask /api/jobs/{id} with (submission_id, or job_id of DRIVER jobs)."""
        return self._on_loop(self._job_ids, status)

    def node_ids(self, state: str | None = None) -> list[str]:
        """Node ids in the summary, head first; state "ALIVE" or "DEAD" to pick."""
        return self._on_loop(self._node_ids, state)

    def sizes(self) -> dict[str, int]:
        """Bytes of each big answer (frame 0), for benchmarks' reports."""
        return self._on_loop(self._sizes)

    def _sizes(self) -> dict[str, int]:
        enc = self._encoded
        return {
            "/nodes?view=summary": len(enc.node_frames[0]),
            "/api/jobs/": len(self._jobs_list()),
            "/api/cluster_status": len(b"".join(enc.status_structured[0])),
            "/api/cluster_status?format=1": len(b"".join(enc.status_text[0])),
            "/api/serve/applications/": len(enc.serve),
            "/api/v0/actors?limit=10000&detail=true": len(self._actors_body(MAX_STATE_LIMIT, True)),
        }

    # -- thread and loop ---------------------------------------------------------------------------

    def _serve(self, ready: threading.Event, errors: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._open())
        except BaseException as exc:  # handed to start(), which raises it
            errors.append(exc)
            ready.set()
            loop.close()
            return
        self._loop = loop
        ready.set()
        try:
            loop.run_forever()
        finally:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    async def _open(self) -> None:
        app = web.Application(middlewares=[self._middleware], client_max_size=100 * 2**20)
        self._add_routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://{self.host}:{port}"

    async def _close(self) -> None:
        self._stopping = True
        for ws in list(self._sockets):
            await ws.close(code=1001, message=b"replay stopped")
        if self._runner is not None:
            await self._runner.cleanup()

    def _wait_until_answering(self) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + 10
        while True:
            try:
                with opener.open(self.url + "/_replay/stats", timeout=2) as answer:
                    answer.read()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def _on_loop(self, fn: Any, *args: Any) -> Any:
        """Run `fn` on the server's loop (its state lives there) and wait for its result."""
        loop = self._loop
        if loop is None or not loop.is_running() or threading.current_thread() is self._thread:
            return fn(*args)

        async def call() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(call(), loop).result(timeout=120)

    def _add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/api/version", self._version)
        r.add_get("/api/authentication_mode", self._auth_mode)
        r.add_get("/api/gcs_healthz", self._healthz)
        r.add_get("/nodes", self._nodes_view)
        r.add_get("/api/cluster_status", self._cluster_status)
        r.add_get("/api/jobs/", self._list_jobs)
        r.add_post("/api/jobs/", self._submit_job)
        r.add_get("/api/jobs/{job_id}", self._get_job)
        r.add_delete("/api/jobs/{job_id}", self._delete_job)
        r.add_get("/api/jobs/{job_id}/logs", self._job_logs)
        r.add_get("/api/jobs/{job_id}/logs/tail", self._tail)
        r.add_post("/api/jobs/{job_id}/stop", self._stop_job)
        r.add_get("/api/serve/applications/", self._serve_apps)
        r.add_get("/api/v0/actors", self._actors)
        r.add_get("/api/v0/actors/summarize", self._actor_summary)
        r.add_get("/api/v0/tasks/summarize", self._task_summary)
        r.add_get("/api/packages/{protocol}/{name}", self._package_get)
        r.add_put("/api/packages/{protocol}/{name}", self._package_put)
        r.add_post("/_replay/fault", self._control_fault)
        r.add_post("/_replay/restart", self._control_restart)
        r.add_post("/_replay/delay", self._control_delay)
        r.add_get("/_replay/stats", self._control_stats)

    # -- delay, errors and faults ------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/_replay/"):
            return await handler(request)
        self.requests[request.path] += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.error_rate and self._fault_rng.random() < self.error_rate:
            return self._http500()
        section = section_of(request.path)
        if section is None or section == "tail":  # the tail applies its own faults
            return await handler(request)
        kind = await self._fault_after_hang(section)
        if kind is None or kind == "hang":
            return await handler(request)
        return await self._faulty(section, kind, request, handler)

    async def _faulty(
        self, section: str, kind: str, request: web.Request, handler: Any
    ) -> web.Response:
        """The answer of a section with fault `kind` (not hang: that one only waits)."""
        if kind == "http500":
            return self._http500()
        if kind == "html":
            return web.Response(text=HTML_PAGE, content_type="text/html")
        if kind == "wrong_types":
            return self._bytes(_json(WRONG_TYPES[_wrong_types_key(section, request)]))
        answer = await handler(request)  # truncated or empty: the real answer, cut
        body = answer.body if isinstance(answer, web.Response) else b""
        body = bytes(body) if isinstance(body, (bytes, bytearray, memoryview)) else b""
        cut = body[: len(body) // 2] if kind == "truncated" else b""
        return web.Response(body=cut, content_type=answer.content_type or "application/json")

    async def _fault_after_hang(self, section: str) -> str | None:
        """The section's fault; a hang first waits until it is cleared or HANG_S pass."""
        deadline = time.monotonic() + HANG_S
        while (
            self._faults.get(section) == "hang"
            and not self._stopping
            and time.monotonic() < deadline
        ):
            await asyncio.sleep(0.05)
        return self._faults.get(section)

    def _apply_fault(self, section: str, kind: str | None) -> None:
        for name in SECTIONS if section == "all" else (section,):
            if kind is None:
                self._faults.pop(name, None)
            else:
                self._faults[name] = kind

    def _http500(self) -> web.Response:
        return web.Response(status=500, text=traceback_text(self._head().ip))

    @staticmethod
    def _bytes(body: bytes, content_type: str = "application/json") -> web.Response:
        return web.Response(body=body, content_type=content_type)

    def _turn(self, name: str) -> int:
        """Which frame this request gets: each request of an endpoint takes the next one."""
        self._turns[name] += 1
        return self._turns[name] % FRAMES

    # -- generation and encoding -------------------------------------------------------------------

    def _head(self) -> NodeSpec:
        return next((n for n in self._nodes if n.alive and n.is_head), self._nodes[0])

    def _alive(self) -> list[NodeSpec]:
        return [n for n in self._nodes if n.alive]

    def _encode(self, now: float) -> Encoded:
        t = templates()
        frames, moments = encode_nodes(t, self._nodes, self.session_name, self._rng, now)
        pending = sum(1 for j in self._jobs.values() if j.status == "PENDING")
        failed = [n for n in self._nodes if n.failed]
        texts, structured = [], []
        for frame in moments:
            text = status_text(cluster_totals(self._nodes, frame), failed, pending, self.gpus)
            data = {"clusterStatus": text}
            envelope = {"result": True, "msg": "Got formatted cluster status.", "data": data}
            texts.append(_json(envelope).split(NOW_TOKEN.encode()))
            status = structured_status(t, self._nodes, frame, pending)
            structured.append(_json(status).split(f'"{NOW_TOKEN}"'.encode()))
        alive = self._alive()
        running = [j.job_id for j in self._jobs.values() if j.status == "RUNNING" and j.job_id]
        actors = make_actors(t, self._rng, self.actor_count, alive, running)
        serve = make_serve(t, self._rng, self.serve_apps, self._nodes, now)
        return Encoded(
            node_frames=frames,
            status_text=texts,
            status_structured=structured,
            hostnames=_json(
                {
                    "result": True,
                    "msg": "Node hostname list fetched.",
                    "data": {"hostNameList": [n.hostname for n in alive]},
                }
            ),
            serve=_json(serve),
            serve_declarative=_json({**serve, "applications": {}}),
            actors=actors,
            actor_summary=_json(actor_summary(actors)),
            task_summary=_json(task_summary(t, max(1, len(alive)))),
            version=_json({**t.version, "session_name": self.session_name}),
        )

    def _restart(self) -> None:
        now = time.time()
        self.session_name = _session_name(self._rng, now)
        ids = {n.node_id for n in self._nodes}
        reborn = []
        for node in self._nodes:
            node.failed = False  # a new autoscaler: no recent failures
            if node.alive:
                new_id = _new_node_id(self._rng, ids)
                reborn.append(replace(node, node_id=new_id, start_ms=int(now * 1000)))
                _kill(node, now, "UNEXPECTED_TERMINATION", "the head node restarted")
        dead = [n for n in self._nodes if not n.alive]
        dead = sorted(dead, key=lambda n: -n.end_ms)[:MAX_DEAD_NODES]  # Ray evicts the oldest
        self._nodes = reborn + dead
        self._restart_jobs(now)
        self._encoded = self._encode(now)

    def _restart_jobs(self, now: float) -> None:
        lost = [j for j in self._jobs.values() if j.status in ("PENDING", "RUNNING")]
        for job in lost:
            self._finish(job, "FAILED", now)
            job.error_type = "JOB_SUPERVISOR_ACTOR_DIED"
            job.message = "Job supervisor actor died unexpectedly: the head node restarted."
            self._encode_job(job)
        for _ in range(max(1, len(lost))):
            job = make_job(self._rng, "RUNNING", self._head(), now, self.log_interval)
            job.start_ms, job.log_t0 = int(now * 1000), now
            self._add_job(job)
        self._live.clear()

    # -- jobs --------------------------------------------------------------------------------------

    def _add_job(self, job: JobSpec) -> None:
        """Number the job (Ray's JobID counter; not while PENDING) and list it."""
        if job.status != "PENDING" and job.job_id is None:
            self._job_counter += 1
            job.job_id = _job_hex(self._job_counter)
        job.key = job.submission_id or job.job_id or ""
        self._jobs[job.key] = job
        self._encode_job(job)

    def _encode_job(self, job: JobSpec) -> None:
        for key in (job.key, job.job_id, job.submission_id):
            if key:
                self._by_id[key] = job
        self._job_bytes[job.key] = _json(job.as_dict())
        self._jobs_body = None

    def _jobs_list(self) -> bytes:
        if self._jobs_body is None:
            self._jobs_body = b"[" + b", ".join(self._job_bytes[k] for k in self._jobs) + b"]"
        return self._jobs_body

    def _job_ids(self, status: str | None) -> list[str]:
        self._settle_jobs()
        return [j.key for j in self._jobs.values() if status is None or j.status == status]

    def _node_ids(self, state: str | None) -> list[str]:
        alive = state in (None, "ALIVE")
        dead = state in (None, "DEAD")
        return [n.node_id for n in self._nodes if (n.alive and alive) or (not n.alive and dead)]

    def _settle_jobs(self) -> None:
        """Submitted jobs whose time is up SUCCEED."""
        now = time.time()
        for job in [j for j in self._live if j.ends_at is not None and j.ends_at <= now]:
            self._live.remove(job)
            if job.status == "RUNNING":
                self._finish(job, "SUCCEEDED", job.ends_at or now)
                self._encode_job(job)

    def _finish(self, job: JobSpec, status: str, when: float) -> None:
        job.status, job.end_ms, job.message = status, int(when * 1000), MESSAGES[status]
        job.exit_code = {"SUCCEEDED": 0, "STOPPED": -15}.get(status, 1)
        if job.log_t0 is None:
            job.fixed_lines = 0
        if status == "FAILED":
            job.error_type = "JOB_ENTRYPOINT_COMMAND_ERROR"

    def _job(self, request: web.Request) -> JobSpec:
        self._settle_jobs()
        job_id = request.match_info["job_id"]
        job = self._by_id.get(job_id)
        if job is None:
            raise web.HTTPNotFound(text=f"Job {job_id} does not exist")
        return job

    def log_count(self, job: JobSpec, now: float) -> int:
        """Lines of the job's log written by `now` (the tail and /logs agree on it)."""
        if job.log_t0 is None:
            return job.fixed_lines
        until = job.end_ms / 1000 if job.end_ms else now
        return len(templates().log_lines) + int(max(0.0, until - job.log_t0) / self.log_interval)

    def log_text(self, job: JobSpec, start: int, stop: int) -> str:
        t = templates()
        return "".join(log_line(t, job, i) + "\n" for i in range(start, stop))

    # -- handlers: cluster -------------------------------------------------------------------------

    async def _version(self, request: web.Request) -> web.Response:
        return self._bytes(self._encoded.version)

    async def _auth_mode(self, request: web.Request) -> web.Response:
        return self._bytes(b'{"authentication_mode": "disabled"}')

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="success")

    async def _nodes_view(self, request: web.Request) -> web.Response:
        view = request.query.get("view", "")
        if view == "summary":
            return self._bytes(self._encoded.node_frames[self._turn("nodes")])
        if view == "hostNameList":
            return self._bytes(self._encoded.hostnames)
        body = {"result": False, "msg": f"Unknown view {view}", "data": {}}
        return web.Response(status=500, body=_json(body), content_type="application/json")

    async def _cluster_status(self, request: web.Request) -> web.Response:
        frame = self._turn("autoscaler")
        if request.query.get("format") == "1":
            parts = self._encoded.status_text[frame]
            return self._bytes(_ray_time(time.time()).encode().join(parts))
        parts = self._encoded.status_structured[frame]
        return self._bytes(repr(time.time()).encode().join(parts))

    async def _serve_apps(self, request: web.Request) -> web.Response:
        if request.query.get("api_type") == "declarative":
            return self._bytes(self._encoded.serve_declarative)
        return self._bytes(self._encoded.serve)

    async def _actors(self, request: web.Request) -> web.Response:
        try:
            limit = int(request.query.get("limit", "100"))
        except ValueError:
            limit = -1
        if not 0 <= limit <= MAX_STATE_LIMIT:
            msg = f"Given limit {limit} exceeds the supported limit {MAX_STATE_LIMIT}."
            body = _json({"result": False, "msg": msg, "data": {}})
            return web.Response(status=400, body=body, content_type="application/json")
        detail = request.query.get("detail", "false").lower() in ("true", "1")
        keys = request.query.getall("filter_keys", [])
        predicates = request.query.getall("filter_predicates", [])
        values = request.query.getall("filter_values", [])
        if (
            any(k != "state" for k in keys)
            or any(p not in ("=", "!=") for p in predicates)
            or not len(keys) == len(predicates) == len(values)
        ):
            msg = "the replayer filters actors by state only (=, !=), as parallel filter_* params"
            body = _json({"result": False, "msg": msg, "data": {}})
            return web.Response(status=400, body=body, content_type="application/json")
        wanted = list(zip(predicates, (v.upper() for v in values), strict=True))
        return self._bytes(self._actors_body(limit, detail, wanted))

    def _actors_body(
        self, limit: int, detail: bool, states: list[tuple[str, str]] | None = None
    ) -> bytes:
        """Like Ray: filter (by state here), then cut at `limit`; `num_filtered` says how many
        matched, `total` how many there are."""
        matched = self._encoded.actors
        for predicate, value in states or ():
            marker = f'"state": "{value}"'.encode()
            same = predicate == "="
            matched = [row for row in matched if (marker in row[0]) == same]
        rows = [row[1] if detail else row[0] for row in matched[:limit]]
        total = len(self._encoded.actors)
        head = (
            f'{{"result": true, "msg": "", "data": {{"result": {{"total": {total}, '
            f'"num_after_truncation": {total}, "num_filtered": {len(matched)}, "result": ['
        )
        tail = b'], "partial_failure_warning": "", "warnings": null}}}'
        return head.encode() + b", ".join(rows) + tail

    async def _actor_summary(self, request: web.Request) -> web.Response:
        return self._bytes(self._encoded.actor_summary)

    async def _task_summary(self, request: web.Request) -> web.Response:
        return self._bytes(self._encoded.task_summary)

    async def _package_get(self, request: web.Request) -> web.Response:
        if request.match_info["name"] in self._packages:
            return web.Response(text="")
        return web.Response(status=404, text="Package not found.")

    async def _package_put(self, request: web.Request) -> web.Response:
        await request.read()
        self._packages.add(request.match_info["name"])
        return web.Response(text="")

    # -- handlers: jobs ----------------------------------------------------------------------------

    async def _list_jobs(self, request: web.Request) -> web.Response:
        self._settle_jobs()
        return self._bytes(self._jobs_list())

    async def _get_job(self, request: web.Request) -> web.Response:
        return self._bytes(self._job_bytes[self._job(request).key])

    async def _job_logs(self, request: web.Request) -> web.Response:
        job = self._job(request)
        if job.type == "DRIVER":
            raise web.HTTPBadRequest(text="Can only get logs of submission type jobs")
        text = self.log_text(job, 0, self.log_count(job, time.time()))
        return self._bytes(_json({"logs": text}))

    async def _submit_job(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="Failed to parse request body as JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("entrypoint"), str):
            raise web.HTTPBadRequest(text="TypeError: missing required argument 'entrypoint'")
        submission_id = body.get("submission_id") or _submission_id(self._rng)
        if submission_id in self._by_id:
            raise web.HTTPBadRequest(text=f"Job with submission_id {submission_id} already exists.")
        self._add_job(self._new_submission(str(submission_id), body))
        payload = {"job_id": submission_id, "submission_id": submission_id}
        return self._bytes(_json(payload))

    def _new_submission(self, submission_id: str, body: dict) -> JobSpec:
        now = time.time()
        head = self._head()
        job = JobSpec(
            key=submission_id,
            job_id=None,
            submission_id=submission_id,
            type="SUBMISSION",
            status="RUNNING",
            workload="custom",
            entrypoint=body["entrypoint"],
            start_ms=int(now * 1000),
            end_ms=None,
            driver_node_id=head.node_id,
            driver_ip=head.ip,
            pid=self._rng.randint(2000, 60000),
            metadata={str(k): str(v) for k, v in (body.get("metadata") or {}).items()},
            runtime_env=body.get("runtime_env") or {},
            message=MESSAGES["RUNNING"],
            log_t0=now,
            ends_at=now + self.submit_run_s,
        )
        self._live.append(job)
        return job

    async def _stop_job(self, request: web.Request) -> web.Response:
        job = self._job(request)
        if job.status in TERMINAL:
            return self._bytes(b'{"stopped": false}')
        self._finish(job, "STOPPED", time.time())
        if job in self._live:
            self._live.remove(job)
        self._encode_job(job)
        return self._bytes(b'{"stopped": true}')

    async def _delete_job(self, request: web.Request) -> web.Response:
        job = self._job(request)
        if job.status not in TERMINAL:
            raise web.HTTPBadRequest(
                text=f"Attempted to delete job '{job.key}', but it is in a non-terminal state "
                f"{job.status}."
            )
        del self._jobs[job.key], self._job_bytes[job.key]
        for key in (job.key, job.job_id, job.submission_id):
            self._by_id.pop(key or "", None)
        self._jobs_body = None
        return self._bytes(b'{"deleted": true}')

    # -- the log tail websocket --------------------------------------------------------------------

    async def _tail(self, request: web.Request) -> web.StreamResponse:
        job = self._job(request)
        if job.type == "DRIVER":
            raise web.HTTPBadRequest(text="Can only get logs of submission type jobs")
        kind = await self._fault_after_hang("tail")
        if kind == "http500":
            return self._http500()
        if kind == "html":
            return web.Response(text=HTML_PAGE, content_type="text/html")
        ws = web.WebSocketResponse(compress=False, max_msg_size=0)
        try:
            await ws.prepare(request)
        except ConnectionResetError:  # the client gave up while the tail hung
            return ws
        self._sockets.add(ws)
        writer = asyncio.create_task(self._tail_writer(ws, job, kind, request))
        try:
            async for _message in ws:  # answers pings and the client's close
                pass
        finally:
            writer.cancel()
            self._sockets.discard(ws)
        return ws

    async def _tail_writer(
        self, ws: web.WebSocketResponse, job: JobSpec, kind: str | None, request: web.Request
    ) -> None:
        """Replay the log from its start in chunks of <= 10 lines, follow it while the job runs,
        close once it is terminal and read to its end (like Ray's file_tail_iterator)."""
        try:
            sent = 0
            while kind != "empty":
                self._settle_jobs()
                terminal = job.status in TERMINAL  # read before the count: then the count is final
                count = self.log_count(job, time.time())
                if kind == "truncated":
                    await self._send_lines(ws, job, 0, max(1, count // 2), kind)
                    if request.transport is not None:
                        request.transport.close()  # a drop: no close frame
                    return
                await self._send_lines(ws, job, sent, count, kind)
                sent = count
                if terminal:
                    break
                await asyncio.sleep(self._next_line_in(job))
            await ws.close()
        except (ConnectionError, RuntimeError):
            return  # the client went away

    async def _send_lines(
        self, ws: web.WebSocketResponse, job: JobSpec, start: int, stop: int, kind: str | None
    ) -> None:
        for first in range(start, stop, TAIL_CHUNK_LINES):
            chunk = self.log_text(job, first, min(stop, first + TAIL_CHUNK_LINES))
            if kind == "wrong_types":
                await ws.send_bytes(chunk.encode("utf-16"))
            else:
                await ws.send_str(chunk)

    def _next_line_in(self, job: JobSpec) -> float:
        if job.log_t0 is None:
            return self.log_interval
        elapsed = time.time() - job.log_t0
        return self.log_interval - elapsed % self.log_interval + 0.001

    # -- handlers: /_replay control ----------------------------------------------------------------

    async def _control_fault(self, request: web.Request) -> web.Response:
        section = request.query.get("section", "all")
        kind = request.query.get("kind") or None
        try:
            self.set_fault(section, None if kind == "none" else kind)
        except ValueError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        return self._bytes(_json({"faults": self._faults}))

    async def _control_restart(self, request: web.Request) -> web.Response:
        self._restart()
        return self._bytes(_json({"session_name": self.session_name}))

    async def _control_delay(self, request: web.Request) -> web.Response:
        try:
            self.set_delay(float(request.query.get("seconds", "0")))
        except ValueError:
            raise web.HTTPBadRequest(text="seconds must be a number") from None
        return self._bytes(_json({"delay": self.delay}))

    async def _control_stats(self, request: web.Request) -> web.Response:
        stats = {
            "requests": dict(self.requests),
            "open_websockets": self.open_websockets,
            "faults": self._faults,
            "delay": self.delay,
            "error_rate": self.error_rate,
            "session_name": self.session_name,
            "nodes": len(self._nodes),
            "jobs": len(self._jobs),
        }
        return self._bytes(_json(stats))


# -- command line ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=10, help="head + N-1 workers")
    parser.add_argument("--gpus", type=int, default=0, help="GPUs per node")
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--actors", type=int, default=50)
    parser.add_argument("--serve-apps", type=int, default=2)
    parser.add_argument("--dead-fraction", type=float, default=0.02)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before every answer")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of answers as 500s")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log-interval", type=float, default=0.5)
    parser.add_argument("--sizes", action="store_true", help="print sizes and timings, then exit")
    return parser.parse_args(argv)


def describe(server: ReplayServer, args: argparse.Namespace) -> str:
    alive = len(server.node_ids("ALIVE"))
    return (
        f"{args.nodes} nodes ({alive} alive), {args.gpus} GPUs per node, {args.jobs} jobs, "
        f"{args.actors} actors, {args.serve_apps} serve apps; {server.session_name}"
    )


def print_sizes(server: ReplayServer, args: argparse.Namespace) -> None:
    print(f"replay sizes: {describe(server, args)}")
    print(f"  generated and encoded in {server.generation_s:.2f} s")
    for path, size in server.sizes().items():
        print(f"  {path:<42} {size:>12,} bytes ({fmt_bytes(size)})")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    server = ReplayServer(
        nodes=args.nodes,
        gpus=args.gpus,
        jobs=args.jobs,
        actors=args.actors,
        serve_apps=args.serve_apps,
        dead_fraction=args.dead_fraction,
        delay=args.delay,
        error_rate=args.error_rate,
        seed=args.seed,
        host=args.host,
        port=args.port,
        log_interval=args.log_interval,
    )
    if args.sizes:
        print_sizes(server, args)
        return 0
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    url = server.start()
    print(f"replay: {url} ({describe(server, args)})", flush=True)
    while not done.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
