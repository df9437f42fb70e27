"""The cluster-config doctor (cockpit/cluster_doctor.py, `raycockpit config check`): the
tutorial's config as users bring it (tests/fixtures/examples, copied from shared/examples), the
bundled config, and hand-made broken ones; Ray's own schema, from the installed Ray or the copy
shipped with raycockpit."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml

from raycockpit.cockpit import cluster_doctor
from raycockpit.cockpit.cli import main as cli_main
from raycockpit.cockpit.config_cli import run_check

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "tests" / "fixtures" / "examples"
BUNDLED = REPO / "configs" / "clusters" / "fake_multinode.yaml"


def problems_of(config: dict) -> dict[str, cluster_doctor.Problem]:
    found = cluster_doctor.check(config, cluster_doctor.Schema.find())
    return {p.path: p for p in found}


def good() -> dict:
    return {
        "cluster_name": "c",
        "max_workers": 4,
        "provider": {"type": "aws", "region": "us-west-2"},
        "available_node_types": {
            "head": {"node_config": {"InstanceType": "m5.large"}, "resources": {}},
            "gpu": {
                "node_config": {"InstanceType": "p3.2xlarge"},
                "resources": {"GPU": 1},
                "min_workers": 1,
                "max_workers": 3,
            },
        },
        "head_node_type": "head",
    }


def test_the_tutorials_config_names_each_legacy_key_with_its_modern_form(capsys):
    path = EXAMPLES / "ray-cluster-config.yaml"
    assert run_check(path) == 1
    out = capsys.readouterr().out
    found = problems_of(yaml.safe_load(path.read_text()))
    assert set(found) == {
        "min_workers",
        "initial_workers",
        "autoscaling_mode",
        "target_utilization_fraction",
        "head_node",
        "worker_nodes",
        "provider",
    }
    assert "upscaling_speed" in found["target_utilization_fraction"].fix
    assert "available_node_types" in found["worker_nodes"].fix
    assert "provider: {type: aws" in found["provider"].fix
    assert "installed Ray 2.60.0" in out and "7 problems" in out
    # one line each: key path, what is wrong, the fix
    lines = [line for line in out.splitlines() if line.startswith("  ")]
    assert len(lines) == 7 and all("; fix: " in line for line in lines)


def test_the_bundled_config_and_a_modern_one_are_clean(capsys):
    assert run_check(BUNDLED) == 0
    assert "no problems" in capsys.readouterr().out
    assert problems_of(good()) == {}


def test_a_kubernetes_manifest_is_said_to_be_one_and_its_old_api_version_named():
    found = problems_of(yaml.safe_load((EXAMPLES / "ray-cluster-k8s.yaml").read_text()))
    assert set(found) == {"kind", "apiVersion"}
    assert "ray.io/v1" in found["apiVersion"].fix


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        (lambda c: c.update(head_node_type="cpu"), "head_node_type", "not one of"),
        (lambda c: c.pop("head_node_type"), "head_node_type", "is required"),
        (
            lambda c: c["available_node_types"]["gpu"].update(min_workers=5),
            "available_node_types.gpu.min_workers",
            "more than max_workers",
        ),
        (lambda c: c.update(max_workers=0), "max_workers", "less than"),
        (
            lambda c: c["available_node_types"]["gpu"]["resources"].update(GPU=-1),
            "available_node_types.gpu.resources.GPU",
            "less than the minimum",
        ),
        (
            lambda c: c["available_node_types"]["gpu"].update(max_worker=3),
            "available_node_types.gpu.max_worker",
            "not a key Ray knows",
        ),
        (
            lambda c: c["available_node_types"]["gpu"]["node_config"].update(spot_price=0.5),
            "available_node_types.gpu.node_config.spot_price",
            "spot_price",
        ),
        (lambda c: c["provider"].pop("region"), "provider.region", "missing"),
        (
            lambda c: c.update(auth={"ssh_user": "u", "ssh_private_key": "/no/such/key.pem"}),
            "auth.ssh_private_key",
            "does not exist",
        ),
        (lambda c: c.update(docker={"container_name": "x"}), "docker.image", "missing"),
        (lambda c: c.update(max_workers="many"), "max_workers", "is not of type"),
    ],
)
def test_each_broken_key_is_one_line_with_its_fix(change, path, words):
    config = good()
    change(config)
    found = problems_of(config)
    assert path in found, found
    assert words in found[path].what
    assert found[path].fix


def test_spot_price_becomes_the_providers_market_option():
    config = good()
    config["available_node_types"]["gpu"]["node_config"]["spot_price"] = 0.5
    fix = problems_of(config)["available_node_types.gpu.node_config.spot_price"].fix
    assert "InstanceMarketOptions" in fix
    config["provider"]["type"] = "gcp"
    fix = problems_of(config)["available_node_types.gpu.node_config.spot_price"].fix
    assert "preemptible" in fix


def test_the_local_provider_needs_its_machines_and_a_user():
    config = {"cluster_name": "c", "provider": {"type": "local"}}
    found = problems_of(config)
    assert {"provider.head_ip", "auth.ssh_user"} <= set(found)


def test_without_ray_the_shipped_schema_is_used_and_said(monkeypatch):
    monkeypatch.setattr(cluster_doctor, "_installed_schema", lambda: None)
    schema = cluster_doctor.Schema.find()
    assert "2.60.0" in schema.source and "shipped with raycockpit" in schema.source
    out = io.StringIO()
    assert run_check(EXAMPLES / "ray-cluster-config.yaml", out) == 1
    assert "shipped with raycockpit" in out.getvalue() and "7 problems" in out.getvalue()


def test_unreadable_and_non_yaml_files_exit_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1\n")
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n- 2\n")
    for path, words in (
        (tmp_path / "missing.yaml", "cannot read"),
        (bad, "is not YAML (line 2"),
        (listed, "a YAML mapping"),
    ):
        assert cli_main(["config", "check", str(path)]) == 2
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_schema_errors_and_ray_ups_rules_are_reported_together_once_per_key_path(tmp_path, capsys):
    config = good()
    gpu = config["available_node_types"]["gpu"]
    gpu["max_worker"] = 3  # schema: not a key Ray knows
    gpu["min_workers"] = 5  # ray up: more than max_workers
    config["available_node_types"]["head"]["resources"] = [1]  # schema: not an object
    config["head_node_type"] = 7  # schema: not a string (and not a type's name: one line)
    path = tmp_path / "both.yaml"
    path.write_text(yaml.safe_dump(config))
    assert run_check(path) == 1
    lines = [line.strip() for line in capsys.readouterr().out.splitlines()[1:-1]]
    paths = [line.split(": ", 1)[0] for line in lines]
    assert sorted(paths) == sorted(
        [
            "available_node_types.gpu.max_worker",
            "available_node_types.gpu.min_workers",
            "available_node_types.head.resources",
            "head_node_type",
            "max_workers",  # 4, below the types' min_workers (5): ray up's rule too
        ]
    ), lines
    assert "not a key Ray knows" in lines[paths.index("available_node_types.gpu.max_worker")]
    assert (
        "5 is more than max_workers 3" in lines[paths.index("available_node_types.gpu.min_workers")]
    )
    assert "is not of type 'object'" in lines[paths.index("available_node_types.head.resources")]
