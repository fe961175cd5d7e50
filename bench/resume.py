"""Exact resume: training jobs killed at random points (SIGKILL and SIGTERM), resumed, and
compared with the uninterrupted run, weight by weight and by file hash.

    python bench/resume.py run SPEC.json     one training run as a job runs it (the kill target)
"""

from __future__ import annotations

import json
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from common import DEFAULT, ROOT, table

from synthpt.provenance import sha256

SCRIPT = Path(__file__).resolve()


def run_once(spec: dict) -> dict:
    """Train one model by ``spec`` (mode, data files, work dir, architecture, schedule, labels,
    foundation) through synthpt.training.train_model; returns its record."""
    from synthpt.training import train_model, training_plan

    work = Path(spec["work_dir"])
    plan = training_plan(
        spec["mode"],
        {"reference": spec["labels"], "schedule": spec["schedule"]},
        spec["n_train"],
        teacher=spec["labels"],
    )
    outputs = SimpleNamespace(
        **{k: work.parent / f"{work.name}.{k}" for k in ("model", "compiled", "record")}
    )
    return train_model(
        plan, work_dir=work, train_file=spec["train"], valid_file=spec["valid"],
        keys=(f"{spec['labels']}_energy", f"{spec['labels']}_forces"), e0s=spec["e0s"],
        architecture=spec["architecture"], seed=spec["seed"], dtype=spec["dtype"],
        outputs=outputs, log_file=work.parent / f"{work.name}.log",
        foundation_model=spec.get("foundation"), device=spec.get("device", "cpu"),
    )  # fmt: skip


