"""The cluster-config doctor: a `ray up` YAML checked against the schema of the installed Ray (or
the copy shipped with raycockpit, its version said, when Ray is not installed here) plus the rules
`ray up` applies beyond the schema, each problem one line: the key path, what is wrong, the fix.

Keys of older Ray versions that tutorials still carry are recognised by name and given their
modern form (before the schema's own, less helpful, "additional properties" message):
top-level `min_workers` / `initial_workers` / `autoscaling_mode` / `target_utilization_fraction`,
`head_node` / `worker_nodes` (-> `available_node_types` + `head_node_type`), and `spot_price`
(-> the provider's own market options, e.g. AWS `InstanceMarketOptions`).

Ray is never imported here (the core stays free of it): the installed schema is found by the
package's location on disk.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SHIPPED_SCHEMA = Path(__file__).resolve().parent.parent / "configs" / "ray-schema-2.60.0.json"
SHIPPED_VERSION = "2.60.0"

# legacy top-level key -> (what is wrong, the fix)
LEGACY_TOP = {
    "min_workers": (
        "a cluster-wide minimum is no longer read (Ray 1.x)",
        "give each node type its own min_workers under available_node_types",
    ),
    "initial_workers": (
        "no longer exists: Ray starts each node type's min_workers and scales from there",
        "delete it; raise the node types' min_workers to start with more",
    ),
    "autoscaling_mode": (
        "no longer exists (the autoscaler has one mode)",
        "delete it; upscaling_speed sets how fast it scales up",
    ),
    "target_utilization_fraction": (
        "has no Ray 2.x meaning: the autoscaler scales on resource demand, not utilisation",
        "delete it; the nearest setting is upscaling_speed (how many nodes at once, as a "
        "multiple of the nodes running), with idle_timeout_minutes for scaling down",
    ),
    "head_node": (
        "the head's node config now lives in a node type",
        "move it to available_node_types.<head type>.node_config and name that type in "
        "head_node_type",
    ),
    "worker_nodes": (
        "the workers' node config now lives in node types",
        "move it to available_node_types.<worker type>.node_config with that type's "
        "min_workers and max_workers",
    ),
}
# legacy keys inside a node config: where they belong now, by provider
SPOT_FIX = {
    "aws": "set node_config.InstanceMarketOptions: {MarketType: spot, SpotOptions: "
    "{MaxPrice: '<price>'}}",
    "gcp": "set node_config.scheduling: {preemptible: true} (GCP has no spot price)",
    "azure": "set node_config.azure_arm_parameters: {priority: Spot, billingProfileMaxPrice: "
    "<price>}",
}


@dataclass(frozen=True, slots=True)
class Problem:
    path: str  # the key path, e.g. available_node_types.gpu.max_workers
    what: str
    fix: str

    def line(self) -> str:
        return f"{self.path or '(top)'}: {self.what}; fix: {self.fix}"


@dataclass(frozen=True, slots=True)
class Schema:
    data: dict[str, Any]
    source: str  # where it came from, said in the report

    @classmethod
    def find(cls) -> Schema:
        """The installed Ray's ray/autoscaler/ray-schema.json, else the shipped copy."""
        installed = _installed_schema()
        if installed is not None:
            version = _installed_ray_version()
            data = json.loads(installed.read_text())
            return cls(data, f"the installed Ray {version} ({installed})")
        data = json.loads(SHIPPED_SCHEMA.read_text())
        return cls(data, f"Ray {SHIPPED_VERSION}'s schema shipped with raycockpit (no Ray here)")


def _installed_schema() -> Path | None:
    try:
        spec = importlib.util.find_spec("ray")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "autoscaler" / "ray-schema.json"
        if path.is_file():
            return path
    return None


def _installed_ray_version() -> str:
    """The version from the installed distribution's metadata, or '?'."""
    from importlib import metadata

    try:
        return metadata.version("ray")
    except metadata.PackageNotFoundError:
        return "?"


class Unreadable(Exception):
    """The file cannot be read or is not a YAML mapping (exit 2)."""


