"""`raycockpit config migrate`: an old cluster config (Ray 1.x tutorials: `head_node` /
`worker_nodes`, cluster-wide `min_workers`, `initial_workers`, `autoscaling_mode`,
`target_utilization_fraction`, `spot_price`) rewritten in Ray 2.60's form: `provider`,
`available_node_types` with `node_config`, `resources`, per-type `min_workers` / `max_workers`,
and `head_node_type`.

Round-trip YAML (ruamel.yaml: PyYAML drops comments) keeps the user's comments on the keys that
move. Nothing is invented: a machine setting that cannot be mapped to the chosen provider is
copied as it was and flagged in a comment, and what the old file never said (a region, the
machines of the local provider) becomes a placeholder (`<fill in: ...>`) that `config check`
then reports. Each dropped key leaves a comment saying why.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

PROVIDERS = ("aws", "gcp", "azure", "local")
PLACEHOLDER = "<fill in: {}>"

# old node keys -> each provider's node_config key (None: the provider has no such setting)
NODE_KEYS: dict[str, dict[str, str | None]] = {
    "instance_type": {
        "aws": "InstanceType",
        "gcp": "machineType",
        "azure": "vmSize",
        "local": None,
    },
    "image_id": {"aws": "ImageId", "gcp": None, "azure": None, "local": None},
}
DROPPED = {
    "initial_workers": "initial_workers dropped: Ray starts each node type's min_workers",
    "autoscaling_mode": "autoscaling_mode dropped: the autoscaler has one mode",
    "target_utilization_fraction": (
        "target_utilization_fraction ({}) dropped: no Ray 2.x meaning; the nearest setting is "
        "upscaling_speed"
    ),
}


def _yaml() -> YAML:
    y = YAML()  # round-trip: comments and key order kept
    y.preserve_quotes = True
    y.indent(mapping=2, sequence=4, offset=2)
    y.width = 100
    return y


def _comment_of(old: CommentedMap, key: str) -> str | None:
    """The end-of-line comment on `key` in `old`, as text without the leading '#'."""
    items = getattr(old, "ca", None)
    entry = items.items.get(key) if items is not None else None
    if not entry or len(entry) < 3 or entry[2] is None:
        return None
    text = entry[2].value.strip()
    return text.lstrip("#").strip() or None


def _set(target: CommentedMap, key: str, value: Any, comment: str | None = None) -> None:
    target[key] = value
    if comment:
        target.yaml_add_eol_comment(comment, key)


def _provider(old: Any, kind: str) -> CommentedMap:
    provider = CommentedMap()
    if isinstance(old, dict):
        for key, value in old.items():
            provider[key] = value
        return provider
    provider["type"] = kind
    if kind in ("aws", "gcp"):
        _set(provider, "region", PLACEHOLDER.format("region, e.g. us-west-2"), "placeholder")
    if kind == "gcp":
        _set(provider, "project_id", PLACEHOLDER.format("GCP project id"), "placeholder")
    if kind == "azure":
        _set(provider, "location", PLACEHOLDER.format("Azure location, e.g. westus2"))
        _set(provider, "resource_group", PLACEHOLDER.format("Azure resource group"))
    if kind == "local":
        _set(provider, "head_ip", PLACEHOLDER.format("the head machine's address"))
        provider["worker_ips"] = CommentedSeq([PLACEHOLDER.format("a worker machine's address")])
    return provider


def _node_type(old: Any, kind: str, notes: list[str], where: str) -> CommentedMap:
    """An old head_node / worker_nodes block -> a node type with its node_config."""
    spec = CommentedMap()
    config = CommentedMap()
    old = old if isinstance(old, dict) else {}
    for key, value in old.items():
        if key in ("min_workers", "max_workers", "resources"):
            continue
        comment = _comment_of(old, key)
        if key == "spot_price":
            _spot(config, value, kind, comment, notes, where)
            continue
        mapped = NODE_KEYS.get(key, {}).get(kind, key) if key in NODE_KEYS else key
        if mapped is None:
            flag = f"{key} copied as it was: no {kind} setting it maps to; check it"
            notes.append(f"{where}.node_config.{key}: {flag}")
            _set(config, key, value, "; ".join(filter(None, [comment, flag])))
        elif key == "instance_type" and kind != "aws":
            flag = f"an instance type of the old file: check it is a {kind} machine size"
            notes.append(f"{where}.node_config.{mapped}: {flag}")
            _set(config, mapped, value, "; ".join(filter(None, [comment, flag])))
        else:
            _set(config, mapped, value, comment)
    if kind != "local" or config:
        spec["node_config"] = config
    spec["resources"] = old.get("resources", CommentedMap())
    return spec


def _spot(config, price, kind: str, comment, notes: list[str], where: str) -> None:
    if kind == "aws":
        market = CommentedMap()
        market["MarketType"] = "spot"
        options = CommentedMap()
        options["MaxPrice"] = str(price)
        market["SpotOptions"] = options
        _set(config, "InstanceMarketOptions", market, comment or f"was spot_price: {price}")
    elif kind == "gcp":
        scheduling = CommentedMap()
        scheduling["preemptible"] = True
        _set(config, "scheduling", scheduling, f"was spot_price: {price} (GCP has no price)")
    elif kind == "azure":
        params = CommentedMap()
        params["priority"] = "Spot"
        params["billingProfileMaxPrice"] = price
        _set(config, "azure_arm_parameters", params, comment or f"was spot_price: {price}")
    else:
        notes.append(f"{where}.spot_price dropped: the local provider has no spot machines")


def migrate(text: str, kind: str = "aws") -> tuple[str, list[str]]:
    """The modern YAML of an old config's text, and notes on what was dropped or flagged."""
    if kind not in PROVIDERS:
        raise ValueError(f"--provider must be one of {', '.join(PROVIDERS)}")
    y = _yaml()
    old = y.load(text)
    if not isinstance(old, dict):
        raise ValueError("not a cluster config: a YAML mapping of keys is expected")
    notes: list[str] = []
    kind = str(old["provider"].get("type", kind)) if isinstance(old.get("provider"), dict) else kind
    new = CommentedMap()
    if getattr(old, "ca", None) is not None and old.ca.comment:
        new.ca.comment = old.ca.comment  # the file's opening comment
    legacy_min = old.get("min_workers")
    head_old, workers_old = old.get("head_node"), old.get("worker_nodes")
    for key, value in old.items():
        comment = _comment_of(old, key)
        if key in DROPPED:
            notes.append(DROPPED[key].format(value))
            continue
        if key in ("min_workers", "head_node", "worker_nodes"):
            continue  # moved into the node types below
        _set(new, key, value, comment)
    if "cluster_name" not in new:
        new.insert(0, "cluster_name", PLACEHOLDER.format("a name for the cluster"))
    if "provider" not in new:
        new["provider"] = _provider(None, kind)
        notes.append(f"provider: {kind}, with placeholders for what the file did not say")
        if kind == "local" and "auth" not in new:
            auth = CommentedMap()
            auth["ssh_user"] = PLACEHOLDER.format("the user to log in to your machines as")
            new["auth"] = auth
    if "target_utilization_fraction" in old and "upscaling_speed" not in new:
        _set(
            new,
            "upscaling_speed",
            1.0,
            "Ray's default; target_utilization_fraction has no Ray 2.x meaning",
        )
    if head_old is not None or workers_old is not None:
        types = CommentedMap()
        types["head"] = _node_type(head_old, kind, notes, "available_node_types.head")
        types["head"]["max_workers"] = 0
        worker = _node_type(workers_old, kind, notes, "available_node_types.worker")
        w = workers_old if isinstance(workers_old, dict) else {}
        lo = w.get("min_workers", legacy_min if legacy_min is not None else 0)
        hi = w.get("max_workers", old.get("max_workers", lo))
        worker["min_workers"] = lo
        worker["max_workers"] = hi
        if legacy_min is not None and "min_workers" in w and w["min_workers"] != legacy_min:
            notes.append(
                f"min_workers: the cluster-wide {legacy_min} dropped for worker_nodes' own "
                f"{w['min_workers']} (the per-type value is the one Ray reads)"
            )
        types["worker"] = worker
        new["available_node_types"] = types
        new["head_node_type"] = "head"
    elif legacy_min is not None:
        notes.append("min_workers dropped: set min_workers on each worker node type")
    out = io.StringIO()
    y.dump(new, out)
    header = "".join(f"# raycockpit config migrate: {note}\n" for note in notes)
    return header + out.getvalue(), notes
