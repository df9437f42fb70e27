"""Workload specs (configs/workloads/*.yaml and user folders) + form values -> a validated job
request.

Values reach the entrypoint as separate, quoted arguments (`shlex.join`), so a value such as
`x; rm -rf ~` is passed literally, never run by the shell that Ray starts the entrypoint with.
A spec is the form's schema; `configs/workloads/<name>.yaml` and the workload's own parser agree
(tests/unit/test_workload_specs.py).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from raycockpit.cockpit.config import REPO_ROOT
from raycockpit.cockpit.format import exact

BUNDLED_DIR = REPO_ROOT / "configs" / "workloads"
TYPES = ("int", "float", "bool", "str", "choice")
PATH_KINDS = ("file", "dir")
META_SPEC = "raycockpit.spec"
META_VALUES = "raycockpit.values"
META_OPTIONS = "raycockpit.options"
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MEMORY_UNITS = {
    "": 1,
    "b": 1,
    "k": 2**10,
    "kb": 2**10,
    "kib": 2**10,
    "m": 2**20,
    "mb": 2**20,
    "mib": 2**20,
    "g": 2**30,
    "gb": 2**30,
    "gib": 2**30,
    "t": 2**40,
    "tb": 2**40,
    "tib": 2**40,
}


class SpecError(ValueError):
    """A spec file that cannot be used; the message names the file and what to fix."""


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: str
    default: Any
    help: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    path: str = ""  # a str that names a "file" or "dir" the program reads (checked before submit)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")

    def text(self, value: Any) -> str:
        """A value as the form shows and the command line passes it."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if value is None:
            return ""
        return str(value)

    def validate(self, raw: str) -> tuple[Any, str]:
        """(value, "") when `raw` is valid, else (None, the reason in a few words)."""
        raw = raw.strip() if self.type != "str" else raw
        if self.type == "int":
            try:
                value: Any = int(raw)
            except ValueError:
                return None, "must be a whole number" if raw else "is required"
            return self._in_range(value)
        if self.type == "float":
            try:
                value = float(raw)
            except ValueError:
                return None, "must be a number" if raw else "is required"
            if not math.isfinite(value):
                return None, "must be a finite number"
            return self._in_range(value)
        if self.type == "bool":
            if raw.lower() in ("true", "false"):
                return raw.lower() == "true", ""
            return None, "must be true or false"
        if self.type == "choice":
            if raw in self.choices:
                return raw, ""
            return None, "must be one of " + ", ".join(self.choices)
        if "\x00" in raw or "\n" in raw:
            return None, "must be one line"
        return raw, ""

    def _in_range(self, value: float) -> tuple[Any, str]:
        if self.min is not None and value < self.min:
            return None, f"must be at least {exact(self.min)}"
        if self.max is not None and value > self.max:
            return None, f"must be at most {exact(self.max)}"
        return value, ""


@dataclass(frozen=True)
class WorkloadSpec:
    name: str
    title: str
    description: str
    params: tuple[ParamSpec, ...]
    presets: dict[str, dict[str, Any]]
    module: str = ""  # python -m MODULE ...
    entrypoint: str = ""  # or a command prefix of the user's own, e.g. "python my_job.py"
    working_dir: Path | None = None  # folder shipped as working_dir
    include: tuple[str, ...] | None = None  # only these entries of working_dir (None: all)
    source: Path | None = None
    bundled: bool = False

    def param(self, name: str) -> ParamSpec:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def defaults(self) -> dict[str, str]:
        return {p.name: p.text(p.default) for p in self.params}

    def preset_values(self, preset: str) -> dict[str, str]:
        values = self.defaults()
        values.update({k: self.param(k).text(v) for k, v in self.presets[preset].items()})
        return values

    def command(self) -> list[str]:
        return ["python", "-m", self.module] if self.module else shlex.split(self.entrypoint)


def _param(raw: Any, where: str) -> ParamSpec:
    if not isinstance(raw, dict) or not raw.get("name"):
        raise SpecError(f"{where}: every param needs a name")
    name, kind = str(raw["name"]), str(raw.get("type", "str"))
    if kind not in TYPES:
        raise SpecError(f"{where}: param {name} has type {kind!r}; use one of {', '.join(TYPES)}")
    choices = tuple(str(c) for c in raw.get("choices") or ())
    if kind == "choice" and not choices:
        raise SpecError(f"{where}: param {name} is a choice without choices")
    path = str(raw.get("path") or "")
    if path and (kind != "str" or path not in PATH_KINDS):
        raise SpecError(
            f"{where}: param {name} has path {path!r}; use path: file or path: dir on a str"
        )
    spec = ParamSpec(
        name=name,
        type=kind,
        default=raw.get("default"),
        help=str(raw.get("help", "")),
        min=raw.get("min"),
        max=raw.get("max"),
        choices=choices,
        path=path,
    )
    _, error = spec.validate(spec.text(spec.default))
    if error and not (kind in ("int", "float") and spec.default is None):
        raise SpecError(f"{where}: default of {name} {error}")
    return spec


