"""MACE training through mace-torch's own CLI (``mace_run_train``), resumable per work dir."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
from pathlib import Path

from synthpt.io import atomic_path
from synthpt.runtime import set_threads

MODEL_NAME = "mace"
COMMAND_FILE = "command.json"
TRAINED = {"model": f"{MODEL_NAME}.model", "compiled": f"{MODEL_NAME}_compiled.model"}


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    """Optimizer steps of one mace-torch epoch: its training loader drops the last partial
    batch."""
    if n_train < batch_size:
        raise ValueError(f"batch size {batch_size} exceeds the {n_train} training structures")
    return n_train // batch_size


def epochs_for_steps(n_train: int, batch_size: int, steps: int) -> int:
    """Epochs that give at least ``steps`` optimizer steps on ``n_train`` structures."""
    return math.ceil(steps / steps_per_epoch(n_train, batch_size))


def eval_interval_for_steps(n_train: int, batch_size: int, eval_steps: int) -> int:
    """Epochs between validation passes so that one comes about every ``eval_steps`` steps."""
    return max(1, round(eval_steps / steps_per_epoch(n_train, batch_size)))


def n_valid(n_structures: int, valid_fraction: float) -> int:
    """Structures mace-torch holds out of ``n_structures`` for validation (at least one)."""
    return max(1, int(valid_fraction * n_structures))


def n_training(n_structures: int, valid_fraction: float) -> int:
    """Structures mace-torch trains on when it holds out ``valid_fraction`` of ``n_structures``."""
    return n_structures - n_valid(n_structures, valid_fraction)


def mace_arguments(
    *,
    work_dir,
    train_file,
    energy_key: str,
    forces_key: str,
    e0s: str,
    architecture: dict,
    schedule: dict,
    epochs: int,
    seed: int,
    dtype: str,
    device: str,
    valid_file=None,
    foundation_model=None,
) -> list[str]:
    """The mace_run_train argument list; architecture flags are ignored by mace when fine-tuning."""
    args = {
        "name": MODEL_NAME,
        "seed": seed,
        "work_dir": work_dir,
        "train_file": train_file,
        "energy_key": energy_key,
        "forces_key": forces_key,
        "E0s": e0s,
        "model": "MACE",
        "num_channels": architecture["num_channels"],
        "max_L": architecture["max_L"],
        "max_ell": architecture["max_ell"],
        "correlation": architecture["correlation"],
        "r_max": architecture["r_max"],
        "num_interactions": architecture["num_interactions"],
        "batch_size": schedule["batch_size"],
        "valid_batch_size": max(schedule["batch_size"], 16),
        "lr": schedule["lr"],
        "energy_weight": schedule["energy_weight"],
        "forces_weight": schedule["forces_weight"],
        "max_num_epochs": epochs,
        "eval_interval": schedule.get("eval_interval", 1),
        "default_dtype": dtype,
        "device": device,
        "error_table": "PerAtomRMSE",
        "skip_evaluate_heads": "Default",  # no final error tables: the evaluate rule scores
        "plot": False,
    }
    if "radial_mlp" in architecture:
        args["radial_MLP"] = f"[{','.join(str(width) for width in architecture['radial_mlp'])}]"
    if valid_file is not None:
        args["valid_file"] = valid_file
    else:
        args["valid_fraction"] = schedule["valid_fraction"]
    if foundation_model is not None:
        args["foundation_model"] = foundation_model
        args["multiheads_finetuning"] = False
    return [f"--{key}={value}" for key, value in args.items()]


def prepare_work_dir(work_dir, arguments: list[str]) -> bool:
    """Return True when ``work_dir`` holds checkpoints of this very command (resume them).

    A work dir left by a different command is emptied: mace would otherwise load its stale
    best checkpoint as the final model.
    """
    work_dir = Path(work_dir)
    record = work_dir / COMMAND_FILE
    same = record.exists() and json.loads(record.read_text()) == arguments
    has_checkpoints = any((work_dir / "checkpoints").glob("*.pt"))
    if not same and work_dir.exists():
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(arguments, indent=1))
    return same and has_checkpoints


def run_mace(arguments: list[str], work_dir, outputs, threads: int, log_file, resume: bool):
    """Run mace_run_train in this process (its imports are paid once per job), resuming the
    checkpoints of ``work_dir`` when ``resume``, and publish ``outputs.model`` (pickled) and
    ``outputs.compiled`` (TorchScript) atomically."""
    os.environ.setdefault("MPLCONFIGDIR", str(Path(work_dir) / ".matplotlib"))
    set_threads(threads)
    import mace  # noqa: F401  (before e3nn: mace sets TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD)
    from mace.cli.run_train import run
    from mace.tools import build_default_arg_parser

    arguments = [*arguments, "--restart_latest"] if resume else arguments
    args = build_default_arg_parser().parse_args(arguments)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    for handler in handlers:
        root.removeHandler(handler)
    with open(log_file, "a", buffering=1) as log, contextlib.redirect_stdout(log):
        print(("resuming: " if resume else "running: ") + " ".join(["mace_run_train", *arguments]))
        try:
            run(args)  # mace_run_train's own entry point, after its argument parsing
        finally:
            for handler in root.handlers[:]:
                root.removeHandler(handler)
                handler.close()
            for handler in handlers:
                root.addHandler(handler)
            root.setLevel(level)
    for output, name in TRAINED.items():
        trained = Path(work_dir) / name
        if not trained.exists():
            raise RuntimeError(f"mace_run_train finished without writing {trained}")
        with atomic_path(getattr(outputs, output)) as tmp:
            shutil.copyfile(trained, tmp)
