"""Post-mortems on the real head: a job that fails while the cockpit watches leaves a bundle (its
info, its whole log, the snapshot JSON); with the cluster gone, the Jobs pane's `m` still lists and
opens it, and `raycockpit postmortem` prints it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from raycockpit.cockpit import postmortem
from raycockpit.cockpit.config import Settings
from raycockpit.cockpit.local import free_port
from raycockpit.cockpit.models import ClusterInfo, Job, Node, Snapshot
from raycockpit.screens.app import make_app
from raycockpit.screens.messages import SnapshotUpdated
from raycockpit.screens.postmortems import PostmortemListScreen, PostmortemScreen
from raycockpit.screens.widgets.log_view import LogView
from raycockpit.screens.workers.postmortems import PostmortemWorkers
from tests.ui.helpers import rendered_text, wait_for

SIZE = (120, 36)
RAYCOCKPIT = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "raycockpit"
FAILING = f"{sys.executable} -c \"import sys; print('boom'); sys.exit(3)\""


async def _open_offline(key: str, expect_log: str) -> None:
    """The cockpit pointed at an address where nothing answers: 5, m, Enter opens the bundle."""
    app = make_app(Settings(refresh=0.5), address=f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        assert app.current_pane == "jobs"
        await pilot.press("m")
        screen = app.screen
        assert isinstance(screen, PostmortemListScreen)
        await wait_for(pilot, lambda: screen.loaded, timeout=10, what="the folder read")
        keys = [b.key for b in screen.bundles]  # newest first
        # on the shared head another test's job may have failed while ours was watched: its
        # bundle is then newer than ours
        assert key in keys, keys
        for _ in range(keys.index(key)):
            await pilot.press("down")
        await pilot.press("enter")
        detail = app.screen
        assert isinstance(detail, PostmortemScreen) and detail.bundle.key == key
        view = detail.query_one(LogView)
        await wait_for(pilot, lambda: expect_log in view.lines, timeout=10, what="the kept log")
        head = rendered_text(detail.query_one("#pm-info-body"))
        assert key in head and "Why" in head
        await pilot.press("escape")
        assert app.screen is screen
        await pilot.press("escape")
        assert app.current_pane == "jobs"


async def test_the_jobs_pane_opens_a_kept_post_mortem_with_no_cluster(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    failed = Job("raysubmit_offline", "", "SUBMISSION", "FAILED", "python x.py", driver_exit_code=3)
    shot = Snapshot(ClusterInfo("http://gone:8265"), jobs=(failed,), connected=True)
    folder = postmortem.default_folder()
    postmortem.write(folder, postmortem.job_failure(failed), shot, log="one\nlast words\n")
    await _open_offline("raysubmit_offline", "last words")


async def test_a_node_that_dies_between_two_snapshots_is_kept_once(monkeypatch, tmp_path):
    """The app's keeper on two snapshots (model values: no cluster here can lose a node), handed
    to it as the App hands each SnapshotUpdated; the same death seen again keeps one bundle."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    address = f"http://127.0.0.1:{free_port()}"
    alive = Node("n1", "worker-1", "10.0.0.7", False, "ALIVE")
    dead = Node("n1", "worker-1", "10.0.0.7", False, "DEAD", state_message="health check failed")
    before = Snapshot(ClusterInfo(address), nodes=(alive,), connected=True)
    after = Snapshot(ClusterInfo(address), nodes=(dead,), connected=True)
    app = make_app(Settings(refresh=0.5), address=address)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.client is not None, what="the client")
        for shot in (before, after, before, after):
            PostmortemWorkers.on_snapshot_updated(app, SnapshotUpdated(shot))
        folder = app.postmortem_folder
        await wait_for(pilot, lambda: postmortem.list_bundles(folder), timeout=20, what="a bundle")
        (bundle,) = postmortem.list_bundles(folder)
        assert bundle.bundle_id == "node-n1" and bundle.status == "DEAD"
        assert bundle.why_text == "health check failed"
        await pilot.press("5", "m")
        screen = app.screen
        await wait_for(pilot, lambda: screen.loaded, timeout=10, what="the folder read")
        await pilot.press("enter")
        detail = app.screen
        assert isinstance(detail, PostmortemScreen)
        await wait_for(pilot, lambda: detail.contents is not None, timeout=10, what="the bundle")
        assert "health check failed" in rendered_text(detail.query_one("#pm-info-body"))


