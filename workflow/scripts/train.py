"""Train one MACE model with mace_run_train: pre-training, from scratch, or fine-tuning."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821
from synthpt.runtime import start_job  # noqa: E402

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

from synthpt.e0s import e0s_argument, fit_e0s, given_e0s  # noqa: E402
from synthpt.io import energy_forces, read_structures, validate_labels, write_structures  # noqa: E402
from synthpt.labelling import label_keys  # noqa: E402
from synthpt.training import (  # noqa: E402
    EarlyStopping,
    Warmup,
    mace_arguments,
    prepare_work_dir,
    run_identity,
    run_mace,
    training_plan,
)

mode, settings = sm.params.mode, sm.params.settings
model_config = settings["model"]
teacher, pretrain_size = sm.params.teacher if mode == "pretrain" else (None, None)
train, train_file = read_structures(sm.input.train), sm.input.train
work_dir = Path(sm.params.work_dir)
if pretrain_size is not None:  # the pre-training-size sweep: the first N structures
    if pretrain_size > len(train):
        raise ValueError(f"pretrain.sizes: {pretrain_size} exceeds {len(train)} in {train_file}")
    train, train_file = train[:pretrain_size], work_dir / "train_subset.extxyz"
lr = sm.params.get("lr")  # a tuning run's rate
if sm.input.get("tuning"):  # the rate the campaign's tuning chose
    lr = json.loads(Path(sm.input.tuning).read_text())["lr"]
plan = training_plan(mode, settings, len(train), teacher, lr=lr)
seed = sm.params.get("seed")  # a tuning run's; a model's is its wildcard
if seed is None:
    seed = sm.wildcards.get("seed", settings["seed"])
energy_key, forces_key = label_keys(plan.labels)
validate_labels(train, sm.input.train, energy_key, forces_key, settings["elements"])
energies = [energy_forces(a, energy_key, forces_key)[0] for a in train]

if plan.from_pretrained:
    from synthpt.e0s import refit_model_e0s
    from synthpt.evaluate import load_model, predict

    pretrained = load_model(sm.input.pretrained, model_config["dtype"])
    predicted, _ = predict(pretrained, train)
    e0s = refit_model_e0s(pretrained, train, energies, predicted, settings["elements"])
elif plan.e0s == "given":
    e0s = given_e0s(settings["e0s"])
else:
    e0s = fit_e0s(train, energies, settings["elements"])
log.info("%s plan: %s; E0s %s", mode, plan, e0s)

foundation = work_dir / "foundation.model" if plan.from_pretrained else None
arguments = mace_arguments(
    work_dir=work_dir,
    train_file=train_file,
    valid_file=sm.input.valid,
    energy_key=energy_key,
    forces_key=forces_key,
    e0s=e0s_argument(e0s),
    architecture=model_config,
    schedule=plan.schedule,
    epochs=plan.epochs,
    seed=int(seed),
    dtype=model_config["dtype"],
    device=model_config["device"],
    foundation_model=foundation,
    extra=plan.arguments,
)
inputs = [sm.input[key] for key in ("train", "valid", "pretrained") if key in sm.input.keys()]
log.info("work dir %s: %s", work_dir, prepare_work_dir(work_dir, run_identity(arguments, inputs)))
if pretrain_size is not None:
    write_structures(train_file, train)
if foundation is not None:
    import torch

    torch.save(pretrained, foundation)
record = run_mace(
    arguments,
    work_dir,
    sm.output,
    sm.threads,
    sm.log[0],
    EarlyStopping(
        plan.patience,
        plan.min_delta,
        warmup=Warmup(plan.warmup_steps) if plan.warmup_steps else None,
    ),
    plan.steps_per_epoch,
)
log.info("trained: %s", {k: v for k, v in record.items() if k != "validation"})
