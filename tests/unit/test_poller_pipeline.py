"""The Poller's pipeline (no cluster): raw bytes fetched on the loop, decoded in ONE worker thread;
want() and the hidden beat, watch_job, identity of what did not change, a restarted cluster; and
the client's raw-bytes fetches with `_request`'s typed errors."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from typing import Any

import httpx
import pytest

from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.errors import (
    AuthForbidden,
    AuthRequired,
    BadResponse,
    DashboardTimeout,
    DashboardUnreachable,
    NotFound,
    RequestRejected,
)
from raycockpit.cockpit.models import SECTIONS
from raycockpit.cockpit.poller import History, Poller
from tests.conftest import load_fixture

PATHS = {
    "nodes": "/nodes",
    "autoscaler": "/api/cluster_status?format=1",
    "jobs": "/api/jobs/",
    "serve": "/api/serve/applications/",
}


class Dashboard:
    """Recorded 2.60 answers, changeable per test; counts the requests by path (and query)."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.version = load_fixture("api_version.json")
        self.nodes = load_fixture("nodes_view_summary_gpu.json")
        self.jobs = load_fixture("api_jobs.json")
        self.job: dict[str, Any] = {}  # id -> GET /api/jobs/{id}; else from the list
        self.serve = load_fixture("api_serve_applications.json")
        self.text = load_fixture("api_cluster_status_format1.json")
        self.structured = load_fixture("api_cluster_status.json")

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        format1 = request.url.params.get("format") == "1"
        self.requests[path + ("?format=1" if format1 else "")] += 1
        if path == "/api/version":
            return httpx.Response(200, json=self.version)
        if path == "/api/authentication_mode":
            return httpx.Response(200, json={"authentication_mode": "disabled"})
        if path == "/nodes":
            return httpx.Response(200, json=self.nodes)
        if path == "/api/cluster_status":
            return httpx.Response(200, json=self.text if format1 else self.structured)
        if path == "/api/jobs/":
            return httpx.Response(200, json=self.jobs)
        if path.startswith("/api/jobs/"):
            job_id = path.rsplit("/", 1)[1]
            job = self.job.get(job_id) or next(
                (j for j in self.jobs if job_id in (j["submission_id"], j["job_id"])), None
            )
            if job is None:
                return httpx.Response(404, text=f"Job {job_id} does not exist")
            return httpx.Response(200, json=job)
        if path == "/api/serve/applications/":
            return httpx.Response(200, json=self.serve)
        return httpx.Response(404, text="not found")

    def fetched(self) -> set[str]:
        """The sections asked for since the last call."""
        out = {s for s, p in PATHS.items() if self.requests[p]}
        self.requests.clear()
        return out


@pytest.fixture
async def fake():
    dashboard = Dashboard()
    async with DashboardClient(
        "http://127.0.0.1:1", discover=False, transport=httpx.MockTransport(dashboard)
    ) as client:
        yield dashboard, Poller(client, interval=1.0)


async def test_everything_is_fetched_until_the_app_says_what_it_wants(fake):
    dashboard, poller = fake
    for _ in range(3):
        snap = await poller.poll_once()
        assert dashboard.fetched() == set(PATHS)  # "pending" (state API) is not served here
    assert snap.errors == {} and len(snap.nodes) == 2 and len(snap.jobs) == 17
    assert snap.autoscaler.available and [a.name for a in snap.serve.apps] == ["predictor"]


async def test_hidden_sections_on_their_beat_and_wanted_ones_every_poll(fake):
    dashboard, poller = fake
    await poller.poll_once()
    dashboard.fetched()
    poller.want({"nodes"})
    seen = []
    for _ in range(10):
        await poller.poll_once()
        seen.append(dashboard.fetched())
    hidden = set(PATHS) - {"nodes"}  # "pending": only while something may wait
    assert all("nodes" in s for s in seen)
    assert [s >= hidden for s in seen] == [False] * 4 + [True] + [False] * 4 + [True], seen
    assert dashboard.requests == Counter()


async def test_wanting_a_section_fetched_long_ago_polls_at_once(fake, monkeypatch):
    dashboard, poller = fake
    poller.want({"nodes"})
    await poller.poll_once()
    poller._wake.clear()
    poller.want({"nodes", "jobs"})  # fetched within the interval: no need
    assert not poller._wake.is_set()
    now = time.time()
    monkeypatch.setattr("raycockpit.cockpit.clock.now", lambda: now + 5)
    poller.want({"nodes"})
    poller.want({"nodes", "jobs"})
    assert poller._wake.is_set()
    with pytest.raises(ValueError, match="unknown sections"):
        poller.want({"bogus"})


