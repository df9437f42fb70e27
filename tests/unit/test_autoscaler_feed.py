"""The autoscaler's decision feed (cockpit/autoscaler_feed.py) on what a real Ray 2.60 head
reported (tests/fixtures/autoscaler_feed_fake_multinode.json: a fake_multinode head through a
launch for a task, the idle worker's removal, a request_resources() constraint and an infeasible
demand), on hand-built reports, and (hypothesis) on mutated reports and event answers: it never
raises, stays bounded, keeps each event once, newest first."""

from __future__ import annotations

import calendar
import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import hypothesis

from raycockpit.cockpit import autoscaler_feed as af
from raycockpit.cockpit.autoscaler_feed import AutoscalerFeed, classify, feed_lines
from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.models import AutoscalerStatus, FeedEvent
from raycockpit.cockpit.parse import parse_autoscaler_text
from raycockpit.cockpit.poller import Poller
from tests.conftest import load_fixture
from tests.unit.test_parse_properties import (
    STATUS_LINES,
    STATUS_TEXTS,
    Named,
    fast,
    mutated,
    mutated_text,
)
from tests.unit.test_poller_pipeline import Dashboard

st = hypothesis.strategies
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "autoscaler_feed_fake_multinode.json"
RECORDED = json.loads(FIXTURE.read_text())["steps"]


def naive(text: str) -> float:
    """A head-local time of the recording (the head ran in UTC) as unix seconds."""
    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in text else "%Y-%m-%d %H:%M:%S"
    return calendar.timegm(datetime.strptime(text, fmt).timetuple()) + (
        float("0." + text.split(".")[1]) if "." in text else 0.0
    )


def replay(feed: AutoscalerFeed, zone_s: float = 0.0, twice: bool = False) -> None:
    """Feed the recording step by step, as the poller would; the clock is the report's time
    (plus `zone_s`: this machine's clock ahead of the head's local time) and a second. `twice`:
    every answer comes again right after (as a new object), as when a poll sees the same."""
    status = None
    for step in RECORDED:
        if "text" in step:
            status = parse_autoscaler_text(step["text"])
        if status is None or not status.available:
            now = None
        else:
            now = naive(status.timestamp) + 1.0 + zone_s
        for again in range(2 if twice else 1):
            if status is not None:
                feed.add_report(replace(status) if again else status, now)
            if "events" in step:
                feed.add_cluster_events(json.loads(json.dumps(step["events"])))


def kinds_oldest_first(feed: AutoscalerFeed) -> list[tuple[str, str]]:
    return [(e.kind, e.text) for e in reversed(feed.events)]


def test_the_recorded_head_becomes_this_feed():
    feed = AutoscalerFeed(clock=lambda: 0.0)
    replay(feed)
    assert kinds_oldest_first(feed) == [
        ("resized", "Resized to 0 CPUs"),
        ("demand appeared", "{'CPU': 1.0}: 1+ pending tasks/actors"),
        ("node launched", "1 cpu_worker launching"),
        ("demand met", "{'CPU': 1.0}: no longer pending tasks/actors"),
        ("node up", "+1 cpu_worker (1 up)"),
        ("resized", "Resized to 1 CPUs"),
        ("node idle-terminated", "1 cpu_worker removed (idle)"),
        ("node down", "-1 cpu_worker (0 up)"),
        ("resized", "Resized to 0 CPUs"),
        ("constraint set", "{'CPU': 1}: 1 from request_resources()"),
        ("node launched", "1 cpu_worker launching"),
        ("node up", "+1 cpu_worker (1 up)"),
        (
            "node kept",
            "1 cpu_worker kept, idle or not: request_resources() asks for {'CPU': 1}: 1 "
            "(Ray does not scale down nodes a constraint needs)",
        ),
        ("resized", "Resized to 1 CPUs"),
        ("constraint cleared", "{'CPU': 1}: 1 from request_resources()"),
        ("node down", "-1 cpu_worker (0 up)"),
        ("node idle-terminated", "1 cpu_worker removed (idle)"),
        ("resized", "Resized to 0 CPUs"),
        ("demand appeared", "{'CPU': 4.0}: 1+ pending tasks/actors"),
        (
            "demand infeasible",
            "no node type can fulfill resource request {'CPU': 4.0}: add a node type for it",
        ),
        ("demand met", "{'CPU': 4.0}: no longer pending tasks/actors"),
    ]
    events = feed.events
    assert [e.at for e in events] == sorted((e.at for e in events), reverse=True)
    assert len({e.key for e in events}) == len(events)
    assert {e.source for e in events if e.kind in ("node launched", "resized")} == {"ray"}
    assert {e.source for e in events if e.kind.startswith("demand a")} == {"report"}
    # the JOBS events of the same answers are not the autoscaler's
    assert not any("ray job" in e.text for e in events)
    launched = next(e for e in reversed(events) if e.kind == "node launched")
    assert launched.at == naive("2026-11-27 21:25:59")


