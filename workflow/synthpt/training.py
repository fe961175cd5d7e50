"""MACE training through mace-torch's own CLI (``mace_run_train``); an interrupted run resumes
exactly from its last validation pass."""

from __future__ import annotations

import contextlib
import copy
import importlib
import json
import logging
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from synthpt.configs import setting
from synthpt.io import atomic_path, write_json
from synthpt.provenance import sha256
from synthpt.runtime import set_threads
from synthpt.strategies import SCRATCH, STRATEGIES

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


PRETRAIN = "pretrain"  # the other modes: SCRATCH and the fine-tuning STRATEGIES


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
    replay: int = 0  # pre-training structures in a second (replay) head

    def stopping(self) -> EarlyStopping:
        """A fresh stopping rule (and warm-up) for one run of this plan."""
        warmup = Warmup(self.warmup_steps) if self.warmup_steps else None
        return EarlyStopping(self.patience, self.min_delta, warmup=warmup)


AUTO = "auto"  # a learning rate chosen on the validation set (synthpt.tuning)
PER_MODE = {"lr": AUTO, "max_steps": None}  # settings that may be given per mode: their default


def schedule_for(schedule: dict, mode: str) -> dict:
    """``schedule`` with each PER_MODE setting resolved for ``mode``: one value, or one per
    mode ({scratch: ..., finetune: ...}), where a mode without its own takes finetune's."""
    resolved = dict(schedule)
    for key, default in PER_MODE.items():
        value = schedule.get(key, default)
        if isinstance(value, dict):
            value = value.get(mode, value.get("finetune", default))
        if value is not None:
            resolved[key] = value
    return resolved


def learning_rate(schedule: dict, mode: str) -> float | str:
    """``mode``'s learning rate: a number, or ``auto`` (tuned on the validation set)."""
    return schedule_for(schedule, mode)["lr"]


def training_plan(
    mode: str,
    settings: dict,
    n_train: int,
    teacher: str | None = None,
    lr: float | None = None,
    replay_pool: int | None = None,
):
    """The plan of a pre-training, scratch or fine-tuning run (``mode``: a strategy of
    ``STRATEGIES``) on ``n_train`` structures.

    Scratch and fine-tuning share one schedule and stopping rule (the config's ``finetune``)
    and differ only in their starting weights, E0s, learning rate and what the strategy's
    entry changes; every run validates on
    a fixed set (the synthetic valid split, or the real validation set) every ``eval_steps``
    optimizer steps (pre-training: every ``eval_interval`` epochs) and stops by the rule or at
    the cap (``max_steps``; pre-training ``max_epochs``). ``lr`` pins the learning rate (a
    tuning run, or the rate tuning chose where the config says ``auto``); ``replay_pool``: the
    pre-training structures a replay strategy draws from."""
    strategy = STRATEGIES.get(mode)
    if mode not in (PRETRAIN, SCRATCH) and strategy is None:
        raise ValueError(f"'{mode}' is neither pretrain, scratch nor a strategy {list(STRATEGIES)}")
    schedule = schedule_for(settings["schedule"], mode) | (strategy.schedule if strategy else {})
    section = PRETRAIN if mode == PRETRAIN else "finetune"  # the config section it comes from
    replay = replay_count(strategy, n_train, replay_pool)
    n_epoch = n_train + replay  # mace's multihead loader runs over both heads' structures
    per_epoch = steps_per_epoch(n_epoch, schedule["batch_size"])
    if mode == PRETRAIN:
        epochs, interval = schedule["max_epochs"], setting(schedule, "pretrain", "eval_interval")
    else:
        epochs = epochs_for_steps(n_epoch, schedule["batch_size"], schedule["max_steps"])
        interval = eval_interval_for_steps(n_epoch, schedule["batch_size"], schedule["eval_steps"])
    if strategy:
        e0s = "refit"
    elif mode == SCRATCH and setting(settings, "real", "e0s") != "fit":
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
        "lr_factor": setting(schedule, section, "lr_factor"),
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
        min_delta=setting(schedule, section, "min_delta"),
        arguments=strategy.arguments if strategy else {},
        warmup_steps=setting(schedule, "finetune", "warmup_steps"),
        replay=replay,
    )


REPLAY_VALID = 10  # pre-training structures the replay head validates on (mace needs some)


def replay_structures(
    pool, count, seed: int, labels: tuple[str, str], keys: tuple[str, str], shift=None
):
    """``count`` structures of ``pool`` (all, if fewer) drawn with ``seed``, their ``labels``
    (energy, forces keys: the teacher's) copied under ``keys`` (the run's own). ``shift``
    (per atomic number, eV; ``replay_zero_shift``) moves the teacher's energies onto the energy
    zero of the head that replays them."""
    import numpy as np

    if count < len(pool):
        pool = [pool[k] for k in sorted(np.random.default_rng(seed).permutation(len(pool))[:count])]
    out = []
    for atoms in pool:
        atoms = atoms.copy()
        offset = sum(shift.get(int(z), 0.0) for z in atoms.numbers) if shift else 0.0
        atoms.info[keys[0]] = atoms.info[labels[0]] + offset
        atoms.arrays[keys[1]] = atoms.arrays[labels[1]]
        out.append(atoms)
    return out


