"""JobLogFollower against a scripted dashboard that behaves like Ray's (every socket replays the
log)."""

from __future__ import annotations

import pytest

from raycockpit.cockpit.errors import AuthForbidden, BadResponse, DashboardUnreachable, NotFound
from raycockpit.cockpit.tail import ENDED, FOLLOWING, RECONNECTING, JobLogFollower, split_log


class FakeDashboard:
    """A log that grows as sockets are read. `plan` says what each socket does, in order:
    ("drop", n): replay from the start, send n chunks, then drop; ("end", None): send everything
    that is left and close normally (the job is terminal then); ("refuse", None): fail to connect.
    """

    def __init__(self, text: str, plan, *, chunk: int = 7, written_per_chunk: int = 9) -> None:
        self.text = text
        self.plan = list(plan)
        self.chunk = chunk
        self.written = 0  # how much of `text` the "job" has written so far
        self.per_chunk = written_per_chunk
        self.gap_write = 3 * written_per_chunk  # written while the follower is away
        self.finish_on_drop = False  # the job writes the rest and ends while the socket is down
        self.status = "RUNNING"
        self.get_job_errors: list[Exception] = []
        self.sockets = 0

    def _write(self, n: int) -> None:
        self.written = min(len(self.text), self.written + n)

    async def tail_job_logs(self, job_id):
        self.sockets += 1
        action, count = self.plan.pop(0)
        if action == "refuse":
            raise DashboardUnreachable("connection refused")
        pos = 0
        sent = 0
        while True:
            self._write(self.per_chunk)
            if pos >= self.written:
                if action == "end" and self.written == len(self.text):
                    self.status = "SUCCEEDED"
                    return
                continue
            piece = self.text[pos : min(self.written, pos + self.chunk)]
            pos += len(piece)
            yield piece
            sent += 1
            if action == "drop" and sent >= count:
                if self.finish_on_drop:
                    self.written, self.status = len(self.text), "SUCCEEDED"
                raise DashboardUnreachable("log tail dropped")

    async def get_job(self, job_id):
        if self.get_job_errors:
            raise self.get_job_errors.pop(0)
        return {"status": self.status}

    async def job_logs(self, job_id):
        self._write(self.gap_write)  # the job went on writing while we were away
        if self.written == len(self.text) and not self.plan:
            self.status = "SUCCEEDED"
        return self.text[: self.written]


LOG = "".join(f"line {i} {'z' * (i % 13)}\n" for i in range(120)) + "last line without newline"


async def follow(fake, **kwargs):
    delivered: list[str] = []
    states = []
    kwargs.setdefault("backoff_initial", 0)
    follower = JobLogFollower(fake, "job", on_state=states.append, **kwargs)
    final = await follower.run(delivered.extend)
    return follower, final, delivered, states


async def test_one_socket_lines_split_across_chunks():
    fake = FakeDashboard(LOG, [("end", None)])
    follower, final, delivered, _ = await follow(fake)
    assert delivered == split_log(LOG) and delivered[-1] == "last line without newline"
    assert final.state == ENDED and final.job_status == "SUCCEEDED" and final.reconnects == 0


async def test_drops_mid_line_no_duplicates_no_gaps():
    fake = FakeDashboard(
        LOG, [("drop", 5), ("drop", 30), ("refuse", None), ("drop", 50), ("end", None)]
    )
    follower, final, delivered, states = await follow(fake)
    assert delivered == split_log(LOG)
    assert final.state == ENDED and not final.error and follower.reconnects == 4
    kinds = [s.state for s in states]
    assert RECONNECTING in kinds and kinds[-1] == ENDED and FOLLOWING in kinds
    assert all(s.reason for s in states if s.state == RECONNECTING)


async def test_job_ends_while_disconnected_gap_fill_completes_it():
    fake = FakeDashboard(LOG, [("drop", 3)])
    fake.finish_on_drop = True  # no new socket is needed: the gap fill completes the log
    follower, final, delivered, _ = await follow(fake)
    assert delivered == split_log(LOG)
    assert final.job_status == "SUCCEEDED" and final.reconnects == 1 and fake.sockets == 1


async def test_dashboard_down_for_a_while_then_back():
    fake = FakeDashboard(LOG, [("drop", 4), ("end", None)])
    fake.get_job_errors = [DashboardUnreachable("down"), BadResponse("restarting", status=503)]
    follower, final, delivered, states = await follow(fake)
    assert delivered == split_log(LOG) and not final.error
    retries = [s for s in states if s.state == RECONNECTING]
    assert len(retries) == 3 and "restarting" in retries[-1].reason


@pytest.mark.parametrize(
    "error", [NotFound("gone"), AuthForbidden("no"), BadResponse("bad", status=400)]
)
async def test_final_errors_end_with_a_reason_never_raise(error):
    fake = FakeDashboard(LOG, [("drop", 2)])
    fake.get_job_errors = [error]
    follower, final, delivered, _ = await follow(fake)
    assert final.state == ENDED and final.error and str(error).split(" — ")[0] in final.reason
    assert delivered == split_log(LOG[: follower.chars_seen])  # what came is delivered, once


async def test_gives_up_after_max_attempts():
    fake = FakeDashboard(LOG, [("drop", 2)])
    fake.get_job_errors = [DashboardUnreachable("down")] * 5
    _, final, _, states = await follow(
        fake, max_attempts=3, backoff_initial=0.001, backoff_max=0.002
    )
    assert final.state == ENDED and final.error and "gave up after 3 tries" in final.reason
    retries = [s for s in states if s.state == RECONNECTING]
    assert [s.retry_in for s in retries] == [0.001, 0.002, 0.002]  # doubles, up to the cap
    assert [s.attempt for s in retries] == [1, 2, 3] and retries[-1].one_line().startswith(
        "reconnecting (try 3, in "
    )
    assert final.one_line().startswith("ended: gave up")


async def test_async_callbacks_are_awaited():
    fake = FakeDashboard(LOG, [("drop", 10), ("end", None)])
    got: list[str] = []

    async def on_lines(lines):
        got.extend(lines)

    async def on_state(state):
        pass

    final = await JobLogFollower(fake, "job", on_state=on_state, backoff_initial=0).run(on_lines)
    assert got == split_log(LOG) and final.state == ENDED


def test_split_log():
    assert split_log("") == []
    assert split_log("a\nb\n") == ["a", "b"]
    assert split_log("a\n\nb") == ["a", "", "b"]