def test_answers_that_repeat_add_nothing():
    """Every report and every events answer twice in a row: the same feed as once; and the last
    answers once more leave the very same tuple."""
    once, twice = AutoscalerFeed(clock=lambda: 0.0), AutoscalerFeed(clock=lambda: 0.0)
    replay(once)
    replay(twice, twice=True)
    assert [(e.at, e.kind, e.text, e.count) for e in twice.events] == [
        (e.at, e.kind, e.text, e.count) for e in once.events
    ]
    events = twice.events
    texts = [step["text"] for step in RECORDED if "text" in step]
    answers = [step["events"] for step in RECORDED if "events" in step]
    twice.add_report(parse_autoscaler_text(texts[-1]), 0.0)
    for answer in answers:  # every answer ever seen: all its events are known
        twice.add_cluster_events(answer)
    assert twice.events is events


def test_event_times_follow_the_heads_zone_from_the_reports():
    """The cockpit's clock is two hours ahead of the head's local time: every event moves by
    two hours (the zone, estimated from the reports), the order stays."""
    here, there = AutoscalerFeed(clock=lambda: 0.0), AutoscalerFeed(clock=lambda: 0.0)
    replay(here)
    replay(there, zone_s=7200.0)
    shifted = [e.at - 7200.0 for e in there.events]
    assert shifted == [e.at for e in here.events]


def test_a_repeated_infeasible_demand_is_counted_on_its_row():
    feed = AutoscalerFeed(clock=lambda: 1000.0)
    message = (
        "Error: No available node types can fulfill resource request {'GPU': 1.0}. "
        "Add suitable node types to this cluster to resolve this issue."
    )
    for n, when in enumerate(["2026-11-27 21:00:00", "2026-11-27 21:00:30", "2026-11-27 21:01:00"]):
        row = {"event_id": f"e{n}", "message": message, "time": when, "source_type": "AUTOSCALER"}
        feed.add_cluster_events({"result": {"total": n + 1, "result": [row]}})
    (event,) = feed.events
    assert event.kind == af.DEMAND_INFEASIBLE and event.count == 3
    assert event.last_at - event.at == 60.0
    assert feed_lines(feed.events, lambda at: "t")[0].endswith("(x3)")


def status(**fields: Any) -> AutoscalerStatus:
    return AutoscalerStatus(available=True, timestamp="", **fields)


def test_hand_built_reports_failures_errors_idle_and_a_changing_count():
    feed = AutoscalerFeed(clock=lambda: 50.0)
    feed.add_report(status(active=(("head", 1),)))  # the baseline: nothing new in it
    assert feed.events == ()
    feed.add_report(
        status(
            active=(("head", 1),),
            idle=(("gpu_worker", 2),),
            demands=("{'GPU': 1.0}: 1+ pending tasks/actors",),
        )
    )
    # the same demand shape with another count is the same demand: nothing new
    feed.add_report(
        status(
            active=(("head", 1),),
            idle=(("gpu_worker", 2),),
            demands=("{'GPU': 1.0}: 3+ pending tasks/actors",),
            failures=("gpu_worker: 10.0.0.7",),
            error="AWS: quota exceeded",
        )
    )
    assert [(e.kind, e.text) for e in reversed(feed.events)] == [
        ("demand appeared", "{'GPU': 1.0}: 1+ pending tasks/actors"),
        ("node up", "+2 gpu_worker (2 up)"),
        ("node idle", "2 gpu_worker idle"),
        ("node failed", "gpu_worker: 10.0.0.7"),
        ("autoscaler error", "AWS: quota exceeded"),
    ]
    assert all(e.at == 50.0 for e in feed.events)  # no stamp: the clock


