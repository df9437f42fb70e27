"""The Actors section (cockpit/actors.py) on answers recorded from a real Ray 2.60 head: the
actor list with detail (live and dead, filtered by state), the actor and task summaries; what
one fetch asks for; "N listed of M"; bad answers as one BadResponse; and the poller asking for
the section only while it is wanted."""

from __future__ import annotations

import json
from collections import Counter

import httpx
import pytest
from hypothesis import assume, given

from raycockpit.cockpit.actors import (
    ActorsAnswer,
    ActorsDecoder,
    ActorsFetcher,
    death_line,
    decode_actor_list,
    decode_summary,
    parse_actor,
)
from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.errors import BadResponse
from raycockpit.cockpit.poller import Poller
from tests.conftest import FIXTURES, load_fixture
from tests.unit.test_parse_properties import BAD, Named, fast, mutated, run, sane


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


DEEP = b'{"result": true, "data": {"result": {"result": ' + b"[" * 20000 + b"]" * 20000 + b"}}}"


def answer(tasks: bytes | None = None, at: float = 100.0, **kw) -> ActorsAnswer:
    parts = {
        "live": raw("api_v0_actors_detail_live.json"),
        "dead": raw("api_v0_actors_detail_dead.json"),
        "classes": raw("api_v0_actors_summarize.json"),
    }
    parts.update(kw)
    return ActorsAnswer(parts["live"], parts["dead"], parts["classes"], tasks, at)


def test_recorded_detail_rows_parse_with_resources_restarts_and_death_causes():
    live, listed, matched, warnings = decode_actor_list(raw("api_v0_actors_detail_live.json"))
    assert (listed, matched, warnings) == (2, 2, [])
    learner = next(a for a in live if a.class_name == "Learner")
    assert (learner.name, learner.state, learner.resources, learner.gpus) == (
        "learner-0",
        "ALIVE",
        {"GPU": 0.5},
        0.5,
    )
    assert learner.pid == 17062 and learner.restarts == 0  # Ray sends "num_restarts": "0"
    dead, *_ = decode_actor_list(raw("api_v0_actors_detail_dead.json"))
    causes = {a.class_name: a.death_cause for a in dead}
    assert causes == {
        "Broken": "creation task failure: ValueError: broken on purpose",
        "Counter": "RAY_KILL: it was killed by `ray.kill`.",
    }


def test_summaries_by_class_and_by_function():
    classes, total = decode_summary(raw("api_v0_actors_summarize.json"), "actors", "actor")
    assert total == 4
    assert [(g.name, g.states) for g in classes] == [
        ("Counter", (("ALIVE", 1), ("DEAD", 1))),
        ("Broken", (("DEAD", 1),)),
        ("Learner", (("ALIVE", 1),)),
    ]
    tasks, total = decode_summary(raw("api_v0_tasks_summarize.json"), "tasks", None)
    assert total == 1746
    first = tasks[0]
    assert (first.name, first.kind, first.total) == (
        "RayTrainWorker.poll_status",
        "ACTOR_TASK",
        646,
    )
    assert {g.kind for g in tasks} >= {"ACTOR_TASK", "NORMAL_TASK"}
    small, total = decode_summary(raw("api_v0_tasks_summarize_actors.json"), "tasks", None)
    assert ("square", "NORMAL_TASK", 20) in {(g.name, g.kind, g.total) for g in small}


def test_decoder_live_first_keeps_the_task_summary_and_the_same_object_when_unchanged():
    decoder = ActorsDecoder()
    first = decoder.decode(answer(tasks=raw("api_v0_tasks_summarize_actors.json"), at=100.0))
    assert [a.state for a in first.actors] == ["ALIVE", "ALIVE", "DEAD", "DEAD"]
    assert (first.listed, first.total, first.cut) == (4, 4, False)
    assert first.tasks and first.tasks_at == 100.0
    second = decoder.decode(answer(at=110.0))  # no task summary this time: the last one stays
    assert second is first
    third = decoder.decode(answer(tasks=raw("api_v0_tasks_summarize.json"), at=120.0))
    assert third.tasks_total == 1746 and third.actors[0] is first.actors[0]


def test_a_cut_list_says_listed_of_total():
    body = json.loads(raw("api_v0_actors_detail_live.json"))
    body["data"]["result"]["result"] = body["data"]["result"]["result"][:1]
    body["data"]["result"]["num_filtered"] = 7000
    summary = json.loads(raw("api_v0_actors_summarize.json"))
    summary["data"]["result"]["total"] = 10_000
    status = ActorsDecoder().decode(
        answer(live=json.dumps(body).encode(), classes=json.dumps(summary).encode())
    )
    assert (status.listed, status.total, status.cut) == (3, 10_000, True)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html>oops</html>",
        b'{"result": true, "data": {"result": {"resu',
        b"[1, 2]",
        b'{"result": false, "msg": "Max number of in-progress requests=100 reached", "data": {}}',
        DEEP,
    ],
)
def test_bad_answers_are_one_bad_response(body):
    """Whatever the bytes, one BadResponse (DEEP: nested past any recursion limit)."""
    with pytest.raises(BadResponse):
        ActorsDecoder().decode(answer(live=body))
    with pytest.raises(BadResponse):
        ActorsDecoder().decode(answer(classes=body))