async def test_unchanged_and_unfetched_sections_keep_their_objects(fake):
    dashboard, poller = fake
    first = await poller.poll_once()
    second = await poller.poll_once()
    for section in SECTIONS:
        assert getattr(second, section) is getattr(first, section), section
    assert second.history is not first.history  # a point per fetch of the nodes

    dashboard.jobs = [dict(j) for j in dashboard.jobs]
    dashboard.jobs[2]["status"] = "STOPPED"
    dashboard.nodes["data"]["summary"][1]["cpu"] = 77.0
    third = await poller.poll_once()
    assert third.jobs is not second.jobs and third.nodes is not second.nodes
    assert sum(1 for j in third.jobs if not any(j is o for o in second.jobs)) == 1
    assert sum(1 for n in third.nodes if not any(n is o for o in second.nodes)) == 1
    assert third.serve is second.serve and third.autoscaler is second.autoscaler

    poller.want({"serve"})
    fourth = await poller.poll_once()
    assert fourth.nodes is third.nodes and fourth.jobs is third.jobs
    assert fourth.history is third.history  # no nodes fetched: no new point


async def test_decoding_runs_in_one_worker_thread_not_the_loop(fake):
    dashboard, poller = fake
    threads: list[tuple[str, int]] = []
    for name in ("_nodes", "_jobs", "_serve", "_autoscaler"):
        decoder = getattr(poller, name)
        original = decoder.decode

        def spy(raw, original=original, name=name):
            threads.append((name, threading.get_ident()))
            return original(raw)

        decoder.decode = spy
    await poller.poll_once()
    assert sorted(n for n, _ in threads) == ["_autoscaler", "_jobs", "_nodes", "_serve"]
    (worker,) = {t for _, t in threads}
    assert worker != threading.get_ident()


async def test_a_watched_job_is_fetched_alone_and_merged(fake):
    dashboard, poller = fake
    first = await poller.poll_once()
    poller.want({"nodes"})
    watched = dashboard.jobs[4]["job_id"]  # a DRIVER job: no submission id
    poller.watch_job(watched)
    poller.watch_job(watched)  # two screens: calls nest
    dashboard.fetched()
    dashboard.jobs = [dict(j) for j in dashboard.jobs]
    dashboard.jobs[4]["status"] = "STOPPED"
    snap = await poller.poll_once()
    assert dashboard.requests[f"/api/jobs/{watched}"] == 1
    assert dashboard.fetched() == {"nodes"}  # not the list
    (stopped,) = [j for j in snap.jobs if j.key == watched]
    assert stopped.status == "STOPPED" and len(snap.jobs) == len(first.jobs)
    assert all(a is b for a, b in zip(snap.jobs, first.jobs, strict=True) if a is not stopped)
    assert snap.updated_at["jobs"] == first.updated_at["jobs"]  # the list is no fresher

    again = await poller.poll_once()
    assert again.jobs is snap.jobs  # unchanged: the same tuple

    # a job the list did not have yet is added; a deleted one leaves
    dashboard.job["raysubmit_new"] = dict(dashboard.jobs[0], submission_id="raysubmit_new")
    poller.watch_job("raysubmit_new")
    snap = await poller.poll_once()
    assert "raysubmit_new" in {j.key for j in snap.jobs}
    del dashboard.job["raysubmit_new"]
    snap = await poller.poll_once()
    assert "raysubmit_new" not in {j.key for j in snap.jobs} and "jobs" not in snap.errors

    # while the jobs are wanted, the list covers the watched job: no single fetch
    poller.unwatch_job("raysubmit_new")
    poller.unwatch_job(watched)
    assert poller.watched_jobs == {watched}
    poller.want({"jobs"})
    dashboard.requests.clear()
    await poller.poll_once()
    assert dashboard.requests[f"/api/jobs/{watched}"] == 0
    poller.unwatch_job(watched)
    assert poller.watched_jobs == set()


