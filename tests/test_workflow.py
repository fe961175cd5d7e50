"""The real workflow end to end on a tiny campaign: real calculators, real MACE, real Snakemake."""

import json
import math
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, TINY, TINY_CONFIG, job_counts, snakemake
from synthpt.aggregate import COLUMNS
from synthpt.campaign import pretrained_models, reads_hdf5, teacher_of
from synthpt.e0s import model_e0s
from synthpt.evaluate import load_model
from synthpt.io import read_structures
from synthpt.structures import min_distance

pytestmark = pytest.mark.workflow


def test_learning_curves_hold_every_model_with_sane_errors(campaign):
    _, _, results = campaign
    table = pd.read_csv(results / "learning_curves.csv")
    assert list(table.columns) == COLUMNS
    expected = {("scratch", "none", n, 1) for n in (4, 8)} | {
        (mode, "snap", n, seed)
        for n in (4, 8)
        for mode, seed in (("finetune", 1), ("replay", 1), ("zero-shot", 0))
    }
    assert (
        set(zip(table["mode"], table["teacher"], table["n_real"], table["seed"], strict=True))
        == expected
    )
    test_set = read_structures(results / "real" / "test.extxyz")
    assert (table["n_test"] == len(test_set)).all()
    for column in ("e_rmse", "f_rmse", "e_mae", "f_mae"):
        assert np.isfinite(table[column]).all() and (table[column] > 0).all()
    # E0s refitted on the real subset: errors are tens of meV/atom, never the ~48 eV/atom
    # between the teacher's and the reference's energy zeros.
    assert (table["e_rmse"] < 5000).all()
    assert (table["f_rmse"] < 10).all()
    summary = pd.read_csv(results / "summary.csv")
    assert set(summary["mode"]) == {"scratch", "finetune", "replay", "zero-shot"}
    gain = pd.read_csv(results / "pretraining_gain.csv")
    assert sorted(zip(gain["mode"], gain["n_real"], strict=True)) == [
        ("finetune", 4), ("finetune", 8), ("replay", 4), ("replay", 8),
        ("zero-shot", 4), ("zero-shot", 8),
    ]  # fmt: skip
    # every model in MD, within the bound; a failure always has its reason
    steps = TINY_CONFIG["stability"]["steps"]
    assert table["md_steps"].between(1, steps).all()
    assert ((table["md_failed"] > 0) == (table["md_reason"] != "none")).all()


def test_metrics_agree_with_the_saved_predictions(campaign):
    _, _, results = campaign
    folder = results / "metrics" / "finetune" / "snap" / "n4" / "seed1"
    scores = json.loads((folder / "metrics.json").read_text())
    predictions = read_structures(folder / "predictions.extxyz")
    n = np.array([len(a) for a in predictions])
    de = np.array([a.info["MACE_energy"] - a.info["gfn1_energy"] for a in predictions]) / n * 1000
    df = np.concatenate(
        [(a.arrays["MACE_forces"] - a.arrays["gfn1_forces"]).ravel() for a in predictions]
    )
    assert scores["e_rmse"] == pytest.approx(np.sqrt(np.mean(de**2)), rel=1e-6)
    assert scores["f_mae"] == pytest.approx(np.mean(np.abs(df)), rel=1e-6)


def test_data_flows_through_explicit_keys_and_nested_subsets(campaign):
    _, _, results = campaign
    synthetic = read_structures(results / "synthetic" / "snap" / "train.extxyz")
    synthetic += read_structures(results / "synthetic" / "snap" / "valid.extxyz")
    assert len(synthetic) == 40
    assert all("snap_energy" in a.info and "energy" not in a.info for a in synthetic)
    assert min(min_distance(a) for a in synthetic) >= 1.1
    pool = read_structures(results / "real" / "pool.extxyz")
    test = read_structures(results / "real" / "test.extxyz")
    valid = read_structures(results / "real" / "valid.extxyz")
    ids = lambda s: [a.info["index"] for a in s]  # noqa: E731
    assert len(pool) == 10 and not set(ids(pool)) & set(ids(test))
    assert len(valid) == 2 and set(ids(valid)) < set(ids(pool))
    subsets = results / "real" / "subsets" / "seed1"
    n4, n8 = (read_structures(subsets / f"n{n}.extxyz") for n in (4, 8))
    # nested, and never a validation structure: every model selects on the same two
    assert ids(n8)[:4] == ids(n4) and sorted(ids(n8) + ids(valid)) == sorted(ids(pool))


