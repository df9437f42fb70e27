"""The actor-log follower (cockpit/log_stream.py) on scripted streams: Ray's chunking (a line cut
across chunks, marker lines), a drop and the replay that follows it (each line once), a replay
that no longer holds what was shown (said, not hidden), an actor with no process yet, one Ray
does not know. The 500 bodies are Ray 2.60's, recorded from the real head; the real stream is
tested in tests/cluster/test_actor_logs.py."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from raycockpit.cockpit.errors import BadResponse, DashboardUnreachable
from raycockpit.cockpit.log_stream import (
    ANCHOR,
    GAP_LINE,
    ActorLogFollower,
    LogStreamFollower,
    TaskLogFollower,
    unseen,
)
from raycockpit.cockpit.tail import ENDED, FOLLOWING, RECONNECTING

NOT_SCHEDULED = (
    "Worker ID for Actor ID ActorID(c4f4212c05d669b2c5b891e804000000) not found. "
    "Actor is not scheduled yet."
)
NOT_FOUND = "Actor ID ActorID(27c1740822abc0abe390eef603000001) not found."


class ScriptedClient:
    """`stream_log` plays one script per call: a list of chunks (str), errors to raise, and
    "hold" (stay open, sending nothing, until cancelled)."""

    def __init__(self, *scripts: list) -> None:
        self.scripts = list(scripts)
        self.calls: list[dict] = []

    async def stream_log(self, params: dict, *, read_timeout: float = 300.0):
        self.calls.append(dict(params))
        script = self.scripts.pop(0) if self.scripts else ["hold"]
        for item in script:
            if isinstance(item, BaseException):
                raise item
            if item == "hold":
                await asyncio.sleep(3600)
            await asyncio.sleep(0)
            yield item


async def follow(client: ScriptedClient, until, timeout: float = 5.0, **kwargs):
    lines: list[str] = []
    states = []
    follower = ActorLogFollower(
        client, "a" * 32, "out", on_state=states.append, backoff_initial=0.01, **kwargs
    )
    task = asyncio.create_task(follower.run(lines.extend))
    deadline = asyncio.get_running_loop().time() + timeout
    while not until(lines, states) and not task.done():
        assert asyncio.get_running_loop().time() < deadline, (lines, states)
        await asyncio.sleep(0.01)
    if not task.done():
        task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return lines, states


def numbered(a: int, b: int) -> list[str]:
    return [f"line {i}" for i in range(a, b)]


def text(lines: list[str]) -> str:
    return "".join(f"{line}\n" for line in lines)


async def test_lines_cut_across_chunks_are_joined_and_markers_dropped():
    client = ScriptedClient([":job_id:03000000\n:actor_name:Counter\ntick 1\nti", "ck 2\n", "hold"])
    lines, states = await follow(client, lambda lines, s: len(lines) >= 2)
    assert lines == ["tick 1", "tick 2"]
    assert states[-1].state == FOLLOWING and not states[-1].reason
    assert client.calls[0] == {
        "actor_id": "a" * 32,
        "suffix": "out",
        "lines": "1000",
        "interval": "1",
    }


async def test_a_drop_then_the_replay_delivers_each_line_once():
    first = [text(numbered(0, 30)), DashboardUnreachable("cut")]
    # the re-opened stream replays the last lines (in two blocks), then what came meanwhile
    second = [text(numbered(5, 18)), text(numbered(18, 40)), text(numbered(40, 45)), "hold"]
    client = ScriptedClient(first, second)
    lines, states = await follow(client, lambda lines, s: len(lines) >= 45)
    assert lines == numbered(0, 45)
    assert any(s.state == RECONNECTING and "cut" in s.reason for s in states)
    assert states[-1].state == FOLLOWING


async def test_a_replay_without_what_was_shown_says_lines_may_be_missing():
    first = [text(numbered(0, 30)), DashboardUnreachable("cut")]
    second = [text(numbered(500, 510)), "hold"]  # more than N lines came while away
    client = ScriptedClient(first, second)
    lines, _ = await follow(client, lambda lines, s: len(lines) >= 41, settle_s=0.05)
    assert lines == [*numbered(0, 30), GAP_LINE, *numbered(500, 510)]


async def test_an_actor_without_a_process_waits_and_is_followed_once_it_has_one():
    not_yet = BadResponse("GET /api/v0/logs/stream failed", status=500, body=NOT_SCHEDULED)
    client = ScriptedClient([not_yet], [not_yet], ["started\n", "hold"])
    lines, states = await follow(client, lambda lines, s: lines == ["started"])
    waiting = [s for s in states if s.state == RECONNECTING]
    assert waiting and "no process yet (not scheduled)" in waiting[0].reason
    assert states[-1].state == FOLLOWING


async def test_an_actor_ray_does_not_know_ends_the_follower():
    gone = BadResponse("GET /api/v0/logs/stream failed", status=500, body=NOT_FOUND)
    client = ScriptedClient([gone])
    lines, states = await follow(client, lambda lines, s: False)
    assert lines == []
    assert states[-1].state == ENDED and states[-1].error
    assert "does not know this actor" in states[-1].reason


async def test_an_empty_log_is_following_not_connecting():
    client = ScriptedClient(["hold"])
    _, states = await follow(client, lambda lines, s: bool(s), interval=0.05)
    assert states == [states[0]] and states[0].state == FOLLOWING


@given(
    total=st.integers(0, 300),
    shown=st.integers(0, 300),
    window=st.integers(ANCHOR, 200),
)
def test_unseen_gives_exactly_the_lines_after_what_was_shown(total, shown, window):
    shown = min(shown, total)
    log = numbered(0, total)
    held = log[:shown][-ANCHOR:]
    replay = log[max(0, total - window) :]
    new = unseen(held, replay)
    if not held:
        assert new == replay
    elif total - window <= shown - len(held):  # the replay still holds the anchor
        assert new == log[shown:]
    else:
        assert new is None


@pytest.mark.parametrize("held", [["x"] * 3, ["a", "b"]])
def test_unseen_with_a_short_replay(held):
    assert unseen(held, held) == []
    assert unseen(held, [*held, "new"]) == ["new"]
    assert unseen(held, ["other"]) is None


@pytest.mark.parametrize(
    ("body", "said"),
    [  # Ray 2.60's answers on the real head, for a file and a node it does not have
        (
            "A file is not found at: /tmp/ray/session_x/logs/nosuch.log",
            "no such file on the node (/tmp/ray/session_x/logs/nosuch.log)",
        ),
        (
            "Agent for node id: abcd doesn't exist.",
            "the node's agent does not answer: the node is gone or not up",
        ),
    ],
)
async def test_a_file_or_node_ray_does_not_have_ends_the_follower(body, said):
    client = ScriptedClient([BadResponse("GET /api/v0/logs/stream failed", status=500, body=body)])
    follower = LogStreamFollower(client, {"node_id": "n1", "filename": "x.log"})
    final = await asyncio.wait_for(follower.run(lambda _: None), timeout=5)
    assert final.state == ENDED and final.error and final.reason == said
    assert client.calls[0]["node_id"] == "n1" and client.calls[0]["filename"] == "x.log"


# -- a task's own output (TaskLogFollower) -------------------------------------------------------

TASK_ID = "e082c90ab8422b00ffffffffffffffffffffffff02000000"
NO_TASK_LOG = (  # Ray 2.60's answer for a task it has no offsets of (an actor's method)
    "For actor task, please query actor log for actor(8a7b...): e.g. ray logs actor --id 8a7b... "
    "Or set RAY_ENABLE_RECORD_ACTOR_TASK_LOGGING=1 in actor's runtime env or when starting the "
    "cluster."
)


class TaskFileClient(ScriptedClient):
    """Also answers `task_log` (the file call) with `text`, or raises it."""

    def __init__(self, text: str | BaseException = "", *scripts: list) -> None:
        super().__init__(*scripts)
        self.text = text
        self.file_calls: list[tuple[dict, int]] = []

    async def task_log(self, target: dict, *, lines: int = 20_000) -> str:
        self.file_calls.append((dict(target), lines))
        if isinstance(self.text, BaseException):
            raise self.text
        return self.text


async def run_task(client, ended: bool, timeout: float = 5.0):
    lines: list[str] = []
    states = []
    follower = TaskLogFollower(
        client, TASK_ID, 2, "err", ended=ended, on_state=states.append, backoff_initial=0.01
    )
    final = await asyncio.wait_for(follower.run(lines.extend), timeout)
    return lines, states, final


async def test_a_running_task_is_followed_until_its_worker_begins_another_task():
    client = TaskFileClient(
        "",
        ["paced 0\npaced 1\npa", "ced 2\n"],
        ["paced 0\npaced 1\npaced 2\npaced 3\n:task_name:next_one\nnext says hi\n", "hold"],
    )
    lines, states, final = await run_task(client, ended=False)
    assert lines == ["paced 0", "paced 1", "paced 2", "paced 3"]  # each once, none of the next
    assert final.state == ENDED and not final.error
    assert final.reason == "the task ended (its worker began another task)"
    assert client.calls[0]["task_id"] == TASK_ID
    assert client.calls[0]["attempt_number"] == "2" and client.calls[0]["suffix"] == "err"
    assert not client.file_calls


async def test_an_ended_task_is_read_once_and_cut_where_the_next_task_begins():
    # a worker's last task has no end offset: the file call reads on to the end of the file
    client = TaskFileClient("square 3\n:task_name:checked_square\nsquare 4\n")
    lines, states, final = await run_task(client, ended=True)
    assert lines == ["square 3"]
    assert final.reason == "the task's whole output, 1 line" and not final.error
    assert client.file_calls == [
        ({"task_id": TASK_ID, "attempt_number": "2", "suffix": "err"}, 20_000)
    ]
    assert not client.calls  # no stream


async def test_a_task_ray_keeps_no_log_of_ends_with_a_reason():
    client = TaskFileClient(BadResponse("GET /api/v0/logs/file", status=500, body=NO_TASK_LOG))
    lines, states, final = await run_task(client, ended=True)
    assert lines == [] and final.error
    assert final.reason == "Ray has no log of this task's own (its worker's log has it)"


async def test_an_ended_tasks_output_longer_than_asked_says_it_is_its_last_lines():
    client = TaskFileClient("line 7\nline 8\nline 9\n")  # Ray's last 3 of a longer output
    lines: list[str] = []
    follower = TaskLogFollower(client, TASK_ID, 0, "out", ended=True, lines=3)
    final = await follower.run(lines.extend)
    assert lines == ["line 7", "line 8", "line 9"]
    assert final.reason == "the task's last 3 lines (Ray sent no more)"
    assert client.file_calls[0][1] == 3
