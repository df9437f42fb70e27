"""Checks before submit, in the form, against the real head: more CPUs than the cluster has is a
warning naming the numbers (the submit still goes); a working_dir over the (lowered) upload
limit is refused with its sizes and nothing is sent."""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from pathlib import Path

import pytest

from raycockpit.cockpit import preflight
from raycockpit.screens.launch_form import LaunchFormScreen
from tests.ui.helpers import screen_text, wait_for
from tests.ui.test_launch import SIZE, _app, open_form, type_into

pytestmark = pytest.mark.cluster
MiB = 1024**2


@pytest.fixture
def small_dir():
    """A working_dir with a short path (each character is one key press)."""
    folder = tempfile.mkdtemp(prefix="rcp", dir="/tmp")
    try:
        yield Path(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def checks_text(form: LaunchFormScreen) -> str:
    return screen_text(form.query_one("#form-checks"))


async def test_more_cpus_than_the_cluster_is_a_warning_with_numbers(ray_head):
    app = _app(ray_head.dashboard_url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot and app.snapshot.alive_nodes, what="nodes")
        cpus = sum(n.resources_total.get("CPU", 0) for n in app.snapshot.alive_nodes)
        form = await open_form(pilot, "train")
        await type_into(pilot, "num_workers", "64")
        await wait_for(pilot, lambda: "64 workers" in checks_text(form), what="the warning")
        text = checks_text(form)
        capture("preflight_cpus.txt", text)
        assert (
            f"asks 64 workers x 1 CPU = 64 CPU; the cluster has {cpus:g} CPU and cannot scale"
        ) in text, text
        assert form.query_one("#form-checks").display
        await type_into(pilot, "num_workers", "1")
        await wait_for(pilot, lambda: not checks_text(form), what="the warning gone")
        assert not form.query_one("#form-checks").display


async def test_working_dir_over_the_limit_is_refused_with_sizes(
    ray_head, client, small_dir, monkeypatch
):
    (small_dir / "main.py").write_text("print('hi')\n")
    (small_dir / "weights.bin").write_bytes(random.Random(1).randbytes(2 * MiB))
    (small_dir / "data").mkdir()
    (small_dir / "data" / "huge.bin").write_bytes(b"\0" * (8 * MiB))
    (small_dir / ".gitignore").write_text("data/\n")  # Ray leaves it out: so does the check
    monkeypatch.setattr(preflight, "DASHBOARD_CLIENT_MAX_SIZE", MiB)
    before = len(await client.list_jobs())
    app = _app(ray_head.dashboard_url)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, "custom")
        await type_into(pilot, "entrypoint", "python main.py")
        await type_into(pilot, "working_dir", str(small_dir))
        await wait_for(pilot, lambda: "upload limit" in checks_text(form), what="the check")
        text = checks_text(form)
        assert f"working_dir {small_dir}: 3 files, 2.0 MiB packed" in text, text
        assert "largest: weights.bin 2.0 MiB" in text and "huge.bin" not in text
        assert "over Ray's upload limit of 1.0 MiB" in text
        await pilot.press("ctrl+r")
        status = screen_text(form.query_one("#form-status"))
        capture("preflight_working_dir.txt", checks_text(form) + "\n" + status)
        assert status.startswith("Not sent: working_dir") and "2.0 MiB packed" in status
        await pilot.pause(1.0)
        assert app.screen is form  # no job screen: nothing was sent
        assert len(app.command_log) == 0
    assert len(await client.list_jobs()) == before


def capture(name: str, text: str) -> None:
    """With RAYCOCKPIT_CAPTURE=FOLDER: what the form shows, as text, for the README."""
    folder = os.environ.get("RAYCOCKPIT_CAPTURE")
    if folder:
        Path(folder, name).write_text(text + "\n")


async def test_a_csv_that_is_not_on_this_machine_is_refused_before_submit(ray_head, client):
    """The data workload's csv_path on the test head (this machine): a missing file is named
    in the form and nothing is sent (the job failed 11 s later with FileNotFoundError)."""
    before = len(await client.list_jobs())
    app = _app(ray_head.dashboard_url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot and app.snapshot.alive_nodes, what="nodes")
        form = await open_form(pilot, "data")
        await type_into(pilot, "csv_path", "/nonexistent/my.csv")
        await wait_for(pilot, lambda: "csv path" in checks_text(form), what="the check")
        assert "/nonexistent/my.csv does not exist on this machine" in checks_text(form)
        await pilot.press("ctrl+r")
        status = screen_text(form.query_one("#form-status"))
        assert status.startswith("Not sent: csv path: /nonexistent/my.csv does not exist"), status
        await pilot.pause(1.0)
        assert app.screen is form and len(app.command_log) == 0
    assert len(await client.list_jobs()) == before
