"""Train one MACE model with mace_run_train: pre-training, from scratch, or fine-tuning."""

import json
from pathlib import Path

from synthpt.campaign import teacher_of
from synthpt.e0s import e0s_argument, fit_e0s, given_e0s
from synthpt.hdf5 import mace_flags, read_description
from synthpt.io import energy_forces, read_structures, validate_labels, write_structures
from synthpt.labelling import label_keys
from synthpt.runtime import start_job
from synthpt.strategies import STRATEGIES, StrategyRun
from synthpt.subsets import pretraining_subset
from synthpt.training import train_model, training_plan

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

mode, settings = sm.params.mode, sm.params.settings
model_config = settings["model"]
teacher, pretrain_size = sm.params.teacher if mode == "pretrain" else (None, None)
train_file, work_dir = sm.input.train, Path(sm.params.work_dir)
hdf5 = {}
if sm.input.get("dataset"):  # mace's HDF5 files, sliced and described by preprocess_synthetic
    n_train, e0s = read_description(sm.input.dataset)
    workers = sm.config["pretrain"].get("hdf5_workers", 0)  # not a param: it changes no model
    hdf5, pretrain_size = mace_flags(settings["elements"], workers), None
else:
    train = pretraining_subset(read_structures(train_file), pretrain_size, train_file)
    if pretrain_size is not None:
        train_file = work_dir / "train_subset.extxyz"
    n_train = len(train)
lr = sm.params.get("lr")  # a tuning run's rate
if sm.input.get("tuning"):  # the rate the campaign's tuning chose
    lr = json.loads(Path(sm.input.tuning).read_text())["lr"]
# a strategy's pre-training structures (the table's `replay`), teacher-labelled
pretraining_pool = read_structures(sm.input.replay) if sm.input.get("replay") else None
pool_size = len(pretraining_pool) if pretraining_pool is not None else None
plan = training_plan(mode, settings, n_train, teacher, lr=lr, replay_pool=pool_size)
seed = sm.params.get("seed")  # a tuning run's; a model's is its wildcard
if seed is None:
    seed = sm.wildcards.get("seed", settings["seed"])
energy_key, forces_key = label_keys(plan.labels)
if not hdf5:
    validate_labels(train, sm.input.train, energy_key, forces_key, settings["elements"])
    energies = [energy_forces(a, energy_key, forces_key)[0] for a in train]

if plan.from_pretrained:
    from synthpt.e0s import model_e0s, refit_model_e0s
    from synthpt.evaluate import load_model, predict

    pretrained = load_model(sm.input.pretrained, model_config["dtype"])
    own_e0s = model_e0s(pretrained)  # the teacher's energy zero
    predicted, _ = predict(pretrained, train)
    e0s = refit_model_e0s(pretrained, train, energies, predicted, settings["elements"])
elif plan.e0s == "given":
    e0s = given_e0s(settings["e0s"])
elif not hdf5:
    e0s = fit_e0s(train, energies, settings["elements"])
log.info("%s plan: %s; E0s %s", mode, plan, e0s)

foundation = work_dir / "foundation.model" if plan.from_pretrained else None
strategy_files = {}  # the strategy's own data (its hook), by the mace flag that reads each file
if plan.from_pretrained and (hook := STRATEGIES[mode].work_files):
    run = StrategyRun(
        work_dir, int(seed), (energy_key, forces_key),
        label_keys(teacher_of(sm.wildcards.pretrained)[0]), own_e0s, e0s, plan.replay,
        pretraining_pool, sm.input,
    )  # fmt: skip
    strategy_files = hook(run)


def write_work_files():
    """What the run reads from its work dir: the pre-training subset, the foundation model,
    the strategy's own files."""
    if pretrain_size is not None:
        write_structures(train_file, train)
    if foundation is not None:
        import torch

        torch.save(pretrained, foundation)
    for path, structures in strategy_files.values():
        write_structures(path, structures)


record = train_model(
    plan,
    work_dir=work_dir,
    train_file=train_file,
    valid_file=sm.input.valid,
    keys=(energy_key, forces_key),
    e0s=e0s_argument(e0s),
    architecture=model_config,
    seed=int(seed),
    dtype=model_config["dtype"],
    device=model_config["device"],
    outputs=sm.output,
    log_file=sm.log[0],
    threads=sm.threads,
    foundation_model=foundation,
    inputs=[
        sm.input[k] for k in ("train", "valid", "dataset", "pretrained") if k in sm.input.keys()
    ],
    before=write_work_files,
    extra={flag: path for flag, (path, _) in strategy_files.items()} | hdf5,
)
log.info("trained: %s", {k: v for k, v in record.items() if k != "validation"})
