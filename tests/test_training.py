import json

import pytest

from synthpt.checkpoints import prepare_work_dir
from synthpt.mace_run import mace_arguments
from synthpt.stopping import EarlyStopping, StopTraining
from synthpt.training import (
    epochs_for_steps,
    eval_interval_for_steps,
    learning_rate,
    n_valid,
    training_plan,
)

ARCH = {
    "num_channels": 16,
    "max_L": 0,
    "max_ell": 1,
    "correlation": 2,
    "r_max": 3.5,
    "num_interactions": 2,
}
SCHEDULE = {"batch_size": 5, "lr": 0.01, "energy_weight": 30, "forces_weight": 100}


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
        valid_file="v.extxyz",
        dtype="float32",
        device="cpu",
    )
    kwargs.update(changes)
    return mace_arguments(**kwargs)


def test_mace_arguments_carry_keys_e0s_and_fine_tuning():
    scratch = arguments()
    assert "--energy_key=gfn1_energy" in scratch and "--E0s={6: -57.0}" in scratch
    assert "--valid_file=v.extxyz" in scratch and "--plot=False" in scratch
    assert not any(a.startswith(("--foundation_model", "--ema")) for a in scratch)
    finetune = arguments(foundation_model="w/foundation.model")
    assert "--foundation_model=w/foundation.model" in finetune
    assert "--multiheads_finetuning=False" in finetune
    assert not any(a.startswith("--valid_fraction") for a in finetune)


def test_radial_mlp_reaches_mace_as_its_own_flag():
    import ast

    from mace.tools import build_default_arg_parser

    parse = build_default_arg_parser().parse_args
    narrow = parse(arguments(architecture=ARCH | {"radial_mlp": [32, 16, 32]}))
    assert ast.literal_eval(narrow.radial_MLP) == [32, 16, 32]
    assert ast.literal_eval(parse(arguments()).radial_MLP) == [64, 64, 64]  # mace's own


def test_a_run_resumes_only_its_own_state_and_its_log_says_what_was_there(tmp_path):
    import torch

    from synthpt.checkpoints import FINISHED, RESUME_FILE, run_identity

    data = tmp_path / "train.extxyz"
    data.write_text("one")
    work = tmp_path / "work"
    first = run_identity(arguments(seed=1), [data])
    assert prepare_work_dir(work, first) == "a fresh run"
    assert json.loads((work / "command.json").read_text()) == first

    def leave_checkpoint(torn=False):
        (work / "checkpoints").mkdir(exist_ok=True)
        path = work / "checkpoints" / "mace_run-1_epoch-2.pt"
        torch.save({"epoch": 2, "blob": list(range(1000))}, path)
        if torn:  # killed mid-write
            path.write_bytes(path.read_bytes()[:100])

    leave_checkpoint()  # killed before its first training state: trained again from epoch 0
    assert "before its first validation pass: starting again" in prepare_work_dir(work, first)
    assert not (work / "checkpoints").exists()
    leave_checkpoint()
    (work / RESUME_FILE).write_bytes(b"state")  # killed after a validation pass: resumed
    assert "resuming from its last validation pass" in prepare_work_dir(work, first)
    assert (work / RESUME_FILE).exists() and (work / "checkpoints").exists()
    leave_checkpoint(torn=True)
    data.write_text("two")  # the same command and paths on changed data is another run
    second = run_identity(arguments(seed=1), [data])
    assert second != first
    assert "interrupted run of other inputs" in prepare_work_dir(work, second)
    assert not (work / "checkpoints").exists() and not (work / RESUME_FILE).exists()
    leave_checkpoint()
    (work / RESUME_FILE).write_bytes(b"state")
    (work / FINISHED).touch()  # what run_mace leaves once it has published the model
    assert "finished run was here" in prepare_work_dir(work, second)  # e.g. --forcerun
    assert sorted(p.name for p in work.iterdir()) == ["command.json"]