def load(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise Unreadable(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise Unreadable(f"{path} is not YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise Unreadable(f"{path} is not a cluster config: a YAML mapping of keys is expected")
    return data


def _path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _provider_type(config: dict[str, Any]) -> str:
    provider = config.get("provider")
    return str(provider.get("type", "")) if isinstance(provider, dict) else ""


def legacy_problems(config: dict[str, Any]) -> list[Problem]:
    problems = [Problem(key, what, fix) for key, (what, fix) in LEGACY_TOP.items() if key in config]
    kind = _provider_type(config)
    spot_fix = SPOT_FIX.get(kind) or "by provider: " + " | ".join(
        f"{name}: {fix.removeprefix('set ')}" for name, fix in SPOT_FIX.items()
    )
    places: list[tuple[str, Any]] = [(k, config.get(k)) for k in ("head_node", "worker_nodes")]
    types = config.get("available_node_types")
    if isinstance(types, dict):
        places += [(f"available_node_types.{n}", t) for n, t in types.items()]
    for where, node in places:
        if not isinstance(node, dict):
            continue
        for inner in (node, node.get("node_config")):
            if isinstance(inner, dict) and "spot_price" in inner:
                at = where if inner is node else f"{where}.node_config"
                problems.append(
                    Problem(f"{at}.spot_price", "spot_price is not a Ray setting", spot_fix)
                )
    return problems


def schema_problems(config: dict[str, Any], schema: Schema) -> list[Problem]:
    import jsonschema

    validator = jsonschema.Draft7Validator(schema.data)
    explained = set(LEGACY_TOP)
    problems = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path)):
        path = _path(error.absolute_path)
        if error.validator == "additionalProperties":
            extra = [
                k for k in (error.instance or {}) if k not in error.schema.get("properties", {})
            ]
            extra = [k for k in extra if not (path == "" and k in explained)]
            if path.endswith("node_config") or not extra:
                continue  # node_config is the provider's: checked by the cloud, not here
            for key in extra:
                problems.append(
                    Problem(
                        _path([*error.absolute_path, key]),
                        "is not a key Ray knows here",
                        "delete it, or check its spelling against Ray's cluster config reference",
                    )
                )
        elif error.validator == "required":
            missing = str(error.message).split("'")[1] if "'" in error.message else "?"
            problems.append(
                Problem(
                    _path([*error.absolute_path, missing]),
                    "is required",
                    REQUIRED_FIX.get(missing, f"add {missing}"),
                )
            )
        else:
            problems.append(
                Problem(path, error.message, "see Ray's cluster config reference for this key")
            )
    return problems


REQUIRED_FIX = {
    "provider": "add provider: {type: aws, region: us-west-2} (or gcp / azure, or type: local "
    "with head_ip and worker_ips for your own machines)",
    "cluster_name": "add cluster_name: <a name>",
    "type": "name the provider: aws, gcp, azure, local, kuberay, ...",
    "node_config": "add node_config: {} (the provider's machine settings, e.g. InstanceType)",
    "resources": "add resources: {} (Ray detects CPUs and GPUs of the cloud's types)",
    "max_workers": "add max_workers: <the most nodes of this type>",
}


def semantic_problems(config: dict[str, Any]) -> list[Problem]:
    """The rules `ray up` applies beyond the schema. They run whatever the schema said, so a value
    of the wrong type (which the schema reports) is stepped over here, never a crash."""
    problems = []
    types = config.get("available_node_types")
    kind = _provider_type(config)
    provider = config.get("provider") if isinstance(config.get("provider"), dict) else {}
    if isinstance(types, dict) and types:
        head = config.get("head_node_type")
        if head is None:
            problems.append(
                Problem(
                    "head_node_type",
                    "is required with available_node_types",
                    f"name the head's type: one of {', '.join(sorted(map(str, types)))}",
                )
            )
        elif not isinstance(head, str) or head not in types:
            problems.append(
                Problem(
                    "head_node_type",
                    f"{head!r} is not one of available_node_types",
                    f"use one of {', '.join(sorted(map(str, types)))}",
                )
            )
        mins = 0
        for name, spec in types.items():
            if not isinstance(spec, dict):
                continue
            lo, hi = spec.get("min_workers", 0), spec.get("max_workers")
            at = f"available_node_types.{name}"
            if isinstance(lo, int) and isinstance(hi, int) and lo > hi:
                problems.append(
                    Problem(
                        f"{at}.min_workers",
                        f"{lo} is more than max_workers {hi}",
                        "make min_workers <= max_workers",
                    )
                )
            if isinstance(lo, int) and name != head:
                mins += lo
            resources = spec.get("resources")
            for res, value in (resources if isinstance(resources, dict) else {}).items():
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    problems.append(
                        Problem(
                            f"{at}.resources.{res}",
                            f"{value!r} is not a count >= 0",
                            "give a number (CPU: 4, GPU: 1, memory in bytes)",
                        )
                    )
        top = config.get("max_workers")
        if isinstance(top, int) and mins > top:
            problems.append(
                Problem(
                    "max_workers",
                    f"{top} is less than the node types' min_workers together ({mins})",
                    f"raise max_workers to at least {mins}, or lower the types' min_workers",
                )
            )
    elif kind and kind != "local" and "available_node_types" not in config:
        problems.append(
            Problem(
                "available_node_types",
                "is missing: Ray would use the provider's defaults, not your machines",
                "add available_node_types with a head type and worker types (node_config, "
                "resources, min_workers, max_workers) and head_node_type",
            )
        )
    if kind == "local":
        if not provider.get("head_ip") and not provider.get("coordinator_address"):
            problems.append(
                Problem(
                    "provider.head_ip",
                    "is required by the local provider",
                    "add head_ip: <the head machine's address> and worker_ips: [...]",
                )
            )
        auth = config.get("auth") if isinstance(config.get("auth"), dict) else {}
        if not auth.get("ssh_user"):
            problems.append(
                Problem("auth.ssh_user", "is required to reach your machines", "add ssh_user")
            )
    needs = {"aws": ("region",), "gcp": ("region", "project_id"), "azure": ("location",)}
    for key in needs.get(kind, ()):
        if not provider.get(key):
            problems.append(
                Problem(
                    f"provider.{key}", "is missing", f"add {key} (the {kind} provider needs it)"
                )
            )
    auth = config.get("auth")
    if isinstance(auth, dict) and auth.get("ssh_private_key"):
        key = Path(str(auth["ssh_private_key"])).expanduser()
        if not key.is_file():
            problems.append(
                Problem(
                    "auth.ssh_private_key",
                    f"{key} does not exist here",
                    "point it at your private key file, or delete it to use the provider's",
                )
            )
    docker = config.get("docker")
    if isinstance(docker, dict) and docker:
        if not (docker.get("image") or (docker.get("head_image") and docker.get("worker_image"))):
            problems.append(
                Problem("docker.image", "is missing", "add image: rayproject/ray:2.60.0-py311")
            )
        if not docker.get("container_name"):
            problems.append(
                Problem("docker.container_name", "is missing", "add container_name: ray_container")
            )
    return problems


def manifest_problems(config: dict[str, Any]) -> list[Problem] | None:
    """A Kubernetes manifest is not a `ray up` config: one line that says so (None otherwise)."""
    if "apiVersion" not in config or "kind" not in config:
        return None
    api, kind = str(config.get("apiVersion")), str(config.get("kind"))
    problems = [
        Problem(
            "kind",
            f"this is a Kubernetes manifest ({kind} {api}), not a ray up cluster config",
            "apply it with kubectl where KubeRay runs; ray up reads provider / "
            "available_node_types configs",
        )
    ]
    if api.startswith("ray.io/") and api != "ray.io/v1":
        problems.append(
            Problem(
                "apiVersion",
                f"{api} is no longer served by current KubeRay",
                "use apiVersion: ray.io/v1 (and check the spec against its RayCluster CRD)",
            )
        )
    return problems


def placeholder_problems(config: Any, at: list[Any] | None = None) -> list[Problem]:
    """Values `config migrate` could not know and left as `<fill in: ...>`."""
    at = at or []
    if isinstance(config, dict):
        items = list(config.items())
    elif isinstance(config, list):
        items = list(enumerate(config))
    else:
        if isinstance(config, str) and config.startswith("<fill in"):
            what = config.removeprefix("<fill in:").rstrip(">").strip()
            return [Problem(_path(at), "is a placeholder left by config migrate", f"give {what}")]
        return []
    return [p for key, value in items for p in placeholder_problems(value, [*at, key])]


def check(config: dict[str, Any], schema: Schema) -> list[Problem]:
    """Every problem, legacy keys first, then the schema's, then `ray up`'s own rules (which run
    whether or not the schema found problems); one line per key path: a rule's problem at a path
    the schema already reported is left out."""
    manifest = manifest_problems(config)
    if manifest is not None:
        return manifest
    seen: set[tuple[str, str]] = set()
    out = []
    found = placeholder_problems(config) + legacy_problems(config)
    for problem in found + schema_problems(config, schema):
        if (problem.path, problem.what) not in seen:
            seen.add((problem.path, problem.what))
            out.append(problem)
    for problem in semantic_problems(config):
        if (problem.path, problem.what) not in seen and not any(
            p.path == problem.path for p in out
        ):
            seen.add((problem.path, problem.what))
            out.append(problem)
    return out


@dataclass(frozen=True, slots=True)
class Report:
    """What `config check` prints: where the schema came from, a line per problem, the end."""

    lines: list[str]
    problems: int
    unreadable: str = ""  # set when the file could not be read (exit 2)

    @property
    def exit_code(self) -> int:
        return 2 if self.unreadable else (1 if self.problems else 0)


def report(path: Path) -> Report:
    try:
        config = load(path)
    except Unreadable as exc:
        return Report([str(exc)], 0, unreadable=str(exc))
    schema = Schema.find()
    problems = check(config, schema)
    lines = [f"{path}: checked against {schema.source}"]
    lines += [f"  {problem.line()}" for problem in problems]
    n = len(problems)
    lines.append(f"{n} problem{'s' * (n != 1)}" if n else "no problems")
    return Report(lines, n)