def test_energy_zeros_follow_each_models_own_labels(campaign):
    _, _, results = campaign
    models = results / "models"
    pretrained = model_e0s(load_model(models / "pretrain" / "snap" / "mace.model"))[6]
    finetuned = model_e0s(load_model(models / "finetune" / "snap" / "n4" / "seed1" / "mace.model"))[
        6
    ]
    scratch = model_e0s(load_model(models / "scratch" / "n4" / "seed1" / "mace.model"))[6]
    assert -12 < pretrained < -6  # SNAP's PBE-like zero
    assert -62 < scratch < -50  # GFN1-xTB's zero
    assert finetuned == pytest.approx(scratch, abs=1.0)  # refitted, not copied from the teacher


@pytest.mark.parametrize("mode", ["scratch", "finetune/snap"])
def test_every_model_trains_under_the_rule_and_reports_its_cost(campaign, mode):
    _, _, results = campaign
    budget = TINY_CONFIG["finetune"]
    table = pd.read_csv(results / "learning_curves.csv").set_index(["mode", "n_real"])
    times = pd.read_csv(results / "training_time.csv").set_index(["mode", "n_real"])
    for n in (4, 8):
        folder = results / "models" / mode / f"n{n}" / "seed1"
        record = json.loads((folder / "training.json").read_text())
        log_name = "train_scratch" if mode == "scratch" else mode
        log = (results / "logs" / log_name / f"n{n}" / "seed1.log").read_text()
        epochs = 1 + max(int(e) for e in re.findall(r"INFO: Epoch (\d+):", log))
        per_epoch = n // budget["batch_size"]
        assert record["epochs"] == epochs and record["steps"] == epochs * per_epoch
        cap = math.ceil(budget["max_steps"] / per_epoch) * per_epoch
        assert record["steps"] <= cap and 0 <= record["best_step"] <= record["steps"]
        assert (record["best_step"] == 0) == (record["kept"] == "start")
        assert (record["stopped_by"] == "rule") == ("stopping rule:" in log)
        row = table.loc[(mode.split("/")[0], n)]
        assert (row["steps"], row["stopped_by"]) == (record["steps"], record["stopped_by"])
        assert times.loc[(mode.split("/")[0], n), "train_s"] == pytest.approx(record["wall_s"])
    zero_shot = table.loc[("zero-shot", 4)]
    assert (zero_shot["steps"], zero_shot["stopped_by"]) == (0, "none")


def test_pre_trained_model_is_scored_against_its_teacher(campaign):
    _, _, results = campaign
    pretraining = pd.read_csv(results / "pretraining.csv").iloc[0]
    assert (pretraining["pretrained"], pretraining["teacher"]) == ("snap", "snap")
    valid = read_structures(results / "synthetic" / "snap" / "valid.extxyz")
    assert pretraining["n_test"] == len(valid) and 0 < pretraining["f_rmse"] < 10
    agreement = pd.read_csv(results / "teacher_agreement.csv").iloc[0]
    assert (agreement["teacher"], agreement["reference"]) == ("snap", "gfn1")
    assert agreement["n_structures"] == len(read_structures(results / "real" / "test.extxyz"))
    assert -1 <= agreement["forces_r"] <= 1 and agreement["forces_rmse"] > 0


