"""Shared fixtures: ONE real local Ray head on loopback for the whole run, on ports of its own."""

from __future__ import annotations

import gc
import json
import os
import tempfile
import time
from pathlib import Path

import pytest

from raycockpit.cockpit import gc_pacing
from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.local import HeadPorts, LocalHead

os.environ["TZ"] = "UTC"  # stable times in pictures and text
time.tzset()
# post-mortems a test's cockpit keeps (cockpit/postmortem.py) go to a folder of the run, never to
# the real ~/.local/state
os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="rc-state-")

FIXTURES = Path(__file__).parent / "fixtures"
REPO_ROOT = Path(__file__).resolve().parent.parent

# Ray 2.60's `ray start --block` answers SIGTERM by draining its node first, for up to 30 s
# whenever anything holds a lease (a running job, a detached actor, a Serve app), and only then
# stops its processes: a test head has nothing to drain for, so it stops at once.
NO_DRAIN_ENV = {"RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0"}
# A runtime_env that cannot be set up (tests/cluster/test_why.py's pip package that does not
# exist) is tried once, not three times: Ray's retries re-clone a venv and kept the head's
# runtime_env agent busy for ~6 minutes of the tests after it.
ONE_SETUP_ENV = {"RUNTIME_ENV_RETRY_TIMES": "1"}


def load_fixture(name: str):
    path = FIXTURES / name
    text = path.read_text()
    return json.loads(text) if name.endswith(".json") else text


@pytest.fixture(autouse=True)
def _gc_policy_as_it_was():
    """The CLI's quiet_start (run by tests that call cli.main in this process) sets the whole
    process's GC policy: thresholds, and the poller's builds without collections. Undone after
    each test, so that the tests after it run under Python's own policy."""
    threshold, paced = gc.get_threshold(), gc_pacing._paced
    yield
    gc.set_threshold(*threshold)
    gc_pacing._paced = paced


@pytest.fixture(scope="session")
def ray_head():
    """A real Ray head (loopback, isolated ports, its own temp dir), stopped by its pid at the
    end."""
    temp_dir = tempfile.mkdtemp(prefix="rc-test-")
    head = LocalHead(
        ports=HeadPorts.isolated(),
        temp_dir=temp_dir,
        workdir=str(REPO_ROOT),
        extra_env={**NO_DRAIN_ENV, **ONE_SETUP_ENV},
    )
    head.start()
    try:
        yield head
    finally:
        head.stop()


@pytest.fixture
async def client(ray_head):
    async with DashboardClient(ray_head.dashboard_url, discover=False) as c:
        yield c


EMBEDDED_HEAD_MODULES = {
    "tests/e2e/test_hangup.py",
    "tests/e2e/test_over_ssh.py",
    "tests/e2e/test_web.py",
}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    """The suite runs on two pytest-xdist workers (`--dist loadgroup`, pyproject's addopts): every
    test of the shared Ray head goes to one worker (one head for the run, as before), the
    multi-node tests (their own namespaces and heads) to one worker, and the other tests by
    module, so a module's fixtures are set up once."""
    for item in items:
        if "ray_head" in item.fixturenames:
            group = "ray_head"
        elif item.nodeid.startswith("tests/multinode/"):
            group = "multinode"
        elif item.nodeid.split("::", 1)[0] in EMBEDDED_HEAD_MODULES:
            group = "embedded-head"  # each starts a head on Ray's standard ports: one at a time
        else:
            group = item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(group))