def test_a_failed_task_summary_is_a_warning_not_an_error():
    status = ActorsDecoder().decode(answer(tasks=b"<html>", at=5.0))
    assert status.tasks == () and status.tasks_at is None
    assert status.warnings and status.warnings[0].startswith("task summary:")


def test_a_workers_exit_leads_with_its_type_and_detail():
    """A finished job's JobSupervisor, as a Ray 2.60 head reports it: an intended exit, not a
    crash, though Ray's first sentence is the one a crash gets."""
    message = (
        "The actor is dead because its worker process has died. Worker exit type: "
        "INTENDED_USER_EXIT Worker exit detail: Worker exits by an user request. Worker exits "
        "with an exit code 0. exit_actor() is called."
    )
    context = {"error_message": message, "reason": "WORKER_DIED", "class_name": "JobSupervisor"}
    assert death_line({"actor_died_error_context": context}) == (
        "exited (INTENDED_USER_EXIT): Worker exits by an user request. Worker exits with an exit "
        "code 0. exit_actor() is called."
    )
    crash = message.replace("INTENDED_USER_EXIT", "SYSTEM_ERROR").replace(
        "Worker exits by an user request. Worker exits with an exit code 0. exit_actor() is "
        "called.",
        "The leased worker has unrecoverable failure. Worker is requested to be destroyed.",
    )
    assert death_line({"actor_died_error_context": {"error_message": crash}}) == (
        "worker died (SYSTEM_ERROR): The leased worker has unrecoverable failure. Worker is "
        "requested to be destroyed."
    )


def test_death_line_tolerates_odd_shapes():
    assert death_line(None) == "" and death_line({}) == "" and death_line({"x": 1}) == ""
    assert death_line({"oom_context": {"error_message": "killed\n  by the\tOOM killer"}}) == (
        "oom: killed by the OOM killer"
    )


class Dashboard:
    """Recorded answers by path; counts requests and keeps their queries."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.queries: list[tuple[str, list[tuple[str, str]]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.requests[path] += 1
        self.queries.append((path, list(request.url.params.multi_items())))
        bodies = {
            "/api/version": load_fixture("api_version.json"),
            "/api/authentication_mode": {"authentication_mode": "disabled"},
            "/nodes": load_fixture("nodes_view_summary_gpu.json"),
            "/api/cluster_status": load_fixture("api_cluster_status_format1.json"),
            "/api/jobs/": load_fixture("api_jobs.json"),
            "/api/serve/applications/": load_fixture("api_serve_applications.json"),
            "/api/v0/actors/summarize": load_fixture("api_v0_actors_summarize.json"),
            "/api/v0/tasks/summarize": load_fixture("api_v0_tasks_summarize_actors.json"),
        }
        if path == "/api/v0/actors":
            dead = ("filter_values", "DEAD") in request.url.params.multi_items() and (
                "filter_predicates",
                "=",
            ) in request.url.params.multi_items()
            name = "api_v0_actors_detail_dead.json" if dead else "api_v0_actors_detail_live.json"
            return httpx.Response(200, json=load_fixture(name))
        if path in bodies:
            return httpx.Response(200, json=bodies[path])
        return httpx.Response(404, text="not found")


@pytest.fixture
async def fake():
    dashboard = Dashboard()
    async with DashboardClient(
        "http://127.0.0.1:1", discover=False, transport=httpx.MockTransport(dashboard)
    ) as client:
        yield dashboard, client


async def test_one_fetch_asks_live_and_dead_with_limits_and_the_tasks_on_their_beat(fake):
    dashboard, client = fake
    fetcher = ActorsFetcher(limit=1000, dead_limit=100, tasks_every_s=10.0)
    first = await fetcher.fetch(client, now=0.0)
    assert first.tasks is not None
    lists = [q for p, q in dashboard.queries if p == "/api/v0/actors"]
    assert sorted(lists) == sorted(
        [
            [
                ("limit", "1000"),
                ("detail", "true"),
                ("filter_keys", "state"),
                ("filter_predicates", "!="),
                ("filter_values", "DEAD"),
            ],
            [
                ("limit", "100"),
                ("detail", "true"),
                ("filter_keys", "state"),
                ("filter_predicates", "="),
                ("filter_values", "DEAD"),
            ],
        ]
    )
    assert (await fetcher.fetch(client, now=5.0)).tasks is None
    assert (await fetcher.fetch(client, now=10.0)).tasks is not None
    assert dashboard.requests["/api/v0/tasks/summarize"] == 2
    assert dashboard.requests["/api/v0/actors/summarize"] == 3


def actor_lists(dashboard: Dashboard) -> int:
    """The Actors section's list requests (other sections list actors too: why-pending)."""
    return sum(
        1 for p, q in dashboard.queries if p == "/api/v0/actors" and ("filter_values", "DEAD") in q
    )


