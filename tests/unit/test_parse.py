"""parse.py on recorded Ray 2.60 answers (tests/fixtures, see its README), the hand-built GPU
payload, real `ray status` texts from the fake_multinode autoscaler, and malformed answers."""

from __future__ import annotations

import json

import pytest

from raycockpit.cockpit.decode import decode_jobs
from raycockpit.cockpit.errors import BadResponse
from raycockpit.cockpit.models import AutoscalerStatus, ClusterInfo, PendingNode, Snapshot
from raycockpit.cockpit.parse import (
    merge_structured_autoscaler,
    parse_autoscaler_text,
    parse_gpu,
    parse_job,
    parse_jobs,
    parse_node,
    parse_nodes,
    parse_serve,
    parse_usage_block,
    parse_usage_line,
)
from tests.conftest import load_fixture

GIB = 2**30
HEAD_ID = "15c23ad1c314380f276b67aa70dfaa121d84459b454fabda94cb114f"
FAKE_HEAD = "fffffffffffffffffffffffffffffffffffffffffffffffffff00000"
FAKE_WORKER = "fffffffffffffffffffffffffffffffffffffffffffffffffff00001"


def data(name: str):
    return load_fixture(name)["data"]


def status_text(name: str) -> str:
    return data(name)["clusterStatus"]


# -- usage lines -------------------------------------------------------------------------------


def test_usage_lines_units_and_names():
    assert parse_usage_line("0.0/2.0 CPU") == parse_usage_line(" 0.0/2.0 CPU")
    cpu = parse_usage_line("1.5/2.0 CPU")
    assert (cpu.name, cpu.used, cpu.total, cpu.fraction) == ("CPU", 1.5, 2.0, 0.75)
    mem = parse_usage_line("0B/16.13GiB memory")
    assert mem.name == "memory" and mem.used == 0 and mem.total == pytest.approx(16.13 * GIB)
    store = parse_usage_line("11.43KiB/6.91GiB object_store_memory")
    assert store.used == pytest.approx(11.43 * 1024)
    pg = parse_usage_line("1.0/2.0 CPU (1.0 used of 2.0 reserved in placement groups)")
    assert (pg.name, pg.used, pg.total) == ("CPU", 1.0, 2.0)
    assert parse_usage_line("(no resource demands)") is None
    assert parse_usage_line("") is None
    block = parse_usage_block("0.0/8.0 CPU\n0.0/1.0 GPU\n0B/12.3GiB memory\nnonsense")
    assert sorted(block) == ["CPU", "GPU", "memory"]


# -- nodes: the recorded single-node head ------------------------------------------------------


def test_recorded_node_summary():
    nodes = parse_nodes(data("nodes_view_summary.json"))
    assert len(nodes) == 1
    head = nodes[0]
    assert head.node_id == HEAD_ID
    assert (head.hostname, head.ip, head.is_head, head.state, head.activity) == (
        "vm",
        "127.0.0.1",
        True,
        "ALIVE",
        "ACTIVE",
    )
    assert head.cpu_percent == 18.1 and head.cpus_physical == 2
    assert (head.cpu_logical.used, head.cpu_logical.total) == (0.0, 2.0)
    assert head.gpu_logical is None and head.gpus == ()
    assert head.memory.total == 25276502016 and head.memory.used == 25276502016 - 24040046592
    assert head.object_store.total == 7421553868 and head.object_store.used == 0
    assert head.disk.total == 270553174016 and head.disk.used == 25838579712
    assert head.load_avg == (1.60302734375, 1.45068359375, 1.015625)
    assert head.resources_total["CPU"] == 2.0
    assert head.resources_total["objectStoreMemory"] == 7421553868.0  # camelCased by the dashboard
    assert head.labels == {"ray.io/node-id": HEAD_ID}
    assert head.start_time_ms == 1795663936628
    assert head.logical_text.startswith("0.0/2.0 CPU")


# -- nodes: the hand-built GPU payload (RAY_API.md 1.1 schema) ----------------------------------


