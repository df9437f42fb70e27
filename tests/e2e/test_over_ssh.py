"""raycockpit over a real OpenSSH sshd on loopback, as its users run it.

(a) `ssh -t host 'cd raycockpit && raycockpit'` with a login HOME whose .bashrc puts a decoy
    `python` first (the pyenv/conda trap): the embedded head starts, Nodes shows it, a bundled
    smoke preset launched from its form reaches SUCCEEDED with its chart, `q` leaves nothing.
(b) the same session with its SSH connection dropped: nothing of the head is left.
(c) `raycockpit --ssh` to a head whose dashboard is on loopback: panes live, a job launched and
    tailed while the sshd is stopped and started again: the tail resumes and every line arrives
    exactly once.
Plus --once over the tunnel, and host-key and login failures as one line with exit 2.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from raycockpit.cockpit.launch import load_specs
from raycockpit.cockpit.local import port_in_use
from tests.cluster.test_login_shell import make_trapped_home
from tests.e2e.procs import stop_pids
from tests.e2e.terminal import BASE_ENV, Terminal, wait_gone

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[2]
RAYCOCKPIT = Path(sys.executable).with_name("raycockpit")
HEAD_START_S = 150
HEAD_STOP_S = 60


def remote_cockpit(sshd, home: Path, *args: str) -> list[str]:
    """What a user types: ssh -t host 'cd raycockpit && .venv/bin/raycockpit' (with the test's
    HOME and no settings file; sshd gives the session SSH_CLIENT and a fresh, low SHLVL)."""
    command = (
        f"cd {shlex.quote(str(REPO))} && env HOME={shlex.quote(str(home))} "
        f"RAYCOCKPIT_CONFIG={shlex.quote(str(home / 'none.yaml'))} "
        f"{shlex.quote(str(RAYCOCKPIT))} {shlex.join(args)}"
    )
    return sshd.ssh_argv(command, tty=True)


@pytest.fixture
def trapped_home(tmp_path):
    home = tmp_path / "home"
    make_trapped_home(home)
    return home


@pytest.fixture
def standard_ports_free(tmux):
    if port_in_use(8265) or port_in_use(6379):
        pytest.skip(
            "something already listens on 127.0.0.1:8265 or :6379; these tests start a head there"
        )


def local_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "local-home"
    home.mkdir(exist_ok=True)
    return {**BASE_ENV, "HOME": str(home), "RAYCOCKPIT_CONFIG": str(home / "none.yaml")}


def test_a_embedded_head_over_ssh_launches_a_workload_and_quits_clean(
    sshd, standard_ports_free, trapped_home, tmp_path
):
    names = [spec.name for spec in load_specs([])[0]]
    with Terminal(
        remote_cockpit(sshd, trapped_home), size=(130, 40), env=local_env(tmp_path)
    ) as term:
        term.wait_for("● connected", HEAD_START_S, "the embedded head over ssh")
        session = sshd.connections()  # the ssh session: its shell, raycockpit and the whole head
        term.send("2")
        term.wait_for("127.0.0.1", 30, "the node in the Nodes pane")
        term.send("7")
        term.wait_for("Custom job", 30, "the Launch pane")
        # Enter opens the form and F2 in the same send picks its smoke preset: the keys behind
        # Enter wait for the form to take the focus (they went to the Launch list before)
        term.send("Home", *["Down"] * names.index("core"), "Enter", "F2")
        term.wait_for("presets: F2 smoke", 30, "the core form")
        term.wait_for(re.compile(r"num tasks +200\b"), 10, "the smoke preset's values")
        # a typo mended and the next field edited in one burst, as keys come over a slow link:
        # num tasks 200 -> 120, Tab, waves 4 -> 5 (Textual alone let each backspace act after
        # the digits typed behind it, and the keys after Tab land in the field it leaves)
        term.send("End", "BSpace", "BSpace", "BSpace", "1", "2", "x", "BSpace", "0")
        term.send("Tab", "End", "BSpace", "5")
        term.wait_for(re.compile(r"num tasks +120\b"), 10, "the mended value")
        term.wait_for(re.compile(r"waves +5\b"), 10, "the next field's value")
        term.send("C-r")
        term.wait_for("SUCCEEDED", 180, "the core smoke job to succeed over ssh")
        screen = term.wait_for("tasks_per_s", 30, "the job's metric chart")
        assert "decoy" not in screen and "No module named 'ray'" not in screen
        term.send("Escape")
        term.wait_for("Custom job", 10, "the Launch pane again")
        term.send("q")
        term.wait_exit(HEAD_STOP_S)
        assert wait_gone(session, HEAD_STOP_S) == {}, "processes of the ssh session survived q"
        assert not port_in_use(8265) and not port_in_use(6379)


def test_b_dropped_ssh_connection_stops_the_embedded_head(
    sshd, standard_ports_free, trapped_home, tmp_path
):
    with Terminal(remote_cockpit(sshd, trapped_home), env=local_env(tmp_path)) as term:
        term.wait_for("● connected", HEAD_START_S, "the embedded head over ssh")
        session = sshd.connections()
        try:
            stop_pids(
                {term.pane_pid(): session.get(term.pane_pid(), 0)} | term.processes()
            )  # the ssh client dies: the link drops
            assert wait_gone(session, HEAD_STOP_S) == {}, (
                "processes of the head survived the dropped link"
            )
            assert not port_in_use(8265) and not port_in_use(6379)
        finally:
            stop_pids(session)


def ssh_settings(tmp_path: Path, sshd, **extra) -> Path:
    path = tmp_path / "cockpit.yaml"
    path.write_text(json.dumps({"ssh_options": ["-F", str(sshd.client_config)], **extra}))
    return path


def run_once(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(RAYCOCKPIT), "--once", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_once_through_the_tunnel(sshd, ray_head, tmp_path):
    settings = ssh_settings(tmp_path, sshd)
    port = str(ray_head.ports.dashboard)
    done = run_once(
        "--json", "--ssh", sshd.alias, "--remote-dashboard", port, "--config", str(settings)
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["connected"] and report["nodes"][0]["ip"] == "127.0.0.1"
    # the settings file can name ssh: instead of address:
    settings.write_text(
        json.dumps(
            {
                "ssh": sshd.alias,
                "remote_dashboard": int(port),
                "ssh_options": ["-F", str(sshd.client_config)],
            }
        )
    )
    assert run_once("--config", str(settings)).returncode == 0


def test_host_key_and_login_failures_are_one_line(sshd, tmp_path):
    # a known_hosts without the server's key: strict checking refuses, ssh never prompts
    config = tmp_path / "ssh_config"
    config.write_text(
        sshd.client_config.read_text().replace(
            str(sshd.known_hosts), str(tmp_path / "empty_known_hosts")
        )
    )
    done = run_once(
        "--ssh",
        sshd.alias,
        "--config",
        str(ssh_settings(tmp_path, sshd, ssh_options=["-F", str(config)])),
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "host key of testhead is not trusted" in done.stderr and "known_hosts" in done.stderr
    # a key the server does not know
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    start = time.monotonic()
    keyless = tmp_path / "ssh_config_keyless"
    keyless.write_text(
        sshd.client_config.read_text().replace(f"IdentityFile {sshd.client_key}", "")
    )
    settings = ssh_settings(tmp_path, sshd, ssh_options=["-F", str(keyless)])
    done = run_once("--ssh", sshd.alias, "--ssh-key", str(other), "--config", str(settings))
    assert (
        done.returncode == 2 and "refused the login" in done.stderr and "--ssh-key" in done.stderr
    )
    assert time.monotonic() - start < 30
    # the link is up but no dashboard answers at the far end: said as such
    done = run_once(
        "--ssh",
        sshd.alias,
        "--remote-dashboard",
        "1",
        "--config",
        str(ssh_settings(tmp_path, sshd)),
    )
    assert done.returncode == 2 and "no Ray dashboard answers on its port 1" in done.stderr
    # nothing listens: refused at once, with the port said
    done = run_once("--ssh", "127.0.0.1:1", "--config", str(tmp_path / "none.yaml"))
    assert done.returncode == 2 and "nothing accepts SSH connections on 127.0.0.1:1" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 2  # "opening ..." then the one-line reason


LINES = 150
PRINTER = (
    "python -c \"import time; [print('line %04d' % i, flush=True) or time.sleep(0.1) "
    f'for i in range({LINES})]"'
)


def test_c_ssh_tunnel_survives_a_dropped_link_and_the_tail_stays_exact(sshd, ray_head, tmp_path):
    settings = ssh_settings(tmp_path, sshd)
    args = [
        str(RAYCOCKPIT),
        "--ssh",
        sshd.alias,
        "--remote-dashboard",
        str(ray_head.ports.dashboard),
        "--config",
        str(settings),
        "--refresh",
        "1",
    ]
    with Terminal(args, size=(130, 40), env=local_env(tmp_path), cwd=tmp_path) as term:
        term.wait_for("● connected", 60, "the cockpit through the tunnel")
        assert "⇄ link up" in term.screen()
        term.send("2")
        term.wait_for("127.0.0.1", 30, "the node through the tunnel")
        term.send("7")
        term.wait_for("Custom job", 30, "the Launch pane")
        term.send("End", "Enter")
        term.wait_for("Custom job", 10, "the custom job form")
        term.wait_for("esc Back", 10, "the form's keys")
        term.type(PRINTER)
        term.wait_for(f"range({LINES})", 10, "the typed entrypoint")
        term.send("C-r")
        term.wait_for("line 0020", 120, "the tail to be well under way")
        sshd.stop()  # every ssh connection and the listener: the link drops
        term.wait_for(re.compile(r"link down"), 20, "the link shown down")
        time.sleep(2)
        sshd.start()  # the link can come back
        term.wait_for("⇄ link up", 60, "the link re-opened")
        term.wait_for("SUCCEEDED", 120, "the job to end")
        term.wait_for(f"line {LINES - 1:04d}", 60, "the last line")
        job_id = re.search(r"raysubmit_\w+", term.screen())[0]
        # `f`, the filter's text and Enter in one burst (as a slow link delivers them): `f` opens
        # the filter input only once it has acted, and the letters behind it must wait for it
        term.send("f", "line 0", "Enter")
        screen = term.wait_for("filter: line 0", 10, "the filter")
        shown, total = map(int, re.search(r"([\d,]+) of ([\d,]+) lines", screen).groups())
        assert shown == LINES, (
            f"{shown} 'line 0NNN' lines in the view for {LINES} printed (each must be there once)"
        )
        full = httpx.get(f"{ray_head.dashboard_url}/api/jobs/{job_id}/logs", timeout=30).json()
        assert total == len(full["logs"].splitlines()), "the view and the job's log differ"
        term.send("Escape")  # clears the filter
        term.wait_for(lambda screen: "filter: line 0" not in screen, 10, "the filter cleared")
        # back from the job screen and on to the Jobs pane in one send: ESC and 5 come in one
        # read, which Textual alone read as the key '∞' (the Escape lost; screens/driver.py)
        term.send("Escape", "5")
        term.wait_for(re.compile(r"Submission id +Status"), 10, "the Jobs pane")
        running = {
            p: t for p, t in term.processes().items() if p != term.server_pid
        }  # cockpit + ssh
        term.send("q")
        assert term.wait_exit(30) == 0
        assert wait_gone(running, 10) == {}, "q must close the ssh tunnel"