def test_only_a_higher_epoch_cap_with_nothing_else_changed_resumes_a_finished_run(tmp_path):
    from synthpt.checkpoints import FINISHED, RESUME_FILE, raised_cap, run_identity

    data = tmp_path / "train.extxyz"
    data.write_text("one")
    work = tmp_path / "work"

    def identity(cap, seed=1):
        return run_identity(arguments(seed=seed, epochs=cap), [data])

    assert raised_cap(identity(10), identity(30)) == (10, 30)
    assert raised_cap(identity(30), identity(10)) is None  # cannot be untrained
    assert raised_cap(identity(10), identity(30, seed=2)) is None
    stricter = run_identity(arguments(seed=1, epochs=30), [data], {"patience": 3})
    assert raised_cap(identity(10), stricter) is None  # our stopping rule is part of the run
    for then, now, resumed in ((10, 30, True), (30, 10, False), (10, 10, False)):
        prepare_work_dir(work, identity(then))
        (work / RESUME_FILE).write_bytes(b"state")
        (work / FINISHED).touch()
        why = prepare_work_dir(work, identity(now))
        assert ("cap was raised from 10 to 30" in why) == resumed, why
        assert (work / RESUME_FILE).exists() == resumed and not (work / FINISHED).exists()
        assert json.loads((work / "command.json").read_text()) == identity(now)
    (work / FINISHED).touch()  # a finished run without its state (before it was kept)
    assert "finished run was here" in prepare_work_dir(work, identity(90))


FINETUNE = {
    "batch_size": 5,
    "lr": {"scratch": 0.01, "finetune": 0.002},
    "energy_weight": 300,
    "forces_weight": 100,
    "max_steps": 1000,
    "eval_steps": 20,
    "patience": 10,
    "min_delta": 0.005,
    "lr_factor": 0.5,
    "lr_patience": 4,
    "ema_decay": 0.99,
}
SETTINGS = {"reference": "gfn1", "e0s": "fit", "schedule": FINETUNE}


def test_scratch_and_fine_tuning_share_the_rule_and_differ_in_start_and_rate():
    scratch = training_plan("scratch", SETTINGS, 10)
    finetune = training_plan("finetune", SETTINGS, 10)
    assert (scratch.labels, scratch.e0s, scratch.from_pretrained) == ("gfn1", "fit", False)
    assert (finetune.labels, finetune.e0s, finetune.from_pretrained) == ("gfn1", "refit", True)
    assert scratch.schedule["lr"] == 0.01 and finetune.schedule["lr"] == 0.002
    for plan in (scratch, finetune):
        assert (plan.patience, plan.min_delta, plan.epochs) == (10, 0.005, 500)  # 2 steps an epoch
        assert plan.schedule["eval_interval"] == 10  # a validation pass every 20 steps
        assert plan.schedule["scheduler_patience"] == 40  # 4 passes, counted in epochs
    large = training_plan("scratch", SETTINGS, 80)  # 16 steps an epoch
    assert (large.epochs, large.steps_per_epoch, large.schedule["eval_interval"]) == (63, 16, 1)
    given = training_plan("scratch", SETTINGS | {"e0s": {"C": -57.0}}, 10)
    assert (
        given.e0s == "given"
        and training_plan("finetune", SETTINGS | {"e0s": {}}, 10).e0s == "refit"
    )


def test_a_mode_may_have_its_own_cap_and_a_strategy_takes_finetunes():
    settings = SETTINGS | {"schedule": FINETUNE | {"max_steps": {"scratch": 3000, "finetune": 400}}}
    caps = {
        mode: training_plan(mode, settings, 10).epochs for mode in ("scratch", "finetune", "lora")
    }
    assert caps == {"scratch": 1500, "finetune": 200, "lora": 200}  # 2 steps an epoch
    assert learning_rate(FINETUNE, "lora") == 0.002 and learning_rate({}, "scratch") == "auto"


