"""Token authentication against a real head started with RAY_AUTH_MODE=token."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile

import pytest

from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.errors import AuthForbidden, AuthRequired
from raycockpit.cockpit.local import HeadPorts, LocalHead

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def token_head():
    token = secrets.token_hex(16)
    head = LocalHead(
        ports=HeadPorts.isolated(),
        temp_dir=tempfile.mkdtemp(prefix="rc-auth-"),
        num_cpus=1,
        extra_env={"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token},
    )
    head.start()
    try:
        yield head, token
    finally:
        head.stop()


async def test_token_required_refused_and_accepted(token_head):
    head, token = token_head
    async with DashboardClient(head.dashboard_url, discover=False) as anonymous:
        assert await anonymous.auth_mode() == "token"  # a public path
        with pytest.raises(AuthRequired) as missing:
            await anonymous.list_jobs()
    assert "RAY_AUTH_TOKEN" in str(missing.value)
    async with DashboardClient(head.dashboard_url, token="not-the-token") as wrong:
        with pytest.raises(AuthForbidden):
            await wrong.node_summary()
    async with DashboardClient(head.dashboard_url, token=token) as right:
        assert (await right.version())["ray_version"] == "2.60.0"
        assert (await right.node_summary())["summary"]


def test_once_reads_the_token_from_the_environment_and_never_prints_it(token_head, tmp_path):
    head, token = token_head
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env["HOME"] = str(tmp_path)  # no ~/.ray/auth_token of the user's
    cmd = [
        sys.executable,
        "-m",
        "raycockpit.cockpit.cli",
        "--once",
        "--address",
        head.dashboard_url,
    ]
    refused = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "requires an auth token" in refused.stderr
    token_file = tmp_path / "tok"
    token_file.write_text(token + "\n")
    ok = subprocess.run(
        cmd,
        env={**env, "RAY_AUTH_TOKEN_PATH": str(token_file)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert "== Nodes" in ok.stdout and "127.0.0.1" in ok.stdout
    assert token not in ok.stdout + ok.stderr + refused.stdout + refused.stderr