def test_gpu_node_summary():
    nodes = parse_nodes(data("nodes_view_summary_gpu.json"))
    assert [n.hostname for n in nodes] == ["gpu-head", "gpu-w1"]  # head first
    head, worker = nodes
    assert len(head.gpus) == 4 and len(worker.gpus) == 3
    assert (head.gpu_logical.used, head.gpu_logical.total) == (3.0, 4.0)
    assert (worker.gpu_logical.used, worker.gpu_logical.total) == (1.0, 2.0)
    assert (worker.cpu_logical.used, worker.cpu_logical.total) == (0.5, 2.0)
    assert head.resources_total["GPU"] == 4.0 and worker.resources_total["GPU"] == 2.0
    assert worker.node_type == "gpu_worker" and worker.is_head is False

    g0 = head.gpus[0]
    assert g0.name == "NVIDIA H100 80GB HBM3"
    assert g0.uuid.startswith("GPU-0b1e6a4c")
    assert (g0.index, g0.utilization, g0.memory_used_mb, g0.memory_total_mb) == (
        0,
        97,
        71234,
        81559,
    )
    assert g0.power_w == pytest.approx(612.345) and g0.temperature_c == 71 and g0.processes == 1
    assert g0.memory_fraction == pytest.approx(71234 / 81559)
    assert g0.key == f"{head.node_id}:0" and g0.node_host == "gpu-head"

    unknown = head.gpus[3]  # utilizationGpu -1, null power/temperature/processes
    assert unknown.utilization is None and unknown.power_w is None and unknown.temperature_c is None
    assert unknown.processes == 0 and unknown.memory_total_mb == 81559

    assert [g.index for g in worker.gpus] == [0, 1000, 1001]
    mig = worker.gpus[2]
    assert mig.name.endswith("MIG 3g.40gb") and mig.memory_total_mb == 40192 and mig.power_w is None
    assert worker.gpus[0].processes == 2

    snap = Snapshot(info=ClusterInfo(address="x"), nodes=nodes)
    assert len(snap.gpus) == 7
    totals = snap.totals()
    assert (totals["GPU"].used, totals["GPU"].total) == (4.0, 6.0)
    assert (totals["CPU"].used, totals["CPU"].total) == (1.5, 4.0)


def test_gpu_entry_edge_values():
    assert parse_gpu({"name": "x"}, "n", "h") is None  # no index
    assert parse_gpu("nope", "n", "h") is None
    gpu = parse_gpu(
        {
            "index": "2",
            "utilizationGpu": None,
            "memoryUsed": None,
            "powerMw": -1,
            "temperatureC": -5,
        },
        "n",
        "h",
    )
    assert gpu.index == 2 and gpu.name == "GPU" and gpu.utilization is None
    assert gpu.memory_used_mb == 0 and gpu.power_w is None and gpu.temperature_c is None
    assert parse_gpu({"index": float("nan")}, "n", "h") is None
    assert parse_gpu({"index": float("inf")}, "n", "h") is None


# -- nodes: the fake_multinode recordings (head + worker) ---------------------------------------


def test_fake_multinode_node_summaries():
    pending = parse_nodes(data("nodes_view_summary_fake_pending.json"))
    assert [n.node_id for n in pending] == [FAKE_HEAD, FAKE_WORKER]
    worker = pending[1]
    # the worker is listed before its agent reports: raylet fields only, no physical stats
    assert worker.state == "ALIVE" and not worker.is_head and worker.node_type == "cpu_worker"
    assert worker.ip == "127.0.0.1" and worker.memory is None and worker.cpu_percent is None
    assert worker.cpu_logical.total == 1.0 and worker.gpus == ()

    active = parse_nodes(data("nodes_view_summary_fake_active.json"))
    assert [n.state for n in active] == ["ALIVE", "ALIVE"]
    assert active[0].is_head and active[0].resources_total.get("CPU", 0.0) == 0.0

    removed = parse_nodes(data("nodes_view_summary_fake_removed.json"))
    assert [(n.node_id, n.state) for n in removed] == [(FAKE_HEAD, "ALIVE"), (FAKE_WORKER, "DEAD")]
    snap = Snapshot(info=ClusterInfo(address="x"), nodes=removed)
    assert [n.node_id for n in snap.alive_nodes] == [FAKE_HEAD]


# -- autoscaler: recorded `ray status` texts ----------------------------------------------------


