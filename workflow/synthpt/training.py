"""MACE training through mace-torch's own CLI (``mace_run_train``), one clean run per work dir."""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from synthpt.io import atomic_path, write_json
from synthpt.provenance import sha256
from synthpt.runtime import set_threads
from synthpt.strategies import STRATEGIES

MODEL_NAME = "mace"
COMMAND_FILE = "command.json"
TRAINED = {"model": f"{MODEL_NAME}.model", "compiled": f"{MODEL_NAME}_compiled.model"}
NEVER = 10**9  # a patience that never runs out


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


PRETRAIN, SCRATCH = "pretrain", "scratch"  # the other modes: fine-tuning STRATEGIES


@dataclass(frozen=True)
class TrainingPlan:
    """Everything that decides how one model is trained, from the config and its data size."""

    mode: str
    labels: str  # the calculator whose labels it learns: a teacher or the reference
    e0s: str  # "fit" (least squares on its labels), "given" (config), "refit" (pre-trained model's)
    from_pretrained: bool
    epochs: int  # the cap
    steps_per_epoch: int
    schedule: dict  # what mace_arguments reads: batch size, lr, weights, validation, EMA, plateau
    patience: int  # validation passes without a relative improvement of min_delta: stop
    min_delta: float
    arguments: dict = field(default_factory=dict)  # a strategy's own mace_run_train flags
    warmup_steps: int = 0  # linear warm-up from a tenth of the rate over so many steps


AUTO = "auto"  # a learning rate chosen on the validation set (synthpt.tuning)


def learning_rate(schedule: dict, mode: str) -> float | str:
    """``lr`` is one number or ``auto``, or one per mode ({scratch: ..., finetune: ...}); a
    strategy without its own rate uses finetune's."""
    lr = schedule.get("lr", AUTO)
    return lr.get(mode, lr.get("finetune", AUTO)) if isinstance(lr, dict) else lr


def training_plan(
    mode: str, settings: dict, n_train: int, teacher: str | None = None, lr: float | None = None
):
    """The plan of a pre-training, scratch or fine-tuning run (``mode``: a strategy of
    ``STRATEGIES``) on ``n_train`` structures.

    Scratch and fine-tuning share one schedule and stopping rule (the config's ``finetune``)
    and differ only in their starting weights, E0s, learning rate and what the strategy's
    entry changes; every run validates on
    a fixed set (the synthetic valid split, or the real validation set) every ``eval_steps``
    optimizer steps (pre-training: every ``eval_interval`` epochs) and stops by the rule or at
    the cap (``max_steps``; pre-training ``max_epochs``). ``lr`` pins the learning rate (a
    tuning run, or the rate tuning chose where the config says ``auto``)."""
    strategy = STRATEGIES.get(mode)
    if mode not in (PRETRAIN, SCRATCH) and strategy is None:
        raise ValueError(f"'{mode}' is neither pretrain, scratch nor a strategy {list(STRATEGIES)}")
    schedule = settings["schedule"] | (strategy.schedule if strategy else {})
    per_epoch = steps_per_epoch(n_train, schedule["batch_size"])
    if mode == PRETRAIN:
        epochs, interval = schedule["max_epochs"], schedule.get("eval_interval", 1)
    else:
        epochs = epochs_for_steps(n_train, schedule["batch_size"], schedule["max_steps"])
        interval = eval_interval_for_steps(n_train, schedule["batch_size"], schedule["eval_steps"])
    if strategy:
        e0s = "refit"
    elif mode == SCRATCH and settings.get("e0s", "fit") != "fit":
        e0s = "given"
    else:
        e0s = "fit"
    rate = lr if lr is not None else learning_rate(schedule, mode)
    if rate == AUTO:
        raise ValueError(f"{mode}: lr is 'auto' and no tuned rate was given")
    mace_schedule = {
        key: schedule[key] for key in ("batch_size", "energy_weight", "forces_weight")
    } | {
        "lr": rate,
        "eval_interval": interval,
        "ema_decay": schedule.get("ema_decay"),
        "lr_factor": schedule.get("lr_factor", 0.8),
        # mace's plateau scheduler steps every epoch; lr_patience counts validation passes
        "scheduler_patience": schedule.get("lr_patience", NEVER) * interval,
    }
    return TrainingPlan(
        mode=mode,
        labels=teacher if mode == PRETRAIN else settings["reference"],
        e0s=e0s,
        from_pretrained=strategy is not None,
        epochs=epochs,
        steps_per_epoch=per_epoch,
        schedule=mace_schedule,
        patience=schedule["patience"],
        min_delta=schedule.get("min_delta", 0.0),
        arguments=strategy.arguments if strategy else {},
        warmup_steps=schedule.get("warmup_steps", 0),
    )


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
        "eval_interval": schedule.get("eval_interval", 1),
        "patience": NEVER,  # the stopping rule is ours (mace's never stops outside DDP)
        "scheduler_patience": schedule.get("scheduler_patience", NEVER),
        "lr_factor": schedule.get("lr_factor", 0.8),
        "default_dtype": dtype,
        "device": device,
        "error_table": "PerAtomRMSE",
        "skip_evaluate_heads": "Default",  # no final error tables: the evaluate rule scores
        "plot": False,
    }
    if schedule.get("ema_decay"):
        args |= {"ema": None, "ema_decay": schedule["ema_decay"]}  # --ema is a bare flag
    if "radial_mlp" in architecture:
        args["radial_MLP"] = f"[{','.join(str(width) for width in architecture['radial_mlp'])}]"
    if foundation_model is not None:
        args["foundation_model"] = foundation_model
        args["multiheads_finetuning"] = False
    args |= extra or {}
    return [f"--{key}" if value is None else f"--{key}={value}" for key, value in args.items()]


