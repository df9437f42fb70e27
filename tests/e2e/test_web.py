"""`raycockpit --web` in a real headless Chromium (Debian's `chromium`, driven by playwright):
the real console script serves the cockpit on loopback with its embedded head; the page loads,
keys switch panes, the Nodes table shows the head's node, the core workload launched from its form
in the page reaches SUCCEEDED, and neither the HTML nor any websocket frame carries the cluster's
token. Then a non-loopback address without --web-token is refused, one with it answers only
with the token, and stopping the server leaves no process (head included)."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from raycockpit.cockpit.local import free_port, port_in_use, process_tree
from tests.e2e.procs import stop_pids, wait_gone
from tests.e2e.terminal import BASE_ENV

pytestmark = pytest.mark.cluster

RAYCOCKPIT = str(Path(sys.executable).with_name("raycockpit"))
CHROMIUM = shutil.which("chromium")
TOKEN = "rc-web-cluster-token-7c1f00d2"
ANSI = re.compile(
    rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]|\x1bP[^\x1b]*\x1b\\"
)
HEAD_START_S = 150


@pytest.fixture
def home(tmp_path):
    path = tmp_path / "home"
    path.mkdir()
    return path


def start_server(home: Path, *args: str) -> subprocess.Popen:
    env = {
        **BASE_ENV,
        "HOME": str(home),
        "RAYCOCKPIT_CONFIG": str(home / "none.yaml"),
        "RAY_AUTH_TOKEN": TOKEN,  # the cluster's token: the tabs send it, the page never sees it
    }
    return subprocess.Popen(
        [RAYCOCKPIT, "--web", *args],
        env=env,
        cwd=home,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def wait_said(server: subprocess.Popen, words: str, timeout: float) -> list[str]:
    """Lines the server printed, up to the one holding `words`."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    assert server.stdout is not None
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        if not line:
            break
        seen.append(line.rstrip())
        if words in line:
            return seen
    raise AssertionError(f"the server did not say {words!r}: {seen}")


class Frames:
    """Every websocket frame the page sent and received; the received bytes as screen text."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.sent: list[str] = []

    def attach(self, socket) -> None:
        socket.on("framereceived", self._got)
        socket.on("framesent", lambda payload: self.sent.append(str(payload)))

    def _got(self, payload) -> None:
        self.received.append(payload if isinstance(payload, bytes) else payload.encode())

    def text(self) -> str:
        return ANSI.sub(b"", b"".join(self.received)).decode("utf-8", "replace")


def wait_text(page, frames: Frames, words: str, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if words in frames.text():
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} ({words!r})")


def test_the_cockpit_in_a_browser(home):
    if CHROMIUM is None:
        pytest.skip("no chromium here: apt-get install chromium (CI installs it)")
    playwright = pytest.importorskip("playwright.sync_api")
    if port_in_use(8265) or port_in_use(6379):
        pytest.skip("something already listens on 127.0.0.1:8265 or :6379; --web starts a head")
    port = free_port()
    server = start_server(home, "--port", str(port))
    tree: dict[int, int] = {}
    try:
        said = wait_said(server, "serving the cockpit on", HEAD_START_S)
        assert any("local Ray head at http://127.0.0.1:8265" in line for line in said), said
        url = f"http://127.0.0.1:{port}/"
        frames = Frames()
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("websocket", frames.attach)
            answer = page.goto(url)
            assert answer is not None and answer.ok
            html = answer.text()
            wait_text(page, frames, "connected", 60, "the cockpit connected")
            page.mouse.click(300, 300)  # the terminal takes the keys
            page.keyboard.press("2")
            wait_text(page, frames, "127.0.0.1", 30, "the head's node in the Nodes pane")
            tree = process_tree(server.pid)
            page.keyboard.press("7")
            wait_text(page, frames, "Custom job", 30, "the Launch pane")
            page.keyboard.press("Home")
            page.keyboard.press("Enter")  # the first workload: core
            wait_text(page, frames, "ctrl+r", 30, "the core form")
            page.keyboard.press("F2")  # its smoke preset
            page.keyboard.press("Control+r")
            wait_text(page, frames, "SUCCEEDED", 180, "the launched job SUCCEEDED")
            html += page.content()
            browser.close()
        for where, text in (("html", html), ("sent", "".join(frames.sent))):
            assert TOKEN not in text, f"the cluster token is in the page's {where}"
        assert TOKEN.encode() not in b"".join(frames.received)
        # the dashboard says the same: one core job, SUCCEEDED, launched from the form
        ask = urllib.request.Request(
            "http://127.0.0.1:8265/api/jobs/", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        with urllib.request.urlopen(ask, timeout=10) as answer:
            jobs = answer.read().decode()
        assert '"raycockpit.spec": "core"' in jobs and '"SUCCEEDED"' in jobs
    finally:
        tree = {**tree, **process_tree(server.pid)}
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=90)
        except subprocess.TimeoutExpired:
            pass
        left = wait_gone(tree, timeout=30)
        stop_pids(left)
    assert server.returncode == 0, server.returncode
    assert not left, f"left running after the server stopped: {left}"
    assert not port_in_use(8265) and not port_in_use(port)


def test_a_web_token_guards_a_non_loopback_address(home):
    pytest.importorskip("textual_serve")
    refused = subprocess.run(
        [RAYCOCKPIT, "--web", "--host", "0.0.0.0", "--address", "http://127.0.0.1:9"],
        env={**BASE_ENV, "HOME": str(home), "RAYCOCKPIT_CONFIG": str(home / "none.yaml")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2 and "needs --web-token" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    port = free_port()
    server = start_server(
        home,
        "--host", "0.0.0.0", "--port", str(port), "--web-token", "letmein",
        "--address", "http://127.0.0.1:9",
    )  # fmt: skip
    try:
        wait_said(server, "serving the cockpit on", 60)
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10)
        assert denied.value.code == 401
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/?token=letmein", timeout=10) as ok:
            assert ok.status == 200 and "raycockpit" in ok.read().decode()
            assert "raycockpit_web=" in ok.headers.get("Set-Cookie", "")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert server.returncode == 0
    elsewhere = subprocess.run(  # an address this machine does not have: one line, exit 2
        [RAYCOCKPIT, "--web", "--host", "203.0.113.9", "--web-token", "x", "--address",
         "http://127.0.0.1:9", "--port", str(free_port())],
        env={**BASE_ENV, "HOME": str(home), "RAYCOCKPIT_CONFIG": str(home / "none.yaml")},
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert elsewhere.returncode == 2 and "cannot listen on 203.0.113.9" in elsewhere.stderr
    assert "Traceback" not in elsewhere.stderr