def test_every_job_leaves_a_log_and_a_benchmark_and_plots_exist(campaign):
    _, _, results = campaign
    logs = list((results / "logs").rglob("*.log"))
    benchmarks = list((results / "benchmarks").rglob("*.tsv"))
    # every job but `all`: 23 as before, the validation set, the teacher on the test set and its
    # agreement, 2 zero-shot scores, the pre-trained model against its teacher, and the second
    # strategy's 2 trainings and 2 scores; the tuning of both strategies' rates (2 x 2 runs, 2
    # choices), the coverage map, and the export of 3 models (scratch, finetune, replay) and
    # their table
    assert len(logs) == len(benchmarks) == 44
    for plot in ("learning_curves.png", "parity.png", "cost.png", "stability.png", "coverage.png"):
        assert (results / "plots" / plot).read_bytes()[:4] == b"\x89PNG"


def test_every_job_runs_on_its_rules_threads_from_its_first_import(campaign):
    """Snakemake exports the rule's threads to the script's OpenMP/BLAS variables before the
    script's first import (torch and numpy read them when they load)."""
    _, _, results = campaign
    stated = {
        path.name: re.search(r"threads (\d+) \(OpenMP from the start: (\d+)\)", path.read_text())
        for path in (results / "logs").rglob("*.log")
    }
    assert all(stated.values()), "a job's log does not state its threads"
    assert all(m[1] == m[2] for m in stated.values()), stated


def test_rates_are_chosen_on_validation_and_no_model_ends_worse_than_its_start(campaign):
    _, _, results = campaign
    tuning = pd.read_csv(results / "tuning.csv")
    grid = TINY_CONFIG["finetune"]["lr_grid"]  # scratch's rate is pinned: not tuned
    assert sorted(zip(tuning["mode"], tuning["lr"], strict=True)) == sorted(
        (mode, lr) for mode in ("finetune", "replay") for lr in grid
    )
    assert (tuning["n_real"] == 4).all() and (tuning["seed"] == 1).all()
    assert (tuning["warmup_steps"] == TINY_CONFIG["finetune"]["warmup_steps"]).all()
    for mode, runs in tuning.groupby("mode"):
        chosen = runs[runs["chosen"]]
        assert len(chosen) == 1
        assert chosen["best_valid_loss"].iloc[0] == runs["best_valid_loss"].min()
        lr = chosen["lr"].iloc[0]  # the chosen rate reaches every model of the mode
        for n in (4, 8):
            log = (results / "logs" / mode / "snap" / f"n{n}" / "seed1.log").read_text()
            assert f"--lr={lr} " in log
    scratch_log = (results / "logs" / "train_scratch" / "n4" / "seed1.log").read_text()
    assert "--lr=0.01 " in scratch_log
    # the selection includes the start: no published model is worse on validation than it
    records = list((results / "models").glob("*/snap/n*/seed*/training.json"))
    records += list((results / "tuning").glob("*/snap/lr*/training.json"))
    assert len(records) == 4 + 4
    for path in records:
        record = json.loads(path.read_text())
        assert record["best_valid_loss"] <= record["start_valid_loss"]
        if record["kept"] == "start":
            assert record["best_step"] == 0 and record["best_epoch"] is None


def test_coverage_places_every_test_structure_against_the_synthetic_and_pool_ones(campaign):
    _, _, results = campaign
    coverage = pd.read_csv(results / "coverage.csv")
    test = read_structures(results / "real" / "test.extxyz")
    assert list(coverage["test_index"]) == list(range(len(test)))
    assert (coverage["n_atoms"] == [len(a) for a in test]).all()
    for column in ("synthetic_median", "synthetic_max", "pool_median", "pool_max", "f_rmse"):
        assert np.isfinite(coverage[column]).all() and (coverage[column] > 0).all()
    assert (coverage["synthetic_median"] <= coverage["synthetic_max"]).all()
    # the fine-tuned model's force error on each structure, from its saved predictions
    predictions = read_structures(results / "metrics/finetune/snap/n4/seed1/predictions.extxyz")
    first = predictions[0].arrays["MACE_forces"] - predictions[0].arrays["gfn1_forces"]
    assert coverage["f_rmse"].iloc[0] == pytest.approx(np.sqrt(np.mean(first**2)), rel=1e-5)
    log = (results / "logs" / "coverage.log").read_text()
    assert (
        "descriptor atoms per set: {'synthetic': 2304, 'pool': 640, 'valid': 128, 'test': 256}"
        in log
    )


