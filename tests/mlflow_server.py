"""A real MLflow tracking server for the tests: `mlflow server` on loopback with a sqlite backend
and a local artifact folder in a temp dir, started in its own process group and stopped by its
pid; read back through MLflow's REST API (what a user's script or the MLflow UI sees)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from raycockpit.cockpit.local import free_port

MLFLOW = Path(sys.executable).with_name("mlflow")


class MlflowServer:
    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="rc-mlflow-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self._log_file = None

    def start(self) -> MlflowServer:
        """Spawn it; `wait_ready` waits (the import of MLflow's app takes 10-40 s here, so the
        tests start it early and wait only when they need it)."""
        self._log_file = open(self.folder / "server.log", "wb")  # closed by stop()
        env = dict(os.environ)
        # MLflow 3's server also starts a job runner with six huey consumers (~1.3 GB): not used
        env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
        self.proc = subprocess.Popen(
            [
                str(MLFLOW),
                "server",
                "--backend-store-uri",
                f"sqlite:///{self.folder / 'mlflow.db'}",
                "--artifacts-destination",
                str(self.folder / "artifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
            ],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group: uvicorn runs as its child
        )
        return self

    def wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited {self.proc.returncode}: {self.log()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"mlflow server not up in {timeout:.0f} s: {self.log()}")

    def log(self) -> str:
        path = self.folder / "server.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the group started above, by its leader's pid
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        if self._log_file is not None:
            self._log_file.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- MLflow's REST API (2.0) --------------------------------------------------------------

    def _get(self, endpoint: str, **params: Any) -> dict[str, Any]:
        answer = httpx.get(f"{self.url}/api/2.0/mlflow/{endpoint}", params=params, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def runs(self, experiment: str) -> list[dict[str, Any]]:
        exp = self._get("experiments/get-by-name", experiment_name=experiment)["experiment"]
        answer = httpx.post(
            f"{self.url}/api/2.0/mlflow/runs/search",
            json={"experiment_ids": [exp["experiment_id"]], "max_results": 100},
            timeout=10,
        )
        answer.raise_for_status()
        return answer.json().get("runs", [])

    def history(self, run_id: str, key: str) -> list[tuple[int, float]]:
        found = self._get("metrics/get-history", run_id=run_id, metric_key=key).get("metrics", [])
        return sorted((int(m.get("step", 0)), float(m["value"])) for m in found)

    def artifacts(self, run_id: str, path: str = "") -> list[str]:
        found = self._get("artifacts/list", run_id=run_id, path=path).get("files", [])
        return [f["path"] for f in found]


def params_of(run: dict[str, Any]) -> dict[str, str]:
    return {p["key"]: p["value"] for p in run.get("data", {}).get("params", [])}


def tags_of(run: dict[str, Any]) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run.get("data", {}).get("tags", [])}
