"""Target resolution, settings, and the headless exit codes (no cluster needed)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from raycockpit.cockpit.cli import main, resolve_target
from raycockpit.cockpit.config import (
    Settings,
    address_from_env,
    address_problem,
    discover_token,
)
from raycockpit.cockpit.local import free_port


def test_address_flag_wins():
    t = resolve_target(
        "head.example:8265",
        Settings(address="http://other:1"),
        env={"RAY_API_SERVER_ADDRESS": "http://x:1"},
    )
    assert (t.address, t.embedded, t.source) == ("http://head.example:8265", False, "--address")


def test_environment_then_settings():
    assert (
        resolve_target(None, Settings(), env={"RAY_API_SERVER_ADDRESS": "http://a:8265/"}).address
        == "http://a:8265"
    )
    assert (
        resolve_target(None, Settings(), env={"RAY_ADDRESS": "https://b:443"}).address
        == "https://b:443"
    )
    # a GCS address in RAY_ADDRESS is not a dashboard
    assert address_from_env({"RAY_ADDRESS": "10.0.0.1:6379"}) is None
    assert resolve_target(None, Settings(address="c:8265"), env={}).address == "http://c:8265"


def test_embedded_when_nothing_answers(monkeypatch):
    monkeypatch.setattr(
        "raycockpit.cockpit.cli.dashboard_answers", lambda address, timeout=1.0: False
    )
    t = resolve_target(None, Settings(), env={})
    assert t.embedded and t.address == "http://127.0.0.1:8265"
    monkeypatch.setattr(
        "raycockpit.cockpit.cli.dashboard_answers", lambda address, timeout=1.0: True
    )
    assert resolve_target(None, Settings(), env={}).source == "running"


def test_token_sources(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert discover_token({}) is None
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text("from-home\n")
    assert discover_token({}) == "from-home"
    path = tmp_path / "tok"
    path.write_text("from-path")
    assert discover_token({"RAY_AUTH_TOKEN_PATH": str(path)}) == "from-path"
    assert (
        discover_token({"RAY_AUTH_TOKEN": "from-env", "RAY_AUTH_TOKEN_PATH": str(path)})
        == "from-env"
    )


def test_token_never_in_repr():
    from raycockpit.cockpit.client import DashboardClient

    client = DashboardClient("http://127.0.0.1:1", token="s3cret")
    assert "s3cret" not in repr(client) and client.has_token


def test_settings_file(tmp_path):
    path = tmp_path / "cockpit.yaml"
    path.write_text("refresh: 5\nlog_max_lines: 100\nkeys:\n  app.quit: ctrl+q\n")
    s = Settings.load(path)
    assert s.refresh == 5 and s.log_max_lines == 100 and s.keys == {"app.quit": "ctrl+q"}
    path.write_text("refrsh: 5\n")
    with pytest.raises(ValueError, match=r"unknown key 'refrsh' \(did you mean 'refresh'\?\)"):
        Settings.load(path)
    assert Settings.load(tmp_path / "missing.yaml") == Settings()


def test_bad_settings_file_is_a_message_not_a_traceback(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("refresh: [1, 2\n")
    assert main(["--config", str(path), "--once"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("raycockpit: cannot read settings") and "Traceback" not in err


def test_once_unreachable_exits_2_with_reason():
    port = free_port()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "raycockpit.cockpit.cli",
            "--once",
            "--address",
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert f"cannot reach http://127.0.0.1:{port}" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("127.0.0.1:99999", "its port is out of range (1-65535)"),
        ("http://127.0.0.1:0", "its port is out of range (1-65535)"),
        ("http://head:abc", "its port is not a number"),
        ("ftp://head:8265", "ftp:// is not http:// or https://"),
        ("http://:8265", "it names no host"),
        ("http://head 1:8265", "it holds a space"),
    ],
)
def test_a_malformed_address_is_one_line_that_says_what_is_wrong(address, problem, capsys):
    """--address 127.0.0.1:99999 ended in an OverflowError traceback from the socket layer."""
    assert address_problem(address) == problem
    assert main(["--once", "--json", "--address", address]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"raycockpit: --address {address!r} is not a dashboard URL: {problem}; give one like "
        "http://127.0.0.1:8265"
    ]
    with pytest.raises(ValueError, match="RAY_API_SERVER_ADDRESS"):
        resolve_target(None, Settings(), env={"RAY_API_SERVER_ADDRESS": address})


def test_a_malformed_address_in_the_settings_is_named_with_its_key(tmp_path, capsys):
    path = tmp_path / "cockpit.yaml"
    path.write_text("contexts:\n  a: {address: 'http://head:70000'}\n")
    assert main(["--config", str(path), "--once"]) == 2
    err = capsys.readouterr().err
    assert "contexts" in err and "'http://head:70000' is not a dashboard URL" in err, err
    assert "out of range" in err and "Traceback" not in err
    for fine in ("head:8265", "https://ray.example.com", "http://[::1]:8265", "10.0.0.1"):
        assert address_problem(fine) is None, fine


def test_once_never_starts_a_cluster(monkeypatch, capsys):
    monkeypatch.setattr(
        "raycockpit.cockpit.cli.dashboard_answers", lambda address, timeout=1.0: False
    )
    monkeypatch.delenv("RAY_API_SERVER_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAYCOCKPIT_CONFIG", "/nonexistent/cockpit.yaml")
    assert main(["--once"]) == 2
    assert "no Ray dashboard answers" in capsys.readouterr().err


def test_quitting_while_the_head_starts_stops_it(monkeypatch, tmp_path):
    """q during the startup screen: the head that is still starting is stopped, not orphaned."""
    import raycockpit.cockpit.local
    import raycockpit.screens.app

    events = []

    class FakeHead:
        pid = 4242
        dashboard_url = "http://127.0.0.1:8265"
        log_path = None

        def stop(self):
            events.append("stopped")

    class QuitAtOnce:
        head_started = False
        return_code = 0

        def run(self):
            events.append("ran")

    monkeypatch.setattr(
        "raycockpit.cockpit.cli.dashboard_answers", lambda address, timeout=1.0: False
    )
    monkeypatch.setattr(raycockpit.cockpit.local, "LocalHead", FakeHead)
    monkeypatch.setattr(raycockpit.screens.app, "make_app", lambda *a, **k: QuitAtOnce())
    monkeypatch.setenv("RAYCOCKPIT_CONFIG", str(tmp_path / "none.yaml"))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_API_SERVER_ADDRESS", raising=False)
    assert main(["--keep-cluster"]) == 0
    assert events == ["ran", "stopped"]  # --keep-cluster keeps only a head that came up


def _contexts_file(tmp_path, contexts: str, extra: str = "") -> str:
    path = tmp_path / f"cockpit-{len(list(tmp_path.iterdir()))}.yaml"
    path.write_text(f"{extra}contexts:\n{contexts}")
    return str(path)


def test_contexts_in_the_settings_file(tmp_path, capsys):
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    path = _contexts_file(
        tmp_path,
        f"  prod: {{ssh: 'me@head', ssh_key: ~/.ssh/k, readonly: true, token_path: '{token}'}}\n"
        "  dev: {address: 'dev:8265'}\n",
        extra="readonly: false\n",
    )
    from pathlib import Path

    base = Settings.load(Path(path))
    prod = base.for_context("prod")
    assert (prod.ssh, prod.ssh_key, prod.readonly, prod.context) == (
        "me@head",
        "~/.ssh/k",
        True,
        "prod",
    )
    assert prod.token() == "s3cret" and prod.address is None
    dev = base.for_context("dev")
    assert (dev.address, dev.ssh, dev.readonly) == ("dev:8265", None, False)
    with pytest.raises(ValueError, match=r"no context named 'x' \(known: dev, prod\)"):
        base.for_context("x")
    # bad contexts: one line each, never a traceback
    bad = _contexts_file(
        tmp_path,
        "  both: {address: 'a:1', ssh: 'b'}\n  typo: {adress: 'x'}\n"
        "  port: {ssh: 'h', remote_dashboard: 0}\n",
    )
    assert main(["--config", bad, "--once"]) == 2
    err = capsys.readouterr().err
    assert "contexts['both']: give exactly one of address: URL, ssh:" in err
    assert "contexts['typo']: unknown key 'adress' (did you mean 'address'?)" in err
    assert "contexts['port'].remote_dashboard = 0: expected a port number 1..65535" in err
    assert "Traceback" not in err
    assert main(["--config", path, "--context", "nope", "--once"]) == 2
    assert "no context named 'nope' (known: dev, prod)" in capsys.readouterr().err
    missing = _contexts_file(tmp_path, "  t: {address: 'a:1', token_path: '/nonexistent/tok'}\n")
    assert main(["--config", missing, "--context", "t", "--once"]) == 2
    assert "token_path /nonexistent/tok: No such file or directory" in capsys.readouterr().err


def test_once_all_contexts_prints_the_fleet_and_why_one_is_down(tmp_path, capsys):
    import json

    from benchmarks.replay import ReplayServer

    server = ReplayServer(nodes=4, gpus=2, jobs=30)
    server.start()
    try:
        port = free_port()
        path = _contexts_file(
            tmp_path,
            f"  up: {{address: '{server.url}'}}\n  down: {{address: 'http://127.0.0.1:{port}'}}\n",
        )
        assert main(["--config", path, "--once", "--json", "--all-contexts"]) == 2  # one is down
        rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
        up, down = rows["up"], rows["down"]
        assert up["reachable"] and up["ray_version"] == "2.60.0" and up["nodes_alive"] >= 3
        assert up["gpu_total"] == 2 * up["nodes_alive"] and up["cpu_total"] > 0
        assert not down["reachable"] and f"127.0.0.1:{port}" in down["error"]
        assert main(["--config", path, "--once", "--all-contexts"]) == 2
        text = capsys.readouterr().out.splitlines()
        assert text[0].split()[:3] == ["context", "state", "ray"]
        assert any(line.split()[:2] == ["down", "down"] for line in text)
    finally:
        server.stop()
    assert main(["--config", path, "--all-contexts"]) == 2
    assert "--all-contexts goes with --once" in capsys.readouterr().err


def test_the_address_as_the_one_word_after_the_command(capsys):
    """`raycockpit http://head:8265` ended in argparse's 'unrecognized arguments'."""
    port = free_port()
    assert main(["--once", f"http://127.0.0.1:{port}"]) == 2
    assert f"cannot reach http://127.0.0.1:{port}" in capsys.readouterr().err
    assert main(["--once", "127.0.0.1:99999"]) == 2  # checked as --address is
    assert "'127.0.0.1:99999' is not a dashboard URL" in capsys.readouterr().err
    assert main(["--once", "head:8265", "--address", "http://other:8265"]) == 2
    assert capsys.readouterr().err.strip() == (
        "raycockpit: give the address once: 'head:8265' or --address 'http://other:8265'"
    )
    assert main(["confg", "check", "x.yaml"]) == 2
    assert "did you mean raycockpit config?" in capsys.readouterr().err
    assert main(["postmortm"]) == 2
    assert capsys.readouterr().err.strip() == (
        "raycockpit: 'postmortm' is neither a dashboard URL (http://HOST:8265) nor a command "
        "(config, k8s, postmortem); did you mean raycockpit postmortem?"
    )


def test_a_bare_host_gets_the_dashboard_port():
    """`raycockpit 10.0.0.5` went to port 80; Ray's dashboard is on 8265 unless a port or a
    scheme says otherwise."""
    from raycockpit.cockpit.config import normalise_address

    assert normalise_address("10.0.0.5") == "http://10.0.0.5:8265"
    assert normalise_address("head") == "http://head:8265"
    assert normalise_address("[::1]") == "http://[::1]:8265"
    assert normalise_address("head:9000") == "http://head:9000"
    assert normalise_address("https://ray.example.com/") == "https://ray.example.com"
    assert resolve_target("head", Settings()).address == "http://head:8265"