def test_a_report_before_the_autoscaler_reports_is_skipped():
    feed = AutoscalerFeed(clock=lambda: 1.0)
    assert not feed.add_report(AutoscalerStatus())
    assert not feed.add_report("not a status")  # type: ignore[arg-type]
    assert feed.events == ()


def test_bounded_to_its_limit_newest_kept():
    feed = AutoscalerFeed(clock=lambda: 0.0, limit=5)
    rows = [
        {"event_id": f"id{i}", "message": f"Adding {i} node(s) of type t.", "time": "", "x": 1}
        for i in range(40)
    ]
    feed.add_cluster_events({"result": {"total": 40, "num_filtered": 40, "result": rows}})
    assert len(feed) == 5
    assert feed.events_limit == af.EVENTS_MIN_LIMIT  # 40 listed of 40: no need to ask for more
    feed.add_cluster_events({"result": {"num_filtered": 1234, "result": []}})
    assert feed.events_limit == 1284  # more than listed: ask for all of them next time
    feed.add_cluster_events({"result": {"num_filtered": 10**9, "result": []}})
    assert feed.events_limit == af.EVENTS_MAX_LIMIT


def test_classify_rays_autoscaler_lines():
    assert classify("Removing 2 nodes of type gpu (outdated).") == (
        af.NODE_TERMINATED,
        "2 gpu removed (outdated)",
    )
    assert classify("Failed to launch 1 node(s) of type gpu. (ClientError): quota")[0] == (
        af.NODE_FAILED
    )
    assert classify("Restarting 1 nodes of type cpu (lost contact with raylet).")[0] == (
        af.NODE_RESTARTED
    )
    assert classify(
        "No available node types can fulfill placement group requests (detail=x): "
        "{'CPU': 9}*1. Add suitable node types to this cluster to resolve this issue."
    )[0] == (af.DEMAND_INFEASIBLE)
    assert classify("something new", "ERROR")[0] == af.AUTOSCALER_ERROR
    assert classify("something new")[0] == af.AUTOSCALER


# -- properties ------------------------------------------------------------------------------

EVENT_ANSWERS = Named(
    "cluster event answers", [step["events"] for step in RECORDED if "events" in step][-3:]
)
TEXTS = Named("recorded status texts", [s["text"] for s in RECORDED if s.get("text")][::8])


def check(feed: AutoscalerFeed, limit: int) -> None:
    events = feed.events
    assert len(events) <= limit
    assert all(isinstance(e, FeedEvent) for e in events)
    assert len({e.key for e in events}) == len(events)
    assert [e.at for e in events] == sorted((e.at for e in events), reverse=True)


@fast(60)
@hypothesis.given(
    st.lists(
        st.one_of(
            mutated_text([*TEXTS, *STATUS_TEXTS], STATUS_LINES).map(lambda t: ("text", t)),
            mutated(EVENT_ANSWERS).map(lambda d: ("events", d)),
        ),
        min_size=1,
        max_size=8,
    ),
    st.floats(-1e12, 1e12, allow_nan=False),
)
def test_never_raises_on_mutated_reports_and_events_and_stays_bounded(steps, now):
    limit = 7
    feed = AutoscalerFeed(clock=lambda: now, limit=limit)
    for what, value in steps:
        if what == "text":
            feed.add_report(parse_autoscaler_text(value), now)
        else:
            feed.add_cluster_events(value)
        check(feed, limit)
    events = feed.events
    for what, value in steps:  # everything once more: nothing is new
        if what == "events":
            feed.add_cluster_events(value)
    assert [(e.kind, e.text, e.count) for e in feed.events if e.kind not in af.REPEATING] == [
        (e.kind, e.text, e.count) for e in events if e.kind not in af.REPEATING
    ]
    check(feed, limit)
    feed_lines(feed.events, lambda at: f"{at:.0f}")


