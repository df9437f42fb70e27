"""raycockpit: one import name for the whole tool, so nothing generic lands in site-packages.

The repository keeps its folders at the top (`cockpit/` the core, `screens/` the UI, `workloads/`
the programs shipped to the cluster, `configs/` the bundled specs); the wheel puts the same folders
under this package (see [tool.hatch.build.targets.wheel] in pyproject.toml). In a checkout, the
same names are symbolic links to the folders beside this one, so `raycockpit.cockpit` and
`raycockpit.screens` are the same files either way.
"""

from __future__ import annotations

from pathlib import Path

__version__ = "0.1.0"  # the one place the version is written (pyproject.toml reads it)

ROOT = Path(__file__).parent  # where cockpit/, screens/, workloads/ and configs/ are
