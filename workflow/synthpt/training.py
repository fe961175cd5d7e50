"""MACE training through mace-torch's own CLI (``mace_run_train``): the plan of a run
(its schedule, epochs, validation interval, stopping rule and strategy) and the entry that
trains a model by it; an interrupted run resumes exactly from its last validation pass
(synthpt.checkpoints). The run itself: synthpt.mace_run; the stopping rule: synthpt.stopping;
the replay strategy's data: synthpt.replay."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from synthpt.checkpoints import prepare_work_dir, run_identity
from synthpt.configs import setting
from synthpt.mace_run import mace_arguments, run_mace
from synthpt.replay import replay_count, write_replay_foundation
from synthpt.stopping import NEVER, EarlyStopping, Warmup
from synthpt.strategies import SCRATCH, STRATEGIES


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

    def rule(self) -> dict:
        """What shapes the run beside mace's own arguments (part of its identity)."""
        return {"patience": self.patience, "min_delta": self.min_delta,
                "warmup_steps": self.warmup_steps, "replay": self.replay}  # fmt: skip

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
    # mace's multihead loader runs over both heads' structures; the cap, validation interval
    # and so patience count the real ones, so that replay sees as much real data as the rest
    per_epoch = steps_per_epoch(n_train + replay, schedule["batch_size"])
    if mode == PRETRAIN:
        epochs, interval = schedule["max_epochs"], setting(schedule, "pretrain", "eval_interval")
    else:
        epochs = epochs_for_steps(n_train, schedule["batch_size"], schedule["max_steps"])
        interval = eval_interval_for_steps(n_train, schedule["batch_size"], schedule["eval_steps"])
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
    why = prepare_work_dir(work_dir, run_identity(arguments, inputs, plan.rule()))
    with open(log_file, "a") as log:
        print(f"work dir {work_dir}: {why}", file=log)
    if before is not None:
        before()
    if foundation_model != given:
        write_replay_foundation(given, foundation_model)
    return run_mace(
        arguments, work_dir, outputs, threads, log_file, plan.stopping(), plan.steps_per_epoch
    )
