"""Real DFT that nobody here made: acetylacetone (../shared/data/acac, PBE+D3/def2-SVP) through
the own-data template (config/own_data.yaml) with a GFN2-xTB teacher."""

from __future__ import annotations

import copy
import json
import tempfile
import time
from pathlib import Path

import yaml
from common import ROOT, model_path, reuse_labels, snakemake, spread, table

from synthpt.paths import (
    metrics_file,
    pretrained_metrics,
    pretrained_metrics_file,
    pretrained_model_file,
)

ACAC = ROOT.parent / "shared" / "data" / "acac"
OWN_DATA = yaml.safe_load((ROOT / "config" / "own_data.yaml").read_text())
# Student sizes of the capacity sweep (model keys over the template's).
STUDENTS = {
    "c16-L0": {"num_channels": 16, "max_ell": 1, "correlation": 2},  # molecules.yaml's
    "c32-L0": {},  # the template's
    "c64-L0": {"num_channels": 64},
    "c32-L1": {"max_L": 1},
    "c32-L0-i1": {"num_interactions": 1},
}


def acac_missing() -> str | None:
    """Why the acac benchmarks cannot run here (None: they can)."""
    if not (ACAC / "train_300K.xyz").exists():
        return f"acac data not found at {ACAC} (a copy of shared/ beside the repository)"
    return None


def template_campaign(base, workdir) -> tuple[dict, Path, str]:
    """The campaign a variant bench copies from (a copy of ``base``, or the template), its
    results folder and its first teacher."""
    base = copy.deepcopy(base or OWN_DATA)
    return base, Path(workdir) / "results" / base["campaign"], base["teachers"][0]


