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
    from synthpt.stopping import NEVER
    from synthpt.training import PRETRAIN, train_model, training_plan

    n_valid = max(1, len(structures) // 10)
    per_atom = [a.info["snap_energy"] / len(a) for a in structures]
    e0s = {int(z): sum(per_atom) / len(per_atom) for z in set(structures[0].numbers)}
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
            keys=("snap_energy", "snap_forces"), e0s=e0s_argument(e0s),
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


ACAC = ROOT.parent / "shared" / "data" / "acac"
# Each shipped config's student, and the structures its pre-training sees: carbon cells
# (the default campaign's synthetic set) or acac molecules (../shared/data/acac).
PRESETS = {
    "default": ("config.yaml", "carbon"),
    "paper": ("paper.yaml", "carbon"),
    "molecules": ("molecules.yaml", "molecules"),
    "own_data": ("own_data.yaml", "molecules"),
}


def labelled(structures):
    """Structures with their calculator's labels under the keys training_throughput reads."""
    out = []
    for atoms in structures:
        copy_ = atoms.copy()
        copy_.info["snap_energy"] = atoms.get_potential_energy()
        copy_.arrays["snap_forces"] = atoms.get_forces()
        out.append(copy_)
    return out


def preset_structures(carbon=None, acac=ACAC, n=500):
    """The two structure sets the presets train on (None where a file is missing)."""
    import ase.io

    from synthpt.io import read_structures

    carbon = Path(carbon or ROOT / "results/default/synthetic/snap/train.extxyz")
    molecules = Path(acac) / "train_300K.xyz"
    return {
        "carbon": read_structures(carbon)[:n] if carbon.exists() else None,
        "molecules": labelled(ase.io.read(molecules, f":{n}")) if molecules.exists() else None,
    }


def bench_presets(
    device=None, carbon=None, acac=ACAC, n=500, epochs=4, cueq=None, presets=None, threads=1
):
    """Each shipped config's model trained on ``device`` (cuda where visible): atoms/s,
    seconds per step, and the seconds of one pre-training epoch over the config's whole
    synthetic set at that rate. ``cueq``: the cuequivariance settings of the pre-training rows
    (default: both where it imports on a GPU, else off); the fine-tuning batch row runs
    without it, when off is among them."""
    from gpu_smoke import _imports, device_available

    from synthpt.campaign import synthetic_count

    device = device or device_available()
    if cueq is None:
        cueq = (False, True) if device == "cuda" and _imports("cuequivariance_torch") else (False,)
    sets = preset_structures(carbon, acac, n)
    rows = []
    for name in presets or PRESETS:
        file, kind = PRESETS[name]
        structures = sets[kind]
        if structures is None:
            print(f"\n(presets: no {kind} structures for {name}; skipped)")
            continue
        config = yaml.safe_load((ROOT / "config" / file).read_text())
        model = config["model"]
        dtype = model.get("dtype", "float32")
        atoms = len(structures[0])
        batches = [("pretrain", config["pretrain"]["batch_size"], flag) for flag in cueq]
        batches += [("finetune", config["finetune"]["batch_size"], False)] if False in cueq else []
        for phase, batch, flag in batches:
            try:
                rate = training_throughput(
                    structures, model | {"cueq": flag}, batch, dtype, threads, epochs, device
                )
            except Exception as error:  # a row that fails says why; the others still run
                rows.append((name, phase, batch, flag, f"failed: {str(error)[-120:]}", "", ""))
                continue
            epoch = synthetic_count(config) * atoms / rate if phase == "pretrain" else ""
            rows.append((name, phase, batch, flag, rate, batch * atoms / rate, epoch))
            print(f"presets: {rows[-1]}", flush=True)
    table(
        f"Training on {device} ({threads} threads; {n} structures, train + validation passes)",
        ["config", "phase", "batch", "cueq", "atoms/s", "s per step", "s per epoch, whole set"],
        rows,
    )
    return rows
