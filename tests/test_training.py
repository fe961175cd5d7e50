import json

import pytest

from synthpt.training import (
    epochs_for_steps,
    eval_interval_for_steps,
    mace_arguments,
    n_training,
    n_valid,
    prepare_work_dir,
)

ARCH = {
    "num_channels": 16,
    "max_L": 0,
    "max_ell": 1,
    "correlation": 2,
    "r_max": 3.5,
    "num_interactions": 2,
}
SCHEDULE = {
    "batch_size": 5,
    "lr": 0.01,
    "energy_weight": 30,
    "forces_weight": 100,
    "valid_fraction": 0.1,
}


def test_step_budget_is_the_same_for_every_size():
    # mace-torch drops the last partial batch: 9 structures in batches of 5 is one step
    assert epochs_for_steps(9, 5, 200) == 200
    assert epochs_for_steps(72, 5, 200) == 15  # 14 steps an epoch: 210 steps
    assert epochs_for_steps(1000, 5, 10) == 1
    with pytest.raises(ValueError, match="batch size 5 exceeds the 4 training structures"):
        epochs_for_steps(4, 5, 200)


def test_validation_comes_every_so_many_steps_whatever_the_size():
    assert eval_interval_for_steps(9, 5, 10) == 10  # 1 step an epoch
    assert eval_interval_for_steps(72, 5, 10) == 1  # 14 steps an epoch
    assert eval_interval_for_steps(36, 5, 10) == 1  # 7 steps: every epoch
    assert eval_interval_for_steps(18, 5, 10) == 3  # 3 steps
    assert n_valid(10, 0.1) == 1 and n_valid(4, 0.1) == 1 and n_valid(80, 0.1) == 8
    assert n_training(80, 0.1) == 72 and n_training(4, 0.1) == 3


def arguments(**changes):
    kwargs = dict(
        work_dir="w",
        train_file="t.extxyz",
        energy_key="gfn1_energy",
        forces_key="gfn1_forces",
        e0s="{6: -57.0}",
        architecture=ARCH,
        schedule=SCHEDULE,
        epochs=3,
        seed=1,
        dtype="float32",
        device="cpu",
    )
    kwargs.update(changes)
    return mace_arguments(**kwargs)


def test_mace_arguments_carry_keys_e0s_and_fine_tuning():
    scratch = arguments()
    assert "--energy_key=gfn1_energy" in scratch and "--E0s={6: -57.0}" in scratch
    assert "--valid_fraction=0.1" in scratch and "--plot=False" in scratch
    assert not any(a.startswith("--foundation_model") for a in scratch)
    finetune = arguments(foundation_model="w/foundation.model", valid_file="v.extxyz")
    assert "--foundation_model=w/foundation.model" in finetune
    assert "--multiheads_finetuning=False" in finetune
    assert "--valid_file=v.extxyz" in finetune
    assert not any(a.startswith("--valid_fraction") for a in finetune)


def test_radial_mlp_reaches_mace_as_its_own_flag():
    import ast

    from mace.tools import build_default_arg_parser

    parse = build_default_arg_parser().parse_args
    narrow = parse(arguments(architecture=ARCH | {"radial_mlp": [32, 16, 32]}))
    assert ast.literal_eval(narrow.radial_MLP) == [32, 16, 32]
    assert ast.literal_eval(parse(arguments()).radial_MLP) == [64, 64, 64]  # mace's own


def test_work_dir_resumes_only_its_own_command(tmp_path):
    work = tmp_path / "work"
    first = arguments(seed=1)
    assert prepare_work_dir(work, first) is False  # fresh
    (work / "checkpoints").mkdir()
    (work / "checkpoints" / "mace_run-1_epoch-2.pt").write_bytes(b"x")
    assert prepare_work_dir(work, first) is True  # same command, checkpoints: resume
    assert json.loads((work / "command.json").read_text()) == first
    assert prepare_work_dir(work, arguments(seed=2)) is False  # another command: start clean
    assert not (work / "checkpoints").exists()
