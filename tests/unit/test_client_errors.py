"""Every failure of the dashboard becomes a typed error with one readable line (no cluster)."""

from __future__ import annotations

import json

import httpx
import pytest

from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.errors import (
    AuthForbidden,
    AuthRequired,
    BadResponse,
    DashboardTimeout,
    NotFound,
    RequestRejected,
)
from raycockpit.cockpit.launch import job_body


def _client(handler) -> DashboardClient:
    return DashboardClient(
        "http://127.0.0.1:8265", discover=False, transport=httpx.MockTransport(handler)
    )


@pytest.mark.parametrize(
    "status,body,error,words",
    [
        (401, "Unauthorized: Missing authentication token", AuthRequired, "RAY_AUTH_TOKEN"),
        (403, "Forbidden: Invalid authentication token", AuthForbidden, "ray get-auth-token"),
        (404, "Job raysubmit_x does not exist", NotFound, "does not exist"),
        (400, "entrypoint must be a string\nmore", RequestRejected, "HTTP 400"),
        (
            500,
            "Traceback (most recent call last):\n  File x\nValueError: no agent",
            BadResponse,
            "ValueError: no agent",
        ),
    ],
)
async def test_status_codes(status, body, error, words):
    async with _client(lambda request: httpx.Response(status, text=body)) as client:
        with pytest.raises(error) as info:
            await client.get_job("raysubmit_x")
    text = info.value.one_line()
    assert words in text and "\n" not in text and "File x" not in text


async def test_timeout_and_non_json():
    def slow(request):
        raise httpx.ReadTimeout("timed out", request=request)

    async with _client(slow) as client:
        with pytest.raises(DashboardTimeout, match="did not answer GET /api/jobs/"):
            await client.list_jobs()
    async with _client(
        lambda request: httpx.Response(200, text="<html>proxy login</html>")
    ) as client:
        with pytest.raises(BadResponse, match="did not return JSON"):
            await client.list_jobs()
    async with _client(
        lambda request: httpx.Response(200, json={"result": False, "msg": "boom", "data": {}})
    ) as client:
        with pytest.raises(BadResponse, match="boom"):
            await client.node_summary()


@pytest.mark.parametrize(
    "body",
    [
        '{"ray_version": ' + "9" * 5000 + "}",  # past Python's int-from-text digit limit
        "[" * 100_000 + "]" * 100_000,  # nested past the recursion limit
    ],
)
async def test_answers_python_cannot_hold_are_a_bad_response(body):
    async with _client(lambda request: httpx.Response(200, text=body)) as client:
        for call in (client.version, client.list_jobs, client.node_summary):
            with pytest.raises(BadResponse) as info:
                await call()
            assert "\n" not in info.value.one_line()


async def test_token_sent_as_bearer_and_browserless_user_agent():
    seen = {}

    def record(request):
        seen.update(request.headers)
        return httpx.Response(200, json=[])

    async with DashboardClient(
        "http://127.0.0.1:8265", token="t0k", transport=httpx.MockTransport(record)
    ) as client:
        await client.list_jobs()
    assert seen["authorization"] == "Bearer t0k"
    assert not seen["user-agent"].startswith("Mozilla")


async def test_submit_job_posts_the_body_job_body_builds():
    posted = []

    def record(request):
        posted.append(json.loads(request.content))
        return httpx.Response(200, json={"submission_id": "raysubmit_1", "job_id": None})

    async with _client(record) as client:
        assert await client.submit_job("python x.py") == "raysubmit_1"
        await client.submit_job("python x.py", runtime_env={}, metadata={"a": "b"})
        await client.submit_job("python x.py", runtime_env={"working_dir": "gcs://_ray_pkg_x.zip"})
    assert posted == [
        job_body("python x.py"),
        {"entrypoint": "python x.py", "metadata": {"a": "b"}},  # an empty runtime_env is left out
        job_body("python x.py", runtime_env={"working_dir": "gcs://_ray_pkg_x.zip"}),
    ]
    assert posted[0] == {"entrypoint": "python x.py"}
