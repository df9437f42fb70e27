"""Checks before submit: Ray 2.60's packing rules re-implemented (checked against Ray's own walker
on the same folders), the sizes and the limit, and resources against a cluster's nodes."""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import pytest

from raycockpit.cockpit import preflight
from raycockpit.cockpit.errors import CockpitError
from raycockpit.cockpit.fit import Capacity, check_resources
from raycockpit.cockpit.models import (
    AutoscalerStatus,
    ClusterInfo,
    Node,
    PendingNode,
    Snapshot,
    Usage,
)
from raycockpit.cockpit.packaging import build_package
from raycockpit.cockpit.preflight import scan_working_dir, walk

MiB = 1024**2


def make_tree(root: Path) -> Path:
    """A project as users have them: code, a .gitignore, a nested .gitignore with a negation, a
    .rayignore, data, a checkpoint folder, a big file."""
    files = {
        "train.py": "print('train')\n",
        "lib/util.py": "x = 1\n",
        "lib/.gitignore": "*.tmp\n!keep.tmp\n",
        "lib/a.tmp": "t",
        "lib/keep.tmp": "k",
        ".gitignore": "# comment\n/data/\n*.log\ncheckpoints/\n**/cache\n",
        "data/big.bin": "",
        "logs/run.log": "log",
        "checkpoints/c1/model.pt": "m",
        "deep/x/cache/blob": "c",
        "notes/.rayignore": "secret.txt\n",
        "notes/secret.txt": "s",
        "notes/readme.md": "r",
        "models/weights.bin": "",
        "src/[x].py": "odd name\n",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "empty").mkdir()
    with (root / "data" / "big.bin").open("wb") as handle:
        handle.truncate(3 * MiB)
    # 2 MiB that deflate cannot shrink (weights are like that)
    (root / "models" / "weights.bin").write_bytes(random.Random(0).randbytes(2 * MiB))
    return root


def ray_kept(root: Path, excludes: list[str], include_gitignore: bool = True) -> set[str]:
    """What Ray 2.60's own walker keeps (the handler `_zip_files` uses), relative paths."""
    packaging = pytest.importorskip("ray._private.runtime_env.packaging")
    kept: set[str] = set()

    def handler(path: Path) -> None:
        if path != root:
            kept.add(path.relative_to(root).as_posix())

    packaging._dir_travel(
        root,
        [packaging._get_excludes(root, excludes)],
        handler,
        include_gitignore=include_gitignore,
    )
    return kept


@pytest.mark.parametrize("gitignore", [True, False])
@pytest.mark.parametrize("excludes", [[], ["models/", "*.md", "/lib/util.py"]])
def test_walk_keeps_what_ray_keeps(tmp_path, gitignore, excludes):
    root = make_tree(tmp_path)
    ours = {e.rel for e in walk(root, excludes=excludes, include_gitignore=gitignore)}
    assert ours == ray_kept(root, excludes, gitignore)
    if gitignore:
        assert "lib/keep.tmp" in ours and "lib/a.tmp" not in ours  # negation in its own file
        # files under an ignored folder pattern (`checkpoints/`) are left out; Ray still
        # enters the folder itself, as the patterns are matched without a trailing slash
        left_out = {"data/big.bin", "logs/run.log", "checkpoints/c1/model.pt", "deep/x/cache/blob"}
        assert not left_out & ours and "checkpoints" in ours
        assert "notes/secret.txt" not in ours  # .rayignore
        assert ("notes/readme.md" in ours) == ("*.md" not in excludes)
    else:
        assert "data/big.bin" in ours and "notes/secret.txt" not in ours


def test_wildmatch_matches_pathspec():
    pathspec = pytest.importorskip("ray._private.thirdparty.pathspec")
    patterns = ["*.py", "/top", "a/**/b", "**/c", "d/", "!e", "f[!x]?", r"\#g", "h/*", "i/**"]
    paths = ["x.py", "top", "sub/top", "a/b", "a/x/y/b", "q/c", "d/z", "e", "fay", "#g", "h/k"]
    paths += ["i/j/k", "d", "f.x"]
    for pattern in patterns:
        theirs = pathspec.patterns.GitWildMatchPattern.pattern_to_regex(pattern)
        assert preflight.wildmatch_regex(pattern) == theirs, pattern
        spec = pathspec.PathSpec.from_lines("gitwildmatch", [pattern])
        ours = preflight.IgnoreSpec.from_lines(Path("/r"), [pattern])
        for path in paths:
            assert ours.matches(Path("/r") / path) == spec.match_file(path), (pattern, path)


