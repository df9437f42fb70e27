"""Raw dashboard answers -> models. Tolerant: a missing or new field never raises; a payload of the
wrong shape raises BadResponse with what was wrong, so the poller can mark the section stale."""

from __future__ import annotations

import math
import re
from typing import Any

from raycockpit.cockpit.errors import BadResponse, preview
from raycockpit.cockpit.models import (
    AutoscalerStatus,
    Gpu,
    GpuProcess,
    Job,
    Node,
    PendingNode,
    ServeApp,
    ServeDeployment,
    ServeReplica,
    ServeStatus,
    Usage,
)

_UNITS = {
    "B": 1,
    "KiB": 2**10,
    "MiB": 2**20,
    "GiB": 2**30,
    "TiB": 2**40,
    "PiB": 2**50,
    "KB": 1e3,
    "MB": 1e6,
    "GB": 1e9,
    "TB": 1e12,
}
_USAGE_RE = re.compile(
    r"^\s*(?P<used>[\d.]+(?:e[+-]?\d+)?)\s*(?P<uu>[KMGTP]?i?B)?\s*/\s*"
    r"(?P<total>[\d.]+(?:e[+-]?\d+)?)\s*(?P<tu>[KMGTP]?i?B)?\s+(?P<name>\S+)"
)


# -- small tolerant readers ------------------------------------------------------------------


def _num(value: Any, default: float | None = None) -> float | None:
    """A finite number, else `default` (bools, junk, NaN and infinities are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return default
    try:
        number = float(value)
    except (ValueError, OverflowError):  # "junk", or an int too large for a float (10**400)
        return default
    return number if math.isfinite(number) else default


def _int(value: Any, default: int | None = None) -> int | None:
    number = _num(value)
    return default if number is None else int(number)


def _str(value: Any) -> str:
    """Text as is, a number as its digits; "" for None and for objects and lists (never their repr:
    it can be huge, too deep to print, or hold an int too long to print)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        try:
            return str(value)
        except ValueError:  # an int longer than Python prints (sys.get_int_max_str_digits)
            return ""
    return ""


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _usage(name: str, used: float | None, total: float | None) -> Usage | None:
    """A Usage of finite numbers, else None (a sum or a unit can overflow to inf)."""
    if used is None or total is None or not (math.isfinite(used) and math.isfinite(total)):
        return None
    return Usage(name, used, total)


def _pair(value: Any) -> tuple[float, float] | None:
    if isinstance(value, (list, tuple)) and len(value) >= 2:
        a, b = _num(value[0]), _num(value[1])
        if a is not None and b is not None:
            return a, b
    return None


# -- usage strings ("0.0/2.0 CPU", "0B/16.13GiB memory") ------------------------------------


def parse_usage_line(line: str) -> Usage | None:
    match = _USAGE_RE.match(line)
    if not match:
        return None
    try:
        used = float(match["used"]) * _UNITS.get(match["uu"] or "B", 1)
        total = float(match["total"]) * _UNITS.get(match["tu"] or "B", 1)
    except ValueError:  # "1.2.3/4 CPU", "./2 CPU"
        return None
    return _usage(match["name"], used, total)  # "1e999/2 CPU" is no usage


def parse_usage_block(text: str) -> dict[str, Usage]:
    out = {}
    for line in (text or "").splitlines():
        usage = parse_usage_line(line)
        if usage is not None:
            out[usage.name] = usage
    return out


# -- nodes and GPUs (RAY_API.md 1.1) ---------------------------------------------------------


def parse_gpu(raw: Any, node_id: str, host: str) -> Gpu | None:
    if not isinstance(raw, dict):
        return None
    index = _int(raw.get("index"))
    if index is None:
        return None
    utilization = _num(raw.get("utilizationGpu"))
    if utilization is not None and utilization < 0:
        utilization = None  # -1 means unknown
    power_mw = _num(raw.get("powerMw"))
    temperature = _num(raw.get("temperatureC"))
    return Gpu(
        node_id=node_id,
        node_host=host,
        index=index,
        name=_str(raw.get("name")) or "GPU",
        uuid=_str(raw.get("uuid")),
        utilization=utilization,
        memory_used_mb=_num(raw.get("memoryUsed"), 0.0) or 0.0,
        memory_total_mb=_num(raw.get("memoryTotal"), 0.0) or 0.0,
        temperature_c=temperature if temperature is not None and temperature >= 0 else None,
        power_w=power_mw / 1000 if power_mw is not None and power_mw >= 0 else None,
        processes=len(_list(raw.get("processesPids"))),
        procs=parse_gpu_processes(raw.get("processesPids")),
    )