def replay_zero_shift(pretrained_e0s: dict, refitted_e0s: dict) -> dict[int, float]:
    """Per element, how far the foundation's E0s moved from the pre-trained model's own (the
    teacher's zero) when re-centred on the real subset: mace gives the replay head the
    foundation's E0s, so the teacher's replayed labels must move by as much (else that head
    starts ~48 eV/atom off on carbon: GFN1-xTB's zero against SNAP's)."""
    return {z: refitted_e0s[z] - pretrained_e0s[z] for z in refitted_e0s}


def write_replay_foundation(source, target) -> None:
    """The pre-trained model with its E0s as a flat vector: mace 0.3.16's multihead set-up
    squeezes a (1, n) E0 table and cannot index the scalar that one element leaves."""
    import torch

    model = torch.load(source, weights_only=False)
    block = model.atomic_energies_fn
    block.atomic_energies = block.atomic_energies.reshape(-1)
    with atomic_path(target) as tmp:
        torch.save(model, tmp)


def replay_count(strategy, n_train: int, pool: int | None = None) -> int:
    """Pre-training structures a strategy replays beside ``n_train`` real ones (at most the
    ``pool`` there are)."""
    wanted = round(strategy.replay * n_train) if strategy is not None else 0
    return min(wanted, pool) if pool is not None else wanted


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


class StopTraining(Exception):
    """Raised inside mace's training loop when the stopping rule says the run has converged."""


START, TRAINED_PASS = "start", "trained"  # which candidate a run publishes
HEAD = "Default"  # mace's name for the head of the run's own data: validated and published


def own_pass(record: dict) -> bool:
    """A validation record of the run's own head (not a replay head's, not a training step)."""
    return record.get("mode") == "eval" and record.get("head", HEAD) == HEAD


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
    resumed: bool = False  # mace validates again before a resumed run's first epoch: not a pass
    last_eval: dict | None = None  # the metrics of the last validation pass

    def log(self, record: dict) -> None:
        self.logger.log(record)
        if self.stopped:
            raise StopTraining
        if record.get("mode") == "opt" and self.warmup is not None:
            self.warmup.step()
        if not own_pass(record):
            return
        if self.resumed and record["epoch"] is None:
            return
        self.last_eval = {k: v for k, v in record.items() if k not in ("mode", "epoch", "head")}
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
    """Make ``work_dir`` ready for the run of ``identity`` and say how it starts: an interrupted
    run of the same identity that left a training state (``RESUME_FILE``) resumes from it;
    anything else (a fresh run, a finished run forced again, other inputs, no state yet) starts
    clean from epoch 0."""
    work_dir = Path(work_dir)
    record = work_dir / COMMAND_FILE
    same = record.exists() and json.loads(record.read_text()) == identity
    if not work_dir.exists():
        why = "a fresh run"
    elif (work_dir / FINISHED).exists():
        why = "a finished run was here (forced or inputs changed): training again from epoch 0"
    elif same and (work_dir / RESUME_FILE).exists():
        return "this run was interrupted: resuming from its last validation pass"
    elif same:
        why = "this run was interrupted before its first validation pass: starting again"
    else:
        why = "an interrupted run of other inputs was here: starting clean"
    if work_dir.exists():
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)
    write_json(record, identity)
    return why


RESUME_FILE = "resume.pt"  # the full training state at the last validation pass


class BestCheckpoints:
    """mace's checkpoint handler and logger in one: saves a checkpoint at each trained
    validation pass of the run's own head that beats every earlier one (inside mace's EMA
    context, as mace does), then hands the record to the stopping rule. mace itself saves by
    its last head's loss, a replay head's in a multihead run, and forgets its lowest loss on a
    resume; its own save calls do nothing here. In a one-head run the two agree pass by pass."""

    def __init__(self, handler, stopping: EarlyStopping, state, lowest: float = math.inf):
        self.handler, self.stopping, self.state, self.lowest = handler, stopping, state, lowest

    def log(self, record: dict) -> None:
        if own_pass(record) and record["epoch"] is not None:
            if float(record["loss"]) < self.lowest:
                self.lowest = float(record["loss"])
                self.handler.save(state=self.state(), epochs=record["epoch"], keep_last=False)
        self.stopping.log(record)

    def save(self, state, epochs: int, keep_last: bool = False) -> None:
        """mace's own call: the pass was saved (or not) when it was logged."""

    def __getattr__(self, name):
        return getattr(self.handler, name)


STATE_FORMAT = 1  # what save_training_state writes; another format is not resumed


def read_training_state(path: Path, checkpoints) -> dict | None:
    """The saved training state, or None (none there, or unreadable: then the run starts from
    epoch 0, without the interrupted run's checkpoints, which mace would otherwise publish)."""
    import torch

    if not path.exists():
        return None
    try:
        state = torch.load(path, weights_only=False)
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"format {state.get('format')}, not {STATE_FORMAT}")
        return state
    except Exception as error:  # any unreadable state: start clean
        logging.warning("training state %s unreadable (%s): training from epoch 0", path, error)
        path.unlink()
        shutil.rmtree(checkpoints.io.directory, ignore_errors=True)
        return None


