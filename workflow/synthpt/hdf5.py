"""Pre-training on mace's HDF5 files: graphs built on the fly, batch by batch, instead of every
structure's graph held in memory (mace's extxyz path).

mace's own ``preprocess_data`` writes the files, one shard each and unshuffled. mace_run_train
is then given the E0s and atomic numbers, not mace's statistics file: it computes the average
number of neighbours and the scaling from its training loader as on the extxyz path, and so
draws its data order from the same generator state: the two paths train the same model, bit for
bit on CPU (tests/test_hdf5.py), at the cost of two passes over the set before the first epoch.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from ase.data import atomic_numbers

from synthpt.io import atomic_path, write_json

DATA_PATH_KEYS = ("hdf5_min_atoms", "hdf5_workers")  # pretrain keys that do not change a model
HDF5_SET = {"train": "train.h5", "valid": "valid.h5", "dataset": "dataset.json"}
MACE_FILES = {"train": "train/train_0.h5", "valid": "val/val_0.h5"}  # preprocess_data's names


def hdf5_set_dir(results: str, teacher: str, portion: str) -> str:
    """Where the HDF5 set of a teacher's synthetic set, or of a portion of it, lives."""
    return f"{results}/synthetic/{teacher}/hdf5/{portion}"


def portion_name(size: int | None) -> str:
    """The folder name of a synthetic set's first ``size`` structures (None: ``all``)."""
    return "all" if size is None else f"s{size}"


def portion_size(portion: str) -> int | None:
    """The inverse of ``portion_name``."""
    return None if portion == "all" else int(portion.removeprefix("s"))


def write_hdf5_set(
    train_file,
    valid_file,
    outputs: dict,
    *,
    keys: tuple[str, str],
    elements: list[str],
    seed: int,
    log_file,
) -> None:
    """mace's preprocess_data on ``train_file`` and ``valid_file`` (labels under ``keys``);
    ``outputs['train']`` and ``outputs['valid']`` written atomically."""
    from mace.cli.preprocess_data import run
    from mace.tools import build_preprocess_arg_parser

    first = Path(outputs["train"])
    with tempfile.TemporaryDirectory(dir=first.parent, prefix=".preprocess-") as work:
        prefix = f"{work}/"
        arguments = [
            f"--train_file={train_file}", f"--valid_file={valid_file}",
            f"--energy_key={keys[0]}", f"--forces_key={keys[1]}",
            f"--atomic_numbers={mace_flags(elements)['atomic_numbers']}", "--num_process=1",
            "--shuffle=False",
            f"--seed={seed}", f"--work_dir={work}", f"--h5_prefix={prefix}",
        ]  # fmt: skip
        with open(log_file, "a") as log:
            print("running: mace_prepare_data " + " ".join(arguments), file=log)
        run(build_preprocess_arg_parser().parse_args(arguments))
        for name, produced in MACE_FILES.items():
            with atomic_path(outputs[name]) as tmp:
                shutil.copyfile(os.path.join(work, produced), tmp)


def describe_set(path, n_train: int, e0s: dict[int, float]) -> None:
    """The HDF5 set's description: what the training job would otherwise read the set for."""
    write_json(path, {"n_train": n_train, "e0s": {str(z): e for z, e in e0s.items()}})


def read_description(path) -> tuple[int, dict[int, float]]:
    """(training structures, E0s keyed by atomic number) of an HDF5 set."""
    description = json.loads(Path(path).read_text())
    return description["n_train"], {int(z): e for z, e in description["e0s"].items()}


def mace_flags(elements: list[str], workers: int = 0) -> dict:
    """What mace_run_train needs beside HDF5 files, which it cannot scan for elements, and
    the processes that read them."""
    flags = {"atomic_numbers": str(sorted(atomic_numbers[e] for e in elements))}
    return flags | ({"num_workers": workers} if workers else {})
