"""`raycockpit k8s manifest`: a current KubeRay `RayCluster` (`ray.io/v1`) from a cluster-launcher
config (after `config migrate`) or from an older RayCluster manifest (`ray.io/v1alpha1`, as
tutorials still carry), and the rules of KubeRay's v1 CRD it is checked against.

Nothing is invented: what neither file says (CPU and memory of a machine type) becomes a
`<fill in: ...>` placeholder that `check_manifest` reports, so `kubectl apply` is never handed a
guess. The Ray version is the cluster's (the installed Ray's unless given).

Rules checked (`check_manifest`; KubeRay v1's CRD and its webhook's validation, no network here):
- apiVersion `ray.io/v1`, kind `RayCluster`, metadata.name a DNS-1123 label of <= 63 characters
  (KubeRay derives `<name>-head-svc` from it);
- spec.headGroupSpec with `rayStartParams` (a map of strings: the CRD types every value as a
  string) and a pod template with at least one container with an image; no `replicas` on the
  head group (v1 has none: one head);
- each workerGroupSpec: a unique non-empty groupName, integer `minReplicas` <= `replicas` <=
  `maxReplicas`, all >= 0, `rayStartParams` of strings, a container with an image;
- every container's resource requests and limits are strings or numbers (no placeholders left);
- `spec.rayVersion` matches the images' tag when they are `rayproject/ray:<version>...`.
"""

from __future__ import annotations

import re
from typing import Any

PLACEHOLDER = "<fill in: {}>"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
PORTS = [
    {"containerPort": 6379, "name": "gcs-server"},
    {"containerPort": 8265, "name": "dashboard"},
    {"containerPort": 10001, "name": "client"},
]


def installed_ray_version(default: str = "2.60.0") -> str:
    from importlib import metadata

    try:
        return metadata.version("ray")
    except metadata.PackageNotFoundError:
        return default


def dns_name(name: str) -> str:
    cleaned = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    return cleaned[:50].strip("-") or "raycluster"


def image(version: str, gpu: bool) -> str:
    return f"rayproject/ray:{version}-py311{'-gpu' if gpu else ''}"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _container(name: str, version: str, resources: dict[str, Any], what: str) -> dict[str, Any]:
    """A Ray container whose requests equal its limits (Ray counts what the pod may use)."""
    cpus, gpus = _number(resources.get("CPU")), _number(resources.get("GPU")) or 0
    memory = _number(resources.get("memory"))
    limits: dict[str, Any] = {
        "cpu": _quantity(cpus) if cpus is not None else PLACEHOLDER.format(f"CPUs of {what}"),
        "memory": (
            f"{int(memory)}"
            if memory is not None
            else PLACEHOLDER.format(f"memory of {what}, e.g. 8Gi")
        ),
    }
    if gpus:
        limits["nvidia.com/gpu"] = int(gpus)
    return {
        "name": name,
        "image": image(version, bool(gpus)),
        "resources": {"requests": dict(limits), "limits": limits},
    }


