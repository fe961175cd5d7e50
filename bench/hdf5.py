"""Pre-training's two data paths at 10^4-10^5 small cells: extxyz (mace builds every graph up
front and holds it) against mace's HDF5 files (graphs built batch by batch). Peak memory and
time of one epoch, each run in its own process.

    python bench/hdf5.py run SPEC.json     one step as a job runs it (preprocess or train)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

from common import table  # also puts workflow/ on the path

SCRIPT = Path(__file__).resolve()
SMALL_MODEL = {"num_channels": 8, "max_L": 0, "max_ell": 1, "correlation": 2, "r_max": 3.5,
               "num_interactions": 2, "radial_mlp": [16]}  # fmt: skip
SCHEDULE = {"batch_size": 32, "lr": 0.01, "energy_weight": 30.0, "forces_weight": 100.0,
            "max_epochs": 1, "patience": 5}  # fmt: skip
KEYS = ("bench_energy", "bench_forces")
E0S = {6: -7.0}


def cells(n: int, n_atoms: int, distinct: int) -> list:
    """``n`` random carbon cells of ``n_atoms`` (``distinct`` of them, repeated), with made-up
    labels: the data path's memory and time do not depend on the labels' physics."""
    import numpy as np

    from synthpt.structures import generate

    rng = np.random.default_rng(0)
    unique = generate(range(min(n, distinct)), "synthetic", 1, "C", n_atoms, (2.0, 3.0), 1.1)
    for atoms in unique:
        atoms.info[KEYS[0]] = E0S[6] * n_atoms + rng.normal()
        atoms.arrays[KEYS[1]] = rng.normal(size=(n_atoms, 3))
    return [unique[i % len(unique)] for i in range(n)]


def run_step(spec: dict) -> None:
    """Preprocess to HDF5 or train one epoch, as ``spec`` says."""
    from synthpt.e0s import e0s_argument
    from synthpt.hdf5 import mace_flags, write_hdf5_set
    from synthpt.training import train_model, training_plan

    work = Path(spec["work_dir"])
    if spec["step"] == "preprocess":
        outputs = {"train": work / "train.h5", "valid": work / "valid.h5"}
        write_hdf5_set(
            spec["train"], spec["valid"], outputs, keys=KEYS, elements=["C"], seed=1,
            log_file=work / "preprocess.log",
        )  # fmt: skip
        return
    plan = training_plan(
        "pretrain", {"reference": "bench", "schedule": SCHEDULE}, spec["n_train"], "bench"
    )
    outputs = SimpleNamespace(**{k: work / f"out.{k}" for k in ("model", "compiled", "record")})
    train_model(
        plan, work_dir=work / "run", train_file=spec["train"], valid_file=spec["valid"],
        keys=KEYS, e0s=e0s_argument(E0S), architecture=SMALL_MODEL, seed=1, dtype="float32",
        outputs=outputs, log_file=work / "train.log", threads=spec["threads"],
        extra=mace_flags(["C"]) if spec["train"].endswith(".h5") else None,
    )  # fmt: skip


def measured(spec: dict) -> tuple[float, float]:
    """Run ``spec`` in a child process: (wall s, peak resident MB of that child and the
    processes it waited for)."""
    work = Path(spec["work_dir"])
    work.mkdir(parents=True, exist_ok=True)
    path, errors = work / f"{spec['step']}.spec.json", work / f"{spec['step']}.stderr"
    path.write_text(json.dumps(spec))
    start = time.perf_counter()
    with open(errors, "w") as stderr:
        child = subprocess.Popen(
            [sys.executable, str(SCRIPT), "run", str(path)], stdout=subprocess.DEVNULL,
            stderr=stderr,
        )  # fmt: skip
        _, status, usage = os.wait4(child.pid, 0)
    assert status == 0, errors.read_text()[-3000:]
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def mace_times(log: Path) -> tuple[float, float]:
    """(seconds mace spent loading data and building what it needs before training, seconds
    of its first epoch with its validation pass) from its log's time stamps."""
    stamps = {}
    for line in log.read_text().splitlines():
        for key, marker in (("load", "LOADING INPUT DATA"), ("train", "===TRAINING==="),
                            ("initial", "Initial: head"), ("epoch", "Epoch 0: head")):  # fmt: skip
            if marker in line and key not in stamps:
                stamp = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)", line)[1]
                stamps[key] = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f")
    return (
        (stamps["train"] - stamps["load"]).total_seconds(),
        (stamps["epoch"] - stamps["initial"]).total_seconds(),
    )