def test_scan_gives_sizes_and_largest_and_matches_the_package(tmp_path):
    root = make_tree(tmp_path)
    report = scan_working_dir(root)
    package = build_package(root, include=None)
    names = set(zipfile.ZipFile(io.BytesIO(package.data)).namelist())
    assert {n.rstrip("/") for n in names} == {
        e.rel for e in walk(root, excludes=preflight.COCKPIT_EXCLUDES)
    }
    assert "data/big.bin" not in names  # .gitignore: the packer applies Ray's rules too
    assert report.largest[0] == ("models/weights.bin", 2 * MiB)
    assert report.files == package.files
    assert report.raw_bytes == sum(
        i.file_size for i in zipfile.ZipFile(io.BytesIO(package.data)).infolist()
    )
    assert not report.exact and report.packed_bytes >= package.size  # a bound, uncompressed
    assert report.finding() is None  # far under 100 MiB


def test_close_and_over_the_limit_name_the_numbers(tmp_path):
    root = make_tree(tmp_path)
    close = scan_working_dir(root, limit=3 * MiB)  # 2 MiB of random bytes: deflates little
    assert close.exact and close.close and not close.over
    finding = close.finding()
    assert finding.level == "warn" and "of Ray's upload limit of 3.0 MiB" in finding.text
    assert "models/weights.bin 2.0 MiB" in finding.text
    over = scan_working_dir(root, limit=1 * MiB)
    assert over.over and over.finding().level == "refuse"
    assert over.packed_bytes > MiB and "over Ray's upload limit of 1.0 MiB" in over.finding().text
    # the measured size is the packer's, to within the zip's own bookkeeping
    package = build_package(root, include=None)
    assert abs(over.packed_bytes - package.size) < 512


def test_packer_refuses_over_the_limit_with_sizes(tmp_path, monkeypatch):
    root = make_tree(tmp_path)
    monkeypatch.setattr(preflight, "DASHBOARD_CLIENT_MAX_SIZE", MiB)
    with pytest.raises(CockpitError) as caught:
        build_package(root, include=None)
    text = caught.value.message
    assert f"working_dir {root} packs to 2.0 MiB" in text
    assert "over Ray's upload limit of 1.0 MiB" in text and "models/weights.bin 2.0 MiB" in text


def node(cpus: float, gpus: float = 0, used: float = 0) -> Node:
    return Node(
        node_id=f"n{cpus}{gpus}{used}",
        hostname="h",
        ip="127.0.0.1",
        is_head=True,
        state="ALIVE",
        cpu_logical=Usage("CPU", used, cpus),
        gpu_logical=Usage("GPU", 0, gpus) if gpus else None,
        resources_total={"CPU": cpus, **({"GPU": gpus} if gpus else {}), "memory": 4 * 2**30},
    )


def snapshot(
    *nodes: Node, autoscaler: AutoscalerStatus | None = None, jobs: tuple = ()
) -> Snapshot:
    return Snapshot(
        info=ClusterInfo(address="x"),
        nodes=nodes,
        autoscaler=autoscaler or AutoscalerStatus(),
        jobs=jobs,
    )


def texts(values, capacity, cpus=None, gpus=None, memory=None):
    found = check_resources(
        values,
        entrypoint_cpus=cpus,
        entrypoint_gpus=gpus,
        entrypoint_memory=memory,
        capacity=capacity,
    )
    return [f.text for f in found]


def test_workers_times_cpus_against_the_cluster():
    plain = Capacity.from_snapshot(snapshot(node(2)))
    found = texts({"num_workers": "4", "cpus_per_worker": "2", "use_gpu": "auto"}, plain)
    assert found == [
        "asks 4 workers x 2 CPU = 8 CPU; the cluster has 2 CPU and cannot scale "
        "(no autoscaler node types)"
    ]
    assert texts({"num_workers": "1", "cpus_per_worker": "1", "use_gpu": "auto"}, plain) == []


