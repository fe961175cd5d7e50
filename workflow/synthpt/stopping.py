"""The stopping rule every training run shares: validation passes of the run's own head, a
linear learning-rate warm-up, and when to stop (scratch, fine-tuning and pre-training alike)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

NEVER = 10**9  # a patience that never runs out


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
