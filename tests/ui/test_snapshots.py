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
