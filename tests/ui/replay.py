"""A DashboardClient that answers from responses recorded from a real Ray 2.60 head.

Used only for the SVG snapshots, which must be the same picture every run; every behaviour test
talks to the real local head instead.
"""

from __future__ import annotations

import json

import httpx

from raycockpit.cockpit.client import DashboardClient
from tests.conftest import FIXTURES

ADDRESS = "http://127.0.0.1:8265"
RECORDED_AT = 1795665120.0  # close to the recordings' own "now"

BASE = {
    "/api/version": "api_version.json",
    "/nodes": "nodes_view_summary.json",
    "/api/cluster_status?format=1": "api_cluster_status_format1_busy_rllib.json",
    "/api/cluster_status": "api_cluster_status.json",
    "/api/jobs/": "api_jobs.json",
    "/api/serve/applications/": "api_serve_applications.json",
}


def replay_client(overrides: dict[str, str] | None = None) -> DashboardClient:
    """`overrides` maps a path of BASE to another fixture file (e.g. a GPU node summary)."""
    files = {**BASE, **(overrides or {})}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/authentication_mode":
            return httpx.Response(200, json={"authentication_mode": "disabled"})
        if request.url.path == "/metrics":  # a node's Prometheus text: none recorded, none sent
            return httpx.Response(200, text="")
        key = request.url.path
        if request.url.params.get("format") == "1":
            key += "?format=1"
        name = files.get(_filtered(request.url.params, key)) or files.get(key)
        if name is None:
            return httpx.Response(404, text=f"no recording for {key}")
        return httpx.Response(
            200,
            content=(FIXTURES / name).read_bytes(),
            headers={"content-type": "application/json"},
        )

    return DashboardClient(ADDRESS, discover=False, transport=httpx.MockTransport(handler))


def _filtered(params: httpx.QueryParams, key: str) -> str:
    """A state API list's key with its filters, e.g. `/api/v0/actors?state!=DEAD`: lists of
    the same path with other filters answer from other recordings."""
    filters = zip(
        params.get_list("filter_keys"),
        params.get_list("filter_predicates"),
        params.get_list("filter_values"),
        strict=False,
    )
    text = "&".join(f"{k}{p}{v}" for k, p, v in filters)
    return f"{key}?{text}" if text else key


def recorded_json(name: str):
    return json.loads((FIXTURES / name).read_text())