def _quantity(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{int(value * 1000)}m"


def _start_params(resources: dict[str, Any], head: bool) -> dict[str, str]:
    params: dict[str, str] = {"dashboard-host": "0.0.0.0"} if head else {}
    cpus, gpus = _number(resources.get("CPU")), _number(resources.get("GPU"))
    if cpus is not None:
        params["num-cpus"] = _quantity(cpus)
    if gpus:
        params["num-gpus"] = str(int(gpus))
    return params


def from_cluster_config(config: dict[str, Any], version: str) -> dict[str, Any]:
    """A RayCluster for a (modern) cluster-launcher config: its head type and worker types."""
    types = config.get("available_node_types") or {}
    if not isinstance(types, dict) or not types:
        raise ValueError(
            "no available_node_types: run `raycockpit config migrate` on this file first"
        )
    head_type = config.get("head_node_type") or next(iter(types))
    if head_type not in types:
        raise ValueError(f"head_node_type {head_type!r} is not one of available_node_types")

    def what(spec: dict[str, Any], type_name: str) -> str:
        node = spec.get("node_config") or {}
        kind = node.get("InstanceType") or node.get("machineType") or node.get("vmSize")
        return f"a {kind}" if kind else f"a {type_name} node"

    head_spec = types[head_type] or {}
    head_resources = head_spec.get("resources") or {}
    head_container = _container("ray-head", version, head_resources, what(head_spec, head_type))
    head_container["ports"] = PORTS
    workers = []
    for name, spec in types.items():
        if name == head_type or not isinstance(spec, dict):
            continue
        lo, hi = int(spec.get("min_workers", 0) or 0), spec.get("max_workers")
        hi = int(hi) if isinstance(hi, int) else int(config.get("max_workers", lo) or lo)
        resources = spec.get("resources") or {}
        workers.append(
            {
                "groupName": dns_name(str(name)),
                "replicas": lo,
                "minReplicas": lo,
                "maxReplicas": max(hi, lo),
                "rayStartParams": _start_params(resources, head=False),
                "template": {
                    "spec": {
                        "containers": [
                            _container("ray-worker", version, resources, what(spec, name))
                        ]
                    }
                },
            }
        )
    idle = config.get("idle_timeout_minutes")
    spec_out: dict[str, Any] = {
        "rayVersion": version,
        "enableInTreeAutoscaling": True,
        "autoscalerOptions": {
            "upscalingMode": "Default",
            "idleTimeoutSeconds": int(float(idle) * 60) if _number(idle) is not None else 60,
        },
        "headGroupSpec": {
            "serviceType": "ClusterIP",
            "rayStartParams": _start_params(head_resources, head=True),
            "template": {"spec": {"containers": [head_container]}},
        },
        "workerGroupSpecs": workers,
    }
    name = dns_name(str(config.get("cluster_name") or "raycluster"))
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayCluster",
        "metadata": {"name": name},
        "spec": spec_out,
    }


