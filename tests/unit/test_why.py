"""Why pending? (cockpit/why/, cockpit/pending.py) from answers recorded on a real Ray 2.60
head (tests/fixtures/why_*: a job behind a job holding both CPUs, an actor asking for a GPU, a
STRICT_PACK placement group of 9 CPUs and a task asking for a custom resource on a 2-CPU
GPU-less node, a pip package that does not exist) and from hand-built models."""

from __future__ import annotations

import json
from dataclasses import replace

from raycockpit.cockpit.models import (
    ClusterInfo,
    FeedEvent,
    Job,
    PendingActor,
    PendingNode,
    PendingWork,
    ServeApp,
    ServeDeployment,
    ServeReplica,
    ServeStatus,
    Snapshot,
)
from raycockpit.cockpit.parse import parse_autoscaler_text, parse_jobs, parse_nodes
from raycockpit.cockpit.pending import (
    parse_actors,
    parse_placement_groups,
    parse_running_jobs,
    parse_tasks,
    parse_usage_by_node,
    setup_error_lines,
)
from raycockpit.cockpit.report import snapshot_dict, snapshot_text
from raycockpit.cockpit.why import annotate, camel, explain
from tests.conftest import FIXTURES, load_fixture

NOW = 1795815560.0  # 92 s after waiter2 was submitted


def _data(name: str):
    return load_fixture(name)["data"]


def recorded(with_setup_log: bool = True) -> Snapshot:
    structured = _data("why_cluster_status.json")
    actors, _ = parse_actors(_data("why_actors_pending.json"))
    tasks, _ = parse_tasks(_data("why_tasks_pending.json"))
    groups, _ = parse_placement_groups(_data("why_placement_groups.json"), structured)
    log = (FIXTURES / "why_runtime_env_setup.log").read_text()
    work = PendingWork(
        fetched=True,
        actors=actors,
        tasks=tasks,
        placement_groups=groups,
        usage_by_node=parse_usage_by_node(structured),
        running_jobs=parse_running_jobs(_data("why_supervisors_alive.json")),
        setup_errors=setup_error_lines(log) if with_setup_log else (),
    )
    return Snapshot(
        info=ClusterInfo(address="http://127.0.0.1:8265", ray_version="2.60.0"),
        fetched_at=NOW,
        nodes=parse_nodes(_data("why_nodes_view_summary.json")),
        autoscaler=parse_autoscaler_text(_data("why_cluster_status_format1.json")["clusterStatus"]),
        jobs=parse_jobs(load_fixture("why_jobs.json")),
        pending=work,
        connected=True,
    )


def test_recorded_lists_parse():
    snap = recorded()
    work = snap.pending
    assert {a.name for a in work.actors} >= {"_ray_internal_job_actor_waiter2", ""}
    gpu_actor = next(a for a in work.actors if a.class_name == "G")
    assert gpu_actor.resources == {"CPU": 1.0, "GPU": 1.0}
    assert gpu_actor.created_ms is None  # only the task list knows; fetch_pending joins them
    (group,) = work.placement_groups
    assert group.strategy == "STRICT_PACK" and group.bundles == ({"CPU": 1.0}, {"CPU": 8.0})
    assert group.scheduling_state == "INFEASIBLE"
    assert work.running_jobs["holder2"] == {"CPU": 2.0}
    (usage,) = work.usage_by_node.values()
    assert usage["CPU"] == (2.0, 2.0)


def test_job_behind_a_job_holding_all_cpus_is_busy_and_names_the_holder():
    whys = explain(recorded(), recorded().pending, NOW)
    why = whys["job:waiter2"]
    assert why.category == "busy"
    assert "CPU 1" in why.reason and "most free on a node: 0" in why.reason
    assert "job holder2 holds CPU 2" in why.fix and "entrypoint_num_cpus" in why.fix
    assert "node vm: CPU 0 free of 2" in why.evidence or any(
        "CPU 0 free of 2" in e for e in why.evidence
    )
    assert 90 < why.waited_s < 93 and any(
        "RAY_JOB_START_TIMEOUT_SECONDS" in e for e in why.evidence
    )
    assert why.short.startswith("busy:")


def test_gpu_actor_on_a_gpu_less_cluster_is_infeasible():
    snap = recorded()
    whys = explain(snap, snap.pending, NOW)
    actor = next(a for a in snap.pending.actors if a.class_name == "G")
    why = whys[f"actor:{actor.actor_id}"]
    assert why.category == "infeasible"
    assert "GPU 1 (largest node: 0)" in why.reason
    assert why.fix.startswith("drop GPU (no node has any)") and "CPU 1, GPU 1" in why.fix