@fast(40)
@hypothesis.given(
    st.lists(
        st.builds(
            AutoscalerStatus,
            available=st.just(True),
            active=st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 5))).map(tuple),
            idle=st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 5))).map(tuple),
            demands=st.lists(
                st.sampled_from(["{'CPU': 1.0}: 1+ x", "{'CPU': 1.0}: 2+ x", "z"])
            ).map(tuple),
            requested=st.lists(st.sampled_from(["{'CPU': 1}: 1", "q"])).map(tuple),
            failures=st.lists(st.text(max_size=5)).map(tuple),
            error=st.text(max_size=5),
            timestamp=st.sampled_from(["", "2026-01-01 00:00:00.5", "9999-12-31 23:59:59", "x"]),
        ),
        max_size=12,
    )
)
def test_any_sequence_of_reports_is_bounded_and_a_repeat_adds_nothing(reports):
    feed = AutoscalerFeed(clock=lambda: 5.0, limit=10)
    for report in reports:
        feed.add_report(report)
        check(feed, 10)
        events = feed.events
        feed.add_report(replace(report))  # the same report again (another object)
        assert feed.events is events


# -- in the poller: fetched with the autoscaler, kept in every snapshot -------------------------


class EventsDashboard(Dashboard):
    """The poller tests' recorded dashboard, answering the state API's cluster events too."""

    def __init__(self) -> None:
        super().__init__()
        self.events_status = 200
        self.events_params: list[httpx.QueryParams] = []
        self.events = {"result": True, "msg": "", "data": RECORDED_EVENTS}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v0/cluster_events":
            self.events_params.append(request.url.params)
            if self.events_status != 200:
                return httpx.Response(self.events_status, text="Internal error: boom")
            return httpx.Response(200, json=self.events)
        return super().__call__(request)


RECORDED_EVENTS = [step["events"] for step in RECORDED if "events" in step][-1]


async def test_the_poller_keeps_the_feed_in_its_snapshots_and_says_when_events_fail():
    dashboard = EventsDashboard()
    dashboard.text = load_fixture("api_cluster_status_format1_fake_active.json")
    async with DashboardClient(
        "http://127.0.0.1:1", discover=False, transport=httpx.MockTransport(dashboard)
    ) as client:
        poller = Poller(client, interval=1.0)
        snap = await poller.poll_once()
        params = dashboard.events_params[-1]
        assert params.get_list("filter_values") == ["AUTOSCALER"]
        assert params["limit"] == str(af.EVENTS_MIN_LIMIT)
        kinds = [e.kind for e in snap.autoscaler_feed]
        assert kinds.count("node launched") == 2 and kinds.count("node idle-terminated") == 2
        assert "autoscaler_feed" not in snap.errors and snap.errors == {}
        again = await poller.poll_once()
        assert again.autoscaler_feed is snap.autoscaler_feed  # nothing new: the same tuple

        dashboard.text = load_fixture("api_cluster_status_format1_fake_removed.json")
        dashboard.events_status = 500
        snap = await poller.poll_once()
        downs = [e.text for e in snap.autoscaler_feed if e.kind == "node down"]
        assert downs == ["-1 cpu_worker (0 up)"]  # the report is still diffed
        assert "boom" in snap.errors["autoscaler_feed"]
        assert len(snap.autoscaler_feed) == len(again.autoscaler_feed) + 1

        dashboard.events_status = 404  # a Ray without the events: no error, not asked again
        snap = await poller.poll_once()
        asked = len(dashboard.events_params)
        snap = await poller.poll_once()
        assert len(dashboard.events_params) == asked
        assert "autoscaler_feed" not in snap.errors
        assert poller.snapshot.autoscaler_feed is snap.autoscaler_feed
