"""A managed `kubectl port-forward` to a KubeRay cluster's head service: the `k8s` context kind.

`contexts: {prod: {k8s: ray-cluster, k8s_namespace: ml, kube_context: gke-prod}}` reaches the
dashboard of RayCluster `ray-cluster` through `kubectl port-forward svc/ray-cluster-head-svc
LOCAL:8265` (KubeRay names the head's service `<cluster>-head-svc`; a value with a slash, e.g.
`svc/my-svc` or `pod/head-0`, is used as it is). It is the SSH tunnel's sibling: the same
open / watch / re-open by its owner, the same fixed local port, one readable line when it fails.
kubectl, not a Kubernetes client library, for the reason ssh is the system's: the user's
kubeconfig, contexts and credential plugins work exactly as on their command line.
"""

from __future__ import annotations

import shutil

from raycockpit.cockpit.errors import TunnelError
from raycockpit.cockpit.local import LOOPBACK
from raycockpit.cockpit.tunnel import CONNECT_TIMEOUT_S, DEFAULT_REMOTE_DASHBOARD, SshTunnel


def head_service(name: str) -> str:
    return name if "/" in name else f"svc/{name}-head-svc"


class KubectlForward(SshTunnel):
    def __init__(
        self,
        cluster: str,
        *,
        namespace: str | None = None,
        kube_context: str | None = None,
        remote_port: int = DEFAULT_REMOTE_DASHBOARD,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        kubectl: str | None = None,
    ) -> None:
        super().__init__(None, remote_port=remote_port, connect_timeout=connect_timeout)  # type: ignore[arg-type]
        self.service = head_service(cluster)
        self.namespace, self.kube_context = namespace, kube_context
        self.kubectl = kubectl or shutil.which("kubectl")
        self.target = f"k8s {namespace + '/' if namespace else ''}{self.service}"  # type: ignore[assignment]

    @property
    def label(self) -> str:
        return f"{self.target} (dashboard :{self.remote_port}, via kubectl port-forward)"

    def command(self) -> list[str]:
        cmd = [self.kubectl or "kubectl", "port-forward", "--address", LOOPBACK]
        if self.namespace:
            cmd += ["--namespace", self.namespace]
        if self.kube_context:
            cmd += ["--context", self.kube_context]
        return [*cmd, self.service, f"{self.local_port}:{self.remote_port}"]

    def _check_client(self) -> None:
        if self.kubectl is None:
            raise TunnelError(
                "no `kubectl` on PATH",
                hint="install kubectl and a kubeconfig for the cluster (kubectl get pods works)",
            )

    def _explain(self, stderr: str) -> tuple[str, str]:
        lines = [line.strip() for line in stderr.splitlines() if line.strip()]
        last = lines[-1] if lines else "kubectl port-forward ended"
        if "not found" in last.lower():
            hint = f"check the name: kubectl get svc {self.service.split('/')[-1]}"
        elif "forbidden" in last.lower() or "unauthorized" in last.lower():
            hint = "your kubeconfig's user may not port-forward here: kubectl auth can-i"
        else:
            hint = f"try `{' '.join(self.command()[:-1])} 8265:8265` by hand to see why"
        return f"kubectl port-forward to {self.target} failed: {last[:200]}", hint

    def _no_link(self) -> tuple[str, str]:
        return (
            f"kubectl: no forward to {self.target} after {self.connect_timeout + 5:.0f} s",
            "check the cluster's head pod is Running: kubectl get pods",
        )
