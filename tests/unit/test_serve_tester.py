"""serve_tester: percentiles, form values, URLs, and real HTTP on loopback (a tiny asyncio server
and a closed port), plus the client's Serve actions against recorded-shape answers."""

from __future__ import annotations

import asyncio
import json
import socket

import httpx
import pytest

from raycockpit.cockpit import serve_tester as st
from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.errors import NotFound, RequestRejected


def test_percentile_nearest_rank():
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert st.percentile(values, 50) == 50.0
    assert st.percentile(values, 95) == 95.0
    assert st.percentile(values, 99) == 99.0
    assert st.percentile(values, 100) == 100.0
    assert st.percentile([7.0], 99) == 7.0
    assert st.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert st.percentile([1.0, 2.0, 3.0, 4.0], 95) == 4.0
    assert st.percentile([], 50) == 0.0


def test_example_body_is_two_real_64_value_rows():
    rows = json.loads(st.example_body())
    assert len(rows) == 2 and all(len(r) == 64 for r in rows)
    assert all(0 <= v <= 16 for r in rows for v in r)
    assert rows[0][:4] == [0, 0, 5, 13]  # sklearn digits image 0


@pytest.mark.parametrize("text", ["[1, 2", "{'a': 1}", "", "[1,]"])
def test_bad_json_body_is_one_line_with_position(text):
    with pytest.raises(st.FormError) as info:
        st.parse_json_body(text)
    message = str(info.value)
    assert message.startswith("body is not JSON") and "line" in message and "\n" not in message


@pytest.mark.parametrize("text", ["0", "-3", "abc", "1.5", "", "10001"])
def test_bad_counts(text):
    with pytest.raises(st.FormError) as info:
        st.parse_count(text, "N", st.MAX_REQUESTS)
    assert "N must be" in str(info.value)


def test_good_counts():
    assert st.parse_count(" 40 ", "N", st.MAX_REQUESTS) == 40
    assert st.parse_count("256", "C", st.MAX_CONCURRENCY) == 256


def test_urls_stay_on_the_serve_address():
    base = st.serve_base_url("0.0.0.0", 8000, "http://10.1.2.3:8265")
    assert base == "http://10.1.2.3:8000"  # a wildcard bind: the dashboard's host
    assert st.serve_base_url("127.0.0.1", 8123, "http://x:1") == "http://127.0.0.1:8123"
    assert st.serve_base_url("127.0.0.1", None, "http://x:1") is None
    assert st.build_url("http://127.0.0.1:8000", "/", "/predict") == "http://127.0.0.1:8000/predict"
    assert st.build_url("http://h:1", "/digits", "predict") == "http://h:1/digits/predict"
    assert st.build_url("http://h:1", "/", "") == "http://h:1/"
    for bad in ("http://elsewhere/x", "//elsewhere/x", "/a b"):
        with pytest.raises(st.FormError):
            st.build_url("http://h:1", "/", bad)


def test_pretty_body_indents_and_cuts():
    assert st.pretty_body('{"a":[1,2]}') == '{\n  "a": [\n    1,\n    2\n  ]\n}'
    assert st.pretty_body("plain text") == "plain text"
    huge = json.dumps({"p": list(range(5000))})
    shown = st.pretty_body(huge)
    assert len(shown) < 4200 and "cut:" in shown.splitlines()[-1]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends


async def test_closed_port_is_a_one_line_error():
    port = _closed_port()
    result = await st.send_request(f"http://127.0.0.1:{port}/predict", "POST", "[]", timeout=3)
    assert result.status is None and not result.ok
    assert result.error.startswith(f"cannot connect to 127.0.0.1:{port}")
    assert "\n" not in result.error


async def test_load_test_on_a_closed_port_counts_errors():
    port = _closed_port()
    result = await st.load_test(f"http://127.0.0.1:{port}/", "GET", None, 10, 3, timeout=3)
    assert result.n == 10 and result.errors == 10 and result.statuses == {}
    assert result.first_error.startswith("cannot connect")


