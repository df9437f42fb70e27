"""The Poller when the dashboard is down, and when one section answers garbage (no cluster)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.local import free_port
from raycockpit.cockpit.models import SECTIONS
from raycockpit.cockpit.poller import Poller
from tests.conftest import load_fixture


async def test_closed_port_is_disconnected_with_readable_errors_and_backs_off():
    port = free_port()  # nothing listens there
    async with DashboardClient(f"http://127.0.0.1:{port}", discover=False, timeout=2.0) as client:
        poller = Poller(client, interval=1.0)
        intervals = [poller.current_interval]
        for _ in range(3):
            snap = await poller.poll_once()
            intervals.append(poller.current_interval)
            assert snap.connected is False
            assert snap.connection_error and str(port) in snap.connection_error
            assert set(snap.errors) == set(SECTIONS), snap.errors
            for section, message in snap.errors.items():
                assert "\n" not in message and "Traceback" not in message, (section, message)
                assert message.startswith("cannot reach"), message
                assert snap.stale(section)
        assert intervals == sorted(intervals) and intervals[-1] > intervals[1] > intervals[0], (
            intervals
        )
        assert snap.nodes == () and snap.jobs == () and snap.autoscaler.available is False


# what a failing dashboard handler sends back (RAY_API.md 0.1: "msg often holds a traceback")
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/ray/dashboard/modules/serve/serve_head.py", line 80, in get_serve_instance_details\n'
    "    raise ValueError(x)\n"
    "ValueError: controller unreachable\n"
)


class FakeDashboard:
    """Answers the poller's requests from recorded 2.60 fixtures; `broken` sections get junk."""

    def __init__(self) -> None:
        self.broken: set[str] = set()
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        path, query = request.url.path, dict(request.url.params)
        if path == "/api/version":
            return httpx.Response(200, json=load_fixture("api_version.json"))
        if path == "/api/authentication_mode":
            return httpx.Response(200, json={"authentication_mode": "disabled"})
        if path == "/nodes":
            if "nodes" in self.broken:
                return httpx.Response(
                    200, json={"result": True, "msg": "", "data": {"summary": "not a list"}}
                )
            return httpx.Response(200, json=load_fixture("nodes_view_summary.json"))
        if path == "/api/cluster_status":
            if query.get("format") == "1":
                if "autoscaler" in self.broken:
                    return httpx.Response(200, text="<html>oops</html>")
                return httpx.Response(200, json=load_fixture("api_cluster_status_format1.json"))
            return httpx.Response(200, json=load_fixture("api_cluster_status.json"))
        if path == "/api/jobs/":
            if "jobs" in self.broken:
                return httpx.Response(200, json={"jobs": "should be a list"})
            return httpx.Response(200, json=load_fixture("api_jobs.json"))
        if path == "/api/serve/applications/":
            if "serve" in self.broken:
                return httpx.Response(200, json=["not", "an", "object"])
            if "serve-500" in self.broken:
                return httpx.Response(500, text=TRACEBACK)
            return httpx.Response(200, json=load_fixture("api_serve_applications.json"))
        if _pending_list(request):  # the "Why pending?" lists (pending.py): nothing waits
            if "pending" in self.broken:
                return httpx.Response(200, text="<html>oops</html>")
            # one actor waits for a GPU: something pending, so the section is asked every poll
            found = [WAITING_ACTOR] if "PENDING_CREATION" in str(request.url) else []
            rows = {"total": len(found), "num_after_truncation": len(found), "result": found}
            return httpx.Response(200, json={"result": True, "msg": "", "data": {"result": rows}})
        if path in ACTOR_ANSWERS:
            if "actors" in self.broken:
                return httpx.Response(200, text="<html>oops</html>")
            return httpx.Response(200, json=load_fixture(ACTOR_ANSWERS[path]))
        return httpx.Response(404, text="not found")


ACTOR_ANSWERS = {  # the Actors section (fetched only while wanted: the fixture wants it)
    "/api/v0/actors": "api_v0_actors_detail_live.json",
    "/api/v0/actors/summarize": "api_v0_actors_summarize.json",
    "/api/v0/tasks/summarize": "api_v0_tasks_summarize_actors.json",
}


WAITING_ACTOR = {
    "actor_id": "43e7fa3abd930cb8551a28ed02000000",
    "class_name": "G",
    "state": "PENDING_CREATION",
    "job_id": "02000000",
    "name": "",
    "required_resources": {"CPU": 1.0, "GPU": 1.0},
}


def _pending_list(request: httpx.Request) -> bool:
    path, values = request.url.path, set(request.url.params.get_list("filter_values"))
    if path == "/api/v0/actors":
        return bool(values & {"PENDING_CREATION", "JobSupervisor"})
    return path in ("/api/v0/tasks", "/api/v0/placement_groups")


