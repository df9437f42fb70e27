"""`raycockpit k8s manifest` (cockpit/kuberay.py): the tutorial's v1alpha1 RayCluster and a
migrated cluster config as current `ray.io/v1` RayClusters, checked against the v1 rules the
module writes down; nothing invented (placeholders are reported until filled in)."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from raycockpit.cockpit import kuberay
from raycockpit.cockpit.cli import main as cli_main
from raycockpit.cockpit.cluster_migrate import migrate

EXAMPLES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "examples"
V = "2.60.0"


def filled(doc):
    """The placeholders filled in as a user would."""
    text = yaml.safe_dump(doc)
    text = text.replace("'<fill in: CPUs for this pod>'", "'4'")
    text = text.replace("'<fill in: memory for this pod, e.g. 8Gi>'", "16Gi")
    return yaml.safe_load(text)


def test_the_tutorials_v1alpha1_manifest_becomes_v1():
    old = yaml.safe_load((EXAMPLES / "ray-cluster-k8s.yaml").read_text())
    doc = kuberay.upgrade_manifest(old, V)
    assert doc["apiVersion"] == "ray.io/v1" and doc["spec"]["rayVersion"] == V
    head = doc["spec"]["headGroupSpec"]
    assert "replicas" not in head
    assert doc["spec"]["enableInTreeAutoscaling"] is True
    assert head["rayStartParams"]["dashboard-host"] == "0.0.0.0"
    (container,) = head["template"]["spec"]["containers"]
    assert container["image"] == f"rayproject/ray:{V}-py311"  # not :latest
    assert {p["containerPort"] for p in container["ports"]} == {6379, 8265, 10001}
    (group,) = doc["spec"]["workerGroupSpecs"]
    assert (group["minReplicas"], group["replicas"], group["maxReplicas"]) == (4, 4, 4)
    (worker,) = group["template"]["spec"]["containers"]
    assert worker["image"].endswith("-gpu")
    assert worker["resources"]["limits"]["nvidia.com/gpu"] == 1
    # a GPU limit without CPU and memory: placeholders, said until filled in
    problems = kuberay.check_manifest(doc)
    assert problems and all("a placeholder" in p for p in problems)
    assert kuberay.check_manifest(filled(doc)) == []


def test_a_migrated_cluster_config_becomes_a_raycluster_with_autoscaling():
    text, _ = migrate((EXAMPLES / "ray-cluster-config.yaml").read_text(), "aws")
    config = yaml.safe_load(text)
    config["available_node_types"]["worker"]["resources"] = {"CPU": 8, "GPU": 1, "memory": 6e10}
    doc = kuberay.from_cluster_config(config, V)
    spec = doc["spec"]
    assert doc["metadata"]["name"] == "production-ray-cluster"
    assert spec["enableInTreeAutoscaling"] is True
    assert spec["autoscalerOptions"]["idleTimeoutSeconds"] == 300  # idle_timeout_minutes: 5
    (group,) = spec["workerGroupSpecs"]
    assert (group["minReplicas"], group["replicas"], group["maxReplicas"]) == (5, 5, 50)
    assert group["rayStartParams"] == {"num-cpus": "8", "num-gpus": "1"}
    (worker,) = group["template"]["spec"]["containers"]
    limits = worker["resources"]["limits"]
    assert limits == worker["resources"]["requests"]  # Ray counts what the pod may use
    assert limits["cpu"] == "8" and limits["nvidia.com/gpu"] == 1
    assert worker["image"] == f"rayproject/ray:{V}-py311-gpu"
    # the head's size was never said (an m5.2xlarge): placeholders, reported
    problems = kuberay.check_manifest(doc)
    assert problems and all("headGroupSpec" in p and "placeholder" in p for p in problems)
    assert any("CPUs of a m5.2xlarge" in p for p in problems)


def test_the_v1_rules_catch_each_mistake():
    good = filled(
        kuberay.upgrade_manifest(yaml.safe_load((EXAMPLES / "ray-cluster-k8s.yaml").read_text()), V)
    )
    assert kuberay.check_manifest(good) == []
    cases = [
        (lambda d: d.update(apiVersion="ray.io/v1alpha1"), "apiVersion"),
        (lambda d: d["metadata"].update(name="Ray_Cluster"), "metadata.name"),
        (lambda d: d["spec"]["headGroupSpec"].update(replicas=1), "headGroupSpec.replicas"),
        (lambda d: d["spec"]["workerGroupSpecs"][0].update(minReplicas=9), "minReplicas <="),
        (
            lambda d: d["spec"]["workerGroupSpecs"][0]["rayStartParams"].update({"num-cpus": 4}),
            "is not a string",
        ),
        (
            lambda d: d["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0].update(
                image="rayproject/ray:2.9.0"
            ),
            "is not Ray 2.60.0",
        ),
        (lambda d: d["spec"]["headGroupSpec"].pop("rayStartParams"), "rayStartParams: missing"),
    ]
    for change, words in cases:
        doc = copy.deepcopy(good)
        change(doc)
        problems = kuberay.check_manifest(doc)
        assert any(words in p for p in problems), (words, problems)


def test_the_command_writes_the_manifest_and_says_how_to_reach_it(tmp_path, capsys):
    out = tmp_path / "raycluster.yaml"
    code = cli_main(["k8s", "manifest", str(EXAMPLES / "ray-cluster-k8s.yaml"), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 1  # written, with its placeholders listed
    assert yaml.safe_load(out.read_text())["apiVersion"] == "ray.io/v1"
    assert "kubectl port-forward svc/ray-cluster-head-svc 8265:8265" in err
    assert f"kubectl apply -f {out}" in err
    clean = tmp_path / "clean.yaml"
    clean.write_text(
        out.read_text()
        .replace("'<fill in: CPUs for this pod>'", "'2'")
        .replace("'<fill in: memory for this pod, e.g. 8Gi>'", "8Gi")
    )
    assert cli_main(["k8s", "manifest", str(clean), "-o", str(tmp_path / "again.yaml")]) == 0
    assert cli_main(["k8s", "manifest", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err
