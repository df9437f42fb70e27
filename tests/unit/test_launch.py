"""Workload specs and launch requests (no cluster)."""

from __future__ import annotations

import json
import shlex

import pytest

from raycockpit.cockpit.launch import (
    CUSTOM,
    JobOptions,
    build_custom_request,
    build_request,
    job_body,
    launched_by_cockpit,
    load_specs,
    parse_env_vars,
    parse_memory,
    parse_pip,
)

NASTY = [
    "x; rm -rf ~",
    "$(reboot)",
    "`id`",
    "a && b",
    "'quoted' \"double\"",
    "semi;colon|pipe>redir",
]


@pytest.fixture(scope="module")
def specs():
    loaded, problems = load_specs()
    assert problems == []
    return {s.name: s for s in loaded}


def test_bundled_specs_have_smoke_and_full(specs):
    assert set(specs) == {"train", "tune", "rl", "data", "serve", "core"}
    for spec in specs.values():
        assert {"smoke", "full"} <= set(spec.presets), spec.name
        assert spec.module == f"workloads.{spec.name}" and spec.bundled


def test_preset_and_changed_values_become_separate_arguments(specs):
    spec = specs["train"]
    values = spec.preset_values("smoke")
    values["lr"] = "0.01"
    request, errors = build_request(
        spec, values, JobOptions(num_cpus="1", env_vars="OMP_NUM_THREADS=1")
    )
    assert errors == {}
    assert shlex.split(request.entrypoint) == [
        "python",
        "-m",
        "workloads.train",
        "--epochs",
        "3",
        "--lr",
        "0.01",
    ]
    body = request.body("gcs://_ray_pkg_abc.zip")
    assert body["runtime_env"] == {
        "working_dir": "gcs://_ray_pkg_abc.zip",
        "env_vars": {"OMP_NUM_THREADS": "1"},
    }
    assert body["entrypoint_num_cpus"] == 1.0 and "entrypoint_num_gpus" not in body
    assert body["metadata"]["raycockpit.spec"] == "train"
    assert body == job_body(
        request.entrypoint, runtime_env=body["runtime_env"], metadata=request.metadata, num_cpus=1.0
    )


def test_job_body_leaves_out_what_is_not_set():
    assert job_body("python x.py") == {"entrypoint": "python x.py"}
    body = job_body("python x.py", metadata={"a": "b"}, num_gpus=1, runtime_env={})
    assert body == {"entrypoint": "python x.py", "metadata": {"a": "b"}, "entrypoint_num_gpus": 1}


@pytest.mark.parametrize(
    "field,value,reason",
    [
        ("epochs", "", "is required"),
        ("epochs", "-3", "at least 1"),
        ("epochs", "abc", "whole number"),
        ("epochs", "100000", "at most 1000"),
        ("lr", "fast", "must be a number"),
        ("lr", "nan", "finite"),
        ("use_gpu", "maybe", "one of auto, true, false"),
        ("core.array_mb", "2000000", "at most 1048576"),  # not 1.04858e+06
        ("core.seed", "-1", "at least 0"),
    ],
)
def test_bad_values_give_reasons_and_no_request(specs, field, value, reason):
    workload, _, field = field.rpartition(".")
    spec = specs[workload or "train"]
    values = spec.defaults()
    values[field] = value
    request, errors = build_request(spec, values, JobOptions())
    assert request is None
    assert reason in errors[field]


@pytest.mark.parametrize("value", NASTY)
def test_shell_metacharacters_stay_literal(specs, value):
    spec = specs["train"]
    values = spec.defaults()
    values["run_name"] = value
    request, errors = build_request(spec, values, JobOptions())
    assert errors == {}
    argv = shlex.split(request.entrypoint)  # what the shell Ray uses will see
    assert argv[argv.index("--run-name") + 1] == value