async def test_a_failed_jobs_screen_keeps_a_bundle_even_when_the_dashboard_is_gone(
    monkeypatch, tmp_path
):
    """A FAILED job's screen open on a cockpit whose dashboard does not answer: the bundle is
    kept from what the cockpit has (the job's row), and says why its log is missing."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    failed = Job("raysubmit_gone", "", "SUBMISSION", "FAILED", "python y.py", message="it broke")
    app = make_app(Settings(refresh=0.5), address=f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, what="a (disconnected) snapshot")
        app.open_job(failed)
        folder = app.postmortem_folder
        await wait_for(pilot, lambda: postmortem.list_bundles(folder), timeout=30, what="a bundle")
    (bundle,) = postmortem.list_bundles(folder)
    assert bundle.key == "raysubmit_gone" and bundle.status == "FAILED"
    assert bundle.log_error and bundle.job_info_error  # the dashboard did not answer: said
    contents = postmortem.read(bundle)
    assert contents.job_info["submission_id"] == "raysubmit_gone" and contents.log == ""
    assert bundle.why_text == "it broke"


@pytest.mark.cluster
async def test_a_failed_job_leaves_a_bundle_that_outlives_the_cluster(
    ray_head, client, monkeypatch, tmp_path
):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    folder = tmp_path / "raycockpit" / "postmortems"
    app = make_app(Settings(refresh=0.5), address=ray_head.dashboard_url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot, lambda: app.snapshot is not None and app.snapshot.connected, what="a snapshot"
        )
        job_id = await client.submit_job(FAILING)
        bundle = folder / postmortem.bundle_id("job", job_id)
        await wait_for(
            pilot, lambda: (bundle / "meta.json").is_file(), timeout=90, what="the bundle"
        )
    assert sorted(p.name for p in bundle.iterdir()) == [
        "job.json",
        "log.txt",
        "meta.json",
        "recording.rcrec",
        "snapshot.json",
    ]
    assert "boom" in (bundle / "log.txt").read_text()
    assert (bundle / "log.txt").read_text() == await client.job_logs(job_id)  # whole
    info = json.loads((bundle / "job.json").read_text())
    assert info["submission_id"] == job_id and info["status"] == "FAILED"
    assert info["driver_exit_code"] == 3
    snap = json.loads((bundle / "snapshot.json").read_text())
    assert snap["schema"] == 1 and snap["address"] == ray_head.dashboard_url
    assert any(j["submission_id"] == job_id and j["status"] == "FAILED" for j in snap["jobs"])
    meta = json.loads((bundle / "meta.json").read_text())
    assert meta["why"][0]["about"] == f"job:{job_id}" and meta["why"][0]["reason"]
    print(f"post-mortem why: {meta['why'][0]}")

    await _open_offline(job_id, "boom")

    env = {**os.environ, "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path)}
    env.pop("RAYCOCKPIT_CONFIG", None)
    listed = subprocess.run(
        [str(RAYCOCKPIT), "postmortem", "list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert listed.returncode == 0, listed.stderr
    assert job_id in listed.stdout and "FAILED" in listed.stdout
    shown = subprocess.run(
        [str(RAYCOCKPIT), "postmortem", "show", job_id],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert shown.returncode == 0, shown.stderr
    assert "boom" in shown.stdout and f'"submission_id": "{job_id}"' in shown.stdout
    print(listed.stdout + shown.stdout)
    # the bundle opens like a recording: --replay ID (or its folder), here as a script would
    replayed = subprocess.run(
        [str(RAYCOCKPIT), "--replay", job_id, "--once", "--json", "--at", "end"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert replayed.returncode == 0, replayed.stderr
    snap = json.loads(replayed.stdout)
    assert {j["submission_id"]: j["status"] for j in snap["jobs"]}[job_id] == "FAILED"
    assert [n["ip"] for n in snap["nodes"]] == ["127.0.0.1"]
