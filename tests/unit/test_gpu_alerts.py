"""GPU use per actor and the two alerts (cockpit/gpu_alerts.py), on the GPU node summary in the
reporter's schema (tests/fixtures/nodes_view_summary_gpu.json: hand-built, no GPU machine was
lent; see tests/fixtures/README.md) and a hand-built history: time is given, nobody sleeps."""

from __future__ import annotations

import copy

from raycockpit.cockpit.gpu_alerts import IDLE_AFTER_S, GpuAlerts, actor_gpu_use, gpu_index
from raycockpit.cockpit.models import Actor
from raycockpit.cockpit.parse import parse_nodes
from tests.conftest import load_fixture

PAYLOAD = load_fixture("nodes_view_summary_gpu.json")
WORKER = "a1" * 28


def nodes(payload=PAYLOAD):
    return parse_nodes(payload["data"])


HEAD = nodes()[0].node_id


def actor(actor_id, node, pid, gpus, state="ALIVE"):
    return Actor(actor_id, "Learner", state, node_id=node, pid=pid, resources={"GPU": gpus})


def test_processes_are_parsed_per_gpu_and_unknown_stays_unknown():
    head, worker = nodes()
    assert [g.procs and [(p.pid, p.memory_mb, p.utilization) for p in g.procs] for g in head.gpus][
        :2
    ] == [[(24001, 70912.0, 96.0)], [(24002, 69888.0, 94.0)]]
    assert head.gpus[2].procs == () and head.gpus[3].procs is None  # none vs not listed
    assert [g.index for g in worker.gpus] == [0, 1000, 1001]
    index, known = gpu_index([head, worker])
    assert known == {WORKER}  # the head has a GPU whose processes are not listed
    assert [g.key for g, _ in index[(WORKER, 31001)]] == [f"{WORKER}:0"]


def test_busy_actor_shows_its_process_utilisation_and_memory():
    index, known = gpu_index(nodes())
    use = actor_gpu_use(actor("a", HEAD, 24001, 1.0), index, known)
    assert (use.utilization, use.memory_mb, use.gpus) == (96.0, 70912.0, (f"{HEAD}:0",))
    # no GPU reserved, or not alive: not an actor with GPU use
    assert actor_gpu_use(actor("b", HEAD, 24001, 0.0), index, known) is None
    assert actor_gpu_use(actor("c", HEAD, 24001, 1.0, state="DEAD"), index, known) is None
    # a pid on no GPU of the head: unknown (GPU 3 does not list its processes) ...
    assert actor_gpu_use(actor("d", HEAD, 99999, 1.0), index, known).utilization is None
    # ... of the worker (every GPU lists them): it uses none, 0%
    use = actor_gpu_use(actor("e", WORKER, 99999, 1.0), index, known)
    assert (use.utilization, use.on_gpu) == (0.0, False)


def test_idle_alert_after_a_minute_of_observations_and_not_before():
    alerts = GpuAlerts(max_gap_s=1e9)  # sparse looks stand for continuous ones here
    idle = actor("idle", WORKER, 99999, 1.0)  # reserved a GPU, its process is on none
    busy = actor("busy", HEAD, 24001, 1.0)
    for at in (1000.0, 1030.0, 1000.0 + IDLE_AFTER_S - 0.5):
        seen = alerts.observe([idle, busy], nodes(), at)
        assert seen["idle"].alerts == () and seen["busy"].alerts == (), at
    seen = alerts.observe([idle, busy], nodes(), 1000.0 + IDLE_AFTER_S + 5)
    assert seen["idle"].idle_for_s == IDLE_AFTER_S + 5
    assert seen["idle"].alerts == ("idle 1m05s, 1 GPU: process on no GPU",)
    assert seen["busy"].alerts == () and seen["busy"].idle_for_s is None


def test_idle_clock_restarts_when_the_process_works_again():
    payload = copy.deepcopy(PAYLOAD)
    procs = payload["data"]["summary"][1]["gpus"][0]["processesPids"]
    procs[1]["gpuUtilization"] = 0  # pid 31002 on the worker's GPU 0 stops working
    learner = actor("l", WORKER, 31002, 0.25)
    alerts = GpuAlerts(max_gap_s=1e9)  # sparse looks stand for continuous ones here
    alerts.observe([learner], nodes(payload), 0.0)
    assert (
        alerts.observe([learner], nodes(payload), 61.0)["l"]
        .alerts[0]
        .startswith("idle 1m01s, 0.25 GPU: process at 0%")
    )
    # busy again (the recorded 12%): no alert, and the minute starts over
    assert alerts.observe([learner], nodes(), 62.0)["l"].alerts == ()
    alerts.observe([learner], nodes(payload), 70.0)
    assert alerts.observe([learner], nodes(payload), 125.0)["l"].alerts == ()
    assert alerts.observe([learner], nodes(payload), 130.0)["l"].alerts != ()


def test_unknown_utilisation_never_alerts():
    alerts = GpuAlerts(max_gap_s=1e9)  # sparse looks stand for continuous ones here
    unknown = actor("u", HEAD, 99999, 1.0)  # the head's GPU 3 lists no processes
    for at in (0.0, 60.0, 600.0):
        assert alerts.observe([unknown], nodes(), at)["u"].alerts == ()


def test_fractional_gpu_over_its_memory_share():
    # worker GPU 0 (81,559 MB): pid 31001 uses 20,000 MB, pid 31002 10,400 MB
    over = actor("over", WORKER, 31001, 0.2)  # share 16,312 MB < 20,000
    under = actor("under", WORKER, 31002, 0.25)  # share 20,390 MB > 10,400
    mig = actor("mig", WORKER, 31003, 0.5)  # MIG slice 40,192 MB: 3,900 MB used
    whole = actor("whole", HEAD, 24001, 1.0)  # a whole GPU has no share to exceed
    seen = GpuAlerts().observe([over, under, mig, whole], nodes(), 0.0)
    assert seen["over"].alerts == ("over share: 19.5 > 15.9 GiB (0.2 of GPU 0's 79.6 GiB)",)
    assert seen["under"].alerts == seen["mig"].alerts == seen["whole"].alerts == ()


def test_actors_gone_are_forgotten():
    alerts = GpuAlerts(max_gap_s=1e9)  # sparse looks stand for continuous ones here
    idle = actor("idle", WORKER, 99999, 1.0)
    alerts.observe([idle], nodes(), 0.0)
    alerts.observe([], nodes(), 30.0)
    assert alerts.observe([idle], nodes(), 70.0)["idle"].alerts == ()  # seen idle for 0 s


def test_a_gap_in_the_looks_starts_the_minute_over():
    """Looks more than MAX_GAP_S apart (the pane was hidden) say nothing of the time between."""
    alerts = GpuAlerts()
    idle = actor("idle", WORKER, 99999, 1.0)
    alerts.observe([idle], nodes(), 0.0)
    assert alerts.observe([idle], nodes(), 600.0)["idle"].alerts == ()
    assert alerts.observe([idle], nodes(), 620.0)["idle"].idle_for_s == 20.0