def upgrade_manifest(doc: dict[str, Any], version: str) -> dict[str, Any]:
    """An older RayCluster (ray.io/v1alpha1 or v1beta1) in v1's form: the head group's replicas
    dropped, rayStartParams added, images pinned to the cluster's Ray, worker groups given min
    and max replicas, GPU-only limits completed with CPU and memory placeholders."""
    spec = dict(doc.get("spec") or {})
    head = dict(spec.get("headGroupSpec") or {})
    head.pop("replicas", None)
    params = {str(k): str(v) for k, v in (head.get("rayStartParams") or {}).items()}
    params.setdefault("dashboard-host", "0.0.0.0")
    head["rayStartParams"] = params
    head["template"] = _pinned_template(head.get("template"), version, head=True)
    spec["headGroupSpec"] = head
    groups = []
    for group in spec.get("workerGroupSpecs") or []:
        group = dict(group)
        replicas = int(group.get("replicas", group.get("minReplicas", 0)) or 0)
        group.setdefault("replicas", replicas)
        group.setdefault("minReplicas", replicas)
        group.setdefault("maxReplicas", max(replicas, group["minReplicas"]))
        group["rayStartParams"] = {
            str(k): str(v) for k, v in (group.get("rayStartParams") or {}).items()
        }
        group["template"] = _pinned_template(group.get("template"), version, head=False)
        groups.append(group)
    spec["workerGroupSpecs"] = groups
    spec["rayVersion"] = version
    # the autoscaler in the head pod, scaling each group between its min and max replicas;
    # 60 s is KubeRay's own default idle timeout
    spec.setdefault("enableInTreeAutoscaling", True)
    spec.setdefault("autoscalerOptions", {"upscalingMode": "Default", "idleTimeoutSeconds": 60})
    meta = dict(doc.get("metadata") or {})
    meta["name"] = dns_name(str(meta.get("name") or "raycluster"))
    return {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": meta, "spec": spec}


def _pinned_template(template: Any, version: str, head: bool) -> dict[str, Any]:
    template = dict(template or {})
    pod = dict(template.get("spec") or {})
    containers = []
    for container in pod.get("containers") or []:
        container = dict(container)
        resources = dict(container.get("resources") or {})
        limits = dict(resources.get("limits") or {})
        gpu = bool(limits.get("nvidia.com/gpu"))
        old = str(container.get("image", ""))
        if not old or old.startswith("rayproject/ray"):
            container["image"] = image(version, gpu)
        for key, hint in (
            ("cpu", "CPUs for this pod"),
            ("memory", "memory for this pod, e.g. 8Gi"),
        ):
            limits.setdefault(key, PLACEHOLDER.format(hint))
        requests = dict(resources.get("requests") or {})
        for key, value in limits.items():
            requests.setdefault(key, value)
        container["resources"] = {"requests": requests, "limits": limits}
        if head:
            names = {p.get("containerPort") for p in container.get("ports") or []}
            container["ports"] = [
                *[
                    {**p, "name": p.get("name") or _port_name(p)}
                    for p in container.get("ports") or []
                ],
                *[p for p in PORTS if p["containerPort"] not in names],
            ]
        containers.append(container)
    pod["containers"] = containers
    template["spec"] = pod
    return template


def _port_name(port: dict[str, Any]) -> str:
    known = {p["containerPort"]: p["name"] for p in PORTS}
    return known.get(port.get("containerPort"), f"port-{port.get('containerPort')}")


def check_manifest(doc: Any) -> list[str]:
    """Problems against KubeRay v1's RayCluster rules (see the module's docstring), one line
    each with its path."""
    if not isinstance(doc, dict):
        return ["(top): not a mapping"]
    out = []
    if doc.get("apiVersion") != "ray.io/v1":
        out.append(f"apiVersion: {doc.get('apiVersion')!r} is not ray.io/v1")
    if doc.get("kind") != "RayCluster":
        out.append(f"kind: {doc.get('kind')!r} is not RayCluster")
    name = str((doc.get("metadata") or {}).get("name") or "")
    if not DNS_LABEL.match(name) or len(name) > 63:
        out.append(f"metadata.name: {name!r} is not a DNS-1123 label of <= 63 characters")
    spec = doc.get("spec") or {}
    head = spec.get("headGroupSpec")
    if not isinstance(head, dict):
        return [*out, "spec.headGroupSpec: missing"]
    if "replicas" in head:
        out.append("spec.headGroupSpec.replicas: v1 has no replicas for the head (one head)")
    out += _params("spec.headGroupSpec", head)
    out += _pod("spec.headGroupSpec", head, spec.get("rayVersion"))
    seen = set()
    for i, group in enumerate(spec.get("workerGroupSpecs") or []):
        at = f"spec.workerGroupSpecs[{i}]"
        name = group.get("groupName")
        if not name or name in seen:
            out.append(f"{at}.groupName: missing or not unique")
        seen.add(name)
        counts = [group.get(k) for k in ("minReplicas", "replicas", "maxReplicas")]
        if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
            out.append(f"{at}: minReplicas, replicas and maxReplicas must be integers >= 0")
        elif not counts[0] <= counts[1] <= counts[2]:
            out.append(f"{at}: minReplicas <= replicas <= maxReplicas does not hold {counts}")
        out += _params(at, group)
        out += _pod(at, group, spec.get("rayVersion"))
    return out


def _params(at: str, group: dict[str, Any]) -> list[str]:
    params = group.get("rayStartParams")
    if not isinstance(params, dict):
        return [f"{at}.rayStartParams: missing (a map of strings, may be empty)"]
    return [
        f"{at}.rayStartParams.{k}: {v!r} is not a string (the CRD types every value as one)"
        for k, v in params.items()
        if not isinstance(v, str)
    ]


def _pod(at: str, group: dict[str, Any], version: Any) -> list[str]:
    containers = ((group.get("template") or {}).get("spec") or {}).get("containers") or []
    if not containers:
        return [f"{at}.template.spec.containers: none"]
    out = []
    for j, container in enumerate(containers):
        where = f"{at}.template.spec.containers[{j}]"
        tag = str(container.get("image") or "")
        if not tag:
            out.append(f"{where}.image: missing")
        elif (
            tag.startswith("rayproject/ray:")
            and version
            and not tag.split(":", 1)[1].startswith(str(version))
        ):
            out.append(f"{where}.image: {tag} is not Ray {version} (spec.rayVersion)")
        for part in ("requests", "limits"):
            for key, value in ((container.get("resources") or {}).get(part) or {}).items():
                if isinstance(value, str) and value.startswith("<fill in"):
                    out.append(f"{where}.resources.{part}.{key}: a placeholder: {value}")
    return out