def test_per_unit_gpu_entrypoint_and_busy():
    capacity = Capacity.from_snapshot(snapshot(node(4, used=3), node(2)))
    found = texts(
        {"num_replicas": "2", "cpus_per_replica": "1", "use_gpu": "true", "gpus_per_replica": "1"},
        capacity,
        cpus=8,
        memory=8 * 2**30,
    )
    assert "the entrypoint asks 8 CPU; the largest node has 4 CPU" in found[0]
    assert "the entrypoint asks 8.0 GiB of memory; the largest node has 4.0 GiB" in found[1]
    assert "each replica asks 1 GPU; the largest node has 0 GPU" in found[2]
    assert found[3].startswith("asks 2 replicas x 1 CPU + 8 CPU for the entrypoint = 10 CPU")
    assert found[4].startswith("asks 2 replicas x 1 GPU = 2 GPU; the cluster has 0 GPU")
    busy = texts({"num_workers": "4", "cpus_per_worker": "1", "use_gpu": "false"}, capacity)
    assert busy == [
        "asks 4 workers x 1 CPU = 4 CPU; the cluster has 6 CPU, 3 free now: it waits until "
        "enough is free"
    ]


def test_autoscaler_types_say_it_may_scale_and_unknown_cluster_says_nothing():
    scaler = AutoscalerStatus(
        available=True,
        active=(("ray.head.default", 1),),
        pending=(PendingNode("1.2.3.4", "cpu_worker", "launching"),),
    )
    capacity = Capacity.from_snapshot(snapshot(node(2), autoscaler=scaler))
    (found,) = texts({"num_env_runners": "3", "cpus_per_env_runner": "1"}, capacity)
    assert "= 3 CPU; the cluster has 2 CPU; the autoscaler may add nodes of type" in found
    assert "cpu_worker, ray.head.default" in found
    assert texts({"num_workers": "99", "cpus_per_worker": "9"}, Capacity()) == []


def data_request(csv_path: str, root: Path | None):
    from dataclasses import replace

    from raycockpit.cockpit.launch import JobOptions, build_request, load_spec

    spec = load_spec(Path(__file__).resolve().parents[2] / "configs/workloads/data.yaml")
    values = {**spec.defaults(), "csv_path": csv_path}
    request, errors = build_request(spec, values, JobOptions())
    assert not errors and request is not None
    return replace(request, package_root=root)


def test_a_file_the_program_reads_is_checked_when_the_cluster_is_this_machine(tmp_path):
    """The data workload with a CSV that is not there failed 11 s after submit with
    FileNotFoundError; on a cluster made of this machine the form refuses it with the path."""
    here = snapshot(node(2))  # 127.0.0.1
    (tmp_path / "rows.csv").write_text("f0,label\n1,0\n")

    def refused(value, snap=here):
        result = preflight.check_request(data_request(value, tmp_path), snap)
        return result.refused.text if result.refused else ""

    assert refused("/nonexistent/my.csv") == (
        "csv path: /nonexistent/my.csv does not exist on this machine, where the cluster runs: "
        "give an existing file, or leave it empty"
    )
    assert refused(str(tmp_path / "rows.csv")) == ""
    assert refused("rows.csv") == ""  # relative: the job's working_dir, where it runs
    assert refused(str(tmp_path)).endswith(
        f"{tmp_path} is a folder, not a file on this machine, "
        "where the cluster runs: give an existing file, or leave it empty"
    )
    assert refused("~/my.csv").startswith("csv path: the program gets ~/my.csv as it is (no ~)")
    assert refused("s3://bucket/rows.csv") == ""  # pyarrow's to open
    assert refused("") == ""  # empty: a generated CSV
    # a node elsewhere: the path is the cluster's, nothing can be known from here
    elsewhere = replace_ip(node(2), "10.11.12.13")
    assert refused("/nonexistent/my.csv", snapshot(node(2), elsewhere)) == ""
    assert refused("/nonexistent/my.csv", None) == ""


def replace_ip(n: Node, ip: str) -> Node:
    from dataclasses import replace

    return replace(n, node_id=n.node_id + ip, ip=ip, is_head=False)