class StopTraining(Exception):
    """Raised inside mace's training loop when the stopping rule says the run has converged."""


START, TRAINED_PASS = "start", "trained"  # which candidate a run publishes


@dataclass
class Warmup:
    """A linear learning-rate warm-up over the first ``steps`` optimizer steps, from
    ``start_factor`` x each parameter group's rate. It rescales the current rates step by step,
    so mace's plateau scheduler and layer-wise factors compose with it."""

    steps: int
    start_factor: float = 0.1
    optimizer: object = None
    done: int = 0

    def factor(self, step: int) -> float:
        if self.steps <= 0 or step >= self.steps:
            return 1.0
        return self.start_factor + (1.0 - self.start_factor) * step / self.steps

    def begin(self, optimizer) -> None:
        self.optimizer, self.done = optimizer, 0
        self._rescale(self.factor(0))

    def step(self) -> None:
        """After an optimizer step: move every group's rate to the next step's factor."""
        if self.optimizer is None or self.done >= self.steps:
            return
        before = self.factor(self.done)
        self.done += 1
        self._rescale(self.factor(self.done) / before)

    def _rescale(self, ratio: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] *= ratio


@dataclass
class EarlyStopping:
    """The stopping rule, as a stand-in for mace's metrics logger (which sees every step and
    every validation pass): stop once ``patience`` validation passes in a row have not lowered
    the best validation loss by ``min_delta`` (relative). The pass before any step (the
    starting model) is a candidate like the others: the rule counts from it, and when no
    trained pass beats it the run publishes the start. mace keeps the best trained
    checkpoint; when the pass that ends the run is itself a new best, the run stops at the next
    optimizer step, after mace has saved it. Records the validation curve."""

    patience: int
    min_delta: float
    logger: object = None
    warmup: Warmup | None = None
    curve: list = field(default_factory=list)
    best: float = math.inf
    waited: int = 0
    stopped: bool = False

    def log(self, record: dict) -> None:
        self.logger.log(record)
        if self.stopped:
            raise StopTraining
        if record.get("mode") == "opt" and self.warmup is not None:
            self.warmup.step()
        if record.get("mode") != "eval":
            return
        loss = float(record["loss"])
        self.curve.append(
            {
                "epoch": record["epoch"],
                "loss": loss,
                "rmse_e_per_atom": record.get("rmse_e_per_atom"),
                "rmse_f": record.get("rmse_f"),
            }
        )
        if loss < self.best * (1 - self.min_delta):
            self.best, self.waited = loss, 0
            return
        self.waited += 1
        if self.waited >= self.patience:
            self.stopped = True
            trained = [p["loss"] for p in self.curve[:-1] if p["epoch"] is not None]
            if loss >= min(trained, default=math.inf):
                raise StopTraining  # not a new best of mace's: it saves nothing this pass

    @property
    def start_loss(self) -> float | None:
        return next((p["loss"] for p in self.curve if p["epoch"] is None), None)

    def best_trained(self) -> dict | None:
        trained = [point for point in self.curve if point["epoch"] is not None]
        return min(trained, key=lambda point: point["loss"]) if trained else None

    def keeps_start(self) -> bool:
        """No trained pass beats the starting model's validation loss by what the rule counts
        as an improvement (``min_delta``, relative): a gain within selection noise keeps it."""
        best = self.best_trained()
        if self.start_loss is None:
            return False
        return best is None or best["loss"] >= self.start_loss * (1 - self.min_delta)

    def record(self, steps_per_epoch: int) -> dict:
        """How the run went: epochs and steps run, the selected epoch (None and step 0 when the
        start is kept), the stop."""
        trained = [point for point in self.curve if point["epoch"] is not None]
        epochs = trained[-1]["epoch"] + 1 if trained else 0
        best = self.best_trained()
        kept_start = self.keeps_start()
        return {
            "epochs": epochs,
            "steps": epochs * steps_per_epoch,
            "best_epoch": None if kept_start or best is None else best["epoch"],
            "best_step": 0 if kept_start else (best["epoch"] + 1) * steps_per_epoch,
            "best_valid_loss": self.start_loss if kept_start else best["loss"],
            "start_valid_loss": self.start_loss,
            "kept": START if kept_start else TRAINED_PASS,
            "stopped_by": "rule" if self.stopped else "cap",
            "validation": self.curve,
        }