def load_spec(path: Path, *, bundled: bool = False) -> WorkloadSpec:
    where = str(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"{where}: cannot read: {exc}".splitlines()[0]) from None
    if not isinstance(raw, dict) or not raw.get("name"):
        raise SpecError(f"{where}: a spec needs at least 'name' and 'module' or 'entrypoint'")
    if not raw.get("module") and not raw.get("entrypoint"):
        raise SpecError(f"{where}: give 'module' (python -m ...) or 'entrypoint' (a command)")
    params = tuple(_param(p, where) for p in raw.get("params") or ())
    names = {p.name for p in params}
    presets: dict[str, dict[str, Any]] = {}
    for preset, values in (raw.get("presets") or {}).items():
        unknown = set(values or {}) - names
        if unknown:
            raise SpecError(
                f"{where}: preset {preset} sets unknown params {', '.join(sorted(unknown))}"
            )
        presets[str(preset)] = dict(values or {})
    if bundled:
        working_dir, include = REPO_ROOT, ("workloads",)
    else:
        wd = raw.get("working_dir")
        working_dir = (path.parent / str(wd)).resolve() if wd else None
        include = None
    return WorkloadSpec(
        name=str(raw["name"]),
        title=str(raw.get("title") or raw["name"]),
        description=str(raw.get("description", "")).strip(),
        params=params,
        presets=presets,
        module=str(raw.get("module") or ""),
        entrypoint=str(raw.get("entrypoint") or ""),
        working_dir=working_dir,
        include=include,
        source=path,
        bundled=bundled,
    )


def load_specs(
    user_dirs: list[Path] | tuple[Path, ...] = (),
) -> tuple[list[WorkloadSpec], list[str]]:
    """The bundled specs, then the user's; a broken file is reported, never fatal."""
    specs: list[WorkloadSpec] = []
    problems: list[str] = []
    sources = [(p, True) for p in sorted(BUNDLED_DIR.glob("*.yaml"))]
    for folder in user_dirs:
        folder = Path(folder).expanduser()
        if folder.is_dir():
            sources += [(p, False) for p in sorted(folder.glob("*.yaml"))]
    seen: set[str] = set()
    for path, bundled in sources:
        try:
            spec = load_spec(path, bundled=bundled)
        except SpecError as exc:
            problems.append(str(exc))
            continue
        if spec.name in seen:
            problems.append(f"{path}: a workload named {spec.name!r} exists already; rename it")
            continue
        seen.add(spec.name)
        specs.append(spec)
    return specs, problems


# -- the job part of a form: resources, env vars, pip, metadata --------------------------------


def parse_env_vars(text: str) -> tuple[dict[str, str], str]:
    """`KEY=value KEY2="with spaces"` (shell-style words) -> dict, or an error."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        return {}, f"cannot split: {exc}"
    env: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not ENV_NAME.match(key):
            return {}, f"{word!r} is not KEY=VALUE"
        env[key] = value
    return env, ""


def parse_pip(text: str) -> tuple[list[str], str]:
    try:
        packages = shlex.split(text)
    except ValueError as exc:
        return [], f"cannot split: {exc}"
    for package in packages:
        if package.startswith("-"):
            return [], f"{package!r}: give package names or requirement specifiers, not pip options"
    return packages, ""


def parse_amount(text: str, what: str) -> tuple[float | None, str]:
    text = text.strip()
    if not text:
        return None, ""
    try:
        value = float(text)
    except ValueError:
        return None, f"{what} must be a number"
    if not math.isfinite(value) or value < 0:
        return None, f"{what} must be zero or more"
    return value, ""


def parse_memory(text: str) -> tuple[int | None, str]:
    text = text.strip().lower().replace(" ", "")
    if not text:
        return None, ""
    match = re.fullmatch(r"([\d.]+)([a-z]*)", text)
    if not match or match[2] not in MEMORY_UNITS:
        return None, "memory must be like 512MiB, 2GiB or a number of bytes"
    try:
        return int(float(match[1]) * MEMORY_UNITS[match[2]]), ""
    except ValueError:
        return None, "memory must be like 512MiB, 2GiB or a number of bytes"


@dataclass(frozen=True)
class JobOptions:
    """What every launch form has besides the workload's own parameters (all as typed)."""

    num_cpus: str = ""
    num_gpus: str = ""
    memory: str = ""
    env_vars: str = ""
    pip: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "num_cpus": self.num_cpus,
            "num_gpus": self.num_gpus,
            "memory": self.memory,
            "env_vars": self.env_vars,
            "pip": self.pip,
        }


