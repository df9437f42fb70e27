"""The built wheel is a working `raycockpit` on its own, away from the checkout.

One module-scoped fixture builds the wheel from the repository root (`pip wheel --no-deps`),
creates a fresh venv from the same base interpreter, and installs the wheel with its dependencies
(no extras). Then, from a temp folder outside the checkout, with PYTHONPATH unset, HOME in a temp
folder and RAYCOCKPIT_CONFIG naming a file that does not exist, it proves that:

- the install pulls in neither ray nor torch (the cockpit is a thin HTTP client);
- site-packages gains one import name, `raycockpit` (plus its dist-info and the console script):
  no top-level `cockpit`, `screens`, `workloads` or `configs` that could collide with other
  packages, and the wheel carries configs/workloads/*.yaml and workloads/*.py under raycockpit/;
- the console script works: `raycockpit --version` prints the version written in
  raycockpit/__init__.py, and `raycockpit --once --json --address <test head>` exits 0 with the
  head's node (ip 127.0.0.1);
- the Launch pane, driven headless with Pilot by the venv's Python (the installed package, not the
  checkout), lists the six bundled workloads from the installed configs/, and `ctrl+o` on the
  `core` form previews `python -m workloads.core` with a working_dir package built from the
  INSTALLED raycockpit folder: only its workloads/ (`_ray_pkg_<md5>.zip`), the same files the wheel
  ships.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

import raycockpit

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
OUR_NAMES = ("cockpit", "screens", "workloads", "configs")
BUNDLED = {"train", "tune", "rl", "data", "serve", "core"}
MARK = "@@wheel-test "

# Run by the venv's python from the clean temp folder: drives the real app headless.
LAUNCH_SCRIPT = r"""
import asyncio, json, sys, time

import raycockpit
from raycockpit.screens.app import make_app
from raycockpit.cockpit.config import Settings, REPO_ROOT
from raycockpit.cockpit.packaging import build_package
from raycockpit.screens.dialogs import PreviewScreen
from raycockpit.screens.launch_form import LaunchFormScreen

MARK = "@@wheel-test "


def emit(**data):
    print(MARK + json.dumps(data), flush=True)


async def wait_for(pilot, condition, what, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.2)
    raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")


async def main(url):
    emit(package=raycockpit.__file__, repo_root=str(REPO_ROOT))
    app = make_app(Settings(refresh=0.5), address=url)
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.press("7")
        pane = app.query_one("#launch")
        await wait_for(pilot, lambda: pane.specs, "the workload specs")
        names = [s.name for s in pane.specs]
        emit(specs=names, problems=list(pane.problems),
             sources=[str(s.source) for s in pane.specs], bundled=[s.bundled for s in pane.specs])
        await pilot.press("home", *["down"] * names.index("core"), "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LaunchFormScreen), "the core form")
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen), "the preview")
        preview = app.screen
        spec = pane.specs[names.index("core")]
        package = build_package(spec.working_dir, spec.include)
        import io, zipfile
        members = zipfile.ZipFile(io.BytesIO(package.data)).namelist()
        emit(body=preview.body_json, command=preview.command, note=preview.note,
             working_dir=str(spec.working_dir), package_name=package.name, package_members=members)


asyncio.run(main(sys.argv[1]))
"""


def _quiet(text: str) -> str:
    """pip's output without its 'WARNING: Location ...' notes about find-links folders."""
    return "\n".join(line for line in text.splitlines() if not line.startswith("WARNING: Location"))


def _run(cmd: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(
        cmd, check=False, capture_output=True, text=True, timeout=timeout, **kwargs
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, cmd))} exited {result.returncode}\n{_quiet(result.stdout)[-3000:]}\n"
        f"{_quiet(result.stderr)[-5000:]}"
    )
    return result


def _base_python() -> str:
    base = getattr(sys, "_base_executable", None)
    if base and Path(base).exists() and Path(base).resolve() != Path(sys.executable).resolve():
        return base
    for name in ("python3", "python"):
        candidate = Path(sys.base_prefix) / "bin" / name
        if candidate.exists():
            return str(candidate)
    return sys.executable