async def test_a_new_session_drops_the_caches_and_fetches_everything(fake, monkeypatch):
    dashboard, poller = fake
    poller.want({"nodes"})
    first = await poller.poll_once()
    assert first.info.session_changes == 0 and first.info.session_changed_at is None
    dashboard.requests.clear()
    await poller.poll_once()
    assert dashboard.requests["/api/version"] == 1  # read with every poll: a few bytes
    dashboard.fetched()
    dashboard.version = dict(dashboard.version, session_name="session_new")
    later = time.time() + 60
    monkeypatch.setattr("raycockpit.cockpit.clock.now", lambda: later)
    snap = await poller.poll_once()
    assert dashboard.requests["/api/version"] == 1
    assert snap.info.session_name == "session_new" and snap.info.session_changes == 1
    assert snap.info.session_changed_at == later
    assert dashboard.fetched() == set(PATHS)  # every section, hidden ones too
    # the same bytes, but nothing reused from the old session
    assert snap.jobs == first.jobs
    assert not any(a is b for a, b in zip(snap.jobs, first.jobs, strict=True))
    assert snap.nodes == first.nodes and snap.nodes is not first.nodes
    assert all(len(v) == 1 for v in snap.history.values())  # a fresh history


async def test_a_session_change_is_noticed_when_the_connection_comes_back(fake):
    dashboard, poller = fake
    await poller.poll_once()
    original = poller.client._http._transport

    def down(request):
        raise httpx.ConnectError("connection refused", request=request)

    poller.client._http._transport = httpx.MockTransport(down)
    snap = await poller.poll_once()
    snap = await poller.poll_once()
    assert not snap.connected and snap.info.ray_version == ""
    dashboard.version = dict(dashboard.version, session_name="session_restarted")
    poller.client._http._transport = original
    snap = await poller.poll_once()
    assert snap.connected and snap.info.session_changes == 1
    assert snap.info.session_name == "session_restarted"


async def test_a_refresh_asked_for_during_a_poll_runs_right_after_it(fake):
    dashboard, poller = fake
    poller.interval = 30.0
    published: list[float] = []

    def publish(snap):
        published.append(time.monotonic())
        if len(published) == 1:
            poller.refresh_now()  # e.g. a job submitted while the poll ran

    task = asyncio.create_task(poller.run(publish))
    try:
        for _ in range(100):
            if len(published) >= 2:
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
    assert len(published) >= 2 and published[1] - published[0] < 5


async def test_serve_missing_is_no_error_and_not_asked_again(fake):
    dashboard, poller = fake
    original = dashboard.__call__

    def no_serve(request):
        if request.url.path == "/api/serve/applications/":
            dashboard.requests["serve-404"] += 1
            return httpx.Response(404, text="Not Found")
        return original(request)

    poller.client._http._transport = httpx.MockTransport(no_serve)
    snap = await poller.poll_once()
    snap = await poller.poll_once()
    assert "serve" not in snap.errors and snap.connected
    assert dashboard.requests["serve-404"] == 1


def test_history_is_bounded_compact_and_follows_the_cluster():
    history = History(points=3)
    for value in (1, 2.04, 3, 4):
        history.add("gpu:a:0", value)
    history.add("gpu:a:0", None)  # not reported: no point
    history.add("other", 150.5)
    frozen = history.frozen()
    assert frozen == {"gpu:a:0": (2.0, 3.0, 4.0), "other": (150.5,)}
    history.add("gpu:b:0", 2.0)
    assert history.frozen()["gpu:b:0"][0] is frozen["gpu:a:0"][0]  # one shared 2.0
    assert history.frozen()["gpu:a:0"] is frozen["gpu:a:0"]  # shared, not copied
    history.keep({"gpu:b:0"})
    assert history.frozen() == {"gpu:b:0": (2.0,)}
    for value in (5, 6, 7):  # a series can keep fewer points than the History (GPUs: 16)
        history.add("gpu:b:0", value, points=2)
    assert history.frozen()["gpu:b:0"] == (6.0, 7.0)


async def test_history_drops_the_series_of_nodes_that_left(fake):
    dashboard, poller = fake
    snap = await poller.poll_once()
    keys = set(snap.history)
    assert {"cluster:CPU", "gpu:" + snap.nodes[1].gpus[0].key} <= keys
    assert {k.split(":")[0] for k in keys} == {"cluster", "gpu"}  # only what a pane shows
    gone = dashboard.nodes["data"]["summary"].pop(1)
    snap = await poller.poll_once()
    assert not any(gone["raylet"]["nodeId"] in k for k in snap.history), snap.history.keys()


# -- the client's raw-bytes fetches -------------------------------------------------------------


class Chunks(httpx.AsyncByteStream):
    """A body sent in chunks; `fail` raised after them (a connection that drops mid-body)."""

    def __init__(self, chunks: list[bytes], fail: Exception | None = None) -> None:
        self.chunks, self.fail = chunks, fail

    async def __aiter__(self):
        for chunk in self.chunks:
            yield chunk
        if self.fail is not None:
            raise self.fail