FINISHED = "finished"  # written once a run's outputs are published


def run_identity(arguments: list[str], inputs=()) -> dict:
    """What makes two training runs the same run: the mace command, the content of every
    input file (not its path) and the versions of the training code."""
    from importlib.metadata import version

    return {
        "command": arguments,
        "inputs": {str(path): sha256(path) for path in inputs},
        "versions": {name: version(name) for name in ("mace-torch", "torch", "e3nn")},
    }


def prepare_work_dir(work_dir, identity: dict) -> str:
    """Empty ``work_dir`` for a run from epoch 0, record ``identity`` in it, and say what was
    there. Training never resumes: mace-torch 0.3.16 checkpoints only the EMA weights of its
    best pass (no raw weights, EMA state, RNG or sampler state, stopping rule), so a resumed
    model is not the one an uninterrupted run makes; and mace would load a stale checkpoint."""
    work_dir = Path(work_dir)
    record = work_dir / COMMAND_FILE
    if not work_dir.exists():
        why = "a fresh run"
    elif (work_dir / FINISHED).exists():
        why = "a finished run was here (forced or inputs changed): training again from epoch 0"
    elif record.exists() and json.loads(record.read_text()) == identity:
        why = "this run was interrupted: training it again from epoch 0, not resuming"
    else:
        why = "an interrupted run of other inputs was here: starting clean"
    if work_dir.exists():
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)
    write_json(record, identity)
    return why


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
        start = copy.deepcopy(model.state_dict())
        if stopping.warmup is not None:
            stopping.warmup.begin(kwargs["optimizer"])
        try:
            mace_train(logger=stopping, **kwargs)
        except StopTraining:
            logging.info("stopping rule: %d validation passes without improvement", stopping.waited)
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
    with open(log_file, "a", buffering=1) as log, contextlib.redirect_stdout(log):
        print("running: " + " ".join(["mace_run_train", *arguments]))
        tools.train = train_until_converged
        try:
            run(args)  # mace_run_train's own entry point, after its argument parsing
        finally:
            tools.train = mace_train
            for handler in root.handlers[:]:
                root.removeHandler(handler)
                handler.close()
            for handler in handlers:
                root.addHandler(handler)
            root.setLevel(level)
    record = stopping.record(steps_per_epoch) | {"wall_s": round(time.perf_counter() - start, 2)}
    for output, name in TRAINED.items():
        trained = Path(work_dir) / name
        if not trained.exists():
            raise RuntimeError(f"mace_run_train finished without writing {trained}")
        with atomic_path(getattr(outputs, output)) as tmp:
            shutil.copyfile(trained, tmp)
    write_json(outputs.record, record)
    (Path(work_dir) / FINISHED).touch()
    return record