def test_second_run_has_nothing_to_do(campaign):
    root, workdir, _ = campaign
    run = snakemake(root, workdir, "--dry-run")
    assert run.returncode == 0, run.stderr
    assert "Nothing to be done" in run.stdout + run.stderr


def test_default_campaign_dag_builds(root, tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "--dry-run", "--directory", str(tmp_path),
         "--snakefile", str(root / "Snakefile")],
        capture_output=True, text=True, cwd=root,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    totals = re.findall(r"^total\s+(\d+)$", run.stdout, flags=re.MULTILINE)
    # 4 + 4 MD shards, 1 SNAP batch + 4 xTB labelling, 1 + 12 training (scratch and
    # finetune at n = 10 and 40, seeds 1-3; rates fixed: no tuning runs), 12 + 2 + 1 scores,
    # the coverage map, agreement, splits, 6 subsets (each seed its own), aggregate, plots,
    # provenance, 2 exported models (scratch, finetune) and their table
    assert totals and int(totals[-1]) == 60


def test_bad_config_stops_before_any_job(root, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY.read_text().replace("sizes: [4, 8]", "sizes: [4, 80]"))
    run = snakemake(root, tmp_path, "--dry-run", configfile=bad)
    assert run.returncode != 0
    message = "the largest size 80 plus the validation set (n_valid 2) exceeds the pool"
    assert message in run.stdout + run.stderr


def test_paper_config_builds_its_whole_dag_quickly(root, tmp_path):
    """config/paper.yaml against small stand-in files for the user's C-GAP-17 data."""
    import time

    import yaml

    sys.path.insert(0, str(root / "bench"))
    from orchestration import paper_data

    paper_data(tmp_path)
    start = time.perf_counter()
    run = snakemake(root, tmp_path, "--dry-run", configfile=root / "config" / "paper.yaml")
    seconds = time.perf_counter() - start
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    config = yaml.safe_load((root / "config" / "paper.yaml").read_text())
    shards, teachers = config["synthetic"]["n_shards"], len(config["teachers"])
    pretrained = teachers * (1 + len(config["pretrain"]["sizes"]))
    sizes, seeds = len(config["subsets"]["sizes"]), len(config["subsets"]["seeds"])
    models = sizes * seeds * (1 + len(config["finetune"]["strategies"]) * pretrained)
    # Labelling jobs: one trajectory each for GAP (~80 s of work a shard), 7 for SNAP and 15
    # for Tersoff (~2 minutes of estimated work a job; 220 trajectories).
    labelling = 220 + math.ceil(220 / 7) + math.ceil(220 / 15)
    assert re.search(rf"^label_synthetic\s+{labelling}$", run.stdout, flags=re.MULTILINE)
    # generation, labelling, gathering, pre-training, subsets and validation set, training,
    # scoring (trained, zero-shot per size, each pre-trained model against its teacher), the
    # teachers on the test set, 7 single jobs
    zero_shot = sizes * pretrained
    # the learning-rate grid: scratch, and each strategy from each pre-trained model
    choices = 1 + len(config["finetune"]["strategies"]) * pretrained
    tuning = choices * (1 + len(config["finetune"]["lr_grid"]))
    # the whole sets (11,000 x 200 atoms) as HDF5, not the 1,000- and 3,000-cell slices
    config["pretrain"].setdefault("hdf5_min_atoms", 1_000_000)  # the schema's default
    hdf5 = {teacher_of(p) for p in pretrained_models(config) if reads_hdf5(config, p)}
    assert hdf5 == {(teacher, None) for teacher in config["teachers"]}
    assert re.search(rf"^preprocess_synthetic\s+{len(hdf5)}$", run.stdout, flags=re.MULTILINE)
    exports = choices + 1  # the best model of each trained mode (as many as rate choices), a table
    expected = (
        shards + labelling + teachers + pretrained + sizes * seeds + 1 + 2 * models + zero_shot
        + pretrained + teachers + 7 + tuning + len(hdf5) + exports
    )  # fmt: skip
    totals = re.findall(r"^total\s+(\d+)$", run.stdout, flags=re.MULTILINE)
    assert int(totals[-1]) == expected
    print(f"\npaper.yaml: {expected} jobs, dry run in {seconds:.1f} s")
    assert seconds < 60


