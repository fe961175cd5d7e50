"""A training run's work dir and its resume state: which run a work dir holds (resumed or
started clean), the best checkpoints mace keeps, and the full training state at the last
validation pass, saved and restored so that an interrupted run resumes exactly."""

from __future__ import annotations

import json
import logging
import math
import shutil
from pathlib import Path

from synthpt.io import atomic_path, write_json
from synthpt.provenance import sha256
from synthpt.stopping import EarlyStopping, own_pass

COMMAND_FILE = "command.json"


FINISHED = "finished"  # written once a run's outputs are published


def run_identity(arguments: list[str], inputs=(), rule: dict | None = None) -> dict:
    """What makes two training runs the same run: the mace command, the content of every
    input file (not its path), what mace is not told (``rule``: our stopping rule, warm-up and
    replay) and the versions of the training code."""
    from importlib.metadata import version

    return {
        "command": arguments,
        "inputs": {str(path): sha256(path) for path in inputs},
        "rule": rule or {},
        "versions": {name: version(name) for name in ("mace-torch", "torch", "e3nn")},
    }


CAP = "--max_num_epochs="


def raised_cap(recorded: dict, identity: dict) -> tuple[int, int] | None:
    """(old cap, new cap) when ``identity`` is the ``recorded`` run with only a higher epoch cap:
    the longer run passes through every epoch of the shorter one, so it resumes from its end."""

    def without_cap(run: dict) -> tuple[dict, int | None]:
        caps = [int(a[len(CAP) :]) for a in run.get("command", []) if a.startswith(CAP)]
        command = [a for a in run.get("command", []) if not a.startswith(CAP)]
        return run | {"command": command}, caps[0] if len(caps) == 1 else None

    (before, old), (after, new) = without_cap(recorded), without_cap(identity)
    if before == after and old is not None and new is not None and new > old:
        return old, new
    return None


def prepare_work_dir(work_dir, identity: dict) -> str:
    """Make ``work_dir`` ready for the run of ``identity`` and say how it starts: an interrupted
    run of the same identity that left a training state (``RESUME_FILE``) resumes from it, and
    so does a finished run whose epoch cap alone was raised (its state at its last pass);
    anything else (a fresh run, a finished run forced again, other inputs, no state yet) starts
    clean from epoch 0."""
    work_dir = Path(work_dir)
    record = work_dir / COMMAND_FILE
    recorded = json.loads(record.read_text()) if record.exists() else None
    same = recorded == identity
    caps = raised_cap(recorded, identity) if recorded else None
    if not work_dir.exists():
        why = "a fresh run"
    elif (work_dir / FINISHED).exists() and caps and (work_dir / RESUME_FILE).exists():
        (work_dir / FINISHED).unlink()
        write_json(record, identity)
        return (
            f"its epoch cap was raised from {caps[0]} to {caps[1]}: resuming from its last "
            "validation pass"
        )
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
