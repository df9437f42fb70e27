"""The Serve pane, driven with keys only.

The cluster test deploys the real serve workload as a Job on the session's Ray head and uses the
pane on it: tree, request tester, load test, scale, delete, and the app gone after the job stops.
The form tests replay recorded answers (no cluster): bad input is marked and nothing is sent.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import time
from pathlib import Path

import pytest

from raycockpit.cockpit.config import Settings
from raycockpit.cockpit.local import free_port
from raycockpit.cockpit.packaging import build_package, ensure_uploaded
from raycockpit.screens.app import make_app
from raycockpit.screens.dialogs import ConfirmScreen, ScaleScreen
from raycockpit.screens.serve import ServePane
from tests.ui.helpers import screen_text, wait_for
from tests.ui.replay import replay_client

ROOT = Path(__file__).resolve().parents[2]
SIZE = (120, 40)
APP = "cockpit-digits"
SENT = (
    ServePane.SendRequest,
    ServePane.RunLoadTest,
    ServePane.ScaleDeployment,
    ServePane.DeleteApp,
    ServePane.ShutdownServe,
)


def labels(pane: ServePane) -> list[str]:
    """Every tree line as plain text, depth-first."""
    out: list[str] = []

    def walk(node) -> None:
        for child in node.children:
            out.append(str(child.label.plain if hasattr(child.label, "plain") else child.label))
            walk(child)

    walk(pane.tree.root)
    return out


def app_lines(pane: ServePane, name: str) -> list[str]:
    return [line for line in labels(pane) if line.startswith(name + " ")]


async def focus_by_tab(pilot, widget_id: str, limit: int = 15) -> None:
    for _ in range(limit):
        focused = pilot.app.focused
        if focused is not None and focused.id == widget_id:
            return
        await pilot.press("tab")
    raise AssertionError(f"tab never reached #{widget_id} (focus is on {pilot.app.focused})")


@pytest.mark.cluster
async def test_serve_pane_on_the_real_serve_workload(ray_head, client):
    uri = await ensure_uploaded(client, build_package(ROOT))
    port = free_port()
    entry = shlex.join(
        [
            "python",
            "-m",
            "workloads.serve",
            "--preset",
            "smoke",
            "--port",
            str(port),
            "--app-name",
            APP,
            "--duration",
            "300",
            "--self-test-requests",
            "0",
        ]
    )
    job_id = await client.submit_job(
        entry, runtime_env={"working_dir": uri}, metadata={"test": "serve-pane"}
    )
    app = make_app(Settings(refresh=0.5), address=ray_head.dashboard_url)
    stopped = False
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("6")
            assert app.current_pane == "serve"
            pane = app.query_one(ServePane)

            async def job_note() -> str:
                job = await client.get_job(job_id)
                logs = await client.job_logs(job_id)
                return f"job {job['status']}: {job.get('message')}\n{logs[-2000:]}"

            def deployed() -> bool:
                lines = labels(pane)
                return (
                    any(line.startswith(f"{APP}  RUNNING") for line in lines)
                    and any("HEALTHY" in line and "1/1 replicas" in line for line in lines)
                    and any(
                        line.split("  ")[1:2] == ["RUNNING"] and "pid" in line for line in lines
                    )
                )

            try:
                await wait_for(
                    pilot,
                    deployed,
                    timeout=150,
                    what=f"{APP} RUNNING with a HEALTHY deployment and a RUNNING replica",
                )
            except AssertionError as exc:
                raise AssertionError(f"{exc}; tree: {labels(pane)}\n{await job_note()}") from None
            assert app.focused is pane.tree
            assert pane.query_one("#serve-route").value == APP

            # one request from the tester: ctrl+r sends the prefilled /predict body
            # (two digits rows)
            await pilot.press("ctrl+r")
            await wait_for(
                pilot,
                lambda: "HTTP" in pane.result_text or "cannot" in pane.result_text,
                timeout=30,
                what="the answer to POST /predict",
            )
            head, _, body = pane.result_text.partition("\n")
            assert head.startswith("POST http://127.0.0.1:") and head.endswith("/predict"), (
                pane.result_text
            )
            status_line, _, shown = body.partition("\n")
            assert status_line.startswith("HTTP 200") and " ms" in status_line, pane.result_text
            answer = json.loads(shown)
            assert len(answer["predictions"]) == 2 and all(
                0 <= p <= 9 for p in answer["predictions"]
            )
            assert len(answer["probabilities"]) == 2 and len(answer["probabilities"][0]) == 10

            # a small load test: N=40 at C=4 typed into the form, Enter in C starts it
            await focus_by_tab(pilot, "serve-n")
            await pilot.press(*"40", "tab", *"4")
            assert (pane.query_one("#serve-n").value, pane.query_one("#serve-c").value) == (
                "40",
                "4",
            )
            await pilot.press("enter")
            await wait_for(
                pilot, lambda: pane.last_load is not None, timeout=60, what="the load test result"
            )
            load = pane.last_load
            assert load.n == 40 and load.errors == 0 and load.statuses == {200: 40}, (
                pane.result_text
            )
            assert 0 < load.p50 <= load.p95 <= load.p99 and load.rps > 0
            for word in ("p50", "p95", "p99", "rps", "errors 0"):
                assert word in pane.result_text, pane.result_text

            # the app's traffic from its proxy's metrics (Ray exports every ~10 s, the pane
            # reads every 10 s): the load test's requests, as a rate, with their latency
            await wait_for(
                pilot,
                lambda: any("req/s" in line for line in app_lines(pane, APP)),
                timeout=60,
                what="the app's traffic in its label",
            )
            (line,) = app_lines(pane, APP)
            assert " ms" in line.split("req/s", 1)[1] and "xx" not in line, line  # no errors
            seen = pane.traffic[APP]
            assert seen.requests >= 41 and seen.p95_ms is not None, seen  # 1 + 40 (and health)

            # scale the deployment to 2: Ray 2.60 allows it only with external_scaler_enabled
            await pilot.press(
                "escape", "down"
            )  # back to the tree, cursor from the app to its deployment
            assert pane.tree.cursor_node.data[0] == "dep", pane.tree.cursor_node.data
            await pilot.press("n")
            assert isinstance(app.screen, ScaleScreen)
            await pilot.press("2", "enter")
            await wait_for(
                pilot,
                lambda: "scale" in pane.action_text and "…" not in pane.action_text,
                timeout=30,
                what="the answer to the scale request",
            )
            if "refused" in pane.action_text:
                assert (
                    "HTTP 412" in pane.action_text and "external_scaler_enabled" in pane.action_text
                ), pane.action_text
            else:
                await wait_for(
                    pilot,
                    lambda: any("2/2 replicas" in line for line in labels(pane)),
                    timeout=90,
                    what="2 running replicas",
                )

            # delete the app: the modal names it; Ray cannot delete one serve.run app, and says why
            await pilot.press("d")
            assert isinstance(app.screen, ConfirmScreen) and APP in app.screen.question
            await pilot.press("y")
            await wait_for(
                pilot,
                lambda: "imperative" in pane.action_text or "done" in pane.action_text,
                timeout=30,
                what="the answer to the delete",
            )
            assert "serve.run" in pane.action_text and "stop the job" in pane.action_text, (
                pane.action_text
            )
            assert app_lines(pane, APP), "the refused delete must leave the app in place"

            # stop the job that runs it: the app leaves the tree
            assert await client.stop_job(job_id)
            stopped = True
            await wait_for(
                pilot,
                lambda: not app_lines(pane, APP),
                timeout=60,
                what=f"{APP} gone from the tree",
            )
            assert pane.tree.cursor_node is None or pane.tree.cursor_node.data[1] != APP
    finally:
        if not stopped:
            await client.stop_job(job_id)
        deadline = time.monotonic() + 30
        while (await client.get_job(job_id))["status"] not in (
            "STOPPED",
            "SUCCEEDED",
            "FAILED",
        ) and time.monotonic() < deadline:
            await asyncio.sleep(0.5)


# -- the form, on recorded answers (no cluster) ----------------------------------------------------


def _replay_app(**settings):
    return make_app(Settings(refresh=3600, **settings), client=replay_client())


async def _open(pilot) -> ServePane:
    app = pilot.app
    await wait_for(
        pilot,
        lambda: app.snapshot is not None and app.snapshot.serve.apps,
        timeout=10,
        what="the recorded snapshot",
    )
    await pilot.press("6")
    pane = app.query_one(ServePane)
    await wait_for(
        pilot, lambda: app_lines(pane, "predictor"), timeout=5, what="the recorded app in the tree"
    )
    return pane


async def test_bad_json_is_marked_and_nothing_is_sent():
    sent: list = []
    app = _replay_app()
    async with app.run_test(
        size=SIZE, message_hook=lambda m: sent.append(m) if isinstance(m, SENT) else None
    ) as pilot:
        pane = await _open(pilot)
        body = pane.query_one("#serve-body")
        body.load_text("[[1, 2, 3],")
        await pilot.press("ctrl+r")
        await pilot.pause()
        error = screen_text(pane.query_one("#serve-form-error"))
        assert error.startswith("body is not JSON") and "nothing sent" in error
        assert body.has_class("-invalid")
        await pilot.press("b")
        await pilot.pause()
        assert sent == [] and pane.result_text == ""


@pytest.mark.parametrize(
    ("n", "c", "says"),
    [
        ("0", "4", "N (requests) must be from 1"),
        ("abc", "4", "N (requests) must be a whole number"),
        ("10001", "4", "N (requests) must be from 1 to 10000"),
        ("40", "257", "C (concurrency) must be from 1 to 256"),
        ("40", "-1", "C (concurrency) must be from 1"),
    ],
)
async def test_bad_load_counts_are_marked_and_nothing_is_sent(n, c, says):
    sent: list = []
    app = _replay_app()
    async with app.run_test(
        size=SIZE, message_hook=lambda m: sent.append(m) if isinstance(m, SENT) else None
    ) as pilot:
        pane = await _open(pilot)
        await focus_by_tab(pilot, "serve-n")
        await pilot.press(*n, "tab", *c, "enter")
        await pilot.pause()
        error = screen_text(pane.query_one("#serve-form-error"))
        assert error.startswith(says) and error.endswith("nothing sent"), error
        assert pane.query_one("#serve-n" if says.startswith("N") else "#serve-c").has_class(
            "-invalid"
        )
        assert sent == [] and not pane.load_running


async def test_path_leaving_the_serve_address_is_refused():
    sent: list = []
    app = _replay_app()
    async with app.run_test(
        size=SIZE, message_hook=lambda m: sent.append(m) if isinstance(m, SENT) else None
    ) as pilot:
        pane = await _open(pilot)
        await focus_by_tab(pilot, "serve-path")
        await pilot.press(*"http://example.com/x", "enter")
        await pilot.pause()
        assert "path must be a plain path" in screen_text(pane.query_one("#serve-form-error"))
        assert sent == []


async def test_readonly_hides_and_refuses_delete_and_scale():
    sent: list = []
    app = _replay_app(readonly=True)
    async with app.run_test(
        size=SIZE, message_hook=lambda m: sent.append(m) if isinstance(m, SENT) else None
    ) as pilot:
        pane = await _open(pilot)
        assert app.focused is pane.tree
        footer_keys = {b.binding.action for b in app.active_bindings.values()}
        assert not {"scale", "delete_app", "shutdown"} & footer_keys
        await pilot.press("d", "D", "down", "n")
        await pilot.pause()
        assert not isinstance(app.screen, (ConfirmScreen, ScaleScreen))
        assert sent == []
        pane.action_delete_app()  # even when called directly (palette, remapped key)
        assert "read-only" in pane.action_text and not isinstance(app.screen, ConfirmScreen)


async def test_delete_modal_names_the_app_and_cancel_sends_nothing():
    sent: list = []
    app = _replay_app()
    async with app.run_test(
        size=SIZE, message_hook=lambda m: sent.append(m) if isinstance(m, SENT) else None
    ) as pilot:
        await _open(pilot)
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen) and "'predictor'" in app.screen.question
        await pilot.press("enter")  # Cancel has the focus
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("D")
        assert isinstance(app.screen, ConfirmScreen) and "ALL of Serve" in app.screen.question
        await pilot.press("n")
        await pilot.press("down", "n")
        assert isinstance(app.screen, ScaleScreen) and app.screen.deployment == "Predictor"
        await pilot.press("backspace", *"x1", "enter")
        assert isinstance(app.screen, ScaleScreen)  # not a number: the modal says so and stays
        assert "whole number" in screen_text(app.screen.query_one("#scale-error"))
        await pilot.press("escape")
        await pilot.pause()
        assert sent == []


async def test_refresh_keeps_expansion_and_cursor():
    app = _replay_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await _open(pilot)
        await pilot.press("down", "down")  # the replica
        key = pane.tree.cursor_node.data
        assert key[0] == "rep"
        await pilot.press("up", "enter")  # collapse the deployment (cursor on it)
        dep_node = pane.tree.cursor_node
        assert dep_node.data[0] == "dep" and not dep_node.is_expanded
        pane.show(app.snapshot)
        pane.show(app.snapshot)
        await pilot.pause()
        assert pane.tree.cursor_node is dep_node and not dep_node.is_expanded


async def test_n_on_an_app_of_one_deployment_scales_that_deployment():
    """The tree opens with its cursor on the app: `n` there said to move to the deployment,
    though the app has only one."""
    app = _replay_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await _open(pilot)
        pane.tree.focus()
        pane.tree.move_cursor(pane.tree.root.children[0])
        await pilot.pause()
        assert pane.tree.cursor_node.data[0] == "app", pane.tree.cursor_node.data
        serve_app = app.snapshot.serve.apps[0]
        assert len(serve_app.deployments) == 1
        await pilot.press("n")
        assert isinstance(app.screen, ScaleScreen), pane.action_text
        assert app.screen.deployment == serve_app.deployments[0].name
        await pilot.press("escape")