def _pip_has_python_option() -> bool:
    try:
        import pip
    except ImportError:
        return False
    major, minor = (int(x) for x in re.findall(r"\d+", pip.__version__)[:2])
    return (major, minor) >= (22, 3)


class Installed:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.venv = tmp / "venv"
        self.python = self.venv / "bin" / "python"
        self.script = self.venv / "bin" / "raycockpit"
        self.wheel: Path | None = None
        self.purelib: Path | None = None
        self.cwd = tmp / "elsewhere"  # not the checkout, nothing of it on sys.path
        self.home = tmp / "home"
        self.env: dict[str, str] = {}

    def run(self, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            args,
            check=False,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.cwd,
            env=self.env,
        )


@pytest.fixture(scope="module")
def installed():
    tmp = Path(tempfile.mkdtemp(prefix="rc-wheel-"))
    inst = Installed(tmp)
    started = time.monotonic()
    try:
        dist = tmp / "dist"
        _run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "-q",
                "--disable-pip-version-check",
                "-w",
                str(dist),
                str(ROOT),
            ],
            timeout=300,
        )
        wheels = sorted(dist.glob("raycockpit-*.whl"))
        assert len(wheels) == 1, wheels
        inst.wheel = wheels[0]
        # Our pip installs into the new venv (--python): no ensurepip run, which costs 20 s on
        # 2 cores.
        # --no-compile: only what the runs below import gets compiled.
        if _pip_has_python_option():
            _run([_base_python(), "-m", "venv", "--without-pip", str(inst.venv)], timeout=120)
            pip = [sys.executable, "-m", "pip", "--python", str(inst.python)]
        else:
            _run([_base_python(), "-m", "venv", str(inst.venv)], timeout=300)
            pip = [str(inst.python), "-m", "pip"]
        _run(
            [*pip, "install", "-q", "--no-compile", "--disable-pip-version-check", str(inst.wheel)],
            timeout=600,
        )
        purelib = _run(
            [str(inst.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            timeout=60,
        ).stdout.strip()
        inst.purelib = Path(purelib)
        inst.cwd.mkdir()
        inst.home.mkdir()
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PYTHON", "RAY_", "RAYCOCKPIT_", "XDG_", "VIRTUAL_ENV", "CONDA"))
        }
        venv_bin = str(inst.venv / "bin")
        checkout_bins = {str(ROOT / ".venv" / "bin"), str(Path(sys.executable).parent)}
        path = [
            p for p in env.get("PATH", os.defpath).split(os.pathsep) if p and p not in checkout_bins
        ]
        env.update(
            PATH=os.pathsep.join([venv_bin, *path]),
            HOME=str(inst.home),
            PYTHONNOUSERSITE="1",
            RAYCOCKPIT_CONFIG=str(tmp / "no-such-dir" / "cockpit.yaml"),
        )
        inst.env = env
        print(
            f"\nwheel built and installed into a fresh venv in {time.monotonic() - started:.1f} s"
        )
        yield inst
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_no_ray_no_torch_in_the_venv(installed):
    names = ("ray", "torch", "raycockpit")
    code = (
        "import importlib.util as u, json; "
        f"print(json.dumps({{m: u.find_spec(m) is not None for m in {names}}}))"
    )
    result = installed.run([str(installed.python), "-c", code])
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"ray": False, "torch": False, "raycockpit": True}