def test_report_holds_the_plots_and_tables(campaign):
    """The README's `snakemake --report` after the README's set-up (pygments is pinned)."""
    root, workdir, _ = campaign
    report = workdir / "report.zip"
    run = snakemake(root, workdir, "--report", str(report))
    assert run.returncode == 0, run.stderr[-3000:]
    import zipfile

    names = zipfile.ZipFile(report).namelist()
    for name in ("learning_curves.png", "parity.png", "cost.png", "learning_curves.csv"):
        assert any(n.endswith(name) for n in names), (name, names[:20])


def test_changing_one_modes_rate_reruns_that_mode_alone(campaign, tmp_path):
    """A model's params hold its own mode's rate, not the whole lr spec: pinning finetune's
    rate (auto before) leaves scratch's (0.01 both times) and every scratch model alone."""
    import yaml

    root, workdir, _ = campaign
    config = yaml.safe_load(TINY.read_text())
    assert config["finetune"]["lr"] == {"scratch": 0.01, "finetune": "auto"}
    config["finetune"]["lr"] = 0.01
    changed = tmp_path / "tiny.yaml"
    changed.write_text(yaml.safe_dump(config, sort_keys=False))
    run = snakemake(root, workdir, "--dry-run", configfile=changed)
    assert run.returncode == 0, run.stderr[-2000:]
    jobs = job_counts(run.stdout)
    assert "train_scratch" not in jobs and "tune_scratch" not in jobs
    # finetune and replay (a strategy without its own rate takes finetune's) at n = 4 and 8
    assert jobs["finetune"] == 4
    # a cap of scratch's own: the scratch models alone (n = 4 and 8) rerun
    config = yaml.safe_load(TINY.read_text())
    steps = config["finetune"]["max_steps"]
    config["finetune"]["max_steps"] = {"scratch": 3 * steps, "finetune": steps}
    changed.write_text(yaml.safe_dump(config, sort_keys=False))
    run = snakemake(root, workdir, "--dry-run", configfile=changed)
    assert run.returncode == 0, run.stderr[-2000:]
    jobs = job_counts(run.stdout)
    assert jobs["train_scratch"] == 2 and "finetune" not in jobs, run.stdout[-2000:]


