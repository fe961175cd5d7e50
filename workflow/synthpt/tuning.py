"""Learning rates chosen per campaign on its validation set: for every mode whose ``lr`` is
``auto``, one run per rate of ``finetune.lr_grid`` at the smallest subset and the first seed,
under the campaign's own schedule and stopping rule; the rate whose kept model has the lowest
validation loss is chosen (the start counts: a fine-tune that never beats it scores its
start's loss)."""

from __future__ import annotations

from synthpt.campaign import pretrained_models, strategies
from synthpt.configs import setting
from synthpt.paths import NO_TEACHER, TuningRun
from synthpt.strategies import SCRATCH
from synthpt.training import AUTO, learning_rate

CHOSEN = "chosen.json"
COLUMNS = [
    "mode",
    "teacher",
    "lr",
    "warmup_steps",
    "n_real",
    "seed",
    "best_valid_loss",
    "start_valid_loss",
    "kept",
    "steps",
    "best_step",
    "stopped_by",
    "wall_s",
    "chosen",
]


def rate_label(lr: float) -> str:
    """How a rate is spelled in paths and tables: 0.0001, 0.003, 1e-05."""
    return f"{float(lr):g}"


def grid(config: dict) -> list[str]:
    return [rate_label(lr) for lr in setting(config["finetune"], "finetune", "lr_grid")]


def tuned_modes(config: dict) -> list[str]:
    """Modes whose learning rate the campaign chooses (``lr: auto``)."""
    schedule = config["finetune"]
    return [m for m in (SCRATCH, *strategies(config)) if learning_rate(schedule, m) == AUTO]


def tuning_groups(config: dict) -> list[TuningRun]:
    """One (mode, pre-trained model) per tuned choice; ``lr`` left empty."""
    groups = []
    for mode in tuned_modes(config):
        teachers = [NO_TEACHER] if mode == SCRATCH else pretrained_models(config)
        groups += [TuningRun(mode, teacher, "") for teacher in teachers]
    return groups


def tuning_runs(config: dict, group: TuningRun | None = None) -> list[TuningRun]:
    groups = [group] if group else tuning_groups(config)
    return [TuningRun(g.mode, g.pretrained, lr) for g in groups for lr in grid(config)]


def tuning_subset(config: dict) -> tuple[int, int]:
    """(n, seed) of every tuning run: the smallest subset, the first training seed."""
    return min(config["subsets"]["sizes"]), config["subsets"]["seeds"][0]


def choose(rows: list[dict]) -> dict:
    """The row of lowest kept validation loss (the smaller rate on a tie)."""
    if not rows:
        raise ValueError("no tuning run to choose from")
    return min(rows, key=lambda row: (row["best_valid_loss"], float(row["lr"])))


def tuning_row(run: TuningRun, record: dict, warmup_steps: int, n: int, seed: int) -> dict:
    row = {"mode": run.mode, "teacher": run.pretrained, "lr": float(run.lr)}
    row |= {"warmup_steps": warmup_steps, "n_real": n, "seed": seed}
    return row | {key: record.get(key) for key in COLUMNS if key not in row and key != "chosen"}
