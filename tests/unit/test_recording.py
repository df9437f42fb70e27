"""cockpit/recording.py and cockpit/replay.py without a cluster: the tap records what a client
received (recorded Ray 2.60 answers served by a mock transport), secrets are left out, the file is
bounded, a replay answers as the recording was at each moment, and broken files get one clear
message."""

from __future__ import annotations

import asyncio
import gzip
import json
import time

import httpx
import pytest

from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.errors import RequestRejected
from raycockpit.cockpit.poller import Poller
from raycockpit.cockpit.recording import (
    REDACTED,
    Recorder,
    RecordingError,
    TapTransport,
    scrub_body,
    scrub_text,
)
from raycockpit.cockpit.replay import ReplayClock, load_recording, parse_at, replay_client
from tests.conftest import FIXTURES

TOKEN = "tok-3f9a1c77e2"
JOBS_WITH_SECRETS = [
    {
        "submission_id": "raysubmit_secret",
        "job_id": "03000000",
        "status": "RUNNING",
        "entrypoint": "HF_TOKEN=hf_abc123 python train.py --api-key-file k",
        "runtime_env": {
            "env_vars": {"WANDB_API_KEY": "wandb-xyz", "DB_PASSWORD": "hunter2", "MODE": "fast"}
        },
        "metadata": {},
        "type": "SUBMISSION",
    }
]