def test_raising_the_pretraining_cap_trains_on_from_the_finished_run(campaign, tmp_path):
    """`pretrain.max_epochs` raised on a finished campaign (a copy of it): Snakemake reruns the
    pre-training (its params changed) and the job trains only the epochs after its last one,
    in the same work dir; the fine-tunes that read it rerun too."""
    import shutil

    import yaml

    root, workdir, results = campaign
    copy = tmp_path / "campaign"
    shutil.copytree(workdir, copy, symlinks=True)
    before = json.loads((results / "models/pretrain/snap/training.json").read_text())
    config = yaml.safe_load(TINY.read_text())
    config["pretrain"]["max_epochs"] = before["epochs"] + 2
    raised = tmp_path / "tiny.yaml"
    raised.write_text(yaml.safe_dump(config, sort_keys=False))
    dry = snakemake(root, copy, "--dry-run", configfile=raised)
    jobs = job_counts(dry.stdout)
    assert jobs.get("pretrain") == 1 and jobs.get("finetune", 0) > 0, dry.stdout[-2000:]
    target = "results/tiny/models/pretrain/snap/training.json"
    run = snakemake(root, copy, "--cores", "2", target, configfile=raised)
    assert run.returncode == 0, run.stderr[-3000:]
    log = (copy / "results/tiny/logs/pretrain/snap.log").read_text().split("work dir")[-1]
    cap = config["pretrain"]["max_epochs"]
    assert f"epoch cap was raised from {before['epochs']} to {cap}" in log.splitlines()[0], log[
        :500
    ]
    epochs = [int(e) for e in re.findall(r"INFO: Epoch (\d+):", log)]
    after = json.loads((copy / target).read_text())
    if before["stopped_by"] == "cap":
        assert epochs == list(range(before["epochs"], cap)) and after["epochs"] == cap
    else:  # its rule had stopped it: nothing more to train
        assert epochs == [] and after["epochs"] == before["epochs"]
    assert after["validation"][: len(before["validation"])] == before["validation"]


def test_a_campaign_model_runs_in_ase_as_the_readme_says(campaign):
    """README: an exported model is a plain mace-torch model, for MACECalculator; it predicts
    what the campaign's own scoring predicted."""
    from mace.calculators import MACECalculator

    from synthpt.io import read_structures

    _, _, results = campaign
    choice = json.loads((results / "export/finetune/snap/choice.json").read_text())
    test = read_structures(results / "metrics" / choice["model"] / "predictions.extxyz")[:3]
    calculator = MACECalculator(
        model_paths=str(results / "export/finetune/snap/mace.model"),
        device="cpu",
        default_dtype="float32",
    )
    for atoms in test:
        expected = atoms.info["MACE_energy"], atoms.arrays["MACE_forces"]
        atoms.calc = calculator
        assert atoms.get_potential_energy() == pytest.approx(expected[0], abs=1e-3)
        assert np.abs(atoms.get_forces() - expected[1]).max() < 1e-3


def test_every_trained_mode_exports_its_best_model_with_a_lammps_file(campaign):
    """export/: per mode the lowest validation loss at the largest n, in models.csv; its
    LAMMPS file (mace_create_lammps_model) loads and gives the model's own energy and forces."""
    import torch
    from mace.calculators import MACECalculator

    from synthpt.io import read_structures

    _, _, results = campaign
    table = pd.read_csv(results / "export/models.csv").set_index("group")
    assert sorted(table.index) == ["finetune/snap", "replay/snap", "scratch"]
    largest = max(TINY_CONFIG["subsets"]["sizes"])
    for group, row in table.iterrows():
        choice = json.loads((results / "export" / group / "choice.json").read_text())
        assert row["n_real"] == largest and row["model"] == choice["model"]
        assert choice["best_valid_loss"] == min(choice["candidates"].values())
        record = json.loads((results / "models" / row["model"] / "training.json").read_text())
        assert row["best_valid_loss"] == pytest.approx(record["best_valid_loss"])
        scored = json.loads((results / "metrics" / row["model"] / "metrics.json").read_text())
        assert row["test_f_rmse"] == pytest.approx(scored["f_rmse"], rel=1e-5)
        for key in ("model_file", "compiled_file", "lammps_file"):
            assert (results.parent.parent / row[key]).is_file(), row[key]
    atoms = read_structures(results / "real" / "test.extxyz")[0]
    calculator = MACECalculator(
        model_paths=str(results / "export/scratch/mace.model"), default_dtype="float64"
    )
    atoms.calc = calculator
    lammps = torch.jit.load(str(results / "export/scratch/mace.model-lammps.pt"))
    data = calculator._atoms_to_batch(atoms).to_dict()
    out = lammps(data, torch.ones(len(atoms), dtype=torch.float64), False)
    assert float(out["total_energy_local"].sum()) == pytest.approx(
        atoms.get_potential_energy(), abs=1e-6
    )
    assert np.abs(out["forces"].detach().numpy() - atoms.get_forces()).max() < 1e-6