def parse_gpu_processes(raw: Any) -> tuple[GpuProcess, ...] | None:
    """`processesPids` -> the processes on a GPU (None: not listed, so unknown)."""
    if not isinstance(raw, list):
        return None
    out = []
    for entry in raw:
        pid = _int(entry.get("pid")) if isinstance(entry, dict) else None
        if pid is None:
            continue
        util = _num(entry.get("gpuUtilization"))
        out.append(
            GpuProcess(
                pid,
                _num(entry.get("gpuMemoryUsage"), 0.0) or 0.0,
                util if util is not None and util >= 0 else None,
            )
        )
    return tuple(out)


def _port(value: Any) -> int | None:
    return value if isinstance(value, int) and 0 < value < 65536 else None


def parse_node(raw: Any, logical_text: str = "") -> Node | None:
    if not isinstance(raw, dict):
        return None
    raylet = _dict(raw.get("raylet"))
    node_id = _str(raylet.get("nodeId"))
    if not node_id:
        return None
    host = _str(raw.get("hostname")) or _str(raylet.get("nodeManagerHostname"))
    ip = _str(raw.get("ip")) or _str(raylet.get("nodeManagerAddress"))
    resources = {
        k: v for k, v in _dict(raylet.get("resourcesTotal")).items() if _num(v) is not None
    }
    logical = parse_usage_block(logical_text)

    mem = _list(raw.get("mem"))
    memory = None
    if len(mem) >= 2 and _num(mem[0]) and _num(mem[1]) is not None:
        total, available = float(_num(mem[0])), float(_num(mem[1]))
        memory = _usage("host_memory", total - available, total)

    store_used = _num(raylet.get("objectStoreUsedMemory"))
    store_avail = _num(raylet.get("objectStoreAvailableMemory"))
    object_store = None
    store_total = _num(resources.get("objectStoreMemory"), 0.0) or 0.0
    if store_used is not None and store_avail is not None and store_used + store_avail > 0:
        object_store = _usage("object_store_memory", store_used, store_used + store_avail)
    elif "object_store_memory" in logical:
        object_store = logical["object_store_memory"]
    elif store_total:
        object_store = Usage(
            "object_store_memory", store_used or 0.0, store_total
        )  # stats not in yet

    disk = None
    disks = _dict(raw.get("disk"))
    root = _dict(disks.get("/")) or (_dict(next(iter(disks.values()))) if disks else {})
    if _num(root.get("total")):
        disk = Usage("disk", _num(root.get("used"), 0.0) or 0.0, float(_num(root.get("total"))))

    cpu_logical = logical.get("CPU")
    if cpu_logical is None and _num(resources.get("CPU")) is not None:
        cpu_logical = Usage("CPU", 0.0, float(_num(resources["CPU"])))  # usage unknown, total known
    gpu_logical = logical.get("GPU")
    if gpu_logical is None and _num(resources.get("GPU")):
        gpu_logical = Usage("GPU", 0.0, float(_num(resources["GPU"])))

    cpus = _list(raw.get("cpus"))
    load = _list(raw.get("loadAvg"))
    load_avg = tuple(v for v in map(_num, _list(load[0]) if load else []) if v is not None)
    snapshot = _dict(raylet.get("stateSnapshot"))
    gpus = tuple(
        g for g in (parse_gpu(x, node_id, host or ip) for x in _list(raw.get("gpus"))) if g
    )
    return Node(
        node_id=node_id,
        hostname=host,
        ip=ip,
        is_head=bool(raylet.get("isHeadNode")),
        state=_str(raylet.get("state")) or "ALIVE",
        activity=_str(snapshot.get("state")),
        node_type=_str(raylet.get("nodeTypeName")),
        state_message=_str(raylet.get("stateMessage")),
        cpu_percent=_num(raw.get("cpu")),
        cpus_physical=_int(cpus[1]) if len(cpus) >= 2 else None,
        cpu_logical=cpu_logical,
        gpu_logical=gpu_logical,
        memory=memory,
        object_store=object_store,
        disk=disk,
        load_avg=load_avg,
        gpus=tuple(sorted(gpus, key=lambda g: g.index)),
        resources_total={k: float(_num(v)) for k, v in resources.items()},
        logical_text=logical_text,
        labels={str(k): _str(v) for k, v in _dict(raylet.get("labels")).items()},
        metrics_port=_port(raylet.get("metricsExportPort")),
        start_time_ms=_int(raylet.get("startTimeMs")),
    )


