"""decode.py: raw dashboard bytes -> models, as the old path (json.loads, then parse.py) gave them;
identity kept for what did not change; only BadResponse escapes, whatever the bytes (no
cluster). The recorded Ray 2.60 answers are in tests/fixtures (see its README)."""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path
from typing import Any

import hypothesis
import pytest

from raycockpit.cockpit import decode
from raycockpit.cockpit.decode import (
    AutoscalerDecoder,
    JobsDecoder,
    NodesDecoder,
    Reusing,
    decode_autoscaler,
    decode_cluster_status,
    decode_cluster_status_text,
    decode_job,
    decode_jobs,
    decode_nodes,
    decode_serve,
    drop_job,
    merge_job,
)
from raycockpit.cockpit.errors import BadResponse
from raycockpit.cockpit.models import AutoscalerStatus, Job, Node, ServeStatus
from raycockpit.cockpit.parse import (
    merge_structured_autoscaler,
    parse_autoscaler_text,
    parse_job,
    parse_jobs,
    parse_node,
    parse_nodes,
    parse_serve,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NODE_FILES = sorted(FIXTURES.glob("nodes_view_summary*.json"))
TEXT_FILES = sorted(FIXTURES.glob("api_cluster_status_format1*.json"))
STRUCTURED_FILES = sorted(
    p for p in FIXTURES.glob("api_cluster_status*.json") if "format1" not in p.name
)


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


# -- the same models as the old path ---------------------------------------------------------


@pytest.mark.parametrize("path", NODE_FILES, ids=lambda p: p.name)
@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_nodes_as_the_old_path(path, kind):
    body = path.read_bytes()
    assert decode_nodes(kind(body)) == parse_nodes(json.loads(body)["data"])


def test_jobs_job_and_serve_as_the_old_path():
    jobs = raw("api_jobs.json")
    assert len(decode_jobs(jobs)) == 17
    assert decode_jobs(jobs) == parse_jobs(json.loads(jobs))
    one = raw("api_jobs_id.json")
    assert decode_job(one, "x") == parse_job(json.loads(one))
    serve = raw("api_serve_applications.json")
    assert decode_serve(serve) == parse_serve(json.loads(serve))


@pytest.mark.parametrize("text_path", TEXT_FILES, ids=lambda p: p.name)
def test_autoscaler_as_the_old_path(text_path):
    structured_path = FIXTURES / text_path.name.replace("_format1", "")
    text = json.loads(text_path.read_bytes())["data"]["clusterStatus"]
    structured = json.loads(structured_path.read_bytes())["data"]
    old = merge_structured_autoscaler(parse_autoscaler_text(text), structured)
    assert decode_cluster_status_text(text_path.read_bytes()) == text
    partial = decode_cluster_status(structured_path.read_bytes())
    assert decode_autoscaler(text_path.read_bytes(), partial) == old
    decoder = AutoscalerDecoder()
    decoder.decode_structured(structured_path.read_bytes())
    assert decoder.decode(text_path.read_bytes()) == old
    assert decode_autoscaler(text_path.read_bytes()) == parse_autoscaler_text(text)


def test_a_big_answer_as_the_old_path():
    """200 nodes x 8 GPUs and 2,000 jobs built from the recorded ones, shuffled statuses."""
    base = json.loads(raw("nodes_view_summary_gpu.json"))
    worker = base["data"]["summary"][1]
    summary, logical = [], {}
    for i in range(200):
        node = json.loads(json.dumps(worker))
        node["raylet"]["nodeId"] = node_id = f"{i:056x}"
        node["hostname"], node["cpu"] = f"gpu-{i % 37}", i % 101
        node["gpus"] = [
            dict(node["gpus"][0], index=j, utilizationGpu=i * j % 100) for j in range(8)
        ]
        summary.append(node)
        logical[node_id] = f"{i % 8}.0/8.0 GPU\n1.0/16.0 CPU"
    base["data"] = {"summary": summary, "nodeLogicalResources": logical}
    body = dumps(base)
    assert decode_nodes(body) == parse_nodes(json.loads(body)["data"])
    jobs = json.loads(raw("api_jobs.json"))
    many = [dict(jobs[i % 17], submission_id=f"s{i % 1500}", start_time=i % 7) for i in range(2000)]
    body = dumps(many)
    assert decode_jobs(body) == parse_jobs(json.loads(body))


# -- the partial schemas hold every key parse.py reads -----------------------------------------


class Recording(dict):
    """A dict that notes each key read from it (get, [], in)."""

    def __init__(self, data: dict, seen: set[str]) -> None:
        super().__init__(data)
        self.seen = seen

    def get(self, key, default=None):
        self.seen.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.seen.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.seen.add(key)
        return super().__contains__(key)


def fields(schema: type) -> set[str]:
    return set(typing.get_type_hints(schema))


def test_the_partial_schemas_hold_every_key_parse_reads():
    seen: dict[str, set[str]] = {"node": set(), "raylet": set(), "gpu": set()}
    for path in NODE_FILES:
        data = json.loads(path.read_bytes())["data"]
        for item in data["summary"]:
            node = Recording(item, seen["node"])
            node["raylet"] = Recording(item["raylet"], seen["raylet"])
            if "gpus" in item:
                node["gpus"] = [Recording(g, seen["gpu"]) for g in item["gpus"]]
            parse_node(node, "1.0/2.0 CPU")
    assert seen["node"] and seen["raylet"] and seen["gpu"]
    assert seen["node"] <= fields(decode.NodeFields), seen["node"] - fields(decode.NodeFields)
    assert seen["raylet"] <= fields(decode.RayletFields)
    assert seen["gpu"] <= fields(decode.GpuFields)

    seen = {"data": set(), "status": set(), "report": set()}
    for path in STRUCTURED_FILES:
        data = json.loads(path.read_bytes())["data"]
        top = Recording(data, seen["data"])
        status = Recording(data["clusterStatus"], seen["status"])
        status["autoscalerReport"] = Recording(
            data["clusterStatus"]["autoscalerReport"], seen["report"]
        )
        top["clusterStatus"] = status
        merge_structured_autoscaler(AutoscalerStatus(), top)
    assert seen["data"] <= fields(decode.StructuredFields)
    assert seen["status"] <= fields(decode.ClusterStatusFields)
    assert seen["report"] <= fields(decode.AutoscalerReportFields)


# -- identity: what did not change is the same object -------------------------------------------


def test_nodes_decoder_keeps_what_did_not_change():
    decoder = NodesDecoder()
    body = raw("nodes_view_summary_gpu.json")
    first = decoder.decode(body)
    assert decoder.decode(bytearray(body)) is first  # the same bytes: not even decoded
    payload = json.loads(body)
    payload["data"]["summary"][0]["now"] += 1  # a field the cockpit does not read
    assert decoder.decode(dumps(payload)) is first
    payload["data"]["summary"][1]["cpu"] = 99.5
    changed = decoder.decode(dumps(payload))
    assert changed is not first and changed == parse_nodes(payload["data"])
    worker = next(n for n in changed if n.cpu_percent == 99.5)
    assert all(a is b for a, b in zip(changed, first, strict=True) if a is not worker)
    assert worker not in first
    decoder.clear()
    assert decoder.decode(dumps(payload)) is not changed


def test_jobs_decoder_reuses_unchanged_jobs_and_its_tuple():
    decoder = JobsDecoder()
    items = json.loads(raw("api_jobs.json"))
    first = decoder.decode(dumps(items))
    assert decoder.decode(dumps(items)) is first
    assert decoder.decode(dumps(list(reversed(items)))) is first  # same jobs, same order after
    items[3] = dict(items[3], status="STOPPED", message="stopped by hand")
    second = decoder.decode(dumps(items))
    assert second is not first and second == parse_jobs(items)
    new = {j.key for j in second} - {j.key for j in first if j in second}
    changed = [j for j in second if not any(j is old for old in first)]
    assert [j.key for j in changed] == [parse_job(items[3]).key] and new == {changed[0].key}
    assert changed[0].status == "STOPPED"
    # bounded: the cache holds the current list's jobs only
    third = decoder.decode(dumps(items[:5]))
    assert len(third) == 5 and len(decoder._cache) == 5
    assert all(any(j is old for old in second) for j in third)


def test_jobs_decoder_on_a_bad_answer_keeps_nothing_of_it():
    decoder = JobsDecoder()
    first = decoder.decode(raw("api_jobs.json"))
    with pytest.raises(BadResponse, match="expected a list"):
        decoder.decode(b'{"jobs": []}')
    again = decoder.decode(raw("api_jobs.json"))
    assert again == first


def test_jobs_with_nan_take_the_tolerant_path():
    items = json.loads(raw("api_jobs.json"))
    items[0]["start_time"] = float("nan")  # Python's json.dumps writes NaN; msgspec refuses it
    body = json.dumps(items).encode()
    assert b"NaN" in body
    assert decode_jobs(body) == parse_jobs(json.loads(body))


def test_reusing_and_the_autoscaler_decoder_keep_identity():
    serve = Reusing(decode_serve)
    first = serve.decode(raw("api_serve_applications.json"))
    assert serve.decode(raw("api_serve_applications.json")) is first
    spaced = json.dumps(json.loads(raw("api_serve_applications.json")), indent=1).encode()
    assert serve.decode(spaced) is first  # other bytes, an equal model: the same object
    auto = AutoscalerDecoder()
    text = raw("api_cluster_status_format1.json")
    status = auto.decode(text)
    assert auto.decode(text) is status
    auto.decode_structured(raw("api_cluster_status.json"))
    assert auto.decode(text) is status  # no failures, no error: equal, so the same object


def test_merge_and_drop_job():
    jobs = parse_jobs(json.loads(raw("api_jobs.json")))
    one = jobs[5]
    assert merge_job(jobs, one) is jobs
    stopped = dataclasses.replace(one, status="STOPPED")
    merged = merge_job(jobs, stopped)
    assert merged[5] is stopped and len(merged) == len(jobs)
    assert all(a is b for i, (a, b) in enumerate(zip(merged, jobs, strict=True)) if i != 5)
    newest = Job("raysubmit_new", "", "SUBMISSION", "RUNNING", "x", start_time_ms=10**13)
    added = merge_job(jobs, newest)
    assert added[0] is newest and added[1:] == jobs
    assert merge_job(jobs, dataclasses.replace(one, start_time_ms=1)) == tuple(
        sorted(
            (*jobs[:5], dataclasses.replace(one, start_time_ms=1), *jobs[6:]),
            key=decode.job_order,
            reverse=True,
        )
    )
    assert drop_job(jobs, one.key) == jobs[:5] + jobs[6:]
    assert drop_job(jobs, "nope") is jobs


# -- fallbacks and errors ------------------------------------------------------------------------


def test_a_node_with_fields_of_unexpected_types_falls_back_to_a_full_decode():
    payload = json.loads(raw("nodes_view_summary_gpu.json"))
    nodes = payload["data"]["summary"]
    nodes[0]["gpus"] = [1, "two", nodes[0]["gpus"][0]]  # not objects: the typed decode refuses
    nodes[1]["raylet"] = dict(nodes[1]["raylet"], resourcesTotal=[1, 2], isHeadNode="yes")
    nodes.append({"raylet": "not an object", "hostname": 5})
    payload["data"]["nodeLogicalResources"] = ["not", "a", "dict"]
    got = decode_nodes(dumps(payload))
    assert got == parse_nodes(payload["data"]) and len(got) == 2
    assert len(got[0].gpus) + len(got[1].gpus) >= 1


def test_numbers_msgspec_refuses_still_read_as_json_loads_reads_them():
    payload = json.loads(raw("nodes_view_summary.json"))
    payload["data"]["summary"][0]["cpu"] = float("inf")  # written as Infinity
    body = json.dumps(payload).encode().replace(b'"hostname": "', b'"big": 1e999, "hostname": "')
    assert decode_nodes(body) == parse_nodes(json.loads(body)["data"])


@pytest.mark.parametrize(
    "body",
    [b"", b"<html><body>proxy login</body></html>", b"not json", b'{"result": true, "da', b"\xff"],
    ids=["empty", "html", "text", "truncated", "binary"],
)
def test_not_json_is_a_bad_response_for_every_decoder(body):
    for name, call in DECODERS.items():
        with pytest.raises(BadResponse, match="did not return JSON") as info:
            call(body)
        assert "\n" not in info.value.one_line(), name


def test_a_truncated_big_answer_says_so_with_its_start():
    body = raw("nodes_view_summary.json")
    with pytest.raises(BadResponse) as info:
        decode_nodes(body[: len(body) // 2])
    assert "GET /nodes?view=summary did not return JSON" in str(info.value)
    assert '"result"' in info.value.body and len(info.value.body) <= 300


def test_envelope_failures_as_the_client_says_them():
    failed = dumps({"result": False, "msg": "Traceback...\nValueError: boom", "data": {}})
    for call in (decode_nodes, decode_cluster_status, decode_cluster_status_text):
        with pytest.raises(BadResponse, match="failed: .*ValueError: boom"):
            call(failed)
    with pytest.raises(BadResponse, match="unexpected answer"):
        decode_nodes(b"[1, 2]")
    with pytest.raises(BadResponse, match="'data' is not an object"):
        decode_cluster_status_text(b'{"result": true, "data": []}')
    with pytest.raises(BadResponse, match="data.summary to be a list"):
        decode_nodes(b'{"result": true, "data": {"summary": {"a": 1}}}')
    with pytest.raises(BadResponse, match="expected an object"):
        decode_job(b"[]", "raysubmit_x")
    with pytest.raises(BadResponse, match="no submission_id"):
        decode_job(b"{}", "raysubmit_x")
    with pytest.raises(BadResponse, match="serve applications: expected an object"):
        decode_serve(b"[]")


# -- whatever the bytes, only BadResponse (hypothesis) -------------------------------------------

st = hypothesis.strategies

DECODERS = {
    "nodes": decode_nodes,
    "nodes decoder": lambda b: NodesDecoder().decode(b),
    "jobs": decode_jobs,
    "job": lambda b: decode_job(b, "raysubmit_x"),
    "serve": decode_serve,
    "status text": decode_cluster_status_text,
    "structured": decode_cluster_status,
    "autoscaler": decode_autoscaler,
}
KINDS = {
    "nodes": tuple,
    "nodes decoder": tuple,
    "jobs": tuple,
    "job": Job,
    "serve": ServeStatus,
    "status text": str,
    "structured": dict,
    "autoscaler": AutoscalerStatus,
}
SHARED_JOBS = JobsDecoder()  # stateful: its cache sees one example after another
SHARED_JOBS.decode(raw("api_jobs.json"))

PAYLOADS = [
    json.loads((FIXTURES / name).read_bytes())
    for name in (
        "nodes_view_summary_gpu.json",
        "nodes_view_summary_fake_pending.json",
        "api_jobs.json",
        "api_jobs_id.json",
        "api_serve_applications.json",
        "api_cluster_status_fake_active.json",
        "api_cluster_status_format1_fake_active.json",
    )
]
DEEP = "@@deep@@"  # replaced in the bytes: json.dumps cannot write 5,000 levels
HUGE = "@@huge@@"
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # NaN and infinities: json.dumps writes NaN / Infinity
    st.text(max_size=10),
    st.sampled_from([DEEP, HUGE, "", "1e999", 10**400, -(2**64), {}, []]),
)
JUNK = st.recursive(
    LEAVES,
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids, max_size=3)
    ),
    max_leaves=6,
)