def test_every_model_is_scored_against_its_teacher_where_no_real_data_reaches(campaign):
    """learning_curves.csv: each model on the held-out synthetic structures against the
    teacher; the zero-shot model is the pre-trained one, so its figure is pre-training's."""
    _, _, results = campaign
    table = pd.read_csv(results / "learning_curves.csv")
    assert table["synthetic_f_rmse"].notna().all() and table["synthetic_e_rmse"].notna().all()
    pretrained = json.loads((results / "metrics/pretrain/snap/metrics.json").read_text())
    zero_shot = table[table["mode"] == "zero-shot"]
    assert zero_shot["synthetic_f_rmse"].to_numpy() == pytest.approx(pretrained["f_rmse"], rel=1e-5)
    tuned = table[table["mode"] != "zero-shot"].groupby("mode")["synthetic_f_rmse"].mean()
    assert (tuned > 0).all() and set(tuned.index) == {"scratch", "finetune", "replay"}


def test_a_finished_campaign_kept_across_an_update_of_the_scripts_with_touch(campaign):
    """An update that rewrites the scripts leaves every output older than its script: the code
    trigger reruns everything; `--touch` (README, "When something goes wrong") keeps them."""
    root, workdir, results = campaign
    files = [p for p in results.rglob("*") if p.is_file()]
    for path in files:
        os.utime(path, (946684800, 946684800))  # 2000-01-01: before every script
    stale = snakemake(root, workdir, "--dry-run")
    assert stale.returncode == 0, stale.stderr
    assert "Code has changed since last execution" in stale.stdout
    assert "Updated input files" not in stale.stdout  # only the scripts are newer
    touched = snakemake(root, workdir, "--touch", "--cores", "1")
    assert touched.returncode == 0, touched.stderr
    again = snakemake(root, workdir, "--dry-run")
    assert "Nothing to be done" in again.stdout + again.stderr
    assert len(files) == sum(1 for p in results.rglob("*") if p.is_file())  # nothing rewritten away


def test_the_docs_strategy_table_is_each_modes_summary(campaign):
    """bench/run.py docs' strategies table (docs' NAME-strategies.md) on the tiny campaign's
    finetune and replay: every mode's cells are its summary's means, steps and kept starts."""
    sys.path.insert(0, str(ROOT / "bench"))
    from docs import learning_summary, strategy_table

    _, _, results = campaign
    summary = pd.read_csv(results / "summary.csv")
    lines = strategy_table(learning_summary(results), "tiny").splitlines()
    assert lines[0] == "<!-- source: results/tiny -->"
    header = [c.strip() for c in lines[1].strip("|").split("|")]
    assert header[:6] == ["test set", "mode", "E n = 4", "E n = 8", "F n = 4", "F n = 8"]
    rows = {row[1]: row for row in ([c.strip() for c in line.strip("|").split("|")]
                                    for line in lines[3:])}  # fmt: skip
    assert list(rows) == ["`scratch`", "`finetune`", "`replay`", "`zero-shot`"]
    for mode in ("scratch", "replay"):
        mine = summary[summary["mode"] == mode].set_index("n_real")
        cells = rows[f"`{mode}`"]
        assert float(cells[5].split(" ± ")[0]) == pytest.approx(
            mine.loc[8, "f_rmse_mean"], rel=5e-3
        )
        steps = " / ".join(f"{mine.loc[n, 'steps_mean']:.0f}" for n in (4, 8))
        assert cells[header.index("steps 4 / 8")] == steps
        assert cells[header.index("kept start")] == f"{mine['kept_start'].sum()} of 2"
        assert cells[header.index("MD failed")] == str(mine["md_failed"].sum())
    assert rows["`zero-shot`"][header.index("kept start")] == ""
    only_finetune = learning_summary(results).query("mode != 'replay'")
    assert strategy_table(only_finetune, "tiny") is None  # one strategy: no table