def test_job_options_are_validated():
    assert parse_env_vars('A=1 B="x y"') == ({"A": "1", "B": "x y"}, "")
    assert "not KEY=VALUE" in parse_env_vars("1A=2")[1]
    assert "not pip options" in parse_pip("--index-url http://x")[1]
    assert parse_pip("mlflow 'pandas>=2'") == (["mlflow", "pandas>=2"], "")
    assert parse_memory("2GiB") == (2 * 2**30, "") and parse_memory("")[0] is None
    assert "512MiB" in parse_memory("lots")[1]
    spec_errors = build_custom_request(
        "", "/no/such/folder", JobOptions(num_gpus="-1", memory="x")
    )[1]
    assert set(spec_errors) == {"entrypoint", "working_dir", "num_gpus", "memory"}


def test_custom_job_and_resubmit_round_trip(tmp_path):
    (tmp_path / "main.py").write_text("print('hi')\n")
    request, errors = build_custom_request(
        "python main.py --x 1", str(tmp_path), JobOptions(pip="rich"), "team=ml"
    )
    assert errors == {} and request.package_root == tmp_path.resolve()
    body = request.body("gcs://_ray_pkg_x.zip")
    assert body["runtime_env"]["pip"] == ["rich"] and body["metadata"]["team"] == "ml"
    name, values, options = launched_by_cockpit(body["metadata"])
    assert (
        name == CUSTOM and values["entrypoint"] == "python main.py --x 1" and options.pip == "rich"
    )
    assert launched_by_cockpit({"owner": "someone"}) is None
    assert launched_by_cockpit({"raycockpit.spec": "train", "raycockpit.values": "{broken"}) is None


def test_ray_job_submit_line_ships_only_the_workloads(specs):
    request, _ = build_request(specs["core"], specs["core"].preset_values("smoke"), JobOptions())
    line = request.ray_job_submit("http://127.0.0.1:8265")
    words = shlex.split(line)
    assert words[:5] == ["ray", "job", "submit", "--address", "http://127.0.0.1:8265"]
    runtime_env = json.loads(words[words.index("--runtime-env-json") + 1])
    assert "/workloads" not in runtime_env["excludes"] and "/cockpit" in runtime_env["excludes"]
    assert line.endswith("-- " + request.entrypoint)


def test_user_specs_and_broken_files(tmp_path):
    (tmp_path / "job").mkdir()
    (tmp_path / "job" / "run.py").write_text("import sys; print(sys.argv)\n")
    (tmp_path / "mine.yaml").write_text(
        "name: mine\nentrypoint: python run.py\nworking_dir: job\n"
        "params:\n- {name: word, type: str, default: hi}\n"
        "- {name: n, type: int, default: 1, min: 0, max: 9}\n"
        "presets:\n  smoke: {n: 2}\n"
    )
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n")
    (tmp_path / "train.yaml").write_text("name: train\nmodule: x\n")
    specs, problems = load_specs([tmp_path])
    mine = next(s for s in specs if s.name == "mine")
    assert mine.working_dir == (tmp_path / "job").resolve() and not mine.bundled
    request, _ = build_request(
        mine, {**mine.preset_values("smoke"), "word": "$(reboot)"}, JobOptions()
    )
    assert shlex.split(request.entrypoint) == [
        "python",
        "run.py",
        "--word",
        "$(reboot)",
        "--n",
        "2",
    ]
    assert any("broken.yaml" in p for p in problems)
    assert any("exists already" in p for p in problems)


def test_a_path_mark_belongs_on_a_str(tmp_path):
    (tmp_path / "bad.yaml").write_text(
        "name: bad\nentrypoint: python x.py\nparams:\n"
        "- {name: n, type: int, default: 1, min: 0, max: 9, path: file}\npresets: {}\n"
    )
    (tmp_path / "odd.yaml").write_text(
        "name: odd\nentrypoint: python x.py\nparams:\n"
        "- {name: src, type: str, default: '', path: url}\npresets: {}\n"
    )
    specs, problems = load_specs([tmp_path])
    assert not [s for s in specs if s.name in ("bad", "odd")]
    assert any("param n has path 'file'" in p and "path: dir on a str" in p for p in problems)
    assert any("param src has path 'url'" in p for p in problems)
