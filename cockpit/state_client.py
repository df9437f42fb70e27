"""The state API and the nodes' log files: the part of DashboardClient (client.py) that asks
`/api/v0/...` and `/logical/actors/...`. A mixin, not a client of its own: it uses the client's
transport, typed errors and timeouts; `DashboardClient` is the class to use.
"""

from __future__ import annotations

import codecs
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import quote

import httpx

from raycockpit.cockpit.errors import BadResponse, CockpitError, NotFound

STATE_API_TIMEOUT = 35.0


class StateApi:
    """Mixed into DashboardClient, whose transport and typed errors these are."""

    _http: httpx.AsyncClient
    _timeout: float
    _envelope: Callable[..., Awaitable[dict[str, Any]]]
    _request: Callable[..., Awaitable[httpx.Response]]
    _transport_error: Callable[[str, BaseException], CockpitError]
    _raise_for_status: Callable[[str, int, str], None]

    async def actor_summary(self) -> dict[str, Any]:
        return await self._envelope("/api/v0/actors/summarize", timeout=STATE_API_TIMEOUT)

    async def task_summary(self) -> dict[str, Any]:
        return await self._envelope("/api/v0/tasks/summarize", timeout=STATE_API_TIMEOUT)

    async def list_state(
        self, kind: str, filters: list[tuple[str, str, str]], limit: int = 100
    ) -> dict[str, Any]:
        """One page of a state API list (`/api/v0/{kind}`, `detail=false`) with its filters as
        (column, "=" or "!=", value); returns the envelope's `data`."""
        params: list[tuple[str, str]] = [("limit", str(limit)), ("detail", "false")]
        for key, predicate, value in filters:
            params += [
                ("filter_keys", key),
                ("filter_predicates", predicate),
                ("filter_values", value),
            ]
        return await self._envelope(
            f"/api/v0/{quote(kind)}", params=params, timeout=STATE_API_TIMEOUT
        )

    async def list_actors(self, limit: int = 200) -> dict[str, Any]:
        return await self._envelope(
            "/api/v0/actors",
            params={"limit": str(limit), "detail": "false"},
            timeout=STATE_API_TIMEOUT,
        )

    async def list_state_detail(
        self, kind: str, filters: list[tuple[str, str, str]], limit: int = 100
    ) -> dict[str, Any]:
        """`list_state` with `detail=true` (required_resources, bundles, creation times): the
        "Why pending?" lists (pending.py), each bounded by `limit`."""
        params: list[tuple[str, str]] = [("limit", str(limit)), ("detail", "true")]
        for key, predicate, value in filters:
            params += [("filter_keys", key), ("filter_predicates", predicate)]
            params.append(("filter_values", value))
        return await self._envelope(
            f"/api/v0/{quote(kind)}", params=params, timeout=STATE_API_TIMEOUT
        )

    async def log_files(self, node_id: str, glob: str = "*") -> dict[str, list[str]]:
        """GET /api/v0/logs: a node's log file names matching `glob`, by Ray's category
        (`raylet`, `worker_out`, ...; a folder ends with `/`)."""
        data = await self._envelope(
            "/api/v0/logs", params={"node_id": node_id, "glob": glob}, timeout=STATE_API_TIMEOUT
        )
        result = data.get("result") if isinstance(data.get("result"), dict) else {}
        return {
            str(category): sorted({str(n) for n in names})
            for category, names in result.items()
            if isinstance(names, list)
        }

    async def log_names(self, node_id: str, glob: str) -> list[str]:
        """The names of a node's log files matching `glob`, all categories."""
        files = await self.log_files(node_id, glob)
        return sorted({name for names in files.values() for name in names})

    async def log_file(self, node_id: str, filename: str, lines: int = 1000) -> str:
        """GET /api/v0/logs/file (format=text): the last `lines` lines of one of a node's logs.
        A file that is not there comes back as Ray's one-line answer, not as an error."""
        params = {"node_id": node_id, "filename": filename, "lines": str(lines), "format": "text"}
        response = await self._request(
            "GET", "/api/v0/logs/file", params=params, timeout=STATE_API_TIMEOUT
        )
        return response.text

    async def stream_log(
        self, params: dict[str, str], *, read_timeout: float = 300.0
    ) -> AsyncIterator[str]:
        """GET /api/v0/logs/stream (format=text): the text Ray sends, chunk by chunk, until the
        caller stops (Ray never ends it). Ray's failures come before the first byte as HTTP 500
        with one line (BadResponse, `.body` holds it); a drop is DashboardUnreachable, and no
        byte for `read_timeout` seconds DashboardTimeout (cockpit/log_stream.py re-opens)."""
        what = "GET /api/v0/logs/stream"
        timeout = httpx.Timeout(self._timeout, read=read_timeout)
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        try:
            async with self._http.stream(
                "GET", "/api/v0/logs/stream", params={**params, "format": "text"}, timeout=timeout
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                    self._raise_for_status(what, response.status_code, response.text)
                async for chunk in response.aiter_bytes():
                    text = decoder.decode(chunk)
                    if text:
                        yield text
        except (httpx.HTTPError, OSError) as exc:
            raise self._transport_error(what, exc) from None

    async def actor_log(self, actor_id: str, suffix: str) -> str:
        """GET /api/v0/logs/file: the whole of an actor's stdout (`out`) or stderr (`err`), with
        Ray's marker lines (`:actor_name:...`) as they are in the file."""
        params = {"actor_id": actor_id, "suffix": suffix, "lines": "-1", "format": "text"}
        response = await self._request(
            "GET", "/api/v0/logs/file", params=params, timeout=STATE_API_TIMEOUT
        )
        return response.text

    async def task_log(self, target: dict[str, str], *, lines: int = 20_000) -> str:
        """GET /api/v0/logs/file: one task attempt's own stdout or stderr (`target`: task_id,
        attempt_number, suffix), its last `lines` lines; Ray cuts it at the task's offsets."""
        params = {**target, "lines": str(lines), "format": "text"}
        response = await self._request(
            "GET", "/api/v0/logs/file", params=params, timeout=STATE_API_TIMEOUT
        )
        return response.text

    async def actor_detail(self, actor_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """One actor as the state API lists it (`detail=true`: death cause with its traceback,
        namespace, placement group) and as `/logical/actors/{id}` shows it (start and end time,
        its process's CPU and memory): (state row or {}, logical detail or {})."""
        data = await self.list_state_detail("actors", [("actor_id", "=", actor_id)], limit=1)
        listing = data.get("result") if isinstance(data.get("result"), dict) else {}
        result = listing.get("result") if isinstance(listing.get("result"), list) else []
        row = result[0] if result and isinstance(result[0], dict) else {}
        try:
            data = await self._envelope(f"/logical/actors/{quote(actor_id)}")
        except (NotFound, BadResponse):  # a dead actor Ray has forgotten: the state row is enough
            data = {}
        detail = data.get("detail") if isinstance(data.get("detail"), dict) else {}
        return row, detail
