"""SVG snapshots of every pane at 100x30 and 80x24, rendered from recorded real responses.

Review a changed picture in the HTML report before accepting it with --snapshot-update.
"""

from __future__ import annotations

import pytest

from raycockpit.cockpit import clock
from raycockpit.cockpit.config import Settings
from raycockpit.screens.app import make_app
from tests.ui.replay import RECORDED_AT, replay_client

SIZES = [(100, 30), (80, 24)]
PANES = ["1", "2", "3", "4", "5", "6"]


@pytest.fixture(autouse=True)
def still_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: RECORDED_AT)


def _app(overrides: dict[str, str] | None = None):
    return make_app(Settings(refresh=3600), client=replay_client(overrides))


async def _loaded(pilot) -> None:
    app = pilot.app
    for _ in range(100):
        if app.snapshot is not None and app.snapshot.nodes:
            break
        await pilot.pause(0.05)
    await pilot.pause(0.1)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize(
    "key", PANES, ids=["overview", "nodes", "gpus", "autoscaler", "jobs", "serve"]
)
def test_pane(snap_compare, key, size):
    assert snap_compare(_app(), press=[key], terminal_size=size, run_before=_loaded)


GPU_NODES = {"/nodes": "nodes_view_summary_gpu.json"}
FAKE = {
    "launching": {
        "/nodes": "nodes_view_summary_fake_launching.json",
        "/api/cluster_status?format=1": "api_cluster_status_format1_fake_launching.json",
        "/api/cluster_status": "api_cluster_status_fake_launching.json",
    },
    "active": {
        "/nodes": "nodes_view_summary_fake_active.json",
        "/api/cluster_status?format=1": "api_cluster_status_format1_fake_active.json",
        "/api/cluster_status": "api_cluster_status_fake_active.json",
    },
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("key", ["1", "2", "3"], ids=["overview", "nodes", "gpus"])
def test_gpu_cluster(snap_compare, key, size):
    """A hand-built two-node GPU payload (RAY_API.md 1.1 schema; see tests/fixtures/README.md)."""
    assert snap_compare(_app(GPU_NODES), press=[key], terminal_size=size, run_before=_loaded)


@pytest.mark.parametrize("phase", ["launching", "active"])
@pytest.mark.parametrize("key", ["2", "4"], ids=["nodes", "autoscaler"])
def test_fake_multinode(snap_compare, key, phase):
    """Recorded from the fake_multinode autoscaler: a worker launching, then active."""
    assert snap_compare(_app(FAKE[phase]), press=[key], terminal_size=(100, 30), run_before=_loaded)


def test_launch_pane(snap_compare):
    assert snap_compare(_app(), press=["7"], terminal_size=(100, 30), run_before=_loaded)


async def _train_form(pilot) -> None:
    await _loaded(pilot)
    await pilot.press("7")
    pane = pilot.app.query_one("#launch")
    for _ in range(100):
        if pane.specs:
            break
        await pilot.pause(0.05)
    names = [s.name for s in pane.specs]
    await pilot.press("home", *["down"] * names.index("train"), "enter", "f2")
    for field in pilot.app.screen.query("Input"):
        field.cursor_blink = False  # a blinking cursor made the picture depend on timing under load
    await pilot.pause(0.2)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_launch_form(snap_compare, size):
    """The train form with the smoke preset, and one value out of range marked in place."""
    assert snap_compare(
        _app(), press=["end", "ctrl+u", "0"], terminal_size=size, run_before=_train_form
    )


async def _job_screen(pilot) -> None:
    from raycockpit.cockpit.parse import parse_job
    from raycockpit.cockpit.tail import TailState
    from raycockpit.screens.job import JobScreen
    from tests.conftest import FIXTURES

    await _loaded(pilot)
    job = parse_job(
        {
            "type": "SUBMISSION",
            "job_id": "02000000",
            "submission_id": "raysubmit_tuneSmoke0001",
            "status": "SUCCEEDED",
            "entrypoint": "python -m workloads.tune --num-samples 2 --max-epochs 3",
            "message": "Job finished successfully.",
            "start_time": 1795665080000,
            "end_time": 1795665110000,
            "metadata": {
                "raycockpit.spec": "tune",
                "raycockpit.values": '{"num_samples": "2"}',
                "raycockpit.options": (
                    '{"num_cpus": "", "num_gpus": "", "memory": "", "env_vars": "", "pip": ""}'
                ),
            },
        }
    )
    screen = JobScreen(job)
    await pilot.app.push_screen(screen)
    screen.add_lines((FIXTURES / "job_log_tune_smoke.txt").read_text().splitlines())
    screen.set_tail_state(TailState("ended", "job SUCCEEDED", job_status="SUCCEEDED"))
    screen.query_one(
        "#job-log"
    ).flush()  # no waiting on the timers: the picture must not depend on load
    screen.redraw()
    await pilot.pause(0.3)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_job_screen(snap_compare, size):
    """A recorded Tune smoke run: log, accuracy curve, last values, trials with the best marked."""
    assert snap_compare(_app(), terminal_size=size, run_before=_job_screen)


# Issue 12's pictures: the why of pending work, the autoscaler's decisions, actors and tasks.
WHY = {  # recorded from the real head with a job behind a busy one, a GPU actor, a 9-CPU group
    "/api/jobs/": "why_jobs.json",
    "/nodes": "why_nodes_view_summary.json",
    "/api/cluster_status?format=1": "why_cluster_status_format1.json",
    "/api/cluster_status": "why_cluster_status.json",
    "/api/v0/actors?state=PENDING_CREATION": "why_actors_pending.json",
    "/api/v0/actors?state=ALIVE&class_name=JobSupervisor": "why_supervisors_alive.json",
    "/api/v0/tasks?state=PENDING_NODE_ASSIGNMENT": "why_tasks_pending.json",
    "/api/v0/placement_groups?state!=REMOVED": "why_placement_groups.json",
}
ACTORS = {
    "/api/v0/actors?state!=DEAD": "api_v0_actors_detail_live.json",
    "/api/v0/actors?state=DEAD": "api_v0_actors_detail_dead.json",
    "/api/v0/actors/summarize": "api_v0_actors_summarize.json",
    "/api/v0/tasks/summarize": "api_v0_tasks_summarize_actors.json",
}
FEED = {**FAKE["active"], "/api/v0/cluster_events": "api_v0_cluster_events_fake_multinode.json"}


def test_why_pending_jobs(snap_compare):
    """The Jobs pane with a short reason in each pending job's row."""
    assert snap_compare(_app(WHY), press=["5"], terminal_size=(120, 30), run_before=_loaded)


def test_why_pending_jobs_in_a_light_theme(snap_compare):
    """The same in `theme: textual-light`: every state, reason and bar in the theme's colours."""
    app = make_app(Settings(refresh=3600, theme="textual-light"), client=replay_client(WHY))
    assert snap_compare(app, press=["5"], terminal_size=(120, 30), run_before=_loaded)


def test_actors_pane(snap_compare):
    """Key 0: actors with their state, node, pid, resources and death causes; tasks by state."""
    assert snap_compare(_app(ACTORS), press=["0"], terminal_size=(120, 34), run_before=_loaded)


async def _actor_screen(pilot) -> None:
    import json

    from raycockpit.cockpit.actor_detail import actor_detail
    from raycockpit.cockpit.log_stream import MARKER
    from raycockpit.cockpit.tail import TailState
    from raycockpit.screens.actor import ActorScreen
    from tests.conftest import FIXTURES

    await _loaded(pilot)
    recorded = json.loads((FIXTURES / "actor_detail" / "dead.json").read_text())
    detail = actor_detail(recorded["row"], recorded["logical"], None)
    screen = ActorScreen(detail.actor, node_name="vm")
    await pilot.app.push_screen(screen)
    screen.show_detail(detail)
    text = (FIXTURES / "actor_detail" / "dead_stderr.txt").read_text()
    screen.add_lines("err", [x for x in text.splitlines() if not MARKER.match(x)])
    for suffix in ("out", "err"):
        screen.set_tail_state(suffix, TailState("following"))
        screen.query_one(f"#log-{suffix}").flush()
    await pilot.pause(0.3)


def test_actor_screen_of_a_failed_constructor(snap_compare):
    """Enter on an actor whose constructor raised: its detail with the user's traceback, and
    its stderr (recorded from the real head)."""
    assert snap_compare(_app(ACTORS), terminal_size=(120, 30), run_before=_actor_screen)


async def _tasks_screen(pilot) -> None:
    import json

    from raycockpit.cockpit.task_list import task_list
    from raycockpit.screens.tasks import TasksScreen
    from tests.conftest import FIXTURES

    await _loaded(pilot)
    answers = [
        json.loads((FIXTURES / "task_list" / f"square_{name}.json").read_text())
        for name in ("all", "failed")
    ]
    tasks = task_list("square", *answers)
    nodes = {row.node_id: "vm" for row in tasks.rows}
    screen = TasksScreen("square", "task", nodes)
    await pilot.app.push_screen(screen)
    screen.show_tasks(tasks)
    await pilot.pause(0.3)


def test_tasks_screen_failed_first(snap_compare):
    """Enter on a task function: its tasks, the failed ones first with their errors, the
    selected one's traceback under the table (recorded from the real head)."""
    assert snap_compare(_app(ACTORS), terminal_size=(120, 30), run_before=_tasks_screen)


def test_autoscaler_feed(snap_compare):
    """The Autoscaler pane's decisions from Ray's recorded cluster events."""
    assert snap_compare(_app(FEED), press=["4"], terminal_size=(100, 34), run_before=_loaded)


def test_command_log(snap_compare):
    """ctrl+l: a submit and a stop, each with its REST call and `ray` line (the token left out)."""
    from raycockpit.cockpit.command_log import rest_command

    async def two_commands(pilot) -> None:
        await _loaded(pilot)
        log = pilot.app.command_log
        address = "http://127.0.0.1:8265"
        log.add(
            rest_command(
                "job submit",
                "raysubmit_snap0001",
                address=address,
                method="POST",
                path="/api/jobs/",
                ok=True,
                result="ok: raysubmit_snap0001",
                body={"entrypoint": "python -m workloads.core --preset smoke"},
                cli="ray job submit --address http://127.0.0.1:8265 -- "
                "python -m workloads.core --preset smoke",
                at=RECORDED_AT - 60,
            )
        )
        log.add(
            rest_command(
                "job stop",
                "raysubmit_snap0001",
                address=address,
                method="POST",
                path="/api/jobs/raysubmit_snap0001/stop",
                ok=True,
                result="ok",
                cli="ray job stop --address http://127.0.0.1:8265 raysubmit_snap0001",
                at=RECORDED_AT - 30,
            )
        )
        await pilot.press("ctrl+l")
        await pilot.pause(0.2)

    assert snap_compare(_app(), terminal_size=(120, 30), run_before=two_commands)


@pytest.fixture
def pm_folder():
    """A fixed path: the list screen's title names its folder."""
    import shutil
    from pathlib import Path

    folder = Path("/tmp/rc-snapshot-postmortems")
    shutil.rmtree(folder, ignore_errors=True)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_postmortems(snap_compare, pm_folder):
    """m on the Jobs pane: the kept bundles, readable with no cluster."""
    from raycockpit.cockpit import postmortem
    from raycockpit.cockpit.models import ClusterInfo, Job, Snapshot

    folder = pm_folder
    failed = Job(
        "raysubmit_snapfail", "", "SUBMISSION", "FAILED", "python train.py", driver_exit_code=3
    )
    shot = Snapshot(ClusterInfo("http://127.0.0.1:8265"), jobs=(failed,), connected=True)
    postmortem.write(
        folder,
        postmortem.job_failure(failed),
        shot,
        log="epoch 1\nCUDA out of memory\n",
        now=RECORDED_AT - 120,
    )
    app = make_app(Settings(refresh=3600, postmortem_dir=str(folder)), client=replay_client())

    async def open_list(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("5", "m")
        await pilot.pause(0.5)

    assert snap_compare(app, terminal_size=(120, 24), run_before=open_list)


async def _user_train_job(pilot) -> None:
    from raycockpit.cockpit.parse import parse_job
    from raycockpit.cockpit.tail import TailState
    from raycockpit.screens.job import JobScreen
    from tests.conftest import FIXTURES

    await _loaded(pilot)
    job = parse_job(
        {
            "type": "SUBMISSION",
            "job_id": "03000000",
            "submission_id": "raysubmit_userTrain001",
            "status": "SUCCEEDED",
            "entrypoint": "python train_user.py",
            "message": "Job finished successfully.",
            "start_time": 1795665080000,
            "end_time": 1795665110000,
        }
    )
    screen = JobScreen(job)
    await pilot.app.push_screen(screen)
    screen.add_lines((FIXTURES / "job_log_train_user.txt").read_text().splitlines())
    screen.set_tail_state(TailState("ended", "job SUCCEEDED", job_status="SUCCEEDED"))
    screen.query_one("#job-log").flush()
    screen.redraw()
    await pilot.pause(0.3)


def test_job_screen_of_a_user_program(snap_compare):
    """A Train program that knows nothing of raycockpit: what Ray printed, charted."""
    assert snap_compare(_app(), terminal_size=(100, 30), run_before=_user_train_job)


async def _too_many_workers(pilot) -> None:
    await _train_form(pilot)
    screen = pilot.app.screen
    field = screen.query_one("#f-num_workers")
    field.focus()
    await pilot.press("end", "ctrl+u", "6", "4")
    for _ in range(60):  # the checks run in a thread once typing stops
        if screen.preflight is not None and screen.preflight.lines():
            break
        await pilot.pause(0.1)
    await pilot.pause(0.2)


def test_launch_form_checks_before_submit(snap_compare):
    """64 workers on the recorded 2-CPU cluster: the warning names the numbers."""
    assert snap_compare(_app(), terminal_size=(100, 30), run_before=_too_many_workers)


async def _node_screen(pilot) -> None:
    from raycockpit.cockpit.node_work import Listing, NodeWork, WorkGroup
    from raycockpit.screens.node_detail import NodeDetailScreen

    await _loaded(pilot)
    node = pilot.app.snapshot.nodes[0]
    screen = NodeDetailScreen(node)
    await pilot.app.push_screen(screen)
    tasks = Listing(
        (
            WorkGroup("checked_square", (("FINISHED", 10), ("FAILED", 2))),
            WorkGroup("Chatty.run", (("RUNNING", 1),)),
        ),
        listed=13,
        matched=13,
    )
    actors = Listing((WorkGroup("Chatty", (("ALIVE", 1),)),), listed=1, matched=1)
    screen.show_work(NodeWork(node.node_id, tasks, actors))
    screen.query_one("#node-tasks").focus()
    await pilot.pause(0.3)


def test_node_screen_with_what_runs_there(snap_compare):
    """A node's screen: its detail, then its tasks by function and actors by class in tables
    (Enter opens a function's tasks on this node, or a class's actors)."""
    assert snap_compare(_app(), terminal_size=(110, 44), run_before=_node_screen)