@pytest.fixture
async def fake():
    dashboard = FakeDashboard()
    async with DashboardClient(
        "http://127.0.0.1:1", discover=False, transport=httpx.MockTransport(dashboard)
    ) as client:
        poller = Poller(client, interval=1.0)
        poller.want(poller.wanted | {"actors"})
        yield dashboard, poller


async def test_all_sections_fresh_from_recorded_answers(fake):
    _, poller = fake
    snap = await poller.poll_once()
    assert snap.connected and snap.errors == {}
    assert snap.info.ray_version == "2.60.0"
    assert len(snap.nodes) == 1 and len(snap.jobs) == 17 and snap.autoscaler.available
    assert [a.name for a in snap.serve.apps] == ["predictor"]
    assert set(snap.updated_at) == set(SECTIONS)


@pytest.mark.parametrize("section", SECTIONS)
async def test_one_malformed_section_keeps_its_last_value_and_goes_stale(fake, section):
    dashboard, poller = fake
    good = await poller.poll_once()
    assert good.errors == {}
    dashboard.broken = {section}
    bad = await poller.poll_once()
    assert bad.connected is True and poller.current_interval == poller.interval
    assert set(bad.errors) == {section}, bad.errors
    message = bad.errors[section]
    assert message and "\n" not in message and "Traceback" not in message, message
    assert bad.stale(section)
    assert getattr(bad, section) == getattr(good, section)  # the last good value is kept
    assert bad.updated_at[section] == good.updated_at[section]
    for other in set(SECTIONS) - {section}:
        assert not bad.stale(other)
        assert bad.updated_at[other] >= good.updated_at[other]
    # it heals on the next good answer
    dashboard.broken = set()
    healed = await poller.poll_once()
    assert healed.errors == {} and healed.updated_at[section] >= bad.fetched_at


async def test_autoscaler_text_before_it_reports_is_not_an_error(fake):
    dashboard, poller = fake
    original = dashboard.__call__

    def early(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/cluster_status" and request.url.params.get("format") == "1":
            body = {
                "result": True,
                "msg": "",
                "data": {
                    "clusterStatus": (
                        "No cluster status. It may take a few seconds for the Ray internal "
                        "services to start up."
                    )
                },
            }
            return httpx.Response(200, content=json.dumps(body))
        return original(request)

    poller.client._http._transport = httpx.MockTransport(early)
    snap = await poller.poll_once()
    assert "autoscaler" not in snap.errors and snap.autoscaler.available is False
    assert snap.autoscaler.raw_text.startswith("No cluster status")


async def test_http_500_with_a_traceback_is_one_line(fake):
    dashboard, poller = fake
    await poller.poll_once()
    dashboard.broken = {"serve-500"}
    snap = await poller.poll_once()
    message = snap.errors["serve"]
    assert "\n" not in message and "HTTP 500" in message, message
    assert snap.serve.apps and snap.stale("serve")


async def test_http_500_traceback_message_names_the_error_not_the_traceback(fake):
    dashboard, poller = fake
    dashboard.broken = {"serve-500"}
    message = (await poller.poll_once()).errors["serve"]
    assert "Traceback" not in message and "ValueError: controller unreachable" in message, message


class FreezingDashboard(FakeDashboard):
    """Once `frozen`: the quick calls time out (as httpx says when a SIGSTOPped dashboard keeps
    the connection but never answers), and the state API's calls, whose own timeout is 35 s,
    just wait: they never answer within the test."""

    def __init__(self) -> None:
        super().__init__()
        self.frozen = False
        self.waiting = 0

    def __call__(self, request: httpx.Request):
        if not self.frozen:
            return super().__call__(request)
        if request.url.path.startswith("/api/v0/"):
            return self._never(request)
        raise httpx.ReadTimeout("timed out", request=request)

    async def _never(self, request: httpx.Request) -> httpx.Response:
        self.waiting += 1
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_a_frozen_dashboard_is_said_without_waiting_for_the_state_api():
    dashboard = FreezingDashboard()
    async with DashboardClient(
        "http://127.0.0.1:1", discover=False, transport=httpx.MockTransport(dashboard)
    ) as client:
        poller = Poller(client, interval=1.0, slow_every=1)
        poller.want(poller.wanted | {"actors", "autoscaler"})
        snap = await poller.poll_once()
        assert snap.connected and snap.pending.actors  # something waits: asked every poll
        dashboard.frozen = True
        # without the cut, this poll waited for the state API calls (35 s each in the product;
        # for ever here): the bound only keeps a regression from hanging the suite
        snap = await asyncio.wait_for(poller.poll_once(), timeout=30)
    assert dashboard.waiting >= 2  # the Why-pending lists, the actors, the decision feed's events
    assert snap.connected is False and "did not answer" in snap.connection_error
    for section in ("pending", "actors"):
        assert "did not answer" in snap.errors[section], snap.errors