def one_size(n: int, paths, n_atoms: int, distinct: int, threads: int, workdir: Path) -> list:
    """Pre-training at ``n`` cells by each of ``paths``, each step its own process; table rows."""
    from synthpt.io import write_structures

    folder = workdir / f"n{n}"
    folder.mkdir(parents=True, exist_ok=True)
    structures = cells(n + 100, n_atoms, distinct)
    write_structures(folder / "train.extxyz", structures[100:])
    write_structures(folder / "valid.extxyz", structures[:100])
    del structures
    base = {"n_train": n, "threads": threads, "valid": str(folder / "valid.extxyz")}
    files = {"extxyz": (folder / "train.extxyz", folder / "valid.extxyz"),
             "hdf5": (folder / "h5" / "train.h5", folder / "h5" / "valid.h5")}  # fmt: skip
    rows = []
    for path in paths:
        preprocess = ("", "")
        if path == "hdf5":
            spec = base | {"step": "preprocess", "work_dir": str(folder / "h5"),
                           "train": str(folder / "train.extxyz")}  # fmt: skip
            preprocess = tuple(round(v, 1) for v in measured(spec))
        train, valid = files[path]
        spec = base | {"step": "train", "work_dir": str(folder / path), "train": str(train),
                       "valid": str(valid)}  # fmt: skip
        wall, mb = measured(spec)
        setup, epoch = mace_times(folder / path / "train.log")
        rows.append((n, n * n_atoms, path, round(mb), round(setup, 1), round(epoch, 1),
                     round(wall, 1), *preprocess))  # fmt: skip
        print(f"hdf5: {rows[-1]}", flush=True)
    return rows


def bench_hdf5(sizes=(10_000, 50_000, 100_000), hdf5_sizes=(10_000,), n_atoms=8,
               distinct=10_000, threads=2, workdir=None):  # fmt: skip
    """Pre-training one epoch of the small model on ``sizes`` cells of ``n_atoms`` from
    extxyz, and on ``hdf5_sizes`` from HDF5: peak memory, mace's set-up and epoch time, the
    HDF5 preprocessing's time and peak. (HDF5 costs 3 loads per structure before its first
    epoch ends, each ~8 ms of h5py reads and graph building on one core here: 10^5 cells are
    ~1 h, so not in the default; bench_hdf5(sizes=(), hdf5_sizes=(100_000,)) runs them.)"""
    import tempfile

    with tempfile.TemporaryDirectory(dir=workdir) as name:
        rows = []
        for n in sorted(set(sizes) | set(hdf5_sizes)):
            paths = [p for p, chosen in (("extxyz", sizes), ("hdf5", hdf5_sizes)) if n in chosen]
            rows += one_size(n, paths, n_atoms, distinct, threads, Path(name))
    table(
        f"Pre-training data paths: one epoch, {n_atoms}-atom cells, small model, {threads} threads",
        ["cells", "atoms", "path", "peak MB", "mace set-up s", "epoch s", "job wall s",
         "preprocess s", "preprocess peak MB"],
        rows,
    )  # fmt: skip
    for n in sorted(set(sizes) & set(hdf5_sizes)):
        xyz, h5 = (row[3] for row in rows if row[0] == n)
        print(f"{n} cells: HDF5 peak / extxyz peak = {h5 / xyz:.2f}")
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["run"]:
        run_step(json.loads(Path(sys.argv[2]).read_text()))
    else:
        bench_hdf5()
