"""DESIGN.md's walls, written as import-linter contracts in pyproject.toml ([tool.importlinter]):
the core imports no UI/Ray/torch (the CLI's lazy import of the App is the one named exception),
workloads import nothing of the cockpit, the UI never imports Ray, panes never call the client,
panes do not import each other. The folder is the wall; no hand-kept list of modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout and "Contracts: 5 kept" in done.stdout, done.stdout[-1000:]


def test_once_does_not_load_textual():
    code = (
        "import sys, raycockpit.cockpit.cli, raycockpit.cockpit.client, raycockpit.cockpit.poller, "
        "raycockpit.cockpit.report; print('textual' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"
