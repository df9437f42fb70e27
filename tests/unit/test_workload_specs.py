"""The workloads' form specs (configs/workloads/*.yaml) agree with their argument parsers, and bad
arguments exit 2 with one line, fast, before Ray is imported. No cluster needed."""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKLOADS = ("train", "tune", "rl", "data", "serve", "core")
TYPES = {"int", "float", "bool", "str", "choice"}


def spec(name: str) -> dict:
    return yaml.safe_load((ROOT / "configs" / "workloads" / f"{name}.yaml").read_text())


def module(name: str):
    return importlib.import_module(f"workloads.{name}")


def parser_flags(name: str) -> dict[str, object]:
    from workloads import _args

    m = module(name)
    parser = _args.build_parser(m.WORKLOAD, m.PARAMS, m.PRESETS)
    return {opt: action for action in parser._actions for opt in action.option_strings}


@pytest.mark.parametrize("name", WORKLOADS)
def test_spec_header(name):
    s = spec(name)
    assert s["name"] == name
    assert s["module"] == f"workloads.{name}"
    assert s["title"] and len(s["description"]) > 40
    assert {"smoke", "full"} <= set(s["presets"])


@pytest.mark.parametrize("name", WORKLOADS)
def test_spec_params_match_code(name):
    s, m = spec(name), module(name)
    yaml_params = {p["name"]: p for p in s["params"]}
    code_params = {p.name: p for p in m.PARAMS}
    assert list(yaml_params) == list(code_params), "same parameters, same order"
    for pname, yp in yaml_params.items():
        cp = code_params[pname]
        assert set(yp) <= {"name", "type", "default", "min", "max", "choices", "help", "path"}, (
            pname
        )
        assert yp.get("path") == cp.path, pname
        assert yp["type"] in TYPES and yp["type"] == cp.type, pname
        assert yp["default"] == cp.default and type(yp["default"]) is type(cp.default), pname
        assert yp.get("min") == cp.min and yp.get("max") == cp.max, pname
        assert yp.get("choices") == (list(cp.choices) if cp.choices else None), pname
        assert yp["help"] == cp.help and yp["help"].strip(), pname
        if cp.type in ("int", "float"):
            assert cp.min is not None and cp.max is not None, f"{pname}: numbers need a range"
            assert cp.min <= cp.default <= cp.max, pname
        if cp.type == "choice":
            assert cp.default in cp.choices, pname
        # the default itself passes the parser's own validation
        assert (
            cp.convert(str(cp.default).lower() if cp.type == "bool" else str(cp.default))
            == cp.default
        ), pname


@pytest.mark.parametrize("name", WORKLOADS)
def test_argparse_flags_match_spec(name):
    s = spec(name)
    flags = parser_flags(name)
    expected = {"--" + p["name"].replace("_", "-") for p in s["params"]} | {
        "--preset",
        "-h",
        "--help",
    }
    assert set(flags) == expected
    for p in s["params"]:
        action = flags["--" + p["name"].replace("_", "-")]
        assert action.dest == p["name"]
        assert action.nargs is None  # exactly one value per flag


@pytest.mark.parametrize("name", WORKLOADS)
def test_presets_match_and_are_valid(name):
    from workloads import _args

    s, m = spec(name), module(name)
    assert s["presets"] == m.PRESETS
    for preset, values in m.PRESETS.items():
        resolved = _args.parse(m.WORKLOAD, m.PARAMS, m.PRESETS, ["--preset", preset])
        for key, value in values.items():
            assert resolved[key] == value, (preset, key)


@pytest.mark.parametrize("name", WORKLOADS)
def test_defaults_parse_and_flags_override_presets(name):
    from workloads import _args

    m = module(name)
    resolved = _args.parse(m.WORKLOAD, m.PARAMS, m.PRESETS, [])
    assert resolved == {**{p.name: p.default for p in m.PARAMS}, "preset": ""}
    # an explicit flag wins over the preset, whatever the order on the command line
    p = next(p for p in m.PARAMS if p.type == "int" and p.name in m.PRESETS["smoke"])
    value = p.min if m.PRESETS["smoke"][p.name] != p.min else p.min + 1
    for argv in (
        ["--preset", "smoke", p.flag, str(value)],
        [p.flag, str(value), "--preset", "smoke"],
    ):
        assert _args.parse(m.WORKLOAD, m.PARAMS, m.PRESETS, argv)[p.name] == value


def test_every_flag_type_round_trips():
    from workloads import _args
    from workloads._args import Param

    params = (
        Param("n", "int", 1, "n", min=1, max=9),
        Param("x", "float", 0.5, "x", min=0.0, max=1.0),
        Param("b", "bool", False, "b"),
        Param("s", "str", "", "s"),
        Param("c", "choice", "a", "c", choices=("a", "b")),
    )
    got = _args.parse(
        "w", params, {}, ["--n", "3", "--x", "1e-3", "--b", "TRUE", "--s", "s3://x/y", "--c", "b"]
    )
    assert got == {"n": 3, "x": 0.001, "b": True, "s": "s3://x/y", "c": "b", "preset": ""}