class TinyServer:
    """A real HTTP/1.1 server on loopback: 200 with the body echoed, 500 on /fail, slow on /slow."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, bytes]] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                length = 0
                for line in lines[1:]:
                    if line.lower().startswith("content-length:"):
                        length = int(line.split(":", 1)[1])
                body = await reader.readexactly(length) if length else b""
                self.requests.append((method, path, body))
                if path == "/slow":
                    await asyncio.sleep(2)
                status = "500 Internal Server Error" if path == "/fail" else "200 OK"
                out = json.dumps({"method": method, "echo": body.decode()}).encode()
                writer.write(
                    f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(out)}\r\n\r\n".encode()
                    + out
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the client went away, or the test ended
        finally:
            writer.close()


@pytest.fixture
async def tiny():
    server = TinyServer()
    srv = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.url = f"http://127.0.0.1:{srv.sockets[0].getsockname()[1]}"
    try:
        yield server
    finally:
        srv.close()
        await srv.wait_closed()


async def test_send_request_status_body_latency(tiny):
    result = await st.send_request(tiny.url + "/predict", "POST", "[[1, 2]]", timeout=5)
    assert result.ok and result.status == 200 and result.latency_ms > 0
    assert json.loads(result.body_text) == {"method": "POST", "echo": "[[1, 2]]"}
    get = await st.send_request(tiny.url + "/health", "GET", "[[1, 2]]", timeout=5)
    assert tiny.requests[-1] == ("GET", "/health", b"")  # GET sends no body
    assert get.ok
    failed = await st.send_request(tiny.url + "/fail", "POST", "{}", timeout=5)
    assert failed.status == 500 and not failed.ok and failed.error == ""


async def test_send_request_timeout_is_one_line(tiny):
    result = await st.send_request(tiny.url + "/slow", "GET", None, timeout=0.3)
    assert result.status is None and result.error == f"no answer from {tiny.url[7:]} within 0.3 s"


async def test_load_test_counts_latencies_and_errors(tiny):
    result = await st.load_test(tiny.url + "/predict", "POST", "[1]", 40, 4, timeout=5)
    assert result.n == 40 == result.requested and result.errors == 0
    assert result.statuses == {200: 40} and len(tiny.requests) == 40
    assert 0 < result.p50 <= result.p95 <= result.p99 and result.rps > 0
    failing = await st.load_test(tiny.url + "/fail", "POST", "[1]", 5, 2, timeout=5)
    assert (
        failing.errors == 5 and failing.statuses == {500: 5} and failing.first_error == "HTTP 500"
    )


async def test_load_test_is_bounded():
    result = await st.load_test(
        "http://127.0.0.1:1/", "GET", None, 10**9, 10**6, timeout=1, max_seconds=0.0
    )
    assert result.requested == st.MAX_REQUESTS and result.n <= st.MAX_CONCURRENCY


# -- the client's Serve actions, against answers shaped like Ray 2.60's ----------------------------


def _serve_client(
    apps: dict, declarative: dict, scale_status: int = 200, scale_body: dict | None = None
):
    seen: list[tuple[str, str, dict | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        seen.append((request.method, request.url.raw_path.decode(), body))
        if request.url.path == "/api/serve/applications/" and request.method == "GET":
            chosen = declarative if request.url.params.get("api_type") == "declarative" else apps
            return httpx.Response(200, json={"applications": chosen, "target_capacity": None})
        if request.url.path == "/api/serve/applications/" and request.method == "PUT":
            return httpx.Response(200)
        if request.url.path.endswith("/scale"):
            return httpx.Response(
                scale_status, json=scale_body or {"message": "Scaling request received."}
            )
        return httpx.Response(404)

    return DashboardClient(
        "http://127.0.0.1:8265", discover=False, transport=httpx.MockTransport(handler)
    ), seen


async def test_delete_one_declarative_app_puts_the_others_back():
    keep = {"name": "keep", "import_path": "m:app", "route_prefix": "/keep"}
    gone = {"name": "gone", "import_path": "m:app2", "route_prefix": "/gone"}
    apps = {"keep": {"deployed_app_config": keep}, "gone": {"deployed_app_config": gone}}
    client, seen = _serve_client(apps, apps)
    async with client:
        await client.delete_serve_app("gone")
    assert seen[-1] == ("PUT", "/api/serve/applications/", {"applications": [keep]})


async def test_delete_an_imperative_app_is_refused_with_what_to_do():
    client, seen = _serve_client(
        {"digits": {"deployed_app_config": None, "source": "imperative"}}, {}
    )
    async with client:
        with pytest.raises(RequestRejected) as info:
            await client.delete_serve_app("digits")
        with pytest.raises(NotFound):
            await client.delete_serve_app("nope")
    assert "serve.run" in info.value.one_line() and "stop the job" in info.value.one_line()
    assert all(method == "GET" for method, _, _ in seen)  # nothing was changed


async def test_scale_sends_the_number_and_reports_refusals():
    client, seen = _serve_client({}, {})
    async with client:
        assert "Scaling" in await client.scale_deployment("my app", "Dep", 3)
    assert seen[-1] == (
        "POST",
        "/api/v1/applications/my%20app/deployments/Dep/scale",
        {"target_num_replicas": 3},
    )
    reason = "Cannot update replicas ... external_scaler_enabled=false. To use this API, redeploy."
    client, _ = _serve_client({}, {}, 412, {"error": reason})
    async with client:
        with pytest.raises(RequestRejected) as info:
            await client.scale_deployment("a", "D", 2)
    line = info.value.one_line()
    assert "HTTP 412" in line and reason in line and "\n" not in line