def test_recorded_single_node_status():
    status = parse_autoscaler_text(status_text("api_cluster_status_format1.json"))
    assert status.available
    assert status.active == ((f"node_{HEAD_ID}", 1),) and status.active_count == 1
    assert status.pending == () and status.failures == () and status.demands == ()
    assert status.requested == () and status.idle == ()
    assert status.timestamp == "2026-11-26 03:51:50.314575"
    assert (status.usage_of("CPU").used, status.usage_of("CPU").total) == (0.0, 2.0)
    assert status.usage_of("memory").total == pytest.approx(16.13 * GIB)
    assert status.usage_of("object_store_memory").total == pytest.approx(6.91 * GIB)
    busy = parse_autoscaler_text(status_text("api_cluster_status_format1_busy_rllib.json"))
    assert busy.usage_of("CPU").used == 1.0
    assert busy.usage_of("object_store_memory").used == pytest.approx(11.43 * 1024)


def test_fake_launching_status():
    status = parse_autoscaler_text(status_text("api_cluster_status_format1_fake_launching.json"))
    assert status.active == (("ray.head.default", 1),)
    assert status.pending == (PendingNode("", "cpu_worker", "launching"),)
    assert status.demands == ("{'CPU': 1.0}: 1+ pending tasks/actors",)
    assert status.usage_of("CPU") is None  # the head has 0 CPUs: no CPU line at all
    assert status.usage_of("memory") is not None


def test_fake_pending_status():
    status = parse_autoscaler_text(status_text("api_cluster_status_format1_fake_pending.json"))
    assert status.pending == (PendingNode(FAKE_WORKER, "cpu_worker", "uninitialized"),)
    assert status.pending_count == 1 and status.active_count == 1


def test_fake_active_and_removed_status():
    active = parse_autoscaler_text(status_text("api_cluster_status_format1_fake_active.json"))
    assert (
        active.active == (("ray.head.default", 1), ("cpu_worker", 1)) and active.active_count == 2
    )
    assert active.pending == () and active.demands == ()
    assert (active.usage_of("CPU").used, active.usage_of("CPU").total) == (1.0, 1.0)
    removed = parse_autoscaler_text(status_text("api_cluster_status_format1_fake_removed.json"))
    assert removed.active == (("ray.head.default", 1),) and removed.pending == ()


def test_structured_report_merges_failures_and_error():
    text = parse_autoscaler_text(status_text("api_cluster_status_format1_fake_active.json"))
    merged = merge_structured_autoscaler(text, data("api_cluster_status_fake_active.json"))
    assert merged.failures == () and merged.error == "" and merged.active == text.active
    failed = {
        "autoscalingError": "boom: cannot launch",
        "clusterStatus": {"autoscalerReport": {"failedNodes": [["10.0.0.9", "cpu_worker"]]}},
    }
    merged = merge_structured_autoscaler(text, failed)
    assert (
        merged.failures == ("cpu_worker (ip 10.0.0.9)",) and merged.error == "boom: cannot launch"
    )
    # a failure the text already lists (by ip) is not repeated
    v1 = AutoscalerStatus(available=True, failures=("cpu_worker: NodeTerminated (ip: 10.0.0.9)",))
    assert merge_structured_autoscaler(v1, failed).failures == v1.failures
    for junk in (
        None,
        [],
        "text",
        {"clusterStatus": None},
        {"clusterStatus": {"autoscalerReport": {"failedNodes": "x"}}},
    ):
        assert merge_structured_autoscaler(text, junk).active == text.active


# v1 text, as ray/autoscaler/_private/util.py::format_info_string prints it (legacy: no "Idle:"),
# with pending launches, a pending node, failures, pg usage, request_resources and pg demand.
V1_BUSY = """======== Autoscaler status: 2026-11-26 05:01:02.123456 ========
Node status
---------------------------------------------------------------
Active:
 1 ray.head.default
 2 cpu_worker
Pending:
 cpu_worker, 2 launching
 gpu_worker, 1 launching
 127.0.0.3: cpu_worker, waiting-for-ssh
Recent failures:
 cpu_worker: NodeTerminated (ip: 127.0.0.7)
 gpu_worker: InsufficientCapacity (latest_attempt: 05:00:58)

Resources
---------------------------------------------------------------
Total Usage:
 2.0/3.0 CPU (1.0 used of 2.0 reserved in placement groups)
 0.0/1.0 GPU
 0B/30.49GiB memory
 1.50MiB/13.07GiB object_store_memory

From request_resources:
 {'CPU': 4}: 1 from request_resources()
Pending Demands:
 {'CPU': 1.0}: 3+ pending tasks/actors
 {'CPU': 1.0} * 2 (PACK): 1+ pending placement groups"""