def parse_nodes(data: Any) -> tuple[Node, ...]:
    """`data` of GET /nodes?view=summary -> nodes, head first, then alive, then by name."""
    if not isinstance(data, dict) or not isinstance(data.get("summary"), list):
        raise BadResponse(
            "node summary: expected data.summary to be a list", body=preview(data, 200)
        )
    logical = _dict(data.get("nodeLogicalResources"))
    nodes = []
    for raw in data["summary"]:
        node_id = _str(_dict(_dict(raw).get("raylet")).get("nodeId"))
        node = parse_node(raw, _str(logical.get(node_id)))
        if node is not None:
            nodes.append(node)
    nodes.sort(key=lambda n: (not n.is_head, n.state != "ALIVE", n.name, n.node_id))
    return tuple(nodes)


# -- autoscaler (RAY_API.md 2.1): the `ray status` text, plus the structured report -------------

_SECTION_RE = re.compile(r"^(?P<name>[A-Z][A-Za-z _()]+):\s*$")


def _text_sections(text: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or set(stripped) <= {"-", "="}:
            continue
        match = _SECTION_RE.match(line)
        if match and not line.startswith(" "):
            current = sections.setdefault(match["name"].strip(), [])
            continue
        if current is not None and line.startswith(" "):
            if not (stripped.startswith("(") and stripped.endswith(")")):  # "(no pending nodes)"
                current.append(stripped)
        elif not line.startswith(" "):
            current = None
    return sections


# More pending nodes than this from one "<type>, <n> launching" line are not listed one by one.
_MAX_PENDING = 10_000


def _count(text: str) -> int | None:
    """A plain decimal count ("3"), else None: not "²" or "٣" (isdigit says yes, int() may say
    no), nor a number too long to be a count."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None


def _counted(lines: list[str]) -> tuple[tuple[str, int], ...]:
    out = []
    for line in lines:
        count, _, name = line.partition(" ")
        number = _count(count)
        if number is not None and name:
            out.append((name.strip(), number))
        else:
            out.append((line, 1))
    return tuple(out)


def _pending(lines: list[str]) -> tuple[PendingNode, ...]:
    out = []
    for line in lines:
        # v1: "127.0.0.1: cpu_worker, launching" or "cpu_worker, 1 launching"; v2 similar
        head, sep, rest = line.partition(": ")
        if sep and "," in rest:
            node_type, _, status = rest.partition(",")
            out.append(PendingNode(head.strip(), node_type.strip(), status.strip() or "pending"))
            continue
        node_type, _, status = line.partition(",")
        status = status.strip()
        count, _, word = status.partition(" ")
        number = _count(count)
        if number is not None:
            out.extend(
                PendingNode("", node_type.strip(), word or "pending")
                for _ in range(min(number, _MAX_PENDING))
            )
        else:
            out.append(PendingNode("", node_type.strip(), status or "pending"))
    return tuple(out)


def parse_autoscaler_text(text: str) -> AutoscalerStatus:
    """The `ray status` text (format=1). Before the autoscaler reports, `available` is False."""
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise BadResponse("cluster status: expected the `ray status` text", body=preview(text, 200))
    if "Node status" not in text:
        return AutoscalerStatus(available=False, raw_text=text)
    sections = _text_sections(text)
    stamp = re.search(r"Autoscaler status:\s*(.+?)\s*=+", text)
    usage_lines = sections.get("Total Usage", []) or sections.get("Usage", [])
    usage = tuple(u for u in (parse_usage_line(line) for line in usage_lines) if u)
    return AutoscalerStatus(
        available=True,
        active=_counted(sections.get("Active", [])),
        idle=_counted(sections.get("Idle", [])),
        pending=_pending(sections.get("Pending", [])),
        failures=tuple(sections.get("Recent failures", [])),
        usage=usage,
        demands=tuple(sections.get("Pending Demands", []) or sections.get("Demands", [])),
        requested=tuple(sections.get("From request_resources", [])),
        timestamp=stamp.group(1) if stamp else "",
        raw_text=text,
    )


def merge_structured_autoscaler(status: AutoscalerStatus, data: Any) -> AutoscalerStatus:
    """Add what only the structured report (autoscaler v1) tells: failed nodes and its error."""
    from dataclasses import replace

    data = _dict(data)
    error = _str(data.get("autoscalingError"))
    report = _dict(_dict(data.get("clusterStatus")).get("autoscalerReport"))
    failures = list(status.failures)
    for item in _list(report.get("failedNodes")):
        if isinstance(item, list) and len(item) >= 2:
            ip, node_type = _str(item[0]), _str(item[1])
            if not any(ip in f for f in failures):
                failures.append(f"{node_type} (ip {ip})")
    return replace(status, error=error, failures=tuple(failures))


# -- jobs (RAY_API.md 3) ---------------------------------------------------------------------


def parse_job(raw: Any) -> Job | None:
    """One item of the job list; None when it is not a job. Its ids and status are text (or null)
    in every Ray version: an item with a number or a list there is not read as a job (it would be
    a row of junk, or the same job twice under an id that is not its own)."""
    if not isinstance(raw, dict):
        return None
    names = ("submission_id", "job_id", "status")
    if not all(raw.get(name) is None or isinstance(raw.get(name), str) for name in names):
        return None
    submission_id = _str(raw.get("submission_id"))
    job_id = _str(raw.get("job_id"))
    if not submission_id and not job_id:
        return None
    return Job(
        submission_id=submission_id,
        job_id=job_id,
        type=_str(raw.get("type")) or "SUBMISSION",
        status=_str(raw.get("status")) or "PENDING",
        entrypoint=_str(raw.get("entrypoint")),
        message=_str(raw.get("message")),
        error_type=_str(raw.get("error_type")),
        start_time_ms=_int(raw.get("start_time")) or None,
        end_time_ms=_int(raw.get("end_time")) or None,
        metadata={str(k): _str(v) for k, v in _dict(raw.get("metadata")).items()},
        runtime_env=_dict(raw.get("runtime_env")),
        driver_exit_code=_int(raw.get("driver_exit_code")),
        driver_node_id=_str(raw.get("driver_node_id")),
    )


def parse_jobs(data: Any) -> tuple[Job, ...]:
    """GET /api/jobs/ -> jobs, newest first."""
    if not isinstance(data, list):
        raise BadResponse("jobs: expected a list", body=preview(data, 200))
    jobs = [j for j in (parse_job(x) for x in data) if j is not None]
    if data and not jobs:
        raise unreadable_jobs(data)
    jobs.sort(key=lambda j: (j.start_time_ms or 0, j.key), reverse=True)
    return tuple(jobs)


def unreadable_jobs(items: list[Any]) -> BadResponse:
    """A job list none of whose items is a job: an answer gone wrong, not an empty cluster."""
    count = f"{len(items):,} item" + ("s" if len(items) != 1 else "")
    return BadResponse(
        f"jobs: none of the {count} is a job (submission_id, job_id and status must be text)",
        body=preview(items[0], 200),
    )


# -- serve (RAY_API.md 5) --------------------------------------------------------------------


def parse_serve(data: Any) -> ServeStatus:
    if not isinstance(data, dict):
        raise BadResponse("serve applications: expected an object", body=preview(data, 200))
    apps = []
    for name, raw_app in sorted(_dict(data.get("applications")).items()):
        raw_app = _dict(raw_app)
        deployments = []
        for dep_name, raw_dep in sorted(_dict(raw_app.get("deployments")).items()):
            raw_dep = _dict(raw_dep)
            replicas = tuple(
                ServeReplica(
                    replica_id=_str(r.get("replica_id")),
                    state=_str(r.get("state")),
                    pid=_int(r.get("pid")),
                    node_ip=_str(r.get("node_ip")),
                    start_time_s=_num(r.get("start_time_s")),
                )
                for r in map(_dict, _list(raw_dep.get("replicas")))
            )
            config = _dict(raw_dep.get("deployment_config"))
            deployments.append(
                ServeDeployment(
                    name=_str(raw_dep.get("name")) or dep_name,
                    status=_str(raw_dep.get("status")),
                    message=_str(raw_dep.get("message")),
                    target_replicas=_int(
                        raw_dep.get("target_num_replicas"), _int(config.get("num_replicas"))
                    ),
                    replicas=replicas,
                    resources={
                        k: _num(v)
                        for k, v in _dict(raw_dep.get("required_resources")).items()
                        if _num(v) is not None
                    },
                )
            )
        apps.append(
            ServeApp(
                name=_str(raw_app.get("name")) or name,
                status=_str(raw_app.get("status")),
                route_prefix=_str(raw_app.get("route_prefix")),
                message=_str(raw_app.get("message")),
                deployments=tuple(deployments),
                last_deployed_s=_num(raw_app.get("last_deployed_time_s")),
            )
        )
    http = _dict(data.get("http_options"))
    proxies = tuple(
        (_str(_dict(p).get("node_ip")) or node, _str(_dict(p).get("status")))
        for node, p in sorted(_dict(data.get("proxies")).items())
    )
    return ServeStatus(
        running=bool(_dict(data.get("controller_info"))),
        http_host=_str(http.get("host")),
        http_port=_int(http.get("port")),
        apps=tuple(apps),
        proxies=proxies,
    )
