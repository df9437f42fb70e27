"""Ship local code as a job's working_dir without importing Ray (RAY_API.md 3.1).

`build_package` zips a folder (or chosen sub-folders of it) deterministically, so the same files
give the same bytes and the same content-addressed name `_ray_pkg_<md5>.zip`; `ensure_uploaded`
asks the dashboard whether it already has that package and uploads it only when it has not.

Which files are packed follows Ray's own rules (`.gitignore` and `.rayignore` in every folder,
git wildmatch patterns; `preflight.walk`) plus the cockpit's default excludes, so the checks
before submit (`preflight.scan_working_dir`) measure exactly what is shipped. A package over
the upload limit is refused here, before anything is sent, with its sizes and largest files.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from raycockpit.cockpit import preflight
from raycockpit.cockpit.errors import CockpitError
from raycockpit.cockpit.format import human_bytes

MAX_PACKAGE_BYTES = preflight.DASHBOARD_CLIENT_MAX_SIZE  # the dashboard's request body limit
DEFAULT_EXCLUDES = preflight.COCKPIT_EXCLUDES  # git wildmatch patterns, at any depth
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
    entries = list(preflight.walk(root, include=include, excludes=excludes))
    buffer = io.BytesIO()
    count = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted({entry.path for entry in entries}):
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
    limit = preflight.upload_limit()
    if len(data) > limit:
        files = [e for e in entries if not e.is_dir]
        largest = sorted(files, key=lambda e: (-e.size, e.rel))[: preflight.LARGEST]
        raise CockpitError(
            f"working_dir {root} packs to {human_bytes(len(data))} ({count:,} files, "
            f"{human_bytes(sum(e.size for e in files))} before compression), over Ray's upload "
            f"limit of {human_bytes(limit)}; largest: "
            + ", ".join(f"{e.rel} {human_bytes(e.size)}" for e in largest),
            hint="add large files to .gitignore or .rayignore, or put them in cloud storage",
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
