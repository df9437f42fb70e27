"""The one async client of the Ray dashboard: HTTP over httpx, job log tails over websockets.
The state API and the log files of the nodes are its part in state_client.py.

It returns raw JSON (dicts, lists, text), or for the poller's big answers the raw bytes (the
`*_bytes` methods); `parse.py` / `decode.py` turn those into models. Every failure is
raised as one of the typed errors in `errors.py`, never as an httpx or websockets exception.
"""

from __future__ import annotations

import importlib
import json
import shlex
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from raycockpit import __version__
from raycockpit.cockpit.command_log import (
    CommandLog,
    redact_job_body,
    redact_runtime_env,
    rest_command,
    submit_cli,
)
from raycockpit.cockpit.config import discover_token, normalise_address
from raycockpit.cockpit.decode import checked_envelope
from raycockpit.cockpit.errors import (
    AuthForbidden,
    AuthRequired,
    BadResponse,
    CockpitError,
    DashboardTimeout,
    DashboardUnreachable,
    NotFound,
    RequestRejected,
    preview,
)
from raycockpit.cockpit.state_client import StateApi

# never browser-like: the dashboard refuses POSTs from browsers
USER_AGENT = f"raycockpit/{__version__} (python-httpx)"


def preload_log_tail() -> None:
    """Import what a log tail needs (websockets) ahead of the first job screen, from a thread.
    `tail_job_logs` imports it lazily, which keeps `--once` quick to start, but done there the
    import took ~30 ms of the UI thread on the first job a session opened."""
    importlib.import_module("websockets.asyncio.client")


