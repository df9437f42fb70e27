"""A real autoscaling Ray cluster on this machine: a loopback head with Ray's fake_multinode
provider (configs/clusters/fake_multinode.yaml), whose worker "nodes" are extra raylets that the
autoscaler launches on demand and removes when idle.

`start_fake_cluster()` returns the started LocalHead; stop it with `head.stop()` (everything it
started, fake nodes included, is in its process group). Tests and UI tests reuse it; only one
such head should run at a time on a small machine.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml

from raycockpit.cockpit.local import LOOPBACK, HeadPorts, LocalHead

REPO_ROOT = Path(__file__).resolve().parents[2]
FAKE_CONFIG = REPO_ROOT / "configs" / "clusters" / "fake_multinode.yaml"
WORKER_TYPE = "cpu_worker"

# What the fake provider needs (DESIGN.md): RAY_FAKE_CLUSTER, and a fast autoscaler loop; and
# no drain on SIGTERM (tests/conftest.py NO_DRAIN_ENV), else stopping the head while a job runs
# waits Ray's 30 s drain out.
FAKE_ENV = {
    "RAY_FAKE_CLUSTER": "1",
    "AUTOSCALER_UPDATE_INTERVAL_S": "1",
    "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0",
}


def render_config(ports: HeadPorts, directory: str | Path, source: Path = FAKE_CONFIG) -> Path:
    """A copy of the cluster config whose provider joins workers to this head's GCS port."""
    config = yaml.safe_load(Path(source).read_text())
    config["provider"]["gcs_address"] = f"{LOOPBACK}:{ports.gcs}"
    path = Path(directory) / "fake_multinode.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def start_fake_cluster(
    *,
    num_cpus: int = 0,
    temp_dir: str | None = None,
    extra_env: dict[str, str] | None = None,
    progress=None,
    timeout: float = 120.0,
) -> LocalHead:
    """Start a head with the fake_multinode autoscaler on isolated loopback ports; return it.

    The head has `num_cpus` CPUs (0 by default, matching the config's head type), so any task
    that asks for a CPU makes the autoscaler launch a `cpu_worker` node.
    """
    temp_dir = temp_dir or tempfile.mkdtemp(prefix="rc-fake-")
    ports = HeadPorts.isolated()
    config = render_config(ports, temp_dir)
    head = LocalHead(
        ports=ports,
        num_cpus=num_cpus,
        temp_dir=temp_dir,
        workdir=str(REPO_ROOT),
        extra_args=[f"--autoscaling-config={config}"],
        extra_env={**FAKE_ENV, **(extra_env or {})},
    )
    head.start(progress=progress, timeout=timeout)
    return head