def _client(handler) -> DashboardClient:
    return DashboardClient(
        "http://127.0.0.1:1", discover=False, transport=httpx.MockTransport(handler)
    )


async def test_bytes_fetches_stream_the_body_into_one_bytearray():
    body = json.dumps(load_fixture("nodes_view_summary_gpu.json")).encode()
    seen = []

    def answer(request):
        seen.append((request.url.path, dict(request.url.params)))
        return httpx.Response(
            200, stream=Chunks([body[i : i + 1000] for i in range(0, len(body), 1000)])
        )

    async with _client(answer) as client:
        got = await client.node_summary_bytes()
        assert isinstance(got, bytearray) and got == body
        await client.cluster_status_bytes(text=True)
        await client.cluster_status_bytes()
        await client.list_jobs_bytes()
        await client.job_bytes("raysubmit_1")
        await client.serve_applications_bytes()
    assert seen == [
        ("/nodes", {"view": "summary"}),
        ("/api/cluster_status", {"format": "1"}),
        ("/api/cluster_status", {}),
        ("/api/jobs/", {}),
        ("/api/jobs/raysubmit_1", {}),
        ("/api/serve/applications/", {}),
    ]


@pytest.mark.parametrize(
    "status,error,words",
    [
        (401, AuthRequired, "requires an auth token"),
        (403, AuthForbidden, "refused the auth token"),
        (404, NotFound, "GET /api/jobs/x: not found"),
        (400, RequestRejected, "HTTP 400"),
        (500, BadResponse, "ValueError: no agent"),
    ],
)
async def test_bytes_fetches_raise_the_same_typed_errors(status, error, words):
    body = "Traceback (most recent call last):\n  File x\nValueError: no agent"

    def answer(request):
        return httpx.Response(status, stream=Chunks([body.encode()]))

    async with _client(answer) as client:
        with pytest.raises(error) as info:
            await client.job_bytes("x")
        assert type(info.value) is error and words in info.value.one_line()
        with pytest.raises(error):
            await client.get_job("x")  # as the old path says it


@pytest.mark.parametrize(
    "fail,error",
    [
        (httpx.ReadTimeout("timed out"), DashboardTimeout),
        (httpx.RemoteProtocolError("peer closed connection"), DashboardUnreachable),
        (httpx.ReadError("reset"), DashboardUnreachable),
    ],
)
async def test_a_body_cut_mid_way_is_a_typed_error(fail, error):
    def answer(request):
        return httpx.Response(200, stream=Chunks([b'{"result": true, "data": {'], fail=fail))

    async with _client(answer) as client:
        with pytest.raises(error):
            await client.node_summary_bytes()


async def test_no_answer_at_all_is_a_typed_error():
    def refuse(request):
        raise httpx.ConnectError("connection refused", request=request)

    def slow(request):
        raise httpx.ConnectTimeout("timed out", request=request)

    async with _client(refuse) as client:
        with pytest.raises(DashboardUnreachable, match="cannot reach .*connection refused"):
            await client.list_jobs_bytes()
    async with _client(slow) as client:
        with pytest.raises(DashboardTimeout, match="did not answer GET /api/jobs/ in time"):
            await client.list_jobs_bytes()


async def test_a_build_steps_aside_while_a_key_is_answered_and_never_for_long(fake, monkeypatch):
    """Python threads share one GIL: a key pressed while a big answer is decoded makes the
    decoding thread nap (never more than MAX_STEP_ASIDE_S a poll, so data keeps coming while a
    key is held down); with no key it never naps."""
    from raycockpit.cockpit import poller as poller_module

    dashboard, poller = fake
    base = dashboard.jobs[0]
    dashboard.jobs = [{**base, "submission_id": f"raysubmit_{i:04d}"} for i in range(120)]
    naps: list[tuple[float, bool]] = []
    monkeypatch.setattr(
        poller_module.time,
        "sleep",
        lambda s: naps.append((s, threading.current_thread() is threading.main_thread())),
    )
    snap = await poller.poll_once()
    assert len(snap.jobs) == 120 and naps == []

    dashboard.jobs = [{**job, "message": "changed"} for job in dashboard.jobs]  # decoded again
    poller.keys_pressed()
    snap = await poller.poll_once()
    assert {job.message for job in snap.jobs} == {"changed"}
    assert naps and not any(on_main for _, on_main in naps), "the loop must never nap"
    # the clock did not move (sleep is a recorder here): it napped its whole budget, no more
    assert sum(s for s, _ in naps) == pytest.approx(poller_module.MAX_STEP_ASIDE_S)