def test_strict_pack_group_bigger_than_any_node_is_infeasible():
    snap = recorded()
    whys = explain(snap, snap.pending, NOW)
    (group,) = snap.pending.placement_groups
    why = whys[f"pg:{group.pg_id}"]
    assert why.category == "infeasible"
    assert "STRICT_PACK needs CPU 9 on one node" in why.reason and "largest node: 2" in why.reason
    assert "at most CPU 2" in why.fix and "PACK/SPREAD" in why.fix and "CPU 9" in why.fix
    assert "Ray: scheduling state INFEASIBLE" in why.evidence
    # PACK: each bundle alone must fit; the 8-CPU one does not
    pack = replace(group, strategy="PACK")
    work = replace(snap.pending, placement_groups=(pack,))
    assert "bundle 1 (CPU 8) fits no node" in explain(snap, work, NOW)[f"pg:{pack.pg_id}"].reason


def test_task_asking_for_a_custom_resource_nobody_has():
    snap = recorded()
    whys = explain(snap, snap.pending, NOW)
    (task,) = [t for t in snap.pending.tasks if t.type == "NORMAL_TASK"]
    why = whys[f"task:{task.task_id}"]
    assert why.category == "infeasible" and "custom_thing 2 (largest node: 0)" in why.reason
    assert all(not k.startswith("task:") or k == f"task:{task.task_id}" for k in whys)


def test_pip_package_that_does_not_exist_shows_pips_error_line():
    snap = recorded()
    why = explain(snap, snap.pending, NOW)["job:pip2"]
    assert why.category == "runtime_env_failed"
    line = (
        "ERROR: Could not find a version that satisfies the requirement "
        "raycockpit-no-such-pkg-abc (from versions: none)"
    )
    assert line in why.reason and line in why.evidence
    assert "raycockpit-no-such-pkg-abc" in why.fix and "retries the setup" in why.fix
    # the other job's failed package is not blamed on this one
    assert not any("xyz" in e for e in why.evidence)
    # before pip has failed: installing, with how long
    early = recorded(with_setup_log=False)
    why = explain(early, early.pending, NOW)["job:pip2"]
    assert why.category == "runtime_env" and "pip: raycockpit-no-such-pkg-abc" in why.reason
    assert "600 s" in why.fix


def test_failed_runtime_env_job_shows_the_pip_line_from_rays_message():
    snap = recorded()
    why = explain(snap, snap.pending, NOW)["job:pip1"]
    assert why.category == "runtime_env_failed"
    assert why.reason.endswith(
        "ERROR: Could not find a version that satisfies the requirement "
        "raycockpit-no-such-pkg-xyz==1.0 (from versions: none)"
    )
    assert "then submit it again" in why.fix


def test_running_and_finished_jobs_have_no_answer():
    snap = recorded()
    whys = explain(snap, snap.pending, NOW)
    for key in ("holder2", "gpuactor2", "gpuactor1", "holder1", "infeas1"):
        assert f"job:{key}" not in whys


def _hand_built(**work_fields) -> Snapshot:
    base = recorded()
    job = Job(
        submission_id="big",
        job_id="",
        type="SUBMISSION",
        status="PENDING",
        entrypoint="echo hi",
        message="Job has not started yet. It may be waiting for resources (CPUs, GPUs, memory, "
        "custom resources) to become available.",
        start_time_ms=int((NOW - 30) * 1000),
    )
    supervisor = PendingActor(
        "a1", "JobSupervisor", name="_ray_internal_job_actor_big", resources={"CPU": 64.0}
    )
    work = PendingWork(fetched=True, actors=(supervisor,), **work_fields)
    return replace(base, jobs=(job,), pending=work)


def test_job_asking_for_more_cpus_than_any_node_is_infeasible_with_the_numbers():
    snap = _hand_built()
    why = explain(snap, snap.pending, NOW)["job:big"]
    assert why.category == "infeasible"
    assert "needs CPU 64" in why.reason and "largest node: 2" in why.reason
    assert why.fix.startswith("ask for at most 2 CPU (entrypoint_num_cpus)")
    assert "add a node with CPU 64" in why.fix and 29 < why.waited_s < 31


def test_a_pending_job_asked_to_stop_says_the_stop_waits_for_its_start():
    snap = _hand_built()
    why = explain(snap, snap.pending, NOW, stops={"big": NOW - 20})["job:big"]
    assert why.category == "infeasible" and why.short.startswith("stop waits for the start; ")
    assert why.reason.startswith("stop requested 20s ago, not delivered: ")
    assert "needs CPU 64" in why.reason  # the answer it had, still
    assert "start timeout, 14m30s from now" in why.fix  # 900 s after it was submitted
    assert (
        why.evidence[0].startswith("stop requested at ") and "/api/jobs/big/stop" in why.evidence[0]
    )
    assert "stop" not in explain(snap, snap.pending, NOW)["job:big"].reason  # none asked