class DashboardClient(StateApi):
    """Async client of one Ray dashboard. Use `async with DashboardClient(url) as client:`."""

    def __init__(
        self,
        address: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        discover: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
        command_log: CommandLog | None = None,
    ) -> None:
        self.address = normalise_address(address)
        # every call that changes the cluster is recorded here (the app's ctrl+l); None: not kept
        self.command_log = command_log
        self._token = token if token is not None else (discover_token() if discover else None)
        headers = {"User-Agent": USER_AGENT}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        self._headers = headers
        self._timeout = timeout
        self._transport = transport
        self._http = httpx.AsyncClient(
            base_url=self.address, headers=headers, timeout=timeout, transport=transport
        )

    def node_http(self) -> httpx.AsyncClient:
        """A client for the nodes' own ports (their Prometheus text): no token, no base URL; the
        dashboard's transport when one was given (a test's recorded answers cover the nodes)."""
        return httpx.AsyncClient(headers={"User-Agent": USER_AGENT}, transport=self._transport)

    @property
    def has_token(self) -> bool:
        return bool(self._token)

    def __repr__(self) -> str:  # the token never appears here
        return f"DashboardClient({self.address!r}, token={'set' if self._token else 'none'})"

    async def __aenter__(self) -> DashboardClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- plumbing ---------------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        what = f"{method} {path}"
        try:
            response = await self._http.request(
                method, path, timeout=timeout or self._timeout, **kwargs
            )
        except (httpx.HTTPError, OSError) as exc:
            raise self._transport_error(what, exc) from None
        if response.status_code >= 400:
            self._raise_for_status(what, response.status_code, response.text)
        return response

    def _transport_error(self, what: str, exc: BaseException) -> CockpitError:
        """The typed error of a request that got no (complete) answer."""
        if isinstance(exc, httpx.TimeoutException):
            return DashboardTimeout(f"{self.address} did not answer {what} in time")
        if isinstance(
            exc, (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, OSError)
        ):
            reason = str(exc).strip() or type(exc).__name__
            return DashboardUnreachable(f"cannot reach {self.address}: {reason}")
        return DashboardUnreachable(f"{what} failed: {type(exc).__name__}")

    def _raise_for_status(self, what: str, status: int, body: str) -> None:
        """The typed error of an HTTP error status (400 and up)."""
        if status == 401:
            raise AuthRequired(f"{self.address} requires an auth token")
        if status == 403:
            raise AuthForbidden(f"{self.address} refused the auth token")
        if status == 404:
            raise NotFound(f"{what}: not found", hint=_first_line(body) or NotFound.hint)
        if 400 <= status < 500:
            raise RequestRejected(f"{what} was rejected", status=status, body=body)
        raise BadResponse(f"{what} failed", status=status, body=body)

    async def _bytes(
        self,
        path: str,
        *,
        params: dict[str, str] | list[tuple[str, str]] | None = None,
        timeout: float | None = None,
    ) -> bytearray:
        """GET `path`'s body as raw bytes for decode.py, with `_request`'s typed errors.

        The body is streamed into ONE bytearray, chunk by chunk as it arrives (no second full
        copy: the node summary of 5,000 nodes is ~90 MB), and the event loop only copies chunks:
        decoding it is for a worker thread.
        """
        what = f"GET {path}"
        try:
            async with self._http.stream(
                "GET", path, params=params, timeout=timeout or self._timeout
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                    self._raise_for_status(what, response.status_code, response.text)
                return await _read_body(response)
        except (httpx.HTTPError, OSError) as exc:
            raise self._transport_error(what, exc) from None

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._request(method, path, **kwargs)
        try:
            return response.json()
        except (ValueError, RecursionError):  # not JSON, digits past the int limit, too deep
            raise BadResponse(
                f"{method} {path} did not return JSON",
                status=response.status_code,
                body=response.text,
            ) from None

    async def _recorded(
        self,
        action: str,
        target: str,
        method: str,
        path: str,
        call: Callable[[], Awaitable[Any]],
        *,
        body: Any = None,
        cli: str = "",
        note: str = "",
        left_out: Iterable[str] = (),
        done: Callable[[Any], str] = lambda _: "ok",
    ) -> Any:
        """Run one call that changes the cluster and record it (ok or its error line) in the
        command log, with its REST call and `ray` CLI line; the error is raised on."""
        ok, result = False, "did not finish (cancelled)"
        try:
            answer = await call()
            ok, result = True, done(answer)
            return answer
        except CockpitError as exc:
            result = exc.one_line()
            raise
        finally:
            if self.command_log is not None:
                self.command_log.add(
                    rest_command(
                        action,
                        target,
                        address=self.address,
                        method=method,
                        path=path,
                        ok=ok,
                        result=result,
                        body=body,
                        cli=cli,
                        note=note,
                        left_out=left_out,
                        with_token=self.has_token,
                    )
                )

    async def _envelope(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """A `{"result": true, "msg": ..., "data": {...}}` answer; returns `data`."""
        return checked_envelope(await self._json("GET", path, **kwargs), f"GET {path}")

    # -- cluster ----------------------------------------------------------------------------

    async def version(self) -> dict[str, Any]:
        data = await self._json("GET", "/api/version")
        if not isinstance(data, dict) or "ray_version" not in data:
            raise BadResponse("GET /api/version: unexpected answer", body=preview(data))
        return data

    async def auth_mode(self) -> str:
        """'token' or 'disabled' ('disabled' too on Rays that predate token auth)."""
        try:
            data = await self._json("GET", "/api/authentication_mode")
        except NotFound:
            return "disabled"
        return (
            str(data.get("authentication_mode", "disabled"))
            if isinstance(data, dict)
            else "disabled"
        )

    async def node_summary(self) -> dict[str, Any]:
        return await self._envelope("/nodes", params={"view": "summary"})

    async def cluster_status(self) -> dict[str, Any]:
        return await self._envelope("/api/cluster_status")

    async def cluster_status_text(self) -> str:
        """The `ray status` text (works with autoscaler v1 and v2)."""
        data = await self._envelope("/api/cluster_status", params={"format": "1"})
        text = data.get("clusterStatus")
        if text is None:
            return ""
        if not isinstance(text, str):
            raise BadResponse("cluster status text is not text", body=str(text)[:300])
        return text

    # -- raw answers, for decode.py in a worker thread (the poller) --------------------------

    async def node_summary_bytes(self) -> bytearray:
        """GET /nodes?view=summary: decode.decode_nodes / NodesDecoder reads it."""
        return await self._bytes("/nodes", params={"view": "summary"})

    async def cluster_status_bytes(self, text: bool = False) -> bytearray:
        """GET /api/cluster_status, structured (decode.decode_cluster_status) or, with `text`,
        the `ray status` text (?format=1, decode.decode_cluster_status_text)."""
        return await self._bytes("/api/cluster_status", params={"format": "1"} if text else None)

    async def list_jobs_bytes(self) -> bytearray:
        """GET /api/jobs/: decode.JobsDecoder reads it."""
        return await self._bytes("/api/jobs/")

    async def job_bytes(self, job_id: str) -> bytearray:
        """GET /api/jobs/{job_id}: decode.decode_job reads it."""
        return await self._bytes(f"/api/jobs/{job_id}")

    async def serve_applications_bytes(self) -> bytearray:
        """GET /api/serve/applications/: decode.decode_serve reads it."""
        return await self._bytes("/api/serve/applications/")

    async def state_bytes(self, path: str, params: list[tuple[str, str]]) -> bytearray:
        """GET a state API path (`/api/v0/...`, its query as pairs, filters repeated) for
        actors.ActorsDecoder, with the client's usual timeout: the poller waits for it."""
        return await self._bytes(path, params=params)

    # -- jobs -------------------------------------------------------------------------------

    async def list_jobs(self) -> list[dict[str, Any]]:
        data = await self._json("GET", "/api/jobs/")
        if not isinstance(data, list):
            raise BadResponse("GET /api/jobs/: expected a list", body=preview(data))
        return data

    async def get_job(self, job_id: str) -> dict[str, Any]:
        data = await self._json("GET", f"/api/jobs/{job_id}")
        if not isinstance(data, dict):
            raise BadResponse(f"GET /api/jobs/{job_id}: expected an object", body=preview(data))
        return data

    async def submit_job(
        self,
        entrypoint: str,
        *,
        runtime_env: dict[str, Any] | None = None,
        metadata: dict[str, str] | None = None,
    ) -> str:
        """POST /api/jobs/ of a bare entrypoint, the body `launch.job_body`'s; returns its id."""
        # not at the top: keeps `--once` quick to start
        from raycockpit.cockpit.launch import job_body

        body = job_body(entrypoint, runtime_env=runtime_env, metadata=metadata)
        return await self.submit_job_body(body)

    async def submit_job_body(
        self,
        body: dict[str, Any],
        *,
        working_dir: Path | None = None,
        include: Iterable[str] | None = None,
        excludes: Iterable[str] = (),
    ) -> str:
        """POST /api/jobs/ with a `launch.job_body` (or `JobRequest.body`) body; returns its id.

        `working_dir` (`include`, `excludes`): the local folder the body's gcs:// package was
        built from, so the command log's `ray job submit` line ships the same files."""

        async def call() -> str:
            data = await self._json("POST", "/api/jobs/", json=body)
            if not isinstance(data, dict) or not data.get("submission_id"):
                raise BadResponse(
                    "POST /api/jobs/: no submission_id in the answer", body=preview(data)
                )
            return str(data["submission_id"])

        shown, left_out = redact_job_body(body)
        cli = submit_cli(
            self.address, shown, working_dir=working_dir, include=include, excludes=excludes
        )
        return await self._recorded(
            "job submit",
            str(body.get("submission_id") or ""),
            "POST",
            "/api/jobs/",
            call,
            body=shown,
            cli=cli,
            left_out=left_out,
            done=lambda job_id: f"ok: {job_id}",
        )

    async def stop_job(self, job_id: str) -> bool:
        async def call() -> bool:
            data = await self._json("POST", f"/api/jobs/{job_id}/stop")
            return bool(isinstance(data, dict) and data.get("stopped"))

        return await self._recorded(
            "job stop",
            job_id,
            "POST",
            f"/api/jobs/{job_id}/stop",
            call,
            cli=shlex.join(["ray", "job", "stop", "--address", self.address, job_id]),
            done=lambda stopped: "ok: stop requested" if stopped else "ok: it was not running",
        )

    async def delete_job(self, job_id: str) -> bool:
        async def call() -> bool:
            data = await self._json("DELETE", f"/api/jobs/{job_id}")
            return bool(isinstance(data, dict) and data.get("deleted"))

        return await self._recorded(
            "job delete",
            job_id,
            "DELETE",
            f"/api/jobs/{job_id}",
            call,
            cli=shlex.join(["ray", "job", "delete", "--address", self.address, job_id]),
            done=lambda deleted: "ok: deleted" if deleted else "ok: not deleted",
        )

    async def job_logs(self, job_id: str) -> str:
        data = await self._json("GET", f"/api/jobs/{job_id}/logs", timeout=max(self._timeout, 30.0))
        if not isinstance(data, dict) or not isinstance(data.get("logs", ""), str):
            raise BadResponse(f"GET /api/jobs/{job_id}/logs: unexpected answer", body=preview(data))
        return data.get("logs", "")

    async def tail_job_logs(self, job_id: str) -> AsyncIterator[str]:
        """Chunks of new driver-log text from the websocket; ends when the job is terminal.

        A dropped connection raises DashboardUnreachable; the caller decides to reconnect.
        """
        import websockets  # only a log tail needs it: keeps --once quick to start
        from websockets.asyncio.client import connect as ws_connect

        url = self.address.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        url = f"{url}/api/jobs/{job_id}/logs/tail"
        headers = {k: v for k, v in self._headers.items() if k != "User-Agent"}
        try:
            async with ws_connect(
                url,
                additional_headers=headers,
                user_agent_header=USER_AGENT,
                open_timeout=self._timeout,
                max_size=None,
                compression=None,  # the dashboard's websocket proxy breaks on compressed frames
                ping_interval=20,
            ) as socket:
                async for message in socket:
                    yield (
                        message if isinstance(message, str) else message.decode("utf-8", "replace")
                    )
        except websockets.exceptions.InvalidStatus as exc:
            status = exc.response.status_code
            if status == 401:
                raise AuthRequired(f"{self.address} requires an auth token") from None
            if status == 403:
                raise AuthForbidden(f"{self.address} refused the auth token") from None
            if status == 404:
                raise NotFound(f"job {job_id}: no log tail") from None
            raise BadResponse(f"log tail of {job_id} refused", status=status) from None
        except websockets.exceptions.ConnectionClosedError as exc:
            raise DashboardUnreachable(f"log tail of {job_id} dropped: {exc}") from None
        except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as exc:
            raise DashboardUnreachable(
                f"log tail of {job_id} dropped: {str(exc) or type(exc).__name__}"
            ) from None

    # -- packages (working_dir uploads, RAY_API.md 3.1) ----------------------------------------

    async def package_exists(self, name: str) -> bool:
        """GET /api/packages/gcs/<name>: also pins the package for a while."""
        try:
            await self._request("GET", f"/api/packages/gcs/{name}")
        except NotFound:
            return False
        return True

    async def upload_package(self, name: str, data: bytes) -> None:
        async def call() -> None:
            await self._request("PUT", f"/api/packages/gcs/{name}", content=data, timeout=120.0)

        await self._recorded(
            "package upload",
            name,
            "PUT",
            f"/api/packages/gcs/{name}",
            call,
            body=f"{name} ({len(data):,} bytes of zip)",
            note="`ray job submit --working-dir DIR` packs and uploads the folder itself",
            done=lambda _: f"ok: {len(data):,} bytes",
        )

    # -- serve ------------------------------------------------------------------------------

    async def serve_applications(self) -> dict[str, Any]:
        data = await self._json("GET", "/api/serve/applications/")
        if not isinstance(data, dict):
            raise BadResponse(
                "GET /api/serve/applications/: expected an object", body=preview(data)
            )
        return data

    async def delete_serve(self) -> None:
        async def call() -> None:
            await self._request("DELETE", "/api/serve/applications/", timeout=60.0)

        await self._recorded(
            "serve shutdown",
            "",
            "DELETE",
            "/api/serve/applications/",
            call,
            cli=shlex.join(["serve", "shutdown", "--address", self.address, "--yes"]),
        )

    async def scale_deployment(self, app: str, deployment: str, n: int) -> str:
        """POST /api/v1/applications/{app}/deployments/{dep}/scale; returns Ray's message.

        Ray 2.60 accepts it only for apps deployed with `external_scaler_enabled: true` (412
        otherwise); a refusal is raised as RequestRejected carrying the server's reason.
        """
        app_part, deployment_part = quote(app, safe=""), quote(deployment, safe="")
        path = f"/api/v1/applications/{app_part}/deployments/{deployment_part}/scale"
        body = {"target_num_replicas": int(n)}

        async def call() -> Any:
            try:
                return await self._json("POST", path, json=body, timeout=30.0)
            except BadResponse as exc:
                reason = _error_reason(exc.body) or exc.message
                error = RequestRejected(
                    f"Ray refused to scale {app}/{deployment} (HTTP {exc.status}): {reason}"
                )
                if "external_scaler_enabled" in reason:
                    error.hint = (
                        "redeploy the app with external_scaler_enabled: true to scale it from here"
                    )
                raise error from None

        data = await self._recorded(
            "serve scale",
            f"{app}/{deployment} to {int(n)}",
            "POST",
            path,
            call,
            body=body,
            note="Ray 2.60's CLI has no scale command: this REST call is the way",
            done=lambda answer: (
                "ok: " + str(answer.get("message") or "scaled")
                if isinstance(answer, dict)
                else "ok"
            ),
        )
        return str(data.get("message", "")) if isinstance(data, dict) else ""

    async def delete_serve_app(self, name: str) -> None:
        """Delete ONE Serve application, where Ray's REST API can.

        Ray 2.60 has no REST call that deletes a single app: `PUT /api/serve/applications/` is
        declarative and removes the declaratively deployed apps missing from its body, while apps
        deployed by `serve.run` (imperative, e.g. from a job) are out of its reach. So a
        declarative app is deleted by PUTting the other declarative apps' configs back; an
        imperative one is refused with what to do instead.
        """
        everything = await self.serve_applications()
        if name not in (everything.get("applications") or {}):
            raise NotFound(f"Serve application {name!r} not found")
        declarative = await self._json(
            "GET", "/api/serve/applications/", params={"api_type": "declarative"}
        )
        apps = (declarative.get("applications") or {}) if isinstance(declarative, dict) else {}
        if name not in apps:
            error = RequestRejected(
                f"{name!r} was deployed by serve.run (imperative): "
                "Ray's REST API cannot delete one such app"
            )
            error.hint = "stop the job that runs it (Jobs pane), or shut down all of Serve (D)"
            raise error
        configs = []
        for other, details in apps.items():
            if other == name:
                continue
            config = details.get("deployed_app_config") if isinstance(details, dict) else None
            if not isinstance(config, dict):
                raise RequestRejected(f"cannot keep app {other!r}: Ray did not report its config")
            configs.append(config)
        body: dict[str, Any] = {"applications": configs}
        if declarative.get("target_capacity") is not None:
            body["target_capacity"] = declarative["target_capacity"]
        shown = json.loads(json.dumps(body))
        left_out: list[str] = []
        for config in shown["applications"]:
            if isinstance(config, dict) and isinstance(config.get("runtime_env"), dict):
                config["runtime_env"], gone = redact_runtime_env(config["runtime_env"])
                left_out += [f"{config.get('name', '?')}: {item}" for item in gone]
        await self._recorded(
            "serve delete app",
            name,
            "PUT",
            "/api/serve/applications/",
            lambda: self._request("PUT", "/api/serve/applications/", json=body, timeout=60.0),
            body=shown,
            note=(
                "Ray's CLI deletes one app by `serve deploy --address ADDRESS FILE` of a config "
                "file holding this body (the other apps)"
            ),
            left_out=left_out,
        )


def _error_reason(body: str) -> str:
    """The `error` (or `message`) of a JSON error answer, else its first line."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, TypeError):
        return _first_line(body or "")
    if isinstance(data, dict):
        return str(data.get("error") or data.get("message") or "").strip()
    return ""


def _first_line(text: str) -> str:
    for line in text.strip().splitlines():
        if line.strip():
            return line.strip()[:160]
    return ""


async def _read_body(response: httpx.Response) -> bytearray:
    """The body in one bytearray. Sized from Content-Length when the body is sent as is: one
    allocation of the final size (a big one is its own mapping, given back whole when freed),
    where growing it chunk by chunk re-allocated it dozens of times and left the heap fragmented
    (tens of MiB of RSS that stayed after a 90 MB answer)."""
    length = response.headers.get("content-length", "")
    if not length.isdigit() or response.headers.get("content-encoding", "identity") != "identity":
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
        return body
    body = bytearray(int(length))
    filled = 0
    with memoryview(body) as view:
        async for chunk in response.aiter_bytes():
            end = filled + len(chunk)
            if end > len(view):  # h11 refuses a body longer than announced; be sure anyway
                raise httpx.RemoteProtocolError("the body is longer than its Content-Length")
            view[filled:end] = chunk
            filled = end
    if filled != len(body):  # h11 refuses a shorter one too
        raise httpx.RemoteProtocolError("the body is shorter than its Content-Length")
    return body
