"""The one script to run when a GPU is lent (bench/run.py gpu_smoke, ~5 minutes): the tiny
campaign on the GPU with a max_L 1 model through pre-training, fine-tuning, replay and scratch;
mace's device in each log; saved models on the CPU, scored and mapped in a process that sees no
GPU; a kill-and-resume against the uninterrupted run; training steps per second with and
without cuequivariance. Without a GPU it runs the same checks on the CPU (its smoke test)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from common import ROOT, snakemake, table

from synthpt.paths import model_file

TINY = yaml.safe_load((ROOT / "tests" / "configs" / "tiny.yaml").read_text())
MAX_L1 = {"max_L": 1, "max_ell": 2}
# Resumed against uninterrupted weights. On a GPU scatter_add_ atomics reorder float sums, so
# the runs drift apart by rounding. On a CPU, float64 resumes bit for bit (the resume bench);
# this float32 run ends 2.4e-7 (one float32 ulp) away. The cause: e3nn's TorchScript-compiled
# kernels run under torch's profiling executor, which optimizes a graph only after its first
# calls, so the resumed (fresh) process rounds its first steps differently from the warm
# uninterrupted one. With the legacy executor (torch._C._jit_set_profiling_executor(False)) the
# same kill and resume ends at 0.0, twice (2026-12-06). So the CPU allows a few ulps; a broken
# resume is ~1e-3 off.
RESUME_TOLERANCE = {"cpu": 1e-6, "cuda": 1e-4}
# The trained models (under models/) and their jobs' logs (under logs/).
MODES = {
    "pretrain/snap": "pretrain/snap.log",
    "finetune/snap/n4/seed1": "finetune/snap/n4/seed1.log",
    "replay/snap/n4/seed1": "replay/snap/n4/seed1.log",
    "scratch/n4/seed1": "train_scratch/n4/seed1.log",
}
DEVICE_LINE = {"cuda": "CUDA version", "cpu": "Using CPU"}

NO_GPU_CHECK = """
import json, sys
import torch
from synthpt.coverage import descriptors
from synthpt.evaluate import load_compiled, predict_compiled
from synthpt.io import read_structures
assert not torch.cuda.is_available()
models, test = json.loads(sys.argv[1]), read_structures(sys.argv[2])
for folder in models:
    state = torch.load(folder + "/mace.model", weights_only=False).state_dict()
    assert all(t.device.type == "cpu" for t in state.values()), folder
    energies, _ = predict_compiled(load_compiled(folder + "/mace_compiled.model"), test)
    assert len(energies) == len(test)
mapped = descriptors(models[0] + "/mace.model", test)
print(json.dumps({"scored": len(models), "mapped": len(mapped)}))
"""


def device_available() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def smoke_config(device: str) -> dict:
    config = copy.deepcopy(TINY)
    config["campaign"] = "gpu-smoke"
    config["model"].update(MAX_L1, device=device)
    config["finetune"]["strategies"] = ["finetune", "replay"]
    config["subsets"].update(sizes=[4], seeds=[1])
    return config


def mace_device(log: Path) -> str | None:
    """The device mace says it trains on, from a training job's log."""
    text = log.read_text()
    return next((name for name, line in DEVICE_LINE.items() if line in text), None)


def bench_gpu_smoke(workdir=None, device=None, epochs=3, cueq=None, resume_steps=120):
    """Each check's row: what, the figure, pass or fail. ``cueq`` (default: on a GPU where
    cuequivariance imports) also measures throughput with --enable_cueq."""
    import os

    from resume import kill_and_resume, max_weight_difference, specs, time_run
    from training import training_throughput

    from synthpt.e0s import e0s_argument
    from synthpt.io import read_structures

    device = device or device_available()
    rows = []
    with tempfile.TemporaryDirectory(dir=workdir) as name:
        tmp = Path(name)
        config = smoke_config(device)
        results = tmp / "results" / config["campaign"]
        configfile = tmp / "smoke.yaml"
        configfile.write_text(yaml.safe_dump(config))
        targets = [model_file(config["campaign"], m) for m in MODES]
        snakemake(tmp, configfile, "--cores", "2", *targets)
        for mode, log in MODES.items():
            found = mace_device(results / "logs" / log)
            rows.append((f"mace trains {mode} on", found, found == device))
        env = {"CUDA_VISIBLE_DEVICES": "", "PATH": os.environ.get("PATH", "/usr/bin"),
               "PYTHONPATH": str(ROOT / "workflow"), "OMP_NUM_THREADS": "1"}  # fmt: skip
        folders = [str(results / "models" / m) for m in MODES]
        check = subprocess.run(
            [sys.executable, "-c", NO_GPU_CHECK, json.dumps(folders),
             str(results / "real" / "test.extxyz")],
            capture_output=True, text=True, env=env,
        )  # fmt: skip
        ok = check.returncode == 0
        said = check.stdout.strip().splitlines()[-1] if ok else check.stderr[-300:]
        rows.append(("saved on the CPU, scored and mapped with no GPU visible", said, ok))
        # kill and resume the scratch run (the smoke campaign's own n = 4 subset)
        real = (str(results / "real/subsets/seed1/n4.extxyz"), str(results / "real/valid.extxyz"))
        data = {"teacher": "snap", "reference": "gfn1", "synthetic": real, "real": real,
                "n_synthetic": 4, "n_real": 4, "e0s": e0s_argument({6: -55.0})}  # fmt: skip
        schedule = {"finetune": config["finetune"] | {"max_steps": resume_steps, "lr": 0.003},
                    "pretrain": config["pretrain"]}  # fmt: skip
        spec = specs(tmp, data, schedule, config["model"], "float32")["finetune"]
        spec = spec | {"mode": "scratch", "foundation": None, "device": device}
        first, last = time_run(spec | {"work_dir": str(tmp / "resume-whole")})
        outcome = kill_and_resume(spec | {"work_dir": str(tmp / "resume-cut")},
                                  0.5 * (last - first), "SIGKILL")  # fmt: skip
        gap = max_weight_difference(tmp / "resume-whole.model", tmp / "resume-cut.model")
        rows.append((f"kill at step {outcome['steps_at_kill']}, resumed: largest weight change",
                     gap, outcome["resumed"] and gap <= RESUME_TOLERANCE[device]))  # fmt: skip
        structures = read_structures(results / "synthetic/snap/train.extxyz")
        if cueq is None:
            cueq = device == "cuda" and _imports("cuequivariance_torch")
        for flag in (False, True) if cueq else (False,):
            architecture = config["model"] | {"cueq": flag}
            rate = training_throughput(
                structures, architecture, 4, "float32", 1, epochs=epochs, device=device
            )
            rows.append((f"training atoms/s on {device}, cueq {flag}", rate, rate > 0))
    table(f"GPU smoke ({device})", ["check", "figure", "pass"], rows)
    return rows


def _imports(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