def test_one_import_name_in_site_packages(installed):
    entries = {p.name for p in installed.purelib.iterdir()}
    assert not entries & set(OUR_NAMES), sorted(entries & set(OUR_NAMES))
    assert "raycockpit" in entries
    # Everything the wheel installs lives under raycockpit/ or its dist-info (or is the script).
    dist_info = [e for e in entries if e.startswith("raycockpit-") and e.endswith(".dist-info")]
    assert len(dist_info) == 1, dist_info
    record = (installed.purelib / dist_info[0] / "RECORD").read_text().splitlines()
    tops = {line.split(",", 1)[0].split("/", 1)[0] for line in record if line}
    assert tops - {"raycockpit", dist_info[0], ".."} == set(), sorted(tops)
    scripts = {line.split(",", 1)[0] for line in record if line.startswith("..")}
    assert {Path(s).name for s in scripts} == {"raycockpit"}, scripts
    # The wheel carries the bundled specs and the programs they run, under raycockpit/.
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    for spec in BUNDLED:
        assert f"raycockpit/configs/workloads/{spec}.yaml" in names, spec
        assert f"raycockpit/workloads/{spec}.py" in names, spec
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in names if n.split("/", 1)[0] in OUR_NAMES]


def test_version(installed):
    result = installed.run([str(installed.script), "--version"], timeout=60)
    assert result.returncode == 0, result.stderr
    written = re.search(
        r'__version__ = "([^"]+)"', (ROOT / "raycockpit" / "__init__.py").read_text()
    ).group(1)
    assert written == raycockpit.__version__
    assert result.stdout.strip() == f"raycockpit {written}"


def test_once_json_against_the_head(installed, ray_head):
    result = installed.run(
        [str(installed.script), "--once", "--json", "--address", ray_head.dashboard_url]
    )
    assert result.returncode == 0, (
        f"exit {result.returncode}\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    )
    data = json.loads(result.stdout)
    assert data["schema"] == 1 and data["connected"] is True, data.get("errors")
    assert data["address"] == ray_head.dashboard_url.rstrip("/")
    heads = [n for n in data["nodes"] if n["is_head"]]
    assert heads and heads[0]["ip"] == "127.0.0.1", data["nodes"]


def test_launch_pane_lists_and_previews_from_the_installed_package(installed, ray_head):
    script = installed.cwd / "launch_headless.py"
    script.write_text(LAUNCH_SCRIPT)
    result = installed.run(
        [str(installed.python), str(script), ray_head.dashboard_url], timeout=180
    )
    assert result.returncode == 0, (
        f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    )
    out: dict = {}
    for line in result.stdout.splitlines():
        if line.startswith(MARK):
            out.update(json.loads(line[len(MARK) :]))
    installed_pkg = installed.purelib / "raycockpit"

    # The venv's python ran the installed package, and it finds its folders inside itself.
    assert Path(out["package"]).parent == installed_pkg, out["package"]
    assert Path(out["repo_root"]) == installed_pkg, out["repo_root"]

    # The six bundled workloads, read from the installed configs/, with no problems.
    assert set(out["specs"]) == BUNDLED, out["specs"]
    assert out["problems"] == [], out["problems"]
    assert all(out["bundled"]), out
    for source in out["sources"]:
        assert Path(source).parent == installed_pkg / "configs" / "workloads", source

    # The preview of the core form: the entrypoint and the working_dir from the installed folder.
    body = json.loads(out["body"])
    assert body["entrypoint"].startswith("python -m workloads.core"), body
    assert re.fullmatch(r"gcs://_ray_pkg_[0-9a-f]{32}\.zip", body["runtime_env"]["working_dir"]), (
        body
    )
    assert "python -m workloads.core" in out["command"], out["command"]
    assert f"--working-dir {installed_pkg}" in out["command"], out["command"]
    assert str(ROOT) not in out["command"] + out["note"] + out["body"]
    assert Path(out["working_dir"]) == installed_pkg
    assert out["note"].startswith(f"working_dir: {installed_pkg} → {out['package_name']} ("), out[
        "note"
    ]
    assert body["runtime_env"]["working_dir"] == f"gcs://{out['package_name']}"

    # The package holds workloads/ and nothing else: the same .py files the wheel ships.
    members = out["package_members"]
    assert members and all(m.startswith("workloads/") for m in members), members
    shipped = {
        n.removeprefix("raycockpit/")
        for n in zipfile.ZipFile(installed.wheel).namelist()
        if n.startswith("raycockpit/workloads/")
    }
    assert {m for m in members if not m.endswith("/")} == shipped
    assert "workloads/core.py" in members and "workloads/_args.py" in members