def test_replay_is_validated_capped_and_patient_by_its_real_structures():
    # replay at n = 40 trains on 40 real and 40 replayed structures an epoch (16 steps): it
    # must validate, stop and decay its rate after as much real data as finetune (8 real steps
    # an epoch), not after half as much
    finetune = training_plan("finetune", SETTINGS, 40)
    replay = training_plan("replay", SETTINGS, 40)
    assert (replay.replay, replay.steps_per_epoch, finetune.steps_per_epoch) == (40, 16, 8)
    assert replay.schedule["eval_interval"] == finetune.schedule["eval_interval"] == 2
    assert replay.schedule["scheduler_patience"] == finetune.schedule["scheduler_patience"] == 8
    assert replay.epochs == finetune.epochs == 125  # 1,000 real steps; replay's 2,000 in all
    assert replay.patience == finetune.patience


def test_pre_training_learns_its_teacher_under_its_own_cap():
    schedule = dict(FINETUNE, lr=0.01, max_epochs=60, eval_interval=2, batch_size=20)
    plan = training_plan("pretrain", {"reference": "gfn1", "schedule": schedule}, 1000, "snap")
    assert (plan.labels, plan.e0s, plan.from_pretrained) == ("snap", "fit", False)
    assert (plan.epochs, plan.steps_per_epoch, plan.schedule["eval_interval"]) == (60, 50, 2)


def test_plan_reaches_mace_with_ema_plateau_and_no_mace_patience():
    from mace.tools import build_default_arg_parser

    plan = training_plan("finetune", SETTINGS, 10)
    args = build_default_arg_parser().parse_args(
        arguments(schedule=plan.schedule, epochs=plan.epochs)
    )
    assert args.ema and args.ema_decay == 0.99 and args.lr == 0.002
    assert (args.scheduler_patience, args.lr_factor, args.eval_interval) == (40, 0.5, 10)
    assert args.patience >= 10**9 and args.max_num_epochs == 500


class Collector:
    def __init__(self):
        self.records = []

    def log(self, record):
        self.records.append(record)


def passes(stopping, losses, first_epoch=0):
    """Feed validation losses as mace's loop would (each after an optimizer step)."""
    stopping.log({"mode": "eval", "epoch": None, "loss": 100.0})
    for epoch, loss in enumerate(losses, start=first_epoch):
        stopping.log({"mode": "opt", "epoch": epoch, "loss": 0.0})
        stopping.log({"mode": "eval", "epoch": epoch, "loss": loss})


def test_stopping_rule_waits_patience_passes_for_a_real_improvement():
    stopping = EarlyStopping(patience=3, min_delta=0.01, logger=Collector())
    with pytest.raises(StopTraining):
        passes(stopping, [10.0, 9.0, 8.995, 8.99, 9.5, 7.0])  # 8.995, 8.99: < 1% better
    assert [p["epoch"] for p in stopping.curve][-1] == 4 and stopping.stopped
    record = stopping.record(steps_per_epoch=2)
    assert record["stopped_by"] == "rule" and record["epochs"] == 5 and record["steps"] == 10
    assert (record["best_epoch"], record["best_step"], record["best_valid_loss"]) == (3, 8, 8.99)
    assert len(stopping.logger.records) == 1 + 2 * 5  # every record still reaches mace's logger


def test_a_stop_on_a_new_best_waits_for_mace_to_save_it():
    stopping = EarlyStopping(patience=2, min_delta=0.01, logger=Collector())
    with pytest.raises(StopTraining):
        passes(stopping, [10.0, 9.0, 8.995, 8.99, 7.0])
    # the 8.99 pass ends the run but is a new best, which mace saves after logging it: the
    # stop comes with the next record (the next optimizer step), not the next pass
    assert stopping.logger.records[-1] == {"mode": "opt", "epoch": 4, "loss": 0.0}
    assert [p["epoch"] for p in stopping.curve][-1] == 3
    assert stopping.record(steps_per_epoch=2)["best_epoch"] == 3


