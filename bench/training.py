"""MACE training throughput on this machine (atoms/s)."""

from __future__ import annotations

import copy
import re
import tempfile
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import yaml
from common import DEFAULT, ROOT, table


def training_throughput(
    structures, architecture, batch_size, dtype, threads, epochs=3, device="cpu"
):
    """Atoms per second of mace_run_train over ``epochs`` (first epoch excluded: warm-up)."""
    import ase.io

    from synthpt.e0s import e0s_argument
    from synthpt.training import NEVER, PRETRAIN, train_model, training_plan

    n_valid = max(1, len(structures) // 10)
    schedule = DEFAULT["pretrain"] | {"batch_size": batch_size, "max_epochs": epochs}
    plan = training_plan(
        PRETRAIN, {"schedule": schedule | {"patience": NEVER}}, len(structures) - n_valid, "snap"
    )
    per_epoch = plan.steps_per_epoch
    with tempfile.TemporaryDirectory() as tmp:
        train, valid = Path(tmp) / "train.extxyz", Path(tmp) / "valid.extxyz"
        ase.io.write(train, structures[n_valid:], format="extxyz")
        ase.io.write(valid, structures[:n_valid], format="extxyz")
        work, log = Path(tmp) / "work", Path(tmp) / "log"
        outputs = SimpleNamespace(
            model=work / "out.model", compiled=work / "out_compiled.model", record=work / "r.json"
        )
        train_model(
            plan, work_dir=work, train_file=train, valid_file=valid,
            keys=("snap_energy", "snap_forces"), e0s=e0s_argument({6: -8.0}),
            architecture=architecture, seed=1, dtype=dtype, outputs=outputs, log_file=log,
            threads=threads, device=device,
        )  # fmt: skip
        text = log.read_text().split("running: ")[-1]
    stamps = re.findall(r"^(\S+ \S+) INFO: Epoch (\d+):", text, flags=re.MULTILINE)
    first, last = (datetime.fromisoformat(s) for s, _ in (stamps[0], stamps[-1]))
    atoms_per_epoch = per_epoch * batch_size * len(structures[0])
    return atoms_per_epoch * (len(stamps) - 1) / (last - first).total_seconds()


def bench_training(train=ROOT / "results/default/synthetic/snap/train.extxyz", runs=None, epochs=3):
    """MACE training throughput; ``runs``: (name, config, structures, dtype, threads) tuples
    (default: the default and paper models on 1 and 2 threads)."""
    from synthpt.io import read_structures

    if not Path(train).exists():
        print("\n(training: run the default campaign first, for its synthetic set)")
        return
    structures = read_structures(train)
    paper = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
    rows = []
    if runs is None:
        runs = [("default", DEFAULT, 100, dtype, threads) for dtype in ("float32", "float64")
                for threads in (1, 2)]  # fmt: skip
        wide = copy.deepcopy(DEFAULT)
        wide["model"].pop("radial_mlp", None)  # mace's own [64, 64, 64]
        runs += [("default, mace's radial MLP", wide, 100, "float32", t) for t in (1, 2)]
        runs += [("paper", paper, 34, "float32", t) for t in (1, 2)]  # 2 steps an epoch
    for name, config, n, dtype, threads in runs:
        batch = config["pretrain"]["batch_size"]
        speed = training_throughput(structures[:n], config["model"], batch, dtype, threads, epochs)
        rows.append((name, batch, dtype, threads, speed))
        print(f"training: {rows[-1]}", flush=True)
    table(
        "Training throughput on this CPU (64-atom cells; train + validation passes)",
        ["model", "batch", "dtype", "threads", "atoms/s"],
        rows,
    )
    from synthpt.campaign import synthetic_count

    n_synthetic = synthetic_count(paper) * paper["structures"]["n_atoms"]
    for name, _, dtype, threads, speed in rows:
        if name == "paper" and dtype == "float32" and threads == 2:
            print(
                f"\nOne paper-scale pre-training epoch ({n_synthetic} atoms) at that rate:"
                f" {n_synthetic / speed / 3600:.1f} h on this CPU (no GPU was at hand)"
            )
    return rows
