"""Ship local code as a job's working_dir without importing Ray (RAY_API.md 3.1).

`build_package` zips a folder (or chosen sub-folders of it) deterministically, so the same files
give the same bytes and the same content-addressed name `_ray_pkg_<md5>.zip`; `ensure_uploaded`
asks the dashboard whether it already has that package and uploads it only when it has not.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from raycockpit.cockpit.errors import CockpitError

MAX_PACKAGE_BYTES = 100 * 1024 * 1024  # the dashboard's request body limit
DEFAULT_EXCLUDES = (
    "__pycache__",
    "*.pyc",
    ".git",
    ".venv",
    "*.egg-info",
    ".pytest_cache",
    ".DS_Store",
)
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Package:
    name: str  # _ray_pkg_<md5>.zip
    data: bytes
    files: int

    @property
    def uri(self) -> str:
        return f"gcs://{self.name}"

    @property
    def size(self) -> int:
        return len(self.data)


def _excluded(rel: Path, excludes: Iterable[str]) -> bool:
    return any(fnmatch.fnmatch(part, pat) for part in rel.parts for pat in excludes)


def build_package(
    root: Path,
    include: Iterable[str] | None = ("workloads",),
    excludes: Iterable[str] = DEFAULT_EXCLUDES,
) -> Package:
    """Zip `root` (only its `include` entries, or everything when None), paths relative to root."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise CockpitError(f"working_dir {root} is not a folder", hint="give a folder to ship")
    excludes = tuple(excludes)
    tops = [root / name for name in include] if include is not None else [root]
    for top in tops:
        if not top.exists():
            raise CockpitError(f"{top} does not exist", hint="check the working_dir path")
    paths: list[Path] = []
    for top in tops:
        candidates = [top] if top.is_file() else [top, *top.rglob("*")]
        paths.extend(
            p for p in candidates if p != root and not _excluded(p.relative_to(root), excludes)
        )
    buffer = io.BytesIO()
    count = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(set(paths)):
            rel = path.relative_to(root).as_posix()
            if path.is_dir():
                info = zipfile.ZipInfo(rel + "/", date_time=_FIXED_DATE)
                info.external_attr = 0o40755 << 16
                archive.writestr(info, b"")
            elif path.is_file():
                info = zipfile.ZipInfo(rel, date_time=_FIXED_DATE)
                info.external_attr = (0o100644 | (path.stat().st_mode & 0o111)) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
                count += 1
    data = buffer.getvalue()
    if len(data) > MAX_PACKAGE_BYTES:
        raise CockpitError(
            f"the package of {root} is {len(data) / 2**20:.0f} MiB, "
            "over the dashboard's 100 MiB limit",
            hint="exclude data and build folders, or put large files in cloud storage",
        )
    return Package(name=f"_ray_pkg_{hashlib.md5(data).hexdigest()}.zip", data=data, files=count)


async def ensure_uploaded(client, package: Package) -> str:
    """Upload `package` unless the cluster has it already; returns its gcs:// URI.

    `client` is a DashboardClient. The GET pins the package on the cluster for a while, so the
    job should be submitted right after.
    """
    if not await client.package_exists(package.name):
        await client.upload_package(package.name, package.data)
    return package.uri