BAD = [
    ("train", ["--num-workers", "-1"], "--num-workers must be an integer between 1 and 256"),
    ("train", ["--lr", "abc"], "train: --lr must be a number between 1e-06 and 1.0, got 'abc'"),
    ("train", ["--preset", "nope"], "unknown preset 'nope'"),
    ("train", ["--bogus", "1"], "unrecognized arguments: --bogus 1"),
    ("train", ["--epochs"], "expected one argument"),
    ("train", ["--use-gpu", "maybe"], "--use-gpu must be one of auto, true, false"),
    ("train", ["--mlflow-uri", "http://127.0.0.1:5000"], "mlflow"),
    ("tune", ["--num-samples", "0"], "--num-samples must be an integer"),
    ("tune", ["--lr-min", "0.1", "--lr-max", "0.01"], "--lr-min"),
    ("tune", ["--mlflow-uri", "file:///tmp/mlruns"], "mlflow"),
    ("rl", ["--env", "Pong"], "--env must be one of CartPole-v1, custom"),
    ("rl", ["--lr", "nan"], "--lr must be a number"),
    ("data", ["--num-rows", "1.5"], "--num-rows must be an integer"),
    ("data", ["--pipeline", "all"], "--pipeline must be one of"),
    ("serve", ["--port", "70000"], "--port must be an integer between 1 and 65535"),
    ("serve", ["--checkpoint", "/nonexistent/ckpt"], "not a train workload checkpoint"),
    ("core", ["--num-tasks", "x"], "--num-tasks must be an integer"),
    ("core", ["--waves", "50", "--num-tasks", "10"], "--waves"),
]


HIDE_MLFLOW = (
    "import runpy, sys; sys.modules['mlflow'] = None; "
    "runpy.run_module('workloads.{name}', run_name='__main__', alter_sys=True)"
)


@pytest.mark.parametrize("name,argv,message", BAD, ids=[f"{b[0]}:{' '.join(b[1])}" for b in BAD])
def test_bad_arguments_exit_2_with_one_line(name, argv, message):
    t0 = time.perf_counter()
    command = [sys.executable, "-m", f"workloads.{name}"]
    if "--mlflow-uri" in argv:  # as on a cluster without mlflow (./dev installs it here)
        command = [sys.executable, "-c", HIDE_MLFLOW.format(name=name)]
    proc = subprocess.run(
        [*command, *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"{name}: ") and message in lines[0], lines[0]
    assert proc.stdout == ""
    assert elapsed < 20  # no Ray start-up behind an argument error


def test_argument_errors_do_not_import_ray():
    code = (
        "import sys; from workloads import train\n"
        "try:\n    train.main(['--lr', 'abc'])\nexcept SystemExit as e:\n"
        "    assert e.code == 2\n"
        "assert 'ray' not in sys.modules and 'torch' not in sys.modules, 'heavy import'\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("name", WORKLOADS)
def test_workload_modules_import_nothing_of_the_cockpit(name):
    code = (
        f"import sys, workloads.{name}, workloads._events, workloads._args\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('cockpit', 'screens', 'textual')"
        " or m == 'ray']\nassert not bad, bad\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    for path in (ROOT / "workloads").glob("*.py"):
        text = path.read_text()
        for banned in (
            "import cockpit",
            "from cockpit",
            "import screens",
            "from screens",
            "import textual",
            "from textual",
        ):
            assert banned not in text, f"{path.name}: {banned}"


def test_events_are_one_json_line_each(capsys):
    import json

    from workloads._events import Emitter

    em = Emitter("train")
    em.start({"lr": 0.1}, {"num_workers": 1})
    em.metric(3, {"loss": 0.21, "nan": float("nan"), "label": "x", "ok": True})
    em.trial("t1", {"lr": 1e-3}, "RUNNING", {"accuracy": 0.9})
    em.artifact("best_checkpoint", path="/tmp/x")
    em.end("error", {"wall_s": 1.0}, message="boom")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and all(line.startswith("@@cockpit {") for line in lines)
    events = [json.loads(line.split(" ", 1)[1]) for line in lines]
    assert [e["kind"] for e in events] == ["start", "metric", "trial", "artifact", "end"]
    assert all(e["v"] == 1 and e["workload"] == "train" for e in events)
    assert events[1] == {
        "v": 1,
        "kind": "metric",
        "workload": "train",
        "step": 3,
        "metrics": {"loss": 0.21, "ok": 1},
    }
    assert events[4]["status"] == "error" and events[4]["message"] == "boom"


def test_data_expected_answers_match_numpy():
    import numpy as np

    from workloads import data

    for n in (1, 999, 1000, 1001, 123457):
        x = np.arange(n) % 1000
        keep = x % 3 == 0
        assert data.expected_sum(n) == int((x[keep] ** 2).sum())
        assert data.expected_count(n) == int(keep.sum())


def test_serve_fastapi_app_answers_predict_and_health(tmp_path):
    """The same FastAPI app Serve wraps, run in-process: real model, real digits, checkpoint
    load."""
    from fastapi.testclient import TestClient

    from workloads import _digits, _serve_app

    _, _, x_te, _ = _digits.load_split()
    fresh = _serve_app.Predictor("", seed=0)
    _digits.save(str(tmp_path), fresh.model, fresh.config, {"test_accuracy": 0.5, "epoch": 1})
    loaded = _serve_app.Predictor(str(tmp_path))
    assert (fresh.source, loaded.source) == ("random-init", "checkpoint")
    for predictor in (fresh, loaded):
        backend = _serve_app.DirectBackend(predictor)
        with TestClient(_serve_app.build_fastapi(lambda b=backend: b)) as http:
            health = http.get("/health").json()
            assert health["status"] == "ok" and health["model"] == predictor.source
            body = http.post("/predict", json=x_te[:5].tolist()).json()
            assert len(body["predictions"]) == 5 and len(body["probabilities"][0]) == 10
            assert abs(sum(body["probabilities"][0]) - 1.0) < 1e-3
            one = http.post("/predict", json={"instances": x_te[0].tolist()}).json()
            assert one["predictions"] == body["predictions"][:1]
            for bad in ([[1, 2, 3]], [], "x", [["a"] * 64]):
                assert http.post("/predict", json=bad).status_code == 422
    # the checkpoint holds the same weights: same answers
    a = fresh.predict_array(x_te[:20])[0]
    b = loaded.predict_array(x_te[:20])[0]
    assert (a == b).all()