async def test_the_poller_fetches_actors_only_while_wanted(fake):
    dashboard, client = fake
    poller = Poller(client, interval=1.0, hidden_every=2)
    for _ in range(4):  # --once and the other panes: never (not even on the hidden beat)
        snap = await poller.poll_once()
    assert actor_lists(dashboard) == 0 and not snap.actors.fetched
    assert dashboard.requests["/api/v0/actors/summarize"] == 0
    poller.want({"actors", "nodes"})
    snap = await poller.poll_once()
    assert actor_lists(dashboard) == 2 and "actors" not in snap.errors
    assert [a.class_name for a in snap.actors.actors][:2] == ["Counter", "Learner"]
    assert [g.name for g in snap.actors.tasks][:1] == ["square"]
    # the half-GPU Learner, matched in the poller's thread: its node lists no GPUs, so unknown
    (learner,) = [a for a in snap.actors.actors if a.class_name == "Learner"]
    use = snap.actors.gpu[learner.actor_id]
    assert (use.reserved, use.utilization, use.alerts) == (0.5, None, ())
    again = await poller.poll_once()
    assert again.actors is snap.actors  # unchanged: the same object, the pane skips its render
    poller.want({"nodes"})
    for _ in range(4):
        await poller.poll_once()
    assert actor_lists(dashboard) == 4


async def test_at_10000_actors_the_section_stays_bounded_and_gpus_match():
    """The scale replayer (a load fixture, not Ray) with 10,000 actors on GPU nodes: one fetch of
    the section lists LIMIT live and DEAD_LIMIT dead rows, says "listed of" the total, and the
    actors' pids are found among the GPUs' processes."""
    from benchmarks.replay import ReplayServer
    from raycockpit.cockpit.actors import DEAD_LIMIT, LIMIT
    from raycockpit.cockpit.gpu_alerts import GpuAlerts

    with ReplayServer(nodes=20, gpus=4, jobs=20, actors=10_000, seed=5) as server:
        async with DashboardClient(server.url, discover=False, timeout=10.0) as client:
            answer = await ActorsFetcher().fetch(client, now=0.0)
            status = ActorsDecoder().decode(answer)
            poller = Poller(client, interval=1.0)
            poller.want({"nodes"})
            snap = await poller.poll_once()
    assert status.total == 10_000 and status.cut
    assert status.listed == LIMIT + DEAD_LIMIT == len(status.actors)
    assert sum(a.state == "DEAD" for a in status.actors) == DEAD_LIMIT
    assert sum(g.total for g in status.classes) == 10_000
    seen = GpuAlerts().observe(status.actors, snap.nodes, 0.0)
    assert seen and any(use.on_gpu for use in seen.values())
    assert any(use.utilization == 0 and not use.on_gpu for use in seen.values())


# -- property tests: the recorded answers, mutated (tests/unit/test_parse_properties.py) ---------

_LISTS = [
    load_fixture(n) for n in ("api_v0_actors_detail_live.json", "api_v0_actors_detail_dead.json")
]
ACTOR_LISTS = Named("actor lists", _LISTS)
ACTOR_ROWS = Named("actors", [row for body in _LISTS for row in body["data"]["result"]["result"]])
SUMMARIES = Named(
    "summaries",
    [load_fixture(n) for n in ("api_v0_actors_summarize.json", "api_v0_tasks_summarize.json")],
)


def _encoded(payload) -> bytes:
    try:
        return json.dumps(payload).encode()
    except (ValueError, RecursionError):  # json cannot write it (deep nesting: DEEP below)
        assume(False)
        raise


@fast(100)
@given(mutated(ACTOR_ROWS))
def test_parse_actor_takes_any_mutated_row(raw):
    actor = parse_actor(raw)
    if actor is not None:
        sane(actor)
        assert actor.actor_id and actor.class_name and actor.state


@fast(60)
@given(mutated(ACTOR_LISTS))
def test_actor_lists_take_any_mutated_answer(payload):
    result = run(decode_actor_list, _encoded(payload))
    if result is not BAD:
        actors, listed, matched, warnings = result
        assert listed == len(actors) <= matched
        for actor in actors:
            sane(actor)


@fast(60)
@given(mutated(SUMMARIES))
def test_summaries_take_any_mutated_answer(payload):
    result = run(decode_summary, _encoded(payload), "summary", None)
    if result is not BAD:
        groups, total = result
        assert isinstance(total, int)
        for group in groups:
            sane(group)
