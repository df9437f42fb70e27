"""`raycockpit config migrate` (cockpit/cluster_migrate.py) on the tutorial's configs
(tests/fixtures/examples, copied from shared/examples): the modern form keeps the user's comments,
invents nothing (placeholders the doctor reports, flagged copies), and once the placeholders are
filled in passes `config check` and Ray's own config loader."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
import yaml

from raycockpit.cockpit import cluster_doctor
from raycockpit.cockpit.cli import main as cli_main
from raycockpit.cockpit.cluster_migrate import migrate

EXAMPLES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "examples"
TUTORIAL = EXAMPLES / "ray-cluster-config.yaml"


def problems(text: str) -> dict[str, cluster_doctor.Problem]:
    config = yaml.safe_load(text)
    return {p.path: p for p in cluster_doctor.check(config, cluster_doctor.Schema.find())}


def example_dict(name: str, variable: str) -> str:
    """A tutorial's Python dict of settings, as the YAML a user would write from it."""
    return yaml.safe_dump(runpy.run_path(str(EXAMPLES / name))[variable], sort_keys=False)


def test_the_tutorials_config_migrates_with_its_comments_and_one_placeholder(tmp_path, capsys):
    out = tmp_path / "modern.yaml"
    assert cli_main(["config", "migrate", str(TUTORIAL), "-o", str(out)]) == 0
    text = out.read_text()
    assert "# ray-cluster-config.yaml" in text  # the file's own comment
    assert "InstanceType: p3.2xlarge  # GPU instances for ML" in text  # a moved key's comment
    assert "target_utilization_fraction (0.8) dropped" in text and "upscaling_speed" in text
    config = yaml.safe_load(text)
    worker = config["available_node_types"]["worker"]
    assert (worker["min_workers"], worker["max_workers"]) == (5, 50)
    assert worker["node_config"]["ImageId"] == "ami-12345678"
    assert config["head_node_type"] == "head" and config["idle_timeout_minutes"] == 5
    # what the old file never said is a placeholder, and the doctor says so (exit 1)
    assert set(problems(text)) == {"provider.region"}
    assert cli_main(["config", "check", str(out)]) == 1
    assert "config check" in capsys.readouterr().err  # the hint after -o


def test_filled_in_it_passes_the_doctor_and_rays_own_loader():
    text, _ = migrate(TUTORIAL.read_text(), "aws")
    text = text.replace("'<fill in: region, e.g. us-west-2>'", "us-west-2")
    assert problems(text) == {}
    util = pytest.importorskip("ray.autoscaler._private.util")
    full = util.prepare_config(yaml.safe_load(text))  # Ray's defaults filled in, then...
    util.validate_config(full)  # ... the checks `ray up` makes
    assert full["available_node_types"]["worker"]["max_workers"] == 50


@pytest.mark.parametrize(
    ("provider", "placeholders"),
    [
        ("gcp", {"provider.region", "provider.project_id"}),
        ("azure", {"provider.location", "provider.resource_group"}),
        ("local", {"provider.head_ip", "provider.worker_ips[0]", "auth.ssh_user"}),
    ],
)
def test_other_providers_leave_only_placeholders_and_flag_what_they_cannot_map(
    provider, placeholders
):
    text, notes = migrate(TUTORIAL.read_text(), provider)
    assert set(problems(text)) == placeholders
    if provider == "gcp":  # an AMI means nothing to GCP: copied as it was, and said
        assert "image_id: ami-12345678" in text and "no gcp setting it maps to" in text
        assert any("check it is a gcp machine size" in note for note in notes)


def test_spot_prices_become_the_providers_market_options():
    old = example_dict("spot_instance_config.py", "cluster_config")
    found = problems(old)
    assert "head_node.spot_price" in found and "worker_nodes.spot_price" in found
    assert "InstanceMarketOptions" in found["worker_nodes.spot_price"].fix
    text, _ = migrate(old, "aws")
    worker = yaml.safe_load(text)["available_node_types"]["worker"]
    market = worker["node_config"]["InstanceMarketOptions"]
    assert market == {"MarketType": "spot", "SpotOptions": {"MaxPrice": "0.5"}}
    assert (worker["min_workers"], worker["max_workers"]) == (2, 20)
    gcp = yaml.safe_load(migrate(old, "gcp")[0])["available_node_types"]["worker"]
    assert gcp["node_config"]["scheduling"] == {"preemptible": True}
    assert set(problems(migrate(old, "aws")[0])) == {"provider.region", "cluster_name"}


def test_autoscaling_settings_get_their_ray_2_meaning():
    old = example_dict("autoscaling_config.py", "autoscaling_config")
    found = problems(old)
    assert "upscaling_speed" in found["target_utilization_fraction"].fix
    assert "min_workers" in found
    text, notes = migrate(old, "aws")
    config = yaml.safe_load(text)
    assert config["idle_timeout_minutes"] == 5 and config["max_workers"] == 50
    assert "target_utilization_fraction" not in config and config["upscaling_speed"] == 1.0
    assert any("min_workers dropped: set min_workers on each worker node type" in n for n in notes)


def test_a_file_that_is_not_yaml_is_one_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1\n")
    assert cli_main(["config", "migrate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "is not YAML" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "command",
    [
        ["config", "migrate", str(TUTORIAL)],
        ["k8s", "manifest", str(EXAMPLES / "ray-cluster-k8s.yaml")],
    ],
)
def test_output_goes_to_stdout_or_to_o_and_an_unwritable_o_is_one_line(tmp_path, capsys, command):
    cli_main(command)  # no -o: the document on stdout
    printed = capsys.readouterr().out
    assert yaml.safe_load(printed)
    out = tmp_path / "out.yaml"
    cli_main([*command, "-o", str(out)])
    assert out.read_text() == printed and capsys.readouterr().out == ""
    nowhere = tmp_path / "missing-folder" / "out.yaml"
    assert cli_main([*command, "-o", str(nowhere)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and not nowhere.exists()
    assert captured.err.splitlines() == [
        f"raycockpit {command[0]} {command[1]}: cannot write {nowhere}: No such file or directory"
    ]
