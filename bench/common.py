"""What every benchmark shares: paths, the default config, tables, a Snakemake call."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))
os.environ.setdefault("OMP_NUM_THREADS", "1")

DEFAULT = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def table(title, header, rows):
    print(f"\n## {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in row) + " |")
    return rows


def spread(row, metric: str) -> str:
    """``metric``'s mean ± std over seeds in a summary row: blank where the set has no such
    labels, the std left off for one model."""
    mean, std = row[f"{metric}_mean"], row[f"{metric}_std"]
    if mean != mean:
        return ""
    mean_text = f"{mean:.0f}" if abs(mean) >= 1000 else f"{mean:.3g}"
    std_text = f"{std:.0f}" if abs(std) >= 100 else f"{std:.2g}"  # no exponents
    return mean_text + ("" if std != std else f" ± {std_text}")


def snakemake(workdir, configfile, *args):
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
               "--directory", str(workdir), "--configfile", str(configfile), *args]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, check=True)


def model_path(mode: str, n: int, seed: int = 0, teacher: str | None = None) -> str:
    """A model's path under models/ and metrics/, as the campaign spells it (``ModelId``)."""
    from synthpt.paths import NO_TEACHER, ZERO_SHOT, ZERO_SHOT_SEED, ModelId

    return ModelId(
        mode, teacher or NO_TEACHER, n, ZERO_SHOT_SEED if mode == ZERO_SHOT else seed
    ).path


def metrics(results: Path, model: str) -> dict:
    """A scored model's test metrics (metrics/<model>/metrics.json of campaign ``results``)."""
    import json

    return json.loads((Path(results) / "metrics" / model / "metrics.json").read_text())


def reuse_labels(source: Path, results: Path, parts=("structures", "synthetic", "real")) -> None:
    """Give campaign folder ``results`` the structures, synthetic labels and real data of
    ``source`` (copied, mtimes kept: Snakemake finds them done), so a variant of a campaign
    retrains without relabelling; ``parts``: the folders copied (e.g. also the pre-trained
    models, for a variant of fine-tuning alone)."""
    import shutil

    for part in parts:  # a part the source has not made yet (e.g. its scores) is made here
        if (source / part).exists() and not (results / part).exists():
            shutil.copytree(source / part, results / part)