# v2 text, as ray/autoscaler/v2/utils.py::ClusterStatusFormatter.format prints it: an "Idle:"
# section, pending instances by instance id, failures by instance id / LaunchFailed.
V2_BUSY = """======== Autoscaler status: 2026-11-26 05:01:02.123456 ========
Node status
---------------------------------------------------------------
Active:
 1 ray.head.default
Idle:
 1 cpu_worker
Pending:
 cpu_worker, 1 launching
 i-0abc: cpu_worker, ray_install_succeeded: installing ray, please wait
 : gpu_worker, requested
Recent failures:
 gpu_worker: LaunchFailed (latest_attempt: 05:00:58)
 cpu_worker: NodeTerminated (instance_id: i-0dead)

Resources
---------------------------------------------------------------
Total Usage:
 0.0/1.0 CPU
 0B/15.36GiB memory
 0B/6.58GiB object_store_memory

From request_resources:
 (none)
Pending Demands:
 {'GPU': 1.0}: 1+ pending tasks/actors"""


def test_v1_text_with_every_section():
    status = parse_autoscaler_text(V1_BUSY)
    assert (
        status.active == (("ray.head.default", 1), ("cpu_worker", 2)) and status.active_count == 3
    )
    assert status.idle == ()
    assert status.pending == (
        PendingNode("", "cpu_worker", "launching"),
        PendingNode("", "cpu_worker", "launching"),
        PendingNode("", "gpu_worker", "launching"),
        PendingNode("127.0.0.3", "cpu_worker", "waiting-for-ssh"),
    )
    assert status.failures == (
        "cpu_worker: NodeTerminated (ip: 127.0.0.7)",
        "gpu_worker: InsufficientCapacity (latest_attempt: 05:00:58)",
    )
    assert (status.usage_of("CPU").used, status.usage_of("CPU").total) == (2.0, 3.0)
    assert status.usage_of("GPU").total == 1.0
    assert status.usage_of("object_store_memory").used == pytest.approx(1.5 * 2**20)
    assert status.requested == ("{'CPU': 4}: 1 from request_resources()",)
    assert status.demands == (
        "{'CPU': 1.0}: 3+ pending tasks/actors",
        "{'CPU': 1.0} * 2 (PACK): 1+ pending placement groups",
    )


def test_v2_text_with_idle_and_instance_ids():
    status = parse_autoscaler_text(V2_BUSY)
    assert status.active == (("ray.head.default", 1),)
    assert status.idle == (("cpu_worker", 1),) and status.idle_count == 1
    assert status.pending == (
        PendingNode("", "cpu_worker", "launching"),
        PendingNode("i-0abc", "cpu_worker", "ray_install_succeeded: installing ray, please wait"),
        PendingNode("", "gpu_worker", "requested"),
    )
    assert len(status.failures) == 2 and status.failures[1].endswith("(instance_id: i-0dead)")
    assert status.demands == ("{'GPU': 1.0}: 1+ pending tasks/actors",)


def test_pending_line_with_empty_status():
    text = V1_BUSY.replace(" 127.0.0.3: cpu_worker, waiting-for-ssh", " 127.0.0.3: cpu_worker, ")
    assert parse_autoscaler_text(text).pending[-1] == PendingNode(
        "127.0.0.3", "cpu_worker", "pending"
    )


def test_verbose_text_per_node_breakdown_does_not_leak_into_sections():
    verbose = (
        V1_BUSY + "\n\nNode: fff01 (cpu_worker)\n Usage:\n  1.0/1.0 CPU\n Activity:\n"
        "  Resource: CPU currently in use."
    )
    status = parse_autoscaler_text(verbose)
    assert status.demands == parse_autoscaler_text(V1_BUSY).demands
    assert status.usage_of("CPU").total == 3.0


# -- autoscaler: before it reports, and junk ------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        None,
        "No cluster status. It may take a few seconds for the Ray internal services to start up.",
        (
            "No cluster status. It may take a few seconds for the Ray internal services "
            "to start up.\nsome autoscaler error"
        ),
        "<html>502 Bad Gateway</html>",
    ],
)
def test_status_text_before_the_autoscaler_reports(text):
    status = parse_autoscaler_text(text)
    assert status.available is False and status.pending == () and status.active == ()
    assert status.raw_text == (text or "")