@dataclass(frozen=True)
class JobRequest:
    """A validated launch: what is shipped and what is posted."""

    entrypoint: str
    spec_name: str
    values: dict[str, str]
    options: JobOptions
    env_vars: dict[str, str] = field(default_factory=dict)
    pip: tuple[str, ...] = ()
    num_cpus: float | None = None
    num_gpus: float | None = None
    memory: int | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    package_root: Path | None = None
    package_include: tuple[str, ...] | None = None
    paths: tuple[tuple[str, str, str], ...] = ()  # (label, value, file|dir) the program reads

    def body(self, working_dir_uri: str | None) -> dict[str, Any]:
        """The JSON of POST /api/jobs/ (unset fields left out: unknown keys give 400)."""
        runtime_env: dict[str, Any] = {}
        if working_dir_uri:
            runtime_env["working_dir"] = working_dir_uri
        if self.env_vars:
            runtime_env["env_vars"] = dict(self.env_vars)
        if self.pip:
            runtime_env["pip"] = list(self.pip)
        return job_body(
            self.entrypoint,
            runtime_env=runtime_env,
            metadata=self.metadata,
            num_cpus=self.num_cpus,
            num_gpus=self.num_gpus,
            memory=self.memory,
        )

    def ray_job_submit(self, address: str) -> str:
        """The equivalent `ray job submit` command line (it ships the same files)."""
        words = ["ray", "job", "submit", "--address", address]
        runtime_env = dict(self.body(None).get("runtime_env", {}))
        if self.package_root is not None:
            words += ["--working-dir", str(self.package_root)]
            if self.package_include is not None:
                others = sorted(
                    p.name
                    for p in self.package_root.iterdir()
                    if p.name not in self.package_include
                )
                runtime_env["excludes"] = [f"/{name}" for name in others]
        if runtime_env:
            words += ["--runtime-env-json", json.dumps(runtime_env, sort_keys=True)]
        if self.metadata:
            words += ["--metadata-json", json.dumps(self.metadata, sort_keys=True)]
        for flag, value in (
            ("--entrypoint-num-cpus", self.num_cpus),
            ("--entrypoint-num-gpus", self.num_gpus),
            ("--entrypoint-memory", self.memory),
        ):
            if value is not None:
                words += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
        return shlex.join(words) + " -- " + self.entrypoint


def job_body(
    entrypoint: str,
    *,
    runtime_env: dict[str, Any] | None = None,
    metadata: dict[str, str] | None = None,
    num_cpus: float | None = None,
    num_gpus: float | None = None,
    memory: int | None = None,
) -> dict[str, Any]:
    """The JSON of POST /api/jobs/, the one place it is built: an empty runtime_env or metadata and
    unset entrypoint resources are left out (the dashboard answers 400 to keys it does not know)."""
    body: dict[str, Any] = {"entrypoint": entrypoint}
    if runtime_env:
        body["runtime_env"] = dict(runtime_env)
    if metadata:
        body["metadata"] = dict(metadata)
    for key, value in (
        ("entrypoint_num_cpus", num_cpus),
        ("entrypoint_num_gpus", num_gpus),
        ("entrypoint_memory", memory),
    ):
        if value is not None:
            body[key] = value
    return body


def _options(options: JobOptions, errors: dict[str, str]) -> dict[str, Any]:
    env, error = parse_env_vars(options.env_vars)
    if error:
        errors["env_vars"] = error
    pip, error = parse_pip(options.pip)
    if error:
        errors["pip"] = error
    cpus, error = parse_amount(options.num_cpus, "CPUs")
    if error:
        errors["num_cpus"] = error
    gpus, error = parse_amount(options.num_gpus, "GPUs")
    if error:
        errors["num_gpus"] = error
    memory, error = parse_memory(options.memory)
    if error:
        errors["memory"] = error
    return {
        "env_vars": env,
        "pip": tuple(pip),
        "num_cpus": cpus,
        "num_gpus": gpus,
        "memory": memory,
    }