def run_campaign(config: dict, workdir, cores: int, *targets: str) -> float:
    """Snakemake on ``config`` (its whole campaign, or ``targets``); wall seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        configfile = Path(tmp) / f"{config['campaign']}.yaml"
        configfile.write_text(yaml.safe_dump(config, sort_keys=False))
        start = time.perf_counter()
        snakemake(workdir, configfile, "--cores", str(cores), *targets)
    return time.perf_counter() - start


def learning_rows(results: Path, teacher: str) -> list[tuple]:
    """Per test set and n: fine-tuned, scratch and zero-shot (mean ± std over seeds), the
    ratios, each gap over the larger seed std, and the fine-tunes that kept their start."""
    import pandas as pd

    summary = pd.read_csv(results / "summary.csv").set_index(["test_set", "mode", "n_real"])
    gain = pd.read_csv(results / "pretraining_gain.csv")
    gain = gain[gain["mode"] == "finetune"].set_index(["test_set", "n_real"])
    rows = []
    for (test_set, n), ratio in gain.iterrows():
        tuned, scratch = (
            summary.loc[(test_set, "finetune", n)],
            summary.loc[(test_set, "scratch", n)],
        )
        zero = summary.loc[(test_set, "zero-shot", n)]
        rows.append(
            (test_set, n, spread(tuned, "e_rmse"), spread(scratch, "e_rmse"),
             zero["e_rmse_mean"], ratio["e_rmse_ratio"], ratio["e_rmse_gap_over_std"],
             spread(tuned, "f_rmse"), spread(scratch, "f_rmse"), zero["f_rmse_mean"],
             ratio["f_rmse_ratio"], ratio["f_rmse_gap_over_std"], int(tuned["kept_start"]))
        )  # fmt: skip
    return rows


def bench_acac(base=None, workdir=ROOT, cores=2, args=()):
    """The template campaign on acac: how far the teacher is from the DFT and the student from
    its teacher, then fine-tuned against scratch and zero-shot on every test set at every n.
    ``args``: further Snakemake arguments (e.g. --rerun-triggers)."""
    if problem := acac_missing():
        print(f"\n(acac: {problem})")
        return []
    config = copy.deepcopy(base or OWN_DATA)
    wall = run_campaign(config, workdir, cores, *args)
    results = Path(workdir) / "results" / config["campaign"]
    teacher = config["teachers"][0]
    pretrain = json.loads((results / pretrained_metrics(teacher) / "metrics.json").read_text())
    table(
        f"acac ({config['campaign']}, {wall:.0f} s wall): the student against its teacher and"
        " the teacher against the DFT on the headline test set",
        ["student E vs teacher", "student F vs teacher", "teacher E vs DFT", "teacher F vs DFT",
         "student F vs teacher (held-out synthetic)", "epochs", "stopped by", "pretrain s"],
        [(pretrain["student_e_rmse"], pretrain["student_f_rmse"], pretrain["teacher_e_rmse"],
          pretrain["teacher_f_rmse"], pretrain["f_rmse"], pretrain["epochs"],
          pretrain["stopped_by"], pretrain["train_s"])],
    )  # fmt: skip
    seeds = config["subsets"]["seeds"]
    rows = learning_rows(results, teacher)
    table(
        f"acac: test errors (E meV/atom, F eV/Å), mean ± std over seeds {seeds}, each seed its"
        f" own subsets (subsets.draw {config['subsets'].get('draw', 'per_seed')})",
        ["test set", "n", "fine-tuned E", "scratch E", "zero-shot E", "E ratio", "E gap/std",
         "fine-tuned F", "scratch F", "zero-shot F", "F ratio", "F gap/std", "kept start"],
        rows,
    )  # fmt: skip
    return rows


def bench_acac_capacity(base=None, workdir=ROOT, cores=2, students=None, max_epochs=None):
    """How large a student learns its teacher on acac: the template's pre-training at each
    size of ``students`` (model keys) on the template campaign's own labels (copied), scored
    against the teacher on the headline test set beside the teacher against the DFT; CPU
    seconds per epoch from the training record (one thread)."""
    if problem := acac_missing():
        print(f"\n(acac capacity: {problem})")
        return []
    base, source, teacher = template_campaign(base, workdir)
    if not (source / "synthetic" / teacher / "valid.extxyz").exists():
        run_campaign(
            base, workdir, cores, f"results/{base['campaign']}/synthetic/{teacher}/valid.extxyz"
        )
    rows = []
    for name, model in (students or STUDENTS).items():
        config = copy.deepcopy(base)
        config["model"].update(model)
        if max_epochs:
            config["pretrain"]["max_epochs"] = max_epochs
        config["campaign"] = f"{base['campaign']}-{name}"
        results = Path(workdir) / "results" / config["campaign"]
        reuse_labels(source, results)
        target = pretrained_metrics_file(config["campaign"], teacher)
        run_campaign(config, workdir, cores, target)
        m = json.loads((Path(workdir) / target).read_text())
        rows.append((name, m["student_e_rmse"], m["student_f_rmse"], m["teacher_e_rmse"],
                     m["teacher_f_rmse"], m["f_rmse"], m["epochs"], m["stopped_by"],
                     m["train_s"] / max(m["epochs"], 1)))  # fmt: skip
        print(f"acac capacity: {rows[-1]}", flush=True)
    table(
        f"acac student capacity: pre-trained on {teacher} labels, scored on the headline test"
        " set (E meV/atom centred, F eV/Å)",
        ["student", "E vs teacher", "F vs teacher", "teacher E vs DFT", "teacher F vs DFT",
         "F vs teacher (held-out synthetic)", "epochs", "stopped by", "s per epoch"],
        rows,
    )  # fmt: skip
    return rows


# Fine-tuning schedules of the schedule study (finetune keys over the template's).
SCHEDULES = {
    "template": {},
    "energy x10": {"energy_weight": 3000.0},
    "energy x100": {"energy_weight": 30000.0},
    "scratch cap x3": {"max_steps": {"scratch": 12000, "finetune": 4000}},
    "lr 3e-4": {"lr": {"scratch": 0.003, "finetune": 0.0003}},
    "lr 3e-3": {"lr": {"scratch": 0.003, "finetune": 0.003}},
    "no warm-up": {"warmup_steps": 0},
    "warm-up 200": {"warmup_steps": 200},
    "eval every 10": {"eval_steps": 10, "patience": 20},  # the same 200 steps of patience
    "eval every 50": {"eval_steps": 50, "patience": 4},
    "patience x3": {"patience": 30},
    "cap 12000": {"max_steps": 12000},  # the template's now; n = 100 reached 4,000
}
PRETRAINED_PARTS = ("structures", "synthetic", "real", "models/pretrain", "metrics/pretrain")


def bench_acac_schedule(
    base=None, workdir=ROOT, cores=2, schedules=None, modes=("finetune", "scratch"), n=None,
    seeds=None, args=(),
):  # fmt: skip
    """Fine-tuning schedules on acac at the smallest n (or ``n``): each of ``schedules``
    (finetune keys) from the template campaign's own pre-trained model, labels and subsets
    (copied), for ``modes`` at the first seed (or each of ``seeds``, run side by side): what
    each run kept, after how many steps and why it stopped, and its errors on every test set
    (E meV/atom, F eV/Å). ``args``: further Snakemake options (e.g. --rerun-triggers)."""
    if problem := acac_missing():
        print(f"\n(acac schedule: {problem})")
        return []
    base, source, teacher = template_campaign(base, workdir)
    n, seeds = n or min(base["subsets"]["sizes"]), seeds or base["subsets"]["seeds"][:1]
    pretrained = pretrained_model_file(base["campaign"], teacher)
    run_campaign(base, workdir, cores, *args, "--", pretrained)
    rows = []
    for name, schedule in (schedules or SCHEDULES).items():
        config = copy.deepcopy(base)
        config["finetune"].update(schedule)
        if schedule:
            config["campaign"] = f"{base['campaign']}-{name.replace(' ', '-')}"
        results = Path(workdir) / "results" / config["campaign"]
        if schedule:
            reuse_labels(source, results, PRETRAINED_PARTS)
        runs = [(mode, seed) for mode in modes for seed in seeds]
        targets = [metrics_file(config["campaign"], model_path(mode, n, seed, teacher))
                   for mode, seed in runs]  # fmt: skip
        wall = run_campaign(config, workdir, cores, *args, "--", *targets)
        for (mode, seed), target in zip(runs, targets, strict=True):
            m = json.loads((Path(workdir) / target).read_text())
            errors = [x for t in m["test_sets"] for x in (t["e_rmse"], t["f_rmse"])]
            rows.append((name, mode, seed, m["kept"], m["steps"], m["stopped_by"], *errors))
        print(f"acac schedule {name}: {wall:.0f} s wall", flush=True)
    sets = [t["test_set"] for t in m["test_sets"]]
    table(
        f"acac fine-tuning schedules at n = {n}: test errors (E meV/atom, F eV/Å)",
        ["schedule", "mode", "seed", "kept", "steps", "stopped by",
         *(f"{s} {q}" for s in sets for q in ("E", "F"))],
        rows,
    )  # fmt: skip
    return rows


# Where the strategies are told apart: every test set, each path's barrier, MD stability.
STRATEGY_COPIED = (*PRETRAINED_PARTS, "models/scratch", "models/finetune")


def bench_acac_strategies(
    base=None, workdir=ROOT, cores=2, n=None, seeds=None, strategies=None, args=()
):
    """Every fine-tuning strategy (or ``strategies``) on acac at the smallest n (or ``n``), the
    template's seeds (or ``seeds``), from the template campaign's own pre-trained model, labels,
    subsets, scratch and fine-tuned models (copied, so only the other strategies train): per
    test set and mode, E and F (mean ± std over seeds), the barrier error on each ordered path
    (real.paths; meV, predicted less DFT), the runs that kept their start, MD steps survived."""
    from synthpt.aggregate import by_test_set, collect, summarize
    from synthpt.campaign import sweep
    from synthpt.strategies import STRATEGIES

    if problem := acac_missing():
        print(f"\n(acac strategies: {problem})")
        return []
    base, source, teacher = template_campaign(base, workdir)
    n = n or min(base["subsets"]["sizes"])
    run_campaign(
        base, workdir, cores, *args, "--", pretrained_model_file(base["campaign"], teacher)
    )
    config = copy.deepcopy(base)
    config["finetune"]["strategies"] = list(strategies or STRATEGIES)
    config["campaign"] = f"{base['campaign']}-strategies"
    results = Path(workdir) / "results" / config["campaign"]
    reuse_labels(source, results, STRATEGY_COPIED)
    models = sweep(config, sizes=[n], seeds=seeds)
    targets = [metrics_file(config["campaign"], m.path) for m in models]
    wall = run_campaign(config, workdir, cores, *args, "--", *targets)
    summary = by_test_set(summarize, collect([Path(workdir) / t for t in targets]))
    rows = [
        (r["test_set"], r["mode"], int(r["e_rmse_count"]), spread(r, "e_rmse"),
         spread(r, "f_rmse"), spread(r, "barrier_error"),
         int(r["kept_start"]), r["md_steps_mean"])
        for _, r in summary.iterrows()
    ]  # fmt: skip
    table(
        f"acac strategies at n = {n} ({wall:.0f} s wall): E meV/atom, F eV/Å, barrier error meV"
        f" (predicted less DFT), mean ± std over seeds {seeds or base['subsets']['seeds']}",
        ["test set", "mode", "models", "E", "F", "barrier error", "kept start", "MD steps"],
        rows,
    )  # fmt: skip
    return rows


def energy_error_parts(
    results: Path, teacher: str, reference: str, n: int, models: list[tuple[str, int]]
) -> list[tuple]:
    """What each model's energy error on the headline test set is made of, at ``n``: per
    model of ``models`` ((mode, seed) pairs), its error (per atom, each level relative to its
    own E0s), the correlation of its per-structure error with the teacher's error against the
    reference and with the student's against its teacher (zero-shot less teacher), and the
    share of each it keeps (the least-squares coefficient)."""
    import numpy as np

    from synthpt.aggregate import relative_energies
    from synthpt.io import read_structures
    from synthpt.labelling import label_keys

    labelled = read_structures(results / "real" / "teachers" / f"{teacher}.extxyz")
    order = {a.info["source"]: i for i, a in enumerate(labelled)}

    def relative(structures: list, key: str) -> np.ndarray:
        structures = sorted(structures, key=lambda a: order[a.info["source"]])
        return relative_energies(structures, [a.info[key] for a in structures]) * 1000

    def predicted(model: str) -> np.ndarray:
        structures = read_structures(results / "metrics" / model / "predictions.extxyz")
        return relative(structures, "MACE_energy")

    truth = relative(labelled, label_keys(reference)[0])
    teacher_error = relative(labelled, label_keys(teacher)[0]) - truth
    zero_shot_error = predicted(model_path("zero-shot", n, teacher=teacher)) - truth
    student_error = zero_shot_error - teacher_error  # zero-shot less teacher

    def kept(error, part):
        return np.corrcoef(error, part)[0, 1], error @ part / (part @ part)

    rows = [("teacher", "", float(np.sqrt(np.mean(teacher_error**2))), 1.0, 1.0, "", "")]
    rows.append(("zero-shot", "", float(np.sqrt(np.mean(zero_shot_error**2))),
                 *kept(zero_shot_error, teacher_error), 1.0, 1.0))  # fmt: skip
    for mode, seed in models:
        error = predicted(model_path(mode, n, seed, teacher)) - truth
        rows.append((mode, f"seed{seed}", float(np.sqrt(np.mean(error**2))),
                     *kept(error, teacher_error), *kept(error, student_error)))  # fmt: skip
    return rows


def bench_acac_energy(base=None, workdir=ROOT, cores=2, n=None, modes=("finetune", "scratch")):
    """Whose error is left in the fine-tuned energies on acac (the template campaign at its
    smallest n, or ``n``): the teacher's, the student's, or neither (``energy_error_parts``)."""
    if problem := acac_missing():
        print(f"\n(acac energy: {problem})")
        return []
    base, results, teacher = template_campaign(base, workdir)
    n = n or min(base["subsets"]["sizes"])
    models = [(mode, seed) for mode in modes for seed in base["subsets"]["seeds"]]
    paths = [model_path("zero-shot", n, teacher=teacher)] + [
        model_path(mode, n, seed, teacher) for mode, seed in models
    ]
    run_campaign(base, workdir, cores, *(metrics_file(base["campaign"], m) for m in paths))
    return table(
        f"acac energy error at n = {n} on the headline set (meV/atom, each level on its own"
        " E0s): r and share kept of the teacher's error (teacher less DFT) and of the student's"
        " (zero-shot less teacher)",
        ["model", "seed", "E", "r teacher", "teacher share", "r student", "student share"],
        energy_error_parts(results, teacher, base["reference"], n, models),
    )
