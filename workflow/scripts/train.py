"""Train one MACE model with mace_run_train: pre-training, from scratch, or fine-tuning."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821
from synthpt.runtime import start_job  # noqa: E402

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

from synthpt.e0s import e0s_argument, fit_e0s, given_e0s  # noqa: E402
from synthpt.io import (  # noqa: E402
    energy_forces,
    read_structures,
    validate_labels,
    write_structures,
)
from synthpt.labelling import label_keys  # noqa: E402
from synthpt.training import (  # noqa: E402
    epochs_for_steps,
    eval_interval_for_steps,
    mace_arguments,
    n_training,
    prepare_work_dir,
    run_mace,
)

mode, settings = sm.params.mode, sm.params.settings
elements, model_config, schedule = settings["elements"], settings["model"], settings["schedule"]
labeller = sm.params.teacher[0] if mode == "pretrain" else settings["reference"]
energy_key, forces_key = label_keys(labeller)
train = read_structures(sm.input.train)
train_file = sm.input.train
work_dir = Path(sm.params.work_dir)
pretrain_size = sm.params.teacher[1] if mode == "pretrain" else None
if pretrain_size is not None:  # the pre-training-size sweep: the first N structures
    if pretrain_size > len(train):
        raise ValueError(f"pretrain.sizes: {pretrain_size} exceeds {len(train)} in {train_file}")
    train = train[:pretrain_size]
    train_file = work_dir / "train_subset.extxyz"
validate_labels(train, sm.input.train, energy_key, forces_key, elements)
energies = [energy_forces(a, energy_key, forces_key)[0] for a in train]

if mode == "pretrain":
    epochs = schedule["epochs"]
else:
    n_train = n_training(len(train), schedule["valid_fraction"])
    epochs = epochs_for_steps(n_train, schedule["batch_size"], schedule["steps"])
    if "eval_steps" in schedule:
        interval = eval_interval_for_steps(n_train, schedule["batch_size"], schedule["eval_steps"])
        schedule = schedule | {"eval_interval": interval}

foundation = work_dir / "foundation.model" if mode == "finetune" else None
if foundation is not None:
    from synthpt.e0s import refit_model_e0s
    from synthpt.evaluate import load_model, predict

    pretrained = load_model(sm.input.pretrained, model_config["dtype"])
    predicted, _ = predict(pretrained, train)
    e0s = refit_model_e0s(pretrained, train, energies, predicted, elements)
elif mode == "scratch" and settings["e0s"] != "fit":
    e0s = given_e0s(settings["e0s"])
else:
    e0s = fit_e0s(train, energies, elements)
log.info("E0s for %s: %s", mode, e0s)

arguments = mace_arguments(
    work_dir=work_dir,
    train_file=train_file,
    valid_file=sm.input.valid if "valid" in sm.input.keys() else None,
    energy_key=energy_key,
    forces_key=forces_key,
    e0s=e0s_argument(e0s),
    architecture=model_config,
    schedule=schedule,
    epochs=epochs,
    seed=int(sm.wildcards.get("seed", settings["seed"])),
    dtype=model_config["dtype"],
    device=model_config["device"],
    foundation_model=foundation,
)
resume = prepare_work_dir(work_dir, arguments)
if pretrain_size is not None:
    write_structures(train_file, train)
if foundation is not None and not resume:
    import torch

    torch.save(pretrained, foundation)
run_mace(arguments, work_dir, sm.output, sm.threads, sm.log[0], resume)
