"""The job-log follower on the real head: every line exactly once, in order, across cut sockets."""

from __future__ import annotations

import asyncio
import sys
import time
from urllib.parse import urlsplit

import pytest

from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.tail import ENDED, RECONNECTING, JobLogFollower, TailState, split_log

pytestmark = pytest.mark.cluster


def numbered_job(count: int, rate: float) -> str:
    """An entrypoint that prints `n 0` .. `n count-1`, flushed, `rate` lines a second."""
    code = (
        "import time\n"
        f"for i in range({count}):\n"
        f"    print('n', i, 'x' * (i % 7), flush=True); time.sleep({1.0 / rate})"
    )
    return f'{sys.executable} -u -c "{code}"'


def expected_numbered(count: int) -> list[str]:
    return [f"n {i} {'x' * (i % 7)}" for i in range(count)]


class CutProxy:
    """A TCP proxy on 127.0.0.1 that can cut every connection it carries and refuse new ones."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self.server: asyncio.Server | None = None
        self.pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self.cut_count = 0  # connections cut while open

    async def start(self) -> None:
        self.server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop_listening(self) -> None:
        assert self.server is not None
        self.server.close()
        self.server = None

    def cut(self) -> int:
        """Abort every carried connection, both sides; returns how many there were."""
        pairs, self.pairs = list(self.pairs), set()
        for a, b in pairs:
            a.transport.abort()
            b.transport.abort()
        self.cut_count += len(pairs)
        return len(pairs)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        pair = (writer, up_writer)
        self.pairs.add(pair)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass

        try:
            await asyncio.wait(
                [
                    asyncio.ensure_future(pipe(reader, up_writer)),
                    asyncio.ensure_future(pipe(up_reader, writer)),
                ],
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            self.pairs.discard(pair)
            writer.transport.abort()
            up_writer.transport.abort()


async def test_follow_to_the_end_every_line_once(client):
    count = 400
    job_id = await client.submit_job(numbered_job(count, 100.0))
    delivered: list[str] = []
    batches = 0

    def on_lines(lines: list[str]) -> None:
        nonlocal batches
        batches += 1
        delivered.extend(lines)

    final = await asyncio.wait_for(JobLogFollower(client, job_id).run(on_lines), timeout=180)

    assert final.state == ENDED and not final.error, final
    assert final.job_status == "SUCCEEDED"
    full = split_log(await client.job_logs(job_id))
    assert delivered == full
    assert [line for line in delivered if line.startswith("n ")] == expected_numbered(count)
    assert final.reconnects == 0
    assert batches > 1  # it streamed: lines arrived in many batches, not one fetch at the end


async def test_cut_sockets_mid_job_no_duplicates_no_gaps(client, ray_head):
    count = 700
    job_id = await client.submit_job(numbered_job(count, 100.0))
    url = urlsplit(ray_head.dashboard_url)
    proxy = CutProxy(url.hostname, url.port)
    await proxy.start()
    delivered: list[str] = []
    states: list[TailState] = []

    def numbered_seen() -> int:
        return sum(1 for line in delivered if line.startswith("n "))

    async def wait_numbered(n: int, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while numbered_seen() < n:
            assert time.monotonic() < deadline, (
                f"only {numbered_seen()} numbered lines after {timeout} s"
            )
            await asyncio.sleep(0.02)

    async with DashboardClient(f"http://127.0.0.1:{proxy.port}", discover=False, timeout=5) as via:
        follower = JobLogFollower(
            via, job_id, on_state=states.append, backoff_initial=0.2, backoff_max=1.0
        )
        task = asyncio.create_task(follower.run(delivered.extend))
        try:
            # 1: cut everything and refuse new connections for a while (lines pile up meanwhile)
            await wait_numbered(120)
            await proxy.stop_listening()
            assert proxy.cut() >= 1  # the websocket (at least) was open and is now gone
            await asyncio.sleep(1.5)
            await proxy.start()
            # 2: once it is back and live on a new socket, cut again, keeping the listener
            await wait_numbered(350)
            deadline = time.monotonic() + 60
            while follower.reason != "live":
                assert time.monotonic() < deadline and not task.done(), follower.status
                await asyncio.sleep(0.02)
            assert proxy.cut() >= 1
            final = await asyncio.wait_for(task, timeout=180)
        finally:
            if not task.done():
                task.cancel()
            await proxy.stop_listening() if proxy.server else None
            proxy.cut()

    assert final.state == ENDED and not final.error, final
    assert final.job_status == "SUCCEEDED"
    full = split_log(await client.job_logs(job_id))
    assert delivered == full  # exactly once, in order: no duplicate from the replay, no gap
    assert [line for line in delivered if line.startswith("n ")] == expected_numbered(count)
    assert follower.reconnects >= 2 and final.reconnects == follower.reconnects
    reconnecting = [s for s in states if s.state == RECONNECTING]
    assert reconnecting and all(s.reason for s in reconnecting)
    assert any(
        s.retry_in and s.retry_in > 0.2 for s in reconnecting
    )  # the refused tries backed off
