"""Wall time of `raycockpit --once` against `ray status` on the same live cluster.

Both run alternately, several rounds, against one loopback head this script starts and stops.
Prints the median of each and the ratio; target: the cockpit at or under 0.35x of `ray status`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import median, own_head, summary  # noqa: E402

from raycockpit.cockpit.local import ray_environment  # noqa: E402

BIN = Path(sys.executable).parent


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=120, cwd=str(Path.home())
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(
            f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[-400:]}"
        )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    head = own_head()
    try:
        env = ray_environment()
        cockpit = [str(BIN / "raycockpit"), "--once", "--address", head.dashboard_url]
        status = [str(BIN / "ray"), "status", "--address", head.gcs_address]
        timed(cockpit, env), timed(status, env)  # warm the page cache for both
        ours, theirs = [], []
        for _ in range(args.rounds):
            ours.append(timed(cockpit, env))
            theirs.append(timed(status, env))
        m_ours, m_theirs = median(ours), median(theirs)
        print(f"raycockpit --once: median {m_ours:.3f}s  runs {' '.join(f'{t:.2f}' for t in ours)}")
        runs_theirs = " ".join(f"{t:.2f}" for t in theirs)
        print(f"ray status:        median {m_theirs:.3f}s  runs {runs_theirs}")
        summary("once_seconds", m_ours, "s", "<=", 0.35 * m_theirs)
        summary("once_vs_ray_status_ratio", m_ours / m_theirs, "x", "<=", 0.35)
    finally:
        head.stop()


if __name__ == "__main__":
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    main()
