"""mace-torch's own training (``mace_run_train``) run in this process: its arguments, and every
patch of a mace internal, written for ``MACE_VERSION`` (``tests/test_mace_run.py`` fails
if mace changes under them): its training loop runs under our stopping rule and resume state
(``tools.train``), its scheduler step saves that state (``lr_scheduler.step``), a resumed
run's first evaluation is the saved one (``mace.tools.train.evaluate``), its loss stays the
campaign's in multihead mode (``run_train.get_loss_fn``), and a multihead run publishes its
own head (``remove_pt_head``)."""

from __future__ import annotations

import contextlib
import copy
import importlib
import logging
import os
import shutil
import time
from pathlib import Path

from synthpt.checkpoints import (
    FINISHED,
    RESUME_FILE,
    BestCheckpoints,
    read_training_state,
    restore_training_state,
    save_training_state,
)
from synthpt.configs import setting
from synthpt.io import atomic_path, write_json
from synthpt.runtime import set_threads
from synthpt.stopping import HEAD, NEVER, EarlyStopping, StopTraining

MACE_VERSION = "0.3.16"  # what the patches below were written for (requirements.txt pins it)
MODEL_NAME = "mace"
TRAINED = {"model": f"{MODEL_NAME}.model", "compiled": f"{MODEL_NAME}_compiled.model"}


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
    valid_file,
    foundation_model=None,
    extra: dict | None = None,
) -> list[str]:
    """The mace_run_train argument list; architecture flags are ignored by mace when fine-tuning."""
    args = {
        "name": MODEL_NAME,
        "seed": seed,
        "work_dir": work_dir,
        "train_file": train_file,
        "valid_file": valid_file,
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
        "eval_interval": setting(schedule, "pretrain", "eval_interval"),
        "patience": NEVER,  # the stopping rule is ours (mace's never stops outside DDP)
        "scheduler_patience": schedule.get("scheduler_patience", NEVER),
        "lr_factor": setting(schedule, "finetune", "lr_factor"),
        "default_dtype": dtype,
        "device": device,
        "error_table": "PerAtomRMSE",
        "skip_evaluate_heads": "Default",  # no final error tables: the evaluate rule scores
        "plot": False,
        "save_cpu": None,  # a model trained on a GPU loads on a CPU node (e3nn's buffers)
    }
    if architecture.get("cueq"):
        args["enable_cueq"] = True  # cuequivariance kernels; mace saves the e3nn form
    if schedule.get("ema_decay"):
        args |= {"ema": None, "ema_decay": schedule["ema_decay"]}  # --ema is a bare flag
    if "radial_mlp" in architecture:
        args["radial_MLP"] = f"[{','.join(str(width) for width in architecture['radial_mlp'])}]"
    if foundation_model is not None:
        args["foundation_model"] = foundation_model
        args["multiheads_finetuning"] = False
    args |= extra or {}
    return [f"--{key}" if value is None else f"--{key}={value}" for key, value in args.items()]


def keep_own_head(work_dir: Path) -> None:
    """Rewrite a multihead run's published models with its own head only (the replay head
    was a training device)."""
    import torch
    from e3nn.util import jit
    from mace.tools.scripts_utils import remove_pt_head

    model = remove_pt_head(torch.load(work_dir / TRAINED["model"], weights_only=False), HEAD)
    with atomic_path(work_dir / TRAINED["model"]) as tmp:
        torch.save(model, tmp)
    with atomic_path(work_dir / TRAINED["compiled"]) as tmp:
        torch.jit.save(jit.compile(copy.deepcopy(model)), tmp)