@pytest.mark.parametrize("junk", [{}, [], 42, {"clusterStatus": "x"}, b"Node status"])
def test_status_text_of_the_wrong_type_is_a_bad_response(junk):
    with pytest.raises(BadResponse):
        parse_autoscaler_text(junk)


def test_status_text_with_garbled_sections():
    text = (
        "Node status\nActive:\n lots of nodes\n x y\nPending:\n ???\nTotal Usage:\n a/b CPU\n"
        "Recent failures:\n"
    )
    status = parse_autoscaler_text(text)
    assert status.available
    assert status.active == (("lots of nodes", 1), ("x y", 1))
    assert status.usage == ()


# -- jobs ------------------------------------------------------------------------------------------


def test_recorded_jobs_newest_first():
    jobs = parse_jobs(load_fixture("api_jobs.json"))
    assert len(jobs) == 17
    starts = [j.start_time_ms for j in jobs]
    assert starts == sorted(starts, reverse=True)
    first = jobs[0]
    assert first.key == first.submission_id == "raysubmit_e6cjJVw9qWQ1ZG8r"
    assert (first.job_id, first.type, first.status) == ("13000000", "SUBMISSION", "SUCCEEDED")
    assert first.metadata == {"owner": "wl-probe"} and first.driver_exit_code == 0
    assert first.terminal and first.duration_s(0) == pytest.approx(3.327)
    assert first.entrypoint.startswith("/opt/venv/bin/python -c")
    drivers = [j for j in jobs if j.type == "DRIVER"]
    assert len(drivers) == 16 and all(j.submission_id == "" and j.key == j.job_id for j in drivers)
    assert jobs[-1].job_id == "01000000"


def test_one_recorded_job():
    job = parse_job(load_fixture("api_jobs_id.json"))
    assert job.submission_id == "raysubmit_e6cjJVw9qWQ1ZG8r" and job.start_time_ms == 1795665110259
    assert job.end_time_ms == 1795665113586 and job.message == "Job finished successfully."


def test_job_fields_of_the_wrong_type():
    job = parse_job(
        {
            "submission_id": "s",
            "start_time": "soon",
            "end_time": None,
            "metadata": ["x"],
            "runtime_env": "x",
            "driver_exit_code": "nan",
            "status": None,
        }
    )
    assert job.start_time_ms is None and job.metadata == {} and job.runtime_env == {}
    assert job.driver_exit_code is None and job.status == "PENDING" and not job.terminal
    assert job.duration_s(1000) is None
    assert parse_job({"status": "RUNNING"}) is None  # no id at all
    assert parse_jobs([None, 3, "x", {"job_id": "02000000"}])[0].job_id == "02000000"
    assert parse_jobs([]) == ()


def test_a_job_whose_ids_or_status_are_not_text_is_not_a_job():
    """Ids and status are text in every Ray version: a number there would be shown as a job with
    an id that is not its own (and `7` and `"7"` as two jobs)."""
    recorded = load_fixture("api_jobs.json")
    for name, value in (("job_id", 7), ("submission_id", ["raysubmit_x"]), ("status", 5)):
        junk = {**recorded[0], name: value}
        assert parse_job(junk) is None, name
        jobs = parse_jobs([junk, *recorded[1:]])  # the readable ones stay
        assert len(jobs) == len(recorded) - 1 and recorded[0]["submission_id"] not in {
            j.key for j in jobs
        }
    # not one job in a list that is not empty: the answer is wrong, not the cluster empty
    with pytest.raises(BadResponse, match=r"none of the 2 items is a job"):
        parse_jobs([{**recorded[0], "job_id": 7}, {**recorded[1], "status": []}])
    with pytest.raises(BadResponse, match=r"none of the 1 item is a job"):
        decode_jobs(json.dumps([{**recorded[0], "status": 5}]).encode())


@pytest.mark.parametrize("junk", [{}, None, "[]", 3, {"jobs": []}])
def test_jobs_of_the_wrong_shape(junk):
    with pytest.raises(BadResponse):
        parse_jobs(junk)


# -- serve -----------------------------------------------------------------------------------------


