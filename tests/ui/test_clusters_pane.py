"""The Clusters pane (8), driven with keys: the launcher's cluster configs (the bundled example and
the user's own, a broken one marked in one line), `--readonly` refusing up / down / exec, and
`ray exec` run for real after a prompt and a confirmation that shows the exact command, its output
streamed into the pane and its failure said in one line (the config points at a head where no
sshd listens, so Ray's launcher fails after a few lines of its own output).

`ray up` on machines over SSH is tested for real in tests/multinode/test_launcher.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import ContentSwitcher

from benchmarks.replay import ReplayServer
from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.config import Settings
from raycockpit.cockpit.local import free_port
from raycockpit.screens.app import make_app
from raycockpit.screens.clusters import ClustersPane
from raycockpit.screens.dialogs import ConfirmScreen, PromptScreen
from tests.ui.helpers import wait_for

SIZE = (120, 40)
EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "examples"


@pytest.fixture
def user_clusters(tmp_path, monkeypatch):
    """An XDG config home with two cluster configs of the user: one fine, one broken."""
    folder = tmp_path / "config" / "raycockpit" / "clusters"
    folder.mkdir(parents=True)
    key = tmp_path / "id_test"
    key.write_text("not a key\n")
    (folder / "onprem.yaml").write_text(
        "cluster_name: onprem\n"
        "provider: {type: local, head_ip: 127.0.0.1, worker_ips: [127.0.0.2]}\n"
        f"auth: {{ssh_user: nobody, ssh_private_key: {key}}}\n"
        f"# no sshd listens on port {free_port()} here\n"
    )
    (folder / "broken.yaml").write_text("cluster_name: [unclosed\n")
    (folder / "tutorial.yaml").write_text((EXAMPLES / "ray-cluster-config.yaml").read_text())
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return folder


@pytest.fixture(scope="module")
def dashboard():
    server = ReplayServer(nodes=2, jobs=3)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _app(dashboard, **settings):
    client = DashboardClient(dashboard.url, discover=False)
    return make_app(Settings(refresh=5, **settings), client=client)


async def _pane(pilot) -> ClustersPane:
    app = pilot.app
    await pilot.press("8")
    assert app.query_one(ContentSwitcher).current == "clusters"
    pane = app.query_one(ClustersPane)
    await wait_for(pilot, lambda: len(pane.configs) >= 3, what="the cluster configs")
    return pane


async def _select(pilot, pane: ClustersPane, name: str) -> None:
    table = pane.query_one("#clusters-table")
    table.focus()
    await pilot.press("home")
    for _ in range(len(pane.configs)):
        key = table.selected_key
        if key and pane.configs[key].name == name:
            return
        await pilot.press("down")
    raise AssertionError(f"{name} not in the table")


async def test_configs_listed_and_readonly_refuses(dashboard, user_clusters):
    app = _app(dashboard, readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        pane = await _pane(pilot)
        names = {c.name: c for c in pane.configs.values()}
        assert {"raycockpit-fake", "onprem"} <= set(names)
        assert names["onprem"].provider == "local" and names["onprem"].head == "127.0.0.1"
        (broken,) = [c for c in pane.configs.values() if c.path.name == "broken.yaml"]
        assert broken.problem and "\n" not in broken.problem
        assert "8 Clusters" in str(app.query_one("#nav").render())  # the user has configs
        await _select(pilot, pane, "onprem")
        for key in ("u", "D", "x"):
            await pilot.press(key)
            assert not isinstance(app.screen, (ConfirmScreen, PromptScreen)), key
        assert "Read-only" in str(pane.query_one("#clusters-help").render())


async def test_exec_streams_the_launchers_output_and_says_it_failed(dashboard, user_clusters):
    app = _app(dashboard)
    async with app.run_test(size=SIZE) as pilot:
        pane = await _pane(pilot)
        await _select(pilot, pane, "onprem")
        await pilot.press("x")
        assert isinstance(app.screen, PromptScreen)
        await pilot.press(*"hostname", "enter")
        assert isinstance(app.screen, ConfirmScreen)
        detail = str(app.screen.query_one("#confirm-detail").render())
        assert "ray exec" in detail and "onprem.yaml" in detail and "hostname" in detail
        await pilot.press("y")
        log = pane.query_one("#clusters-log")
        await wait_for(
            pilot,
            lambda: "failed" in log.source_status,
            timeout=120,
            what="ray exec to fail against a head with no sshd",
        )
        log.flush()
        assert log.line_count > 0, "no output streamed"
        assert any(
            "ray exec onprem failed" in n.message and "exit status" in n.message
            for n in app._notifications
        )


async def test_attach_opens_the_head_as_a_context_or_says_why_not(dashboard, user_clusters):
    app = _app(dashboard)
    async with app.run_test(size=SIZE) as pilot:
        pane = await _pane(pilot)
        await _select(pilot, pane, "raycockpit-fake")  # fake_multinode: no head address
        await pilot.press("a")
        await pilot.pause(0.2)
        assert any(
            "cannot attach raycockpit-fake" in n.message and "ray get-head-ip" in n.message
            for n in app._notifications
        )
        await _select(pilot, pane, "onprem")  # its head is 127.0.0.1, where no sshd listens
        await pilot.press("a")
        await wait_for(
            pilot,
            lambda: any("cannot open cluster-onprem" in n.message for n in app._notifications),
            timeout=30,
            what="the attach to fail in one line",
        )
        settings = app._contexts["cluster-onprem"]
        assert settings.ssh == "nobody@127.0.0.1" and settings.ssh_key.endswith("id_test")
        assert app.context_name != "cluster-onprem" and app.snapshot.connected


async def test_enter_runs_the_config_doctor_into_the_pane_even_read_only(dashboard, user_clusters):
    app = _app(dashboard, readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        pane = await _pane(pilot)
        log = pane.query_one("#clusters-log")
        await _select(pilot, pane, "production-ray-cluster")  # the tutorial's config
        await pilot.press("enter")
        await wait_for(pilot, lambda: log.source_status == "7 problems", what="the doctor")
        log.flush()
        text = "\n".join(log.lines)
        assert "checked against the installed Ray 2.60.0" in text
        assert "target_utilization_fraction: has no Ray 2.x meaning" in text
        assert "provider: is required" in text
        await _select(pilot, pane, "onprem")
        await pilot.press("enter")
        await wait_for(pilot, lambda: log.source_status == "no problems", what="a clean one")
        assert log.border_title == "config check onprem"
