"""Multi-node fixtures: ONE real three-node Ray cluster in network namespaces, shared by every test
in this folder.

The cluster (tests/multinode/cluster.py) is started on first use and stopped after the folder's
last test (package scope: in a whole-suite run it does not idle on the CPUs while the other
folders run), every process by pid; the namespaces and links are deleted. Skipped, with what is
missing, where the box cannot make network namespaces (not root, no `ip`), or lacks sshd or Ray.
"""

from __future__ import annotations

import pytest

from raycockpit.cockpit.local import find_ray_cli
from tests.e2e.sshd import find_sshd
from tests.multinode.cluster import MultiNodeCluster
from tests.multinode.netns import skip_reason


@pytest.fixture(scope="package")
def multinode():
    """A started MultiNodeCluster: head (with an sshd) and two workers, three ALIVE nodes."""
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    if find_sshd() is None:
        pytest.skip("no OpenSSH sshd here: apt-get install openssh-server (CI installs it)")
    if find_ray_cli() is None:
        pytest.skip("Ray is not installed here (./dev setup installs it)")
    cluster = MultiNodeCluster()
    cluster.start()
    try:
        yield cluster
    finally:
        problems = cluster.stop()
        if problems:
            raise RuntimeError("the multi-node cluster did not clean up: " + "; ".join(problems))