def test_recorded_serve_app():
    serve = parse_serve(load_fixture("api_serve_applications.json"))
    assert serve.running and (serve.http_host, serve.http_port) == ("127.0.0.1", 8000)
    assert serve.proxies == (("127.0.0.1", "HEALTHY"),)
    assert [a.name for a in serve.apps] == ["predictor"]
    app = serve.apps[0]
    assert (app.status, app.route_prefix, app.last_deployed_s) == (
        "RUNNING",
        "/",
        pytest.approx(1795666039.888),
    )
    (dep,) = app.deployments
    assert (dep.name, dep.status, dep.target_replicas, dep.resources) == (
        "Predictor",
        "HEALTHY",
        1,
        {"CPU": 0.5},
    )
    (replica,) = dep.replicas
    assert (replica.replica_id, replica.state, replica.pid, replica.node_ip) == (
        "gmfsqool",
        "RUNNING",
        27168,
        "127.0.0.1",
    )


def test_serve_not_running_and_junk():
    idle = parse_serve(
        {"controller_info": {}, "proxies": {}, "applications": {}, "target_capacity": None}
    )
    assert not idle.running and idle.apps == () and idle.http_port is None
    odd = parse_serve(
        {
            "controller_info": "x",
            "applications": {"a": "x", "b": {"deployments": {"d": None}}},
            "proxies": {"n": None},
            "http_options": [],
        }
    )
    assert [a.name for a in odd.apps] == ["a", "b"] and odd.apps[1].deployments[0].name == "d"
    assert odd.proxies == (("n", ""),)
    for junk in ([], None, "x", 1):
        with pytest.raises(BadResponse):
            parse_serve(junk)


# -- nodes: malformed -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "junk", [{}, [], None, "text", {"summary": None}, {"summary": {}}, {"summary": "x"}]
)
def test_node_summary_of_the_wrong_shape(junk):
    with pytest.raises(BadResponse):
        parse_nodes(junk)


def test_node_summary_with_wrong_types_inside():
    real = load_fixture("nodes_view_summary.json")["data"]["summary"][0]
    weird = json.loads(json.dumps(real))
    weird.update(
        {"mem": "lots", "cpus": None, "loadAvg": "x", "disk": [], "gpus": {"0": 1}, "cpu": "hot"}
    )
    weird["raylet"].update(
        {"resourcesTotal": [1, 2], "labels": None, "stateSnapshot": "x", "startTimeMs": {}}
    )
    nodes = parse_nodes(
        {
            "summary": [None, 1, "x", {}, {"raylet": "x"}, weird],
            "nodeLogicalResources": {HEAD_ID: 12},
        }
    )
    (node,) = nodes
    assert (
        node.node_id == HEAD_ID
        and node.memory is None
        and node.gpus == ()
        and node.cpu_percent is None
    )
    assert node.resources_total == {} and node.labels == {} and node.start_time_ms is None
    assert node.load_avg == () and node.disk is None and node.cpus_physical is None
    assert parse_nodes({"summary": []}) == ()
    assert parse_node({"raylet": {"nodeId": "n1"}}).name == "n1"


def test_non_finite_numbers_do_not_raise():
    node = parse_node(
        {
            "raylet": {
                "nodeId": "n1",
                "startTimeMs": float("inf"),
                "resourcesTotal": {"CPU": float("nan")},
            },
            "cpus": [2, float("nan")],
            "gpus": [{"index": 0, "memoryUsed": float("inf")}],
        }
    )
    assert node.start_time_ms is None and node.cpus_physical is None
    assert (
        parse_job(
            {"job_id": "1", "start_time": float("nan"), "driver_exit_code": float("inf")}
        ).start_time_ms
        is None
    )


# -- autoscaler: texts printed by Ray's own formatters (v1 and v2), parsed back -------------------


