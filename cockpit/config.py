"""Settings and the discovery of where to connect and which token to send. No UI, no Ray."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

DEFAULT_ADDRESS = "http://127.0.0.1:8265"
REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_ENV = "RAYCOCKPIT_CONFIG"


def default_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "raycockpit" / "cockpit.yaml"


@dataclass(frozen=True)
class Settings:
    """What the user can set in cockpit.yaml (see configs/cockpit.yaml) or on the command line."""

    address: str | None = None
    ssh: str | None = None  # [user@]host[:port]: reach a head whose dashboard is on its loopback
    ssh_key: str | None = None
    ssh_options: tuple[str, ...] = ()  # extra ssh arguments, e.g. ["-F", "~/.ssh/other_config"]
    remote_dashboard: int = 8265  # the dashboard port on the far side of the tunnel
    refresh: float = 2.0
    request_timeout: float = 10.0
    log_max_lines: int = 20_000
    keep_cluster: bool = False
    readonly: bool = False
    keys: dict[str, str] = field(default_factory=dict)  # binding id -> key(s), for remapping
    workloads_dirs: tuple[str, ...] = ()

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        """Read the YAML settings file; a missing file gives the defaults."""
        path = path or Path(os.environ.get(CONFIG_ENV) or default_config_path())
        if not path.exists():
            return cls()
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ValueError(f"cannot read settings {path}: {exc}") from None
        if not isinstance(raw, dict):
            raise ValueError(f"settings {path} must be a mapping of keys to values")
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"settings {path}: unknown keys {', '.join(unknown)}")
        for key in ("workloads_dirs", "ssh_options"):
            if key in raw:
                raw[key] = tuple(str(v) for v in raw[key] or ())
        return cls(**raw)


def address_from_env(env: dict[str, str] | None = None) -> str | None:
    """RAY_API_SERVER_ADDRESS, or RAY_ADDRESS when it is an http(s) URL (else it names a GCS)."""
    env = os.environ if env is None else env
    if env.get("RAY_API_SERVER_ADDRESS"):
        return normalise_address(env["RAY_API_SERVER_ADDRESS"])
    ray_address = env.get("RAY_ADDRESS", "")
    if ray_address.startswith(("http://", "https://")):
        return normalise_address(ray_address)
    return None


def normalise_address(address: str) -> str:
    address = address.strip().rstrip("/")
    if "://" not in address:
        address = "http://" + address
    return address


def discover_token(env: dict[str, str] | None = None) -> str | None:
    """The auth token, from RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, or ~/.ray/auth_token. Never logged."""
    env = os.environ if env is None else env
    if env.get("RAY_AUTH_TOKEN"):
        return env["RAY_AUTH_TOKEN"].strip()
    candidates = []
    if env.get("RAY_AUTH_TOKEN_PATH"):
        candidates.append(Path(env["RAY_AUTH_TOKEN_PATH"]).expanduser())
    candidates.append(Path.home() / ".ray" / "auth_token")
    for path in candidates:
        try:
            token = path.read_text().strip()
        except OSError:
            continue
        if token:
            return token
    return None
