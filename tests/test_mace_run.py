"""The mace internals synthpt.mace_run patches are where, and what, they were when the patches
were written: a mace-torch that moves one of them fails here, not silently in a campaign."""

import importlib
import inspect

import mace  # noqa: F401, I001  (before e3nn: lets e3nn load its constants, torch 2.13)
from mace import tools
from mace.cli import run_train
from mace.tools import scripts_utils

from synthpt.mace_run import MACE_VERSION

loop = importlib.import_module("mace.tools.train")  # the module (mace.tools.train: the function)


def test_mace_is_the_version_the_patches_were_written_for():
    from mace.__version__ import __version__

    assert __version__ == MACE_VERSION


def test_run_train_looks_up_the_patched_loop_and_loss_at_call_time():
    """run_mace swaps ``tools.train`` and ``run_train.get_loss_fn``: both must be read from
    their module when ``run`` runs, not bound at import."""
    source = inspect.getsource(run_train.run)
    assert "tools.train(" in source
    assert "get_loss_fn(args" in source and run_train.get_loss_fn is scripts_utils.get_loss_fn
    assert "args.loss" in inspect.getsource(scripts_utils.get_loss_fn)
    assert tools.train is loop.train


def test_the_training_loop_reads_what_train_until_converged_gives_it():
    """Our loop reads these keyword arguments, calls mace's loop with a logger and checkpoint
    handler of its own, wraps the scheduler's step and replaces the module's ``evaluate``."""
    parameters = inspect.signature(loop.train).parameters
    read = ("model", "optimizer", "lr_scheduler", "checkpoint_handler", "logger", "start_epoch",
            "max_num_epochs", "train_loader", "ema")  # fmt: skip
    assert set(read) <= set(parameters)
    source = inspect.getsource(loop.train)
    assert "lr_scheduler.step(" in source and "= evaluate(" in source
    assert callable(loop.evaluate) and hasattr(tools, "CheckpointState")


def test_a_multihead_run_can_drop_its_replay_head():
    parameters = list(inspect.signature(scripts_utils.remove_pt_head).parameters)
    assert parameters[:2] == ["model", "head_to_keep"]