def _ray_v2_text(verbose: bool = False) -> str:
    schema = pytest.importorskip("ray.autoscaler.v2.schema")
    utils = pytest.importorskip("ray.autoscaler.v2.utils")
    S = schema

    def node(type_, instance, node_id, used_cpu, details=None):
        usage = S.NodeUsage([S.ResourceUsage("CPU", 1.0, used_cpu)], idle_time_ms=0)
        return S.NodeInfo(
            "fake", type_, instance, "127.0.0.1", "RUNNING", node_id, usage, details=details
        )

    status = S.ClusterStatus(
        active_nodes=[
            node("ray.head.default", "head-i", "n0", 0.0),
            node("cpu_worker", "i-1", "n1", 1.0),
        ],
        idle_nodes=[node("cpu_worker", "i-2", "n2", 0.0)],
        pending_launches=[
            S.LaunchRequest("fake", "cpu_worker", 2, S.LaunchRequest.Status.PENDING, 1795667000)
        ],
        failed_launches=[
            S.LaunchRequest(
                "fake",
                "gpu_worker",
                1,
                S.LaunchRequest.Status.FAILED,
                1795667000,
                details="no capacity",
            )
        ],
        pending_nodes=[
            S.NodeInfo("fake", "cpu_worker", "i-3", "", details="Ray-Install: starting")
        ],
        failed_nodes=[S.NodeInfo("fake", "cpu_worker", "i-9", "")],
        cluster_resource_usage=[
            S.ResourceUsage("CPU", 3.0, 1.0),
            S.ResourceUsage("memory", 2.0**33, 0.0),
        ],
        resource_demands=S.ResourceDemandSummary(
            ray_task_actor_demand=[
                S.RayTaskActorDemand([S.ResourceRequestByCount({"CPU": 1.0}, 4)])
            ],
            cluster_constraint_demand=[
                S.ClusterConstraintDemand([S.ResourceRequestByCount({"CPU": 4}, 1)])
            ],
        ),
        stats=S.Stats(request_ts_s=1795667001),
    )
    return utils.ClusterStatusFormatter.format(status, verbose=verbose)


@pytest.mark.parametrize("verbose", [False, True])
def test_ray_v2_formatter_text(verbose):
    text = _ray_v2_text(verbose)
    status = parse_autoscaler_text(text)
    assert status.available, text
    assert status.active == (("ray.head.default", 1), ("cpu_worker", 1)), text
    assert status.idle == (("cpu_worker", 1),), text
    # v2 counts launch *requests* per type (one request for 2 nodes prints "1 launching")
    assert status.pending == (
        PendingNode("", "cpu_worker", "launching"),
        PendingNode("i-3", "cpu_worker", "ray-install: starting"),
    ), text
    assert len(status.failures) == 2, text
    assert any("LaunchFailed" in f for f in status.failures) and any(
        "i-9" in f for f in status.failures
    )
    assert (status.usage_of("CPU").used, status.usage_of("CPU").total) == (1.0, 3.0)
    assert status.usage_of("memory").total == 8 * GIB
    assert status.demands == ("{'CPU': 1.0}: 4+ pending tasks/actors",), text
    assert status.requested == ("{'CPU': 4}: 1 from request_resources()",), text


def test_ray_v1_formatter_text():
    util = pytest.importorskip("ray.autoscaler._private.util")
    autoscaler = pytest.importorskip("ray.autoscaler._private.autoscaler")
    lm = util.LoadMetricsSummary(
        usage={"CPU": (2.0, 3.0), "memory": (0.0, 2.0**33), "node:127.0.0.1": (0.0, 1.0)},
        resource_demand=[({"CPU": 1.0}, 3)],
        pg_demand=[],
        request_demand=[({"CPU": 4}, 1)],
        node_types=[],
    )
    summary = autoscaler.AutoscalerSummary(
        active_nodes={"ray.head.default": 1, "cpu_worker": 2},
        idle_nodes=None,
        pending_nodes=[("fff01", "cpu_worker", "UNINITIALIZED")],
        pending_launches={"cpu_worker": 1},
        failed_nodes=[("fff07", "cpu_worker")],
        legacy=True,
    )
    text = util.format_info_string(lm, summary)
    status = parse_autoscaler_text(text)
    assert status.active == (("ray.head.default", 1), ("cpu_worker", 2)), text
    assert status.pending == (
        PendingNode("", "cpu_worker", "launching"),
        PendingNode("fff01", "cpu_worker", "uninitialized"),
    ), text
    assert status.failures == ("cpu_worker: NodeTerminated (ip: fff07)",), text
    assert status.usage_of("CPU").used == 2.0 and status.usage_of("node:127.0.0.1") is None
    assert status.demands == ("{'CPU': 1.0}: 3+ pending tasks/actors",)
