"""Jobs on the embedded head run with the cockpit's own Python, whatever the login shell's rc
files do. The trap, reproduced on a real head: Ray 2.60 starts a job's supervisor through
`bash -c`, and Debian's bash reads ~/.bashrc for `bash -c` whenever SSH_CLIENT is set (and the
shell level is low, as under `ssh host 'cmd'`), so a `.bashrc` that puts pyenv or conda shims
first on PATH decides which `python` the job runs. Here the `.bashrc` of a temporary HOME puts a
decoy `python` first, one that cannot import ray, and the head is started by the cockpit's own
`LocalHead` with SSH_CLIENT set, as it is inside an SSH session."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import pytest

from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.launch import (
    JobOptions,
    build_custom_request,
    build_request,
    load_specs,
    submit,
)
from raycockpit.cockpit.local import HeadPorts, LocalHead
from raycockpit.cockpit.models import TERMINAL_JOB_STATES

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
DECOY = """#!/bin/sh
echo "ModuleNotFoundError: No module named 'ray' (decoy python put first on PATH by ~/.bashrc)" >&2
exit 1
"""


def make_trapped_home(home: Path) -> None:
    """A HOME whose .bashrc (and .profile) put a python that cannot import ray first on PATH."""
    (home / "shims").mkdir(parents=True)
    decoy = home / "shims" / "python"
    decoy.write_text(DECOY)
    decoy.chmod(0o755)
    rc = f'export PATH="{home / "shims"}:$PATH"\n'
    (home / ".bashrc").write_text(rc)
    (home / ".profile").write_text(rc)


@pytest.fixture(scope="module")
def trapped_head(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    make_trapped_home(home)
    with pytest.MonkeyPatch.context() as mp:
        # the environment of `ssh host 'cd raycockpit && .venv/bin/raycockpit'`
        mp.setenv("HOME", str(home))
        mp.setenv("SSH_CLIENT", "127.0.0.1 52022 22")
        mp.setenv("SSH_CONNECTION", "127.0.0.1 52022 127.0.0.1 22")
        mp.setenv("SSH_TTY", "/dev/pts/9")
        mp.delenv("SHLVL", raising=False)
        head = LocalHead(
            ports=HeadPorts.isolated(),
            temp_dir=tempfile.mkdtemp(prefix="rc-trap-"),
            workdir=str(ROOT),
        )
        head.start()
    try:
        yield head
    finally:
        head.stop()


async def run_to_end(client: DashboardClient, request, timeout: float = 150.0) -> tuple[dict, str]:
    job_id = await submit(client, request)
    deadline = time.monotonic() + timeout
    job = await client.get_job(job_id)
    while job["status"] not in TERMINAL_JOB_STATES and time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        job = await client.get_job(job_id)
    return job, await client.job_logs(job_id)


async def test_jobs_ignore_the_login_shells_python(trapped_head):
    specs, _ = load_specs([])
    core = next(s for s in specs if s.name == "core")
    # a bundled workload (its package, `python -m workloads.core`) with small values: which
    # python runs it is the point, not how much it computes
    small = {"num_tasks": "20", "waves": "1", "array_mb": "1", "readers": "2"}
    bundled, errors = build_request(core, {**core.preset_values("smoke"), **small}, JobOptions())
    assert bundled is not None, errors
    custom, errors = build_custom_request(
        "python -c \"import ray, sys; print('RAY_FROM', sys.executable, ray.__version__)\"",
        "",
        JobOptions(),
    )
    assert custom is not None, errors
    async with DashboardClient(trapped_head.dashboard_url, discover=False) as client:
        (job_a, log_a), (job_b, log_b) = await asyncio.gather(
            run_to_end(client, bundled), run_to_end(client, custom)
        )
    assert job_b["status"] == "SUCCEEDED", f"{job_b.get('message')}\n{log_b[-2000:]}"
    assert "RAY_FROM" in log_b and "decoy" not in log_b
    assert job_a["status"] == "SUCCEEDED", f"{job_a.get('message')}\n{log_a[-2000:]}"