def save_training_state(path, *, epoch, kwargs, stopping, checkpoints, start, valid_loss):
    """Everything an uninterrupted run carries from epoch ``epoch`` into the next, written
    atomically: raw weights, EMA shadow, optimizer, scheduler, the RNGs and the data order,
    the stopping rule and the validation curve."""
    import random

    import numpy as np
    import torch

    ema = kwargs.get("ema")
    state = {
        "format": STATE_FORMAT,
        "epoch": epoch,
        "model": kwargs["model"].state_dict(),
        # mace zeroes only the optimizer's gradients: a parameter outside it accumulates its
        # own, which gradient clipping (over all parameters) then reads
        "grads": {
            name: param.grad.clone()
            for name, param in kwargs["model"].named_parameters()
            if param.grad is not None
        },
        "ema": ema.state_dict() if ema is not None else None,
        "optimizer": kwargs["optimizer"].state_dict(),
        "lr_scheduler": kwargs["lr_scheduler"].state_dict(),
        "valid_loss": valid_loss,
        "lowest": checkpoints.lowest,
        "start": start,
        "rng": {
            "torch": torch.get_rng_state(),
            "numpy": np.random.get_state(),
            "python": random.getstate(),
            "data_order": kwargs["train_loader"].generator.get_state(),
        },
        "stopping": {
            "curve": stopping.curve,
            "best": stopping.best,
            "waited": stopping.waited,
            "stopped": stopping.stopped,
            "warmup_done": stopping.warmup.done if stopping.warmup else None,
            "last_eval": stopping.last_eval,
        },
    }
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


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


def restore_training_state(state: dict, kwargs, stopping) -> None:
    """Put ``state`` (save_training_state's) back into mace's objects and the stopping rule."""
    import random

    import numpy as np
    import torch

    kwargs["model"].load_state_dict(state["model"])
    for name, param in kwargs["model"].named_parameters():
        param.grad = state["grads"].get(name)
    if state["ema"] is not None:
        kwargs["ema"].load_state_dict(state["ema"])
    kwargs["optimizer"].load_state_dict(state["optimizer"])
    kwargs["lr_scheduler"].load_state_dict(state["lr_scheduler"])
    torch.set_rng_state(state["rng"]["torch"])
    np.random.set_state(state["rng"]["numpy"])
    random.setstate(state["rng"]["python"])
    kwargs["train_loader"].generator.set_state(state["rng"]["data_order"])
    saved = state["stopping"]
    stopping.curve, stopping.best = saved["curve"], saved["best"]
    stopping.waited, stopping.stopped = saved["waited"], saved["stopped"]
    stopping.last_eval = saved["last_eval"]
    if stopping.warmup is not None:
        stopping.warmup.optimizer, stopping.warmup.done = kwargs["optimizer"], saved["warmup_done"]


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
            mace_train(**kwargs | {"logger": checkpoints, "checkpoint_handler": checkpoints})
        except StopTraining:
            logging.info("stopping rule: %d validation passes without improvement", stopping.waited)
        finally:
            scheduler.step, loop.evaluate = step, evaluate
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
    (Path(work_dir) / FINISHED).touch()
    (Path(work_dir) / RESUME_FILE).unlink(missing_ok=True)
    return record


def train_model(
    plan: TrainingPlan,
    *,
    work_dir,
    train_file,
    valid_file,
    keys: tuple[str, str],
    e0s: str,
    architecture: dict,
    seed: int,
    dtype: str,
    outputs,
    log_file,
    device: str = "cpu",
    threads: int = 1,
    foundation_model=None,
    inputs=(),
    before=None,
    extra: dict | None = None,
) -> dict:
    """Train one model by ``plan``: mace_run_train's arguments, the work dir (resumed or clean,
    by the run's identity: its command and the content of ``inputs``), then the run; returns
    its record. ``before`` writes what the run reads from its work dir, once that is ready;
    ``extra``: further mace_run_train flags."""
    given = foundation_model
    if plan.replay and given is not None:  # what mace's multihead set-up can read
        foundation_model = Path(work_dir) / "replay_foundation.model"
    arguments = mace_arguments(
        work_dir=work_dir, train_file=train_file, valid_file=valid_file, energy_key=keys[0],
        forces_key=keys[1], e0s=e0s, architecture=architecture, schedule=plan.schedule,
        epochs=plan.epochs, seed=seed, dtype=dtype, device=device,
        foundation_model=foundation_model, extra=plan.arguments | (extra or {}),
    )  # fmt: skip
    why = prepare_work_dir(work_dir, run_identity(arguments, inputs))
    with open(log_file, "a") as log:
        print(f"work dir {work_dir}: {why}", file=log)
    if before is not None:
        before()
    if foundation_model != given:
        write_replay_foundation(given, foundation_model)
    return run_mace(
        arguments, work_dir, outputs, threads, log_file, plan.stopping(), plan.steps_per_epoch
    )