def replay_last_pass(evaluate, state: dict):
    """mace's evaluate, except that its first call (the pass mace makes before a resumed run's
    first epoch) returns the saved last pass: mace's running validation loss, which its
    scheduler reads at the next epoch, is then the uninterrupted run's, and no pass is redone."""
    calls = []

    def first_from_state(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            return state["valid_loss"], dict(state["stopping"]["last_eval"])
        return evaluate(*args, **kwargs)

    return first_from_state


def run_mace(
    arguments: list[str],
    work_dir,
    outputs,
    threads: int,
    log_file,
    stopping: EarlyStopping,
    steps_per_epoch: int,
):
    """Run mace_run_train in this process (its imports are paid once per job) under the
    ``stopping`` rule in ``work_dir``; publish
    ``outputs.model`` (pickled), ``outputs.compiled`` (TorchScript) and ``outputs.record``
    (JSON: steps, best epoch, why it stopped, wall time, validation curve) atomically."""
    os.environ.setdefault("MPLCONFIGDIR", str(Path(work_dir) / ".matplotlib"))
    set_threads(threads)
    import mace  # noqa: F401  (before e3nn: mace sets TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD)
    from mace import tools
    from mace.cli.run_train import run
    from mace.tools import build_default_arg_parser

    args = build_default_arg_parser().parse_args(arguments)
    mace_train = tools.train

    def train_until_converged(*, logger, **kwargs):
        stopping.logger = logger
        model = kwargs["model"]
        state_file = Path(work_dir) / RESUME_FILE
        state = read_training_state(state_file, kwargs["checkpoint_handler"])
        start = state["start"] if state else copy.deepcopy(model.state_dict())
        if stopping.warmup is not None:
            stopping.warmup.begin(kwargs["optimizer"])
        scheduler = kwargs["lr_scheduler"]
        checkpoints = BestCheckpoints(
            kwargs["checkpoint_handler"],
            stopping,
            lambda: tools.CheckpointState(model, kwargs["optimizer"], scheduler),
        )
        if state:
            restore_training_state(state, kwargs, stopping)
            checkpoints.lowest, stopping.resumed = state["lowest"], True
            kwargs["start_epoch"] = state["epoch"] + 1
            scheduler.step(metrics=state["valid_loss"])  # mace skips it at its start epoch
            logging.info(
                "resuming after epoch %d (%d steps) from %s",
                state["epoch"],
                (state["epoch"] + 1) * steps_per_epoch,
                state_file,
            )
        step = scheduler.step
        saved = [len(stopping.curve)]

        def snapshot_then_step(metrics=None, epoch=None):
            """At the top of each epoch: the state after the last validation pass, once."""
            last = stopping.curve[-1]["epoch"] if stopping.curve else None
            if stopping.curve:  # the run's own head: mace would read its last head's loss
                metrics = stopping.curve[-1]["loss"]
            if len(stopping.curve) > saved[0] and last is not None:
                save_training_state(
                    state_file, epoch=last, kwargs=kwargs, stopping=stopping,
                    checkpoints=checkpoints, start=start, valid_loss=metrics,
                )  # fmt: skip
                saved[0] = len(stopping.curve)
            step(metrics=metrics, epoch=epoch)

        scheduler.step = snapshot_then_step
        loop = importlib.import_module("mace.tools.train")
        evaluate = loop.evaluate
        if state:
            loop.evaluate = replay_last_pass(evaluate, state)
        try:
            if stopping.stopped:  # its rule had stopped it before its cap was raised
                raise StopTraining
            mace_train(**kwargs | {"logger": checkpoints, "checkpoint_handler": checkpoints})
        except StopTraining:
            logging.info("stopping rule: %d validation passes without improvement", stopping.waited)
        finally:
            scheduler.step, loop.evaluate = step, evaluate
        if len(stopping.curve) > saved[0] and stopping.curve[-1]["epoch"] is not None:
            save_training_state(  # its last pass, from which a raised cap resumes
                state_file, epoch=stopping.curve[-1]["epoch"], kwargs=kwargs, stopping=stopping,
                checkpoints=checkpoints, start=start, valid_loss=stopping.curve[-1]["loss"],
            )  # fmt: skip
        if stopping.keeps_start():
            # mace publishes its latest checkpoint: make the starting weights that checkpoint
            logging.info(
                "no trained pass beats the start (loss %.6g): keeping it", stopping.start_loss
            )
            model.load_state_dict(start)
            kwargs["checkpoint_handler"].save(
                state=tools.CheckpointState(model, kwargs["optimizer"], kwargs["lr_scheduler"]),
                epochs=kwargs["max_num_epochs"],
            )

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    for handler in handlers:
        root.removeHandler(handler)
    start = time.perf_counter()
    entry = importlib.import_module("mace.cli.run_train")
    mace_loss = entry.get_loss_fn

    def campaign_loss(loss_args, *rest, **options):
        """The campaign's weighted loss, also in multihead mode (mace switches to its Huber
        'universal' loss there: replay would then differ from the other modes in two ways)."""
        loss_args.loss = "weighted"
        return mace_loss(loss_args, *rest, **options)

    with open(log_file, "a", buffering=1) as log, contextlib.redirect_stdout(log):
        print("running: " + " ".join(["mace_run_train", *arguments]))
        tools.train = train_until_converged
        entry.get_loss_fn = campaign_loss
        try:
            run(args)  # mace_run_train's own entry point, after its argument parsing
        finally:
            tools.train, entry.get_loss_fn = mace_train, mace_loss
            for handler in root.handlers[:]:
                root.removeHandler(handler)
                handler.close()
            for handler in handlers:
                root.addHandler(handler)
            root.setLevel(level)
    record = stopping.record(steps_per_epoch) | {"wall_s": round(time.perf_counter() - start, 2)}
    if "--multiheads_finetuning=True" in arguments:
        keep_own_head(Path(work_dir))
    for output, name in TRAINED.items():
        trained = Path(work_dir) / name
        if not trained.exists():
            raise RuntimeError(f"mace_run_train finished without writing {trained}")
        with atomic_path(getattr(outputs, output)) as tmp:
            shutil.copyfile(trained, tmp)
    write_json(outputs.record, record)
    (Path(work_dir) / FINISHED).touch()  # its training state stays: a raised cap resumes
    return record