def recorded_dashboard(jobs_status: list[str]):
    """A transport answering like a Ray 2.60 head from the recorded fixtures; the job list
    answers with each status of `jobs_status` in turn."""
    answers = {
        "/api/version": "api_version.json",
        "/nodes": "nodes_view_summary.json",
        "/api/cluster_status": "api_cluster_status.json",
        "/api/serve/applications/": "api_serve_applications.json",
    }
    calls = {"jobs": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/jobs/":
            status = jobs_status[min(calls["jobs"], len(jobs_status) - 1)]
            calls["jobs"] += 1
            return httpx.Response(200, json=[dict(JOBS_WITH_SECRETS[0], status=status)])
        if path == "/api/authentication_mode":
            return httpx.Response(200, json={"authentication_mode": "disabled"})
        if path in answers:
            return httpx.Response(
                200,
                content=(FIXTURES / answers[path]).read_bytes(),
                headers={"content-type": "application/json"},
            )
        return httpx.Response(404, text="not here")

    return httpx.MockTransport(handler)


def test_scrub_leaves_out_tokens_and_secret_looking_values():
    body = json.dumps(JOBS_WITH_SECRETS + [{"note": f"Bearer {TOKEN}"}]).encode()
    text = scrub_body(body, [TOKEN])
    for secret in (TOKEN, "hf_abc123", "wandb-xyz", "hunter2"):
        assert secret not in text
    data = json.loads(text)
    assert data[0]["runtime_env"]["env_vars"] == {
        "WANDB_API_KEY": REDACTED,
        "DB_PASSWORD": REDACTED,
        "MODE": "fast",  # not a secret name: kept
    }
    assert data[0]["entrypoint"].startswith(f"HF_TOKEN={REDACTED} python train.py")
    actor = {
        "runtime_env": {"serialized_runtime_env": json.dumps(JOBS_WITH_SECRETS[0]["runtime_env"])}
    }
    text = scrub_body(json.dumps(actor).encode())  # the state API's actors serialize it
    assert "wandb-xyz" not in text and "hunter2" not in text and "fast" in text
    assert scrub_text("export AWS_SECRET_ACCESS_KEY=abc/def ok", []) == (
        f"export AWS_SECRET_ACCESS_KEY={REDACTED} ok"
    )


async def test_record_then_replay_round_trip(tmp_path):
    path = tmp_path / "session.rcrec"
    tap = TapTransport(recorded_dashboard(["RUNNING", "RUNNING", "SUCCEEDED"]))
    recorder = Recorder(path, address="http://127.0.0.1:8265", max_bytes=2**24, secrets=[TOKEN])
    tap.recorder = recorder.start()
    seen = []
    async with DashboardClient(
        "http://127.0.0.1:8265", token=TOKEN, discover=False, transport=tap
    ) as client:
        poller = Poller(client)
        for _ in range(3):
            seen.append(await poller.poll_once())
            recorder.log_lines("raysubmit_secret", [f"line {len(seen)} HF_TOKEN=hf_abc123"])
            await asyncio.sleep(0.05)
    recorder.close()
    raw = gzip.decompress(path.read_bytes()).decode()
    for secret in (TOKEN, "hf_abc123", "wandb-xyz", "hunter2"):
        assert secret not in raw, secret

    recording = load_recording(path)
    assert recording.address == "http://127.0.0.1:8265"
    assert recording.start < recording.end
    bodies = [a.sha for a in recording.answers["/nodes?view=summary"]]
    assert len(bodies) == 3 and len(set(bodies)) == 1  # the same answer thrice: one body kept
    assert sum(1 for line in raw.splitlines() if '"kind":"body"' in line) < 3 * 5
    clock = ReplayClock(recording.start, recording.end)
    for moment, want in ((recording.start, seen[0]), (recording.end, seen[-1])):
        clock.seek(moment)
        async with replay_client(recording, clock) as client:
            snap = await Poller(client).poll_once()
        assert snap.connected
        assert [n.node_id for n in snap.nodes] == [n.node_id for n in want.nodes]
        assert [(j.key, j.status) for j in snap.jobs] == [(j.key, j.status) for j in want.jobs]
    assert [j.status for j in seen[0].jobs] == ["RUNNING"]
    assert [j.status for j in seen[-1].jobs] == ["SUCCEEDED"]
    # the log tail as it was: one line per poll, each only once its moment has come
    assert recording.log_lines("raysubmit_secret", recording.start - 1) == []
    assert recording.log_lines("raysubmit_secret", recording.end) == [
        f"line {i} HF_TOKEN={REDACTED}" for i in (1, 2, 3)
    ]


async def test_a_replay_changes_nothing(tmp_path):
    path = tmp_path / "r.rcrec"
    tap = TapTransport(recorded_dashboard(["RUNNING"]))
    tap.recorder = Recorder(path, address="http://h:8265", max_bytes=2**24).start()
    async with DashboardClient("http://h:8265", discover=False, transport=tap) as client:
        await Poller(client).poll_once()
    tap.recorder.close()
    recording = load_recording(path)
    clock = ReplayClock(recording.start, recording.end)
    async with replay_client(recording, clock) as client:
        with pytest.raises(RequestRejected) as err:
            await client.stop_job("raysubmit_secret")
    assert err.value.status == 405 and "a replay changes nothing" in err.value.body


def test_the_file_stays_under_its_limit_dropping_the_oldest(tmp_path):
    path = tmp_path / "big.rcrec"
    limit = 200_000
    recorder = Recorder(path, address="http://h:8265", max_bytes=limit).start()
    for i in range(400):  # every answer different and badly compressible: ~2.5 MB of bodies
        body = json.dumps({"i": i, "noise": [hash((i, k)) for k in range(300)]}).encode()
        recorder.http("/nodes?view=summary", 200, "application/json", body)
        time.sleep(0.001)
    recorder.close()
    assert path.stat().st_size <= limit * 1.3
    recording = load_recording(path)
    kept = recording.answers["/nodes?view=summary"]
    assert 0 < len(kept) < 400
    newest = json.loads(recording.bodies[kept[-1].sha])
    assert newest["i"] == 399  # the newest is kept, the oldest dropped
    assert recording.header.get("dropped_before") == pytest.approx(kept[0].t)


def test_broken_files_say_what_to_do(tmp_path):
    missing = tmp_path / "none.rcrec"
    with pytest.raises(RecordingError, match="no recording at .*--record FILE"):
        load_recording(missing)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(RecordingError, match="not a raycockpit recording"):
        load_recording(text)
    other = tmp_path / "other.gz"
    other.write_bytes(gzip.compress(b'{"some": "json"}\n'))
    with pytest.raises(RecordingError, match="no header line"):
        load_recording(other)
    with pytest.raises(RecordingError, match="cannot write the recording"):
        Recorder(text / "sub" / "x.rcrec", address="h", max_bytes=2**20).start()


def test_a_file_cut_short_keeps_its_complete_part(tmp_path):
    path = tmp_path / "cut.rcrec"
    recorder = Recorder(path, address="http://h:8265", max_bytes=2**24).start()
    recorder.http("/api/version", 200, "application/json", b'{"ray_version": "2.60.0"}')
    recorder.close()
    whole = path.read_bytes()
    path.write_bytes(whole + gzip.compress(b'{"kind": "http", "t": 1}\n' * 50)[:-9])
    recording = load_recording(path)
    assert list(recording.answers) == ["/api/version"]


def test_clock_and_at():
    clock = ReplayClock(1000.0, 1600.0)
    assert clock.now() == 1000.0 and clock.length == 600.0
    clock.step(90)
    assert clock.offset == 90.0
    clock.step(-1000)
    assert clock.now() == 1000.0  # never before the start
    clock.play(10)
    time.sleep(0.05)
    assert 1000.0 < clock.now() < 1002.0
    clock.play(10)  # the same speed again: paused
    assert clock.speed == 0.0
    assert parse_at("90", clock) == 1090.0
    assert parse_at("1:30", clock) == 1090.0
    assert parse_at("0:01:30", clock) == 1090.0
    assert parse_at("end", clock) == 1600.0
    for bad in ("soon", "-5", "1:2:3:4"):
        with pytest.raises(ValueError, match="seconds from the recording's start"):
            parse_at(bad, clock)
    with pytest.raises(ValueError, match="only 600 s long"):
        parse_at("11:00", clock)