def test_a_launching_node_makes_it_waiting_for_scale_up():
    snap = _hand_built()
    launching = (PendingNode("", "cpu_worker", "launching"),) * 2
    snap = replace(snap, autoscaler=replace(snap.autoscaler, pending=launching))
    why = explain(snap, snap.pending, NOW)["job:big"]
    assert why.category == "scale_up" and "2 cpu_worker" in why.reason
    assert why.short == "scale-up: 2 cpu_worker launching"


def test_serve_deployment_with_more_replicas_than_the_cluster_holds():
    snap = recorded()
    replicas = tuple(ServeReplica(f"r{i}", "RUNNING") for i in range(2)) + (
        ServeReplica("r2", "STARTING"),
    )
    dep = ServeDeployment("Big", "UPDATING", target_replicas=5, replicas=replicas)
    dep = replace(dep, resources={"CPU": 1.0})
    app = ServeApp("app1", "DEPLOYING", deployments=(dep,), last_deployed_s=NOW - 12)
    # nothing else runs: both CPUs are the two replicas'
    usage = {node: {**u, "CPU": (2.0, 2.0)} for node, u in snap.pending.usage_by_node.items()}
    work = PendingWork(fetched=True, usage_by_node=usage)
    snap = replace(snap, serve=ServeStatus(running=True, apps=(app,)), jobs=(), pending=work)
    why = explain(snap, work, NOW)["serve:app1/Big"]
    assert why.category == "infeasible"
    assert "5 replicas x CPU 1 = CPU 5" in why.reason and "at most 2" in why.reason
    assert "num_replicas" in why.fix and "at most 2" in why.fix and "3 more replica" in why.fix
    assert why.waited_s == 12


def test_custom_resources_are_found_under_the_dashboards_camel_case():
    assert camel("custom_thing") == "customThing"
    assert camel("node:__internal_head__") == "node:InternalHead"
    snap = _hand_built(usage_by_node={"n": {"customThing": (0.0, 4.0), "CPU": (0.0, 2.0)}})
    nodes = (replace(snap.nodes[0], node_id="n"),)
    actor = PendingActor("b2", "Worker", resources={"custom_thing": 2.0})
    work = replace(snap.pending, actors=(actor,))
    why = explain(replace(snap, nodes=nodes), work, NOW)["actor:b2"]
    assert why.category == "starting"  # 4 customThing free: it fits


def test_setup_log_error_lines_once_each():
    lines = setup_error_lines((FIXTURES / "why_runtime_env_setup.log").read_text())
    assert lines and all(line.startswith("ERROR:") for line in lines)
    assert len(lines) == len(set(lines))


def test_annotate_keeps_the_snapshot_when_nothing_waits_and_report_carries_why():
    quiet = Snapshot(info=ClusterInfo(address="http://x"))
    assert annotate(quiet, NOW) is quiet
    snap = annotate(recorded(), NOW)
    data = json.loads(json.dumps(snapshot_dict(snap)))
    waiter = next(j for j in data["jobs"] if j["submission_id"] == "waiter2")
    assert waiter["why"]["category"] == "busy" and set(waiter["why"]) >= {
        "reason",
        "fix",
        "evidence",
    }
    assert next(j for j in data["jobs"] if j["submission_id"] == "holder2")["why"] is None
    assert [a["class_name"] for a in data["pending"]["actors"]] == ["G"]
    assert data["pending"]["placement_groups"][0]["why"]["category"] == "infeasible"
    text = snapshot_text(snap)
    assert "== Why pending" in text and "job waiter2  [busy]" in text
    assert "fix:    wait until CPU 1 is free on one node" in text


def test_an_autoscaling_cluster_waits_unless_its_autoscaler_says_no_node_type_can():
    """Node types' resources are not served: on a cluster whose autoscaler has launched nodes, a
    shape no alive node holds waits for scale-up, unless the autoscaler's own feed (its cluster
    events) says no node type can fulfill it."""
    launched = FeedEvent(NOW - 100, "node launched", "1 cpu_worker launching")
    snap = replace(_hand_built(), autoscaler_feed=(launched,))
    why = explain(snap, snap.pending, NOW)["job:big"]
    assert why.category == "scale_up" and why.short == "scale-up: waits for the autoscaler"
    assert "ask for at most 2 CPU" in why.fix and "CPU 64" in why.fix
    verdict = FeedEvent(
        NOW - 5,
        "demand infeasible",
        "no node type can fulfill resource request {'CPU': 64.0}: add a node type for it",
    )
    snap = replace(snap, autoscaler_feed=(verdict, launched))
    why = explain(snap, snap.pending, NOW)["job:big"]
    assert why.category == "infeasible"
    assert any(e.endswith("(Ray's own verdict)") and "{'CPU': 64.0}" in e for e in why.evidence)
    other = replace(verdict, text=verdict.text.replace("64.0", "8.0"))  # another shape's verdict
    snap = replace(snap, autoscaler_feed=(other, launched))
    assert explain(snap, snap.pending, NOW)["job:big"].category == "scale_up"
