"""DESIGN.md's import rules, checked on the source: the core stays free of UI and Ray, screens and
widgets never touch Ray or the client, workloads never import the cockpit."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ["client", "models", "parse", "poller", "launch", "packaging", "events", "local", "config", "tail", "serve_tester",
        "errors", "report", "clock", "cli"]  # fmt: skip


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def roots(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


def test_core_imports_no_textual_screens_ray_torch():
    for name in CORE:
        path = ROOT / "cockpit" / f"{name}.py"
        if path.exists():
            bad = roots(imports(path)) & {"textual", "screens", "ray", "torch"}
            assert not bad, f"cockpit/{name}.py imports {bad}"


def test_no_ray_or_torch_anywhere_in_the_tui():
    for folder in ("cockpit", "screens"):
        for path in (ROOT / folder).rglob("*.py"):
            bad = roots(imports(path)) & {"ray", "torch"}
            assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_screens_and_widgets_never_use_the_client():
    for path in [*(ROOT / "screens").rglob("*.py"), *(ROOT / "cockpit" / "widgets").rglob("*.py")]:
        names = imports(path)
        bad = {n for n in names if n in ("cockpit.client", "cockpit.local", "cockpit.packaging", "httpx", "websockets")}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_workloads_import_nothing_of_the_cockpit():
    for path in (ROOT / "workloads").rglob("*.py"):
        bad = roots(imports(path)) & {"cockpit", "screens", "textual"}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_once_does_not_load_textual():
    import subprocess
    import sys

    code = "import sys, cockpit.cli, cockpit.client, cockpit.poller, cockpit.report; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