def test_stopping_rule_stops_at_once_on_a_pass_that_is_no_best():
    stopping = EarlyStopping(patience=2, min_delta=0.0, logger=Collector())
    with pytest.raises(StopTraining):
        passes(stopping, [5.0, 6.0, 7.0, 1.0])
    assert [p["epoch"] for p in stopping.curve][-1] == 2


def test_a_run_that_improves_to_the_end_is_stopped_by_the_cap():
    stopping = EarlyStopping(patience=2, min_delta=0.01, logger=Collector())
    passes(stopping, [5.0, 4.0, 3.0])
    record = stopping.record(steps_per_epoch=4)
    assert record["stopped_by"] == "cap" and record["best_epoch"] == 2 and record["steps"] == 12


def test_mace_really_stops_by_the_rule_and_records_its_cost(tmp_path, cells):
    """mace_run_train itself, under a rule that no pass can satisfy after the first: it stops
    after `patience` passes, far below its cap, and publishes the best model and the record."""
    from types import SimpleNamespace

    from conftest import labelled
    from synthpt.io import write_structures
    from synthpt.training import train_model

    structures = labelled(cells, "ref")
    write_structures(tmp_path / "train.extxyz", structures[:2])
    write_structures(tmp_path / "valid.extxyz", structures[2:])
    schedule = dict(FINETUNE, lr=0.01, max_steps=200, eval_steps=1, batch_size=1, min_delta=0.9)
    plan = training_plan("scratch", {"reference": "ref", "schedule": schedule | {"patience": 2}}, 2)
    outputs = SimpleNamespace(**{k: tmp_path / f"{k}.out" for k in ("model", "compiled", "record")})
    record = train_model(
        plan, work_dir=tmp_path / "work", train_file=tmp_path / "train.extxyz",
        valid_file=tmp_path / "valid.extxyz", keys=("ref_energy", "ref_forces"),
        e0s="{6: -7.0}", architecture=ARCH | {"num_channels": 4, "radial_mlp": [8]}, seed=1,
        dtype="float32", outputs=outputs, log_file=tmp_path / "log",
    )  # fmt: skip
    assert plan.epochs == 100 and record["stopped_by"] == "rule"
    assert record["epochs"] <= 3 and record["steps"] == 2 * record["epochs"]  # 1 + patience passes
    assert json.loads(outputs.record.read_text()) == record and record["wall_s"] > 0
    assert len(record["validation"]) == 1 + record["epochs"]  # the initial pass, then one per epoch
    log = (tmp_path / "log").read_text()
    assert "stopping rule: 2 validation passes without improvement" in log
    assert "Epoch 3:" not in log and outputs.model.stat().st_size > 0


def test_the_start_is_a_candidate_and_is_kept_when_no_pass_beats_it():
    stopping = EarlyStopping(patience=3, min_delta=0.0, logger=Collector())
    stopping.log({"mode": "eval", "epoch": None, "loss": 1.0})  # the pre-trained start
    with pytest.raises(StopTraining):
        for epoch, loss in enumerate([2.0, 1.5, 1.2, 1.1]):
            stopping.log({"mode": "opt", "epoch": epoch, "loss": 0.0})
            stopping.log({"mode": "eval", "epoch": epoch, "loss": loss})
    # the rule counts from the start: three passes above it end the run
    assert stopping.waited == 3 and [p["epoch"] for p in stopping.curve] == [None, 0, 1, 2]
    record = stopping.record(steps_per_epoch=5)
    assert (record["kept"], record["best_step"], record["best_epoch"]) == ("start", 0, None)
    assert record["best_valid_loss"] == record["start_valid_loss"] == 1.0
    assert (record["steps"], record["stopped_by"]) == (15, "rule")


def test_a_trained_pass_below_the_start_is_kept():
    stopping = EarlyStopping(patience=2, min_delta=0.0, logger=Collector())
    passes(stopping, [120.0, 99.0, 101.0])  # the start: 100
    record = stopping.record(steps_per_epoch=1)
    assert (record["kept"], record["best_epoch"], record["best_step"]) == ("trained", 1, 2)
    assert (record["best_valid_loss"], record["start_valid_loss"]) == (99.0, 100.0)


