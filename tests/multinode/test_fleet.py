"""Contexts and the Fleet against two real clusters at once: the three-node cluster in network
namespaces (reached over SSH, its dashboard on the head's loopback) and the single local head of
the suite (`ray_head`, on this machine's loopback).

`raycockpit --once --json --all-contexts` prints a line for each; in the app the Fleet pane shows
both (the current one from the app's poller, the other from the background watcher) and `:ctx`
switches the whole cockpit from one to the other and back.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from raycockpit.cockpit.config import Settings
from raycockpit.screens.app import make_app
from raycockpit.screens.fleet import FleetPane
from tests.ui.helpers import wait_for

pytestmark = pytest.mark.cluster

RAYCOCKPIT = Path(sys.executable).with_name("raycockpit")


def contexts(multinode, ray_head) -> dict:
    return {
        "multi": {
            "ssh": multinode.sshd.alias,
            "ssh_options": ["-F", str(multinode.sshd.client_config)],
        },
        "local": {"address": ray_head.dashboard_url},
    }


def test_once_all_contexts_prints_both_clusters(multinode, ray_head, tmp_path):
    path = tmp_path / "cockpit.yaml"
    path.write_text(json.dumps({"contexts": contexts(multinode, ray_head)}))
    done = subprocess.run(
        [str(RAYCOCKPIT), "--config", str(path), "--once", "--json", "--all-contexts"],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    multi, local = rows["multi"], rows["local"]
    assert multi["reachable"] and local["reachable"], rows
    assert multi["nodes_alive"] == 3 and multi["cpu_total"] == 3.0, multi
    assert multi["where"] == f"ssh {multinode.sshd.alias}"
    assert local["nodes_alive"] == 1 and local["where"] == ray_head.dashboard_url
    assert multi["ray_version"] == local["ray_version"] != ""


async def test_the_fleet_pane_and_switching_between_the_two(multinode, ray_head):
    base = Settings.model_validate(
        {"refresh": 1.0, "contexts": contexts(multinode, ray_head), "context": "local"}
    )
    app = make_app(base.for_context("local"), base_settings=base)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: app.snapshot and app.snapshot.nodes, what="local's nodes")
        assert len(app.snapshot.nodes) == 1
        await pilot.press("9")
        pane = app.query_one(FleetPane)
        await wait_for(
            pilot,
            lambda: pane.rows.get("multi") and pane.rows["multi"].nodes_alive == 3,
            timeout=60,
            what="the multi-node cluster's line, asked over SSH in the background",
        )
        rows = app.query_one(FleetPane).rows
        assert rows["local"].current and rows["local"].nodes_alive == 1

        await pilot.press("colon", *"ctx multi", "enter")
        await wait_for(pilot, lambda: app.context_name == "multi", timeout=60, what="the switch")
        await wait_for(
            pilot,
            lambda: (
                app.snapshot and len([n for n in app.snapshot.nodes if n.state == "ALIVE"]) == 3
            ),
            timeout=60,
            what="the three nodes through the tunnel",
        )
        ips = {n.ip for n in app.snapshot.nodes if n.state == "ALIVE"}
        assert ips == set(multinode.ips.values())
        await pilot.press("2")  # the Nodes pane: a row per node with its IP and its usage
        table = app.query_one("#nodes-table")
        await wait_for(pilot, lambda: len(table.rows_text()) >= 3, what="the Nodes rows")
        rows = {row[1]: row for row in table.rows_text()}
        assert set(multinode.ips.values()) <= set(rows), rows
        for ip in multinode.ips.values():
            assert rows[ip][5].endswith("/1"), rows[ip]  # CPUs used / total: one CPU each
        assert app.tunnel is not None and app.tunnel.alive()
        tunnel = app.tunnel

        await pilot.press("colon", *"ctx local", "enter")
        await wait_for(pilot, lambda: app.context_name == "local", timeout=60, what="back")
        await wait_for(
            pilot,
            lambda: app.snapshot and len(app.snapshot.nodes) == 1,
            timeout=60,
            what="local's node again",
        )
        assert app.tunnel is None and not tunnel.alive(), "the old context's tunnel is closed"