def launch(spec: dict) -> subprocess.Popen:
    path = Path(spec["work_dir"]).parent / f"{Path(spec['work_dir']).name}.spec.json"
    path.write_text(json.dumps(spec))
    command = [sys.executable, str(SCRIPT), "run", str(path)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def steps_done(work: Path) -> int:
    """Optimizer steps mace has logged in ``work`` (every attempt's)."""
    results = list((work / "results").glob("*_train.txt"))
    return sum(line.count('"mode": "opt"') for f in results for line in f.open())


def weights_equal(a: Path, b: Path) -> bool:
    import torch

    first = torch.load(a, weights_only=False).state_dict()
    second = torch.load(b, weights_only=False).state_dict()
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


def max_weight_difference(a: Path, b: Path) -> float:
    """The largest change of any weight between two saved models (GPU resume: a tolerance)."""
    import torch

    first = torch.load(a, weights_only=False).state_dict()
    second = torch.load(b, weights_only=False).state_dict()
    assert first.keys() == second.keys()
    return max(
        float((first[k].double() - second[k].double()).abs().max())
        for k in first
        if first[k].numel()
    )


def kill_and_resume(spec: dict, delay: float, signal_name: str) -> dict:
    """Start ``spec``, send ``signal_name`` ``delay`` s after its first training state, start
    it again to the end."""
    work = Path(spec["work_dir"])
    job = launch(spec)
    while job.poll() is None and not (work / "resume.pt").exists():
        time.sleep(0.005)
    time.sleep(delay)
    finished_first = job.poll() is not None
    job.send_signal(getattr(signal, signal_name))
    job.wait()
    done = steps_done(work) if work.exists() else 0
    rerun = launch(spec)
    assert rerun.wait() == 0, (work.parent / f"{work.name}.log").read_text()[-3000:]
    log = (work.parent / f"{work.name}.log").read_text()
    resumed = re.search(r"resuming after epoch (\d+) \((\d+) steps\)", log)
    kept = int(resumed[2]) if resumed else 0
    return {
        "killed": not finished_first,
        "steps_at_kill": done,
        "steps_kept": kept,
        "redone": done - kept,
        "resumed": bool(resumed),
    }


def time_run(spec: dict) -> tuple[float, float]:
    """Run ``spec`` to the end: (seconds until its first training state, until its last)."""
    state = Path(spec["work_dir"]) / "resume.pt"
    start, first, last, stamp = time.perf_counter(), None, None, None
    job = launch(spec)
    while job.poll() is None:
        if state.exists() and state.stat().st_mtime_ns != stamp:
            stamp, last = state.stat().st_mtime_ns, time.perf_counter() - start
            first = last if first is None else first
        time.sleep(0.005)
    assert job.returncode == 0, Path(f"{spec['work_dir']}.log").read_text()[-3000:]
    assert first is not None, "the run wrote no training state: too short to kill"
    return first, last


def specs(tmp: Path, data: dict, schedule: dict, architecture: dict, dtype: str) -> dict:
    """The pre-training and fine-tuning runs to kill: pre-training on ``data['synthetic']``,
    fine-tuning from its result on ``data['real']``."""
    base = {"architecture": architecture, "dtype": dtype, "seed": 7, "e0s": data["e0s"]}
    pretrain = base | {
        "mode": "pretrain", "labels": data["teacher"], "schedule": schedule["pretrain"],
        "train": data["synthetic"][0], "valid": data["synthetic"][1],
        "n_train": data["n_synthetic"],
    }  # fmt: skip
    finetune = base | {
        "mode": "finetune", "labels": data["reference"], "schedule": schedule["finetune"],
        "train": data["real"][0], "valid": data["real"][1], "n_train": data["n_real"],
        "foundation": str(tmp / "pretrain-whole.model"),
    }  # fmt: skip
    return {"pretrain": pretrain, "finetune": finetune}


def default_data(tmp: Path, results: Path, n_synthetic=100, n_real=10) -> dict:
    """The default campaign's labels: its first synthetic structures and an n = 10 subset."""
    from synthpt.e0s import e0s_argument, fit_e0s
    from synthpt.io import energy_forces, read_structures, write_structures

    synthetic = read_structures(results / "synthetic/snap/train.extxyz")[: n_synthetic + 10]
    write_structures(tmp / "s-train.extxyz", synthetic[10:])
    write_structures(tmp / "s-valid.extxyz", synthetic[:10])
    energies = [energy_forces(a, "snap_energy", "snap_forces")[0] for a in synthetic[10:]]
    e0s = fit_e0s(synthetic[10:], energies, DEFAULT["elements"])
    subset, valid = results / f"real/subsets/seed1/n{n_real}.extxyz", results / "real/valid.extxyz"
    return {
        "teacher": "snap", "reference": DEFAULT["reference"], "n_synthetic": n_synthetic,
        "synthetic": (str(tmp / "s-train.extxyz"), str(tmp / "s-valid.extxyz")),
        "real": (str(subset), str(valid)), "n_real": n_real, "e0s": e0s_argument(e0s),
    }  # fmt: skip


def bench_resume(
    data=None, schedule=None, architecture=None, dtype=None, kills=5, seed=0, workdir=None
):
    """Kill a pre-training and a fine-tuning run ``kills`` times each at random moments
    10-60% of the way from its first to its last training state (a cut run that trains faster
    than the timed one still trains; alternating SIGKILL and SIGTERM), resume each,
    and compare the published model with the uninterrupted run's: weights (torch.equal), file
    hash, steps redone. Default: the default campaign's model on 100 of its synthetic
    structures (8 epochs) and its n = 10 subset."""
    import tempfile

    results = ROOT / "results/default"
    if data is None and not (results / "real/valid.extxyz").exists():
        print("\n(resume: run the default campaign first, for its labels)")
        return
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(dir=workdir) as name:
        tmp = Path(name)
        data = data or default_data(tmp, results)
        schedule = schedule or {
            "pretrain": DEFAULT["pretrain"] | {"max_epochs": 8, "patience": 8},
            "finetune": DEFAULT["finetune"] | {"max_steps": 200},
        }
        runs = specs(tmp, data, schedule, architecture or DEFAULT["model"], dtype or "float32")
        rows = []
        for mode, spec in runs.items():
            whole = spec | {"work_dir": str(tmp / f"{mode}-whole")}
            first_state, last_state = time_run(whole)  # kills land while it trains
            reference = tmp / f"{mode}-whole.model"
            for k in range(kills):
                signal_name = ("SIGKILL", "SIGTERM")[len(rows) % 2]
                delay = rng.uniform(0.1, 0.6) * (last_state - first_state)
                cut = spec | {"work_dir": str(tmp / f"{mode}-cut{k}")}
                outcome = kill_and_resume(cut, delay, signal_name)
                model = tmp / f"{mode}-cut{k}.model"
                rows.append((
                    mode, signal_name, round(delay, 2), outcome["killed"], outcome["resumed"],
                    outcome["steps_at_kill"], outcome["steps_kept"], outcome["redone"],
                    weights_equal(reference, model), sha256(reference) == sha256(model),
                ))  # fmt: skip
                print(f"resume: {rows[-1]}", flush=True)
    table(
        "Training jobs killed and resumed, against the uninterrupted run",
        ["run", "signal", "kill s after 1st state", "killed", "resumed", "steps at kill",
         "steps kept", "steps redone", "weights equal", "file hash equal"],
        rows,
    )  # fmt: skip
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["run"]:
        record = run_once(json.loads(Path(sys.argv[2]).read_text()))
        print(json.dumps({k: v for k, v in record.items() if k != "validation"}))
    else:
        sys.exit(f"usage: {sys.argv[0]} run SPEC.json (the benchmark: bench/run.py resume)")