def _paths(node: Any, path: tuple = (), depth: int = 0) -> list[tuple]:
    out = [path]
    if depth < 8 and isinstance(node, (dict, list)):
        for key, child in node.items() if isinstance(node, dict) else enumerate(node):
            out.extend(_paths(child, (*path, key), depth + 1))
    return out


PATHS = [_paths(p) for p in PAYLOADS]


@st.composite
def mutated_bytes(draw: Any) -> bytes:
    """A recorded payload with 1-3 values replaced or keys deleted, written as JSON, then now and
    then cut short, spliced or prefixed; or plain random bytes."""
    if draw(st.integers(0, 7)) == 0:
        return draw(st.binary(max_size=300))
    which = draw(st.integers(0, len(PAYLOADS) - 1))
    root = {"v": json.loads(json.dumps(PAYLOADS[which]))}
    for _ in range(draw(st.integers(1, 3))):
        path = ("v", *draw(st.sampled_from(PATHS[which])))
        holder = root
        try:
            for key in path[:-1]:
                holder = holder[key]
            if draw(st.booleans()) or not isinstance(holder, dict) or holder is root:
                holder[path[-1]] = draw(JUNK)
            else:
                del holder[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed that path
    body = json.dumps(root["v"]).encode()
    body = body.replace(b'"@@deep@@"', b"[" * 5000 + b"]" * 5000)
    body = body.replace(b'"@@huge@@"', b"9" * 5000)
    cut = draw(st.integers(0, 9))
    if cut == 0:
        body = body[: draw(st.integers(0, len(body)))]
    elif cut == 1:
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.binary(min_size=1, max_size=8)) + body[at:]
    elif cut == 2:
        body = draw(st.sampled_from([b"\xef\xbb\xbf", b"\x00", b" \n", b"<html>"])) + body
    return body


@hypothesis.settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
@hypothesis.given(mutated_bytes(), st.sampled_from([bytes, bytearray, memoryview]))
def test_only_bad_response_escapes_whatever_the_bytes(body, kind):
    for name, call in (*DECODERS.items(), ("jobs decoder", SHARED_JOBS.decode)):
        try:
            result = call(kind(body))
        except BadResponse as exc:
            assert exc.one_line() and "\n" not in exc.message, name
            continue
        assert isinstance(result, KINDS.get(name, tuple)), (name, type(result))
        if name in ("nodes", "nodes decoder"):
            assert all(isinstance(n, Node) for n in result)
        if name in ("jobs", "jobs decoder"):
            assert all(isinstance(j, Job) for j in result)
