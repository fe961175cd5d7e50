"""Models a user can take away: per trained mode, the model at the largest n whose validation
loss was lowest over the seeds, as mace's model, its TorchScript twin and the LAMMPS file of
mace's own ``mace_create_lammps_model``."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from synthpt.campaign import sweep
from synthpt.io import atomic_path
from synthpt.paths import ZERO_SHOT, ModelId

FILES = {"model": "mace.model", "compiled": "mace_compiled.model", "lammps": "mace.model-lammps.pt"}
LAMMPS_DTYPE = "float64"  # mace_create_lammps_model's default: LAMMPS' pair_style mace runs it


def export_groups(config: dict) -> dict[str, list[ModelId]]:
    """Every trained mode's models at the campaign's largest n, one per seed, by group."""
    n = max(config["subsets"]["sizes"])
    groups: dict[str, list[ModelId]] = {}
    for model in sweep(config, sizes=[n]):
        if model.mode != ZERO_SHOT:
            groups.setdefault(model.group, []).append(model)
    return groups


def best_by_validation(records: dict[str, dict]) -> str:
    """The model (key of ``records``: training.json by model path) with the lowest validation
    loss of the model it published; ties go to the first."""
    return min(records, key=lambda path: records[path]["best_valid_loss"])


def export_model(model_dir, out_dir) -> None:
    """Copy a trained model and its TorchScript twin into ``out_dir`` and write the LAMMPS
    file beside them with ``mace_create_lammps_model`` (each file atomically)."""
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    with atomic_path(out_dir / FILES["compiled"]) as tmp:
        shutil.copyfile(model_dir / FILES["compiled"], tmp)
    with tempfile.TemporaryDirectory(dir=out_dir) as work:
        model = Path(work) / FILES["model"]  # converted where it lies, then moved into place
        shutil.copyfile(model_dir / FILES["model"], model)
        run = subprocess.run(
            [sys.executable, "-m", "mace.cli.create_lammps_model", str(model),
             "--dtype", LAMMPS_DTYPE],
            capture_output=True, text=True, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        made = Path(f"{model}-lammps.pt")
        if run.returncode or not made.exists():
            raise RuntimeError(f"mace_create_lammps_model on {model_dir}: {run.stderr[-2000:]}")
        for key, path in (("lammps", made), ("model", model)):
            with atomic_path(out_dir / FILES[key]) as tmp:
                shutil.move(path, tmp)


def models_table(choices: list[dict], folder: str):
    """One row per exported model (a choice.json each): its group, the model it is, its
    validation loss, its errors on every test set, and its three files."""
    import pandas as pd

    rows = []
    for choice in choices:
        row = {key: choice[key] for key in ("group", "mode", "teacher", "n_real", "seed")}
        row["model"], row["best_valid_loss"] = choice["model"], choice["best_valid_loss"]
        for scores in choice["test_sets"]:
            for metric in ("e_rmse", "f_rmse"):
                row[f"{scores['test_set']}_{metric}"] = scores.get(metric)
        for key, name in FILES.items():
            row[f"{key}_file"] = f"{folder}/{choice['group']}/{name}"
        rows.append(row)
    return pd.DataFrame(rows)