def validate_values(spec: WorkloadSpec, values: dict[str, str]) -> dict[str, str]:
    """Field name -> reason, for every value that is not valid (empty dict: all fine)."""
    errors = {}
    for param in spec.params:
        _, error = param.validate(values.get(param.name, param.text(param.default)))
        if error:
            errors[param.name] = f"{param.label} {error}"
    return errors


def build_request(
    spec: WorkloadSpec, values: dict[str, str], options: JobOptions
) -> tuple[JobRequest | None, dict[str, str]]:
    """A JobRequest, or the errors by field.

    Only values that differ from the defaults are passed."""
    errors = validate_values(spec, values)
    extra = _options(options, errors)
    if errors:
        return None, errors
    args: list[str] = []
    for param in spec.params:
        raw = values.get(param.name, param.text(param.default))
        value, _ = param.validate(raw)
        default, _ = param.validate(param.text(param.default))
        if value != default:
            args += [param.flag, param.text(value)]
    entrypoint = shlex.join([*spec.command(), *args])
    metadata = {
        META_SPEC: spec.name,
        META_VALUES: json.dumps(values, sort_keys=True),
        META_OPTIONS: json.dumps(options.as_dict(), sort_keys=True),
    }
    return JobRequest(
        entrypoint=entrypoint,
        spec_name=spec.name,
        values=dict(values),
        options=options,
        metadata=metadata,
        package_root=spec.working_dir,
        package_include=spec.include,
        paths=tuple(
            (p.label, values[p.name].strip(), p.path)
            for p in spec.params
            if p.path and values.get(p.name, "").strip()
        ),
        **extra,
    ), {}


CUSTOM = "custom"


def build_custom_request(
    entrypoint: str, working_dir: str, options: JobOptions, metadata_text: str = ""
) -> tuple[JobRequest | None, dict[str, str]]:
    """What `ray job submit` does for any program: the entrypoint is the user's own command line."""
    errors: dict[str, str] = {}
    extra = _options(options, errors)
    if not entrypoint.strip():
        errors["entrypoint"] = "entrypoint is required, e.g. python my_script.py --epochs 3"
    root = None
    if working_dir.strip():
        root = Path(working_dir.strip()).expanduser().resolve()
        if not root.is_dir():
            errors["working_dir"] = f"{root} is not a folder"
    user_meta, error = parse_env_vars(metadata_text)
    if error:
        errors["metadata"] = error.replace("KEY=VALUE", "key=value")
    if errors:
        return None, errors
    values = {"entrypoint": entrypoint, "working_dir": working_dir, "metadata": metadata_text}
    metadata = {
        **user_meta,
        META_SPEC: CUSTOM,
        META_VALUES: json.dumps(values, sort_keys=True),
        META_OPTIONS: json.dumps(options.as_dict(), sort_keys=True),
    }
    return JobRequest(
        entrypoint=entrypoint.strip(),
        spec_name=CUSTOM,
        values=values,
        options=options,
        metadata=metadata,
        package_root=root,
        package_include=None,
        **extra,
    ), {}


def launched_by_cockpit(metadata: dict[str, str]) -> tuple[str, dict[str, str], JobOptions] | None:
    """(spec name, values, options) of a job the cockpit launched, for resubmit / duplicate and
    edit."""
    if META_SPEC not in metadata:
        return None
    try:
        values = json.loads(metadata.get(META_VALUES, "{}"))
        options = json.loads(metadata.get(META_OPTIONS, "{}"))
    except json.JSONDecodeError:
        return None
    if not isinstance(values, dict) or not isinstance(options, dict):
        return None
    known = JobOptions().as_dict().keys()
    return (
        metadata[META_SPEC],
        {str(k): str(v) for k, v in values.items()},
        JobOptions(**{k: str(v) for k, v in options.items() if k in known}),
    )


async def submit(client: Any, request: JobRequest) -> str:
    """Ship the working_dir (once per content hash) and post the job; returns the submission id.

    The zip and its hash run in a thread: a working_dir of 100 MiB takes seconds to pack, and the
    caller's event loop (the TUI's keys) keeps going meanwhile.
    """
    from raycockpit.cockpit.packaging import DEFAULT_EXCLUDES, build_package, ensure_uploaded

    uri = None
    if request.package_root is not None:
        package = await asyncio.to_thread(
            build_package, request.package_root, include=request.package_include
        )
        uri = await ensure_uploaded(client, package)
    return await client.submit_job_body(
        request.body(uri),
        working_dir=request.package_root,
        include=request.package_include,
        excludes=DEFAULT_EXCLUDES if request.package_root is not None else (),
    )