def test_a_new_best_trained_pass_above_the_start_is_saved_before_the_stop():
    """mace saves a pass that beats its earlier trained passes even when the start is lower:
    the stop then waits for the next step, so mace's checkpoint and the record agree."""
    stopping = EarlyStopping(patience=2, min_delta=0.0, logger=Collector())
    stopping.log({"mode": "eval", "epoch": None, "loss": 1.0})
    stopping.log({"mode": "opt", "epoch": 0, "loss": 0.0})
    stopping.log({"mode": "eval", "epoch": 0, "loss": 3.0})
    stopping.log({"mode": "opt", "epoch": 1, "loss": 0.0})
    stopping.log({"mode": "eval", "epoch": 1, "loss": 2.0})  # a new best of mace's: no raise
    with pytest.raises(StopTraining):
        stopping.log({"mode": "opt", "epoch": 2, "loss": 0.0})
    assert stopping.record(steps_per_epoch=1)["kept"] == "start"


def test_warmup_ramps_every_group_from_a_tenth_and_composes_with_the_scheduler():
    import torch

    from synthpt.stopping import Warmup

    weights = [torch.nn.Parameter(torch.zeros(1)) for _ in range(2)]
    optimizer = torch.optim.SGD(
        [{"params": weights[:1], "lr": 0.01}, {"params": weights[1:], "lr": 0.001}]
    )
    warmup = Warmup(steps=4)
    stopping = EarlyStopping(patience=5, min_delta=0.0, logger=Collector(), warmup=warmup)
    warmup.begin(optimizer)
    rates = [[g["lr"] for g in optimizer.param_groups]]
    for step in range(6):
        stopping.log({"mode": "opt", "epoch": step, "loss": 0.0})
        rates.append([g["lr"] for g in optimizer.param_groups])
    assert [r[0] for r in rates] == pytest.approx(
        [0.001, 0.00325, 0.0055, 0.00775, 0.01, 0.01, 0.01]
    )
    assert [r[1] for r in rates] == pytest.approx([r[0] / 10 for r in rates])  # factors kept
    warmup.begin(optimizer)  # a plateau halving during the warm-up survives it
    optimizer.param_groups[0]["lr"] *= 0.5
    for _ in range(4):
        warmup.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.01 * 0.5)


def test_a_gain_on_the_start_within_min_delta_keeps_the_start():
    stopping = EarlyStopping(patience=2, min_delta=0.01, logger=Collector())
    passes(stopping, [99.5, 99.4])  # the start: 100; 0.6% better only
    assert stopping.record(steps_per_epoch=1)["kept"] == "start"
    passes(stopping := EarlyStopping(patience=2, min_delta=0.01, logger=Collector()), [98.0])
    assert stopping.record(steps_per_epoch=1)["kept"] == "trained"


def test_an_unreadable_training_state_starts_the_run_clean(tmp_path):
    """A torn or foreign state (another format) is not resumed: it and the interrupted run's
    checkpoints go (mace would publish a stale checkpoint), and training starts at epoch 0."""
    from types import SimpleNamespace

    import torch

    from synthpt.checkpoints import STATE_FORMAT, read_training_state

    checkpoints = tmp_path / "checkpoints"
    handler = SimpleNamespace(io=SimpleNamespace(directory=str(checkpoints)))
    state = tmp_path / "resume.pt"
    for content in (b"torn", {"format": STATE_FORMAT + 1, "epoch": 3}):
        checkpoints.mkdir()
        (checkpoints / "mace_run-1_epoch-9.pt").write_bytes(b"stale")
        if isinstance(content, bytes):
            state.write_bytes(content)
        else:
            torch.save(content, state)
        assert read_training_state(state, handler) is None
        assert not state.exists() and not checkpoints.exists()
    torch.save({"format": STATE_FORMAT, "epoch": 3}, state)
    assert read_training_state(state, handler)["epoch"] == 3
    assert read_training_state(tmp_path / "none.pt", handler) is None
