"""The own-data template (config/own_data.yaml) on real DFT nobody here made: acetylacetone
from ../shared/data/acac, at tiny sizes, through the real workflow."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import ROOT, snakemake
from synthpt.io import read_structures

pytestmark = pytest.mark.workflow

ACAC = ROOT.parent / "shared" / "data" / "acac"
TEMPLATE = ROOT / "config" / "own_data.yaml"


@pytest.fixture(scope="module")
def acac_campaign(tmp_path_factory):
    if not (ACAC / "train_300K.xyz").exists():
        pytest.skip(f"no acac data at {ACAC}: the template test needs shared/ beside the repo")
    text = TEMPLATE.read_text().replace("../shared/data/acac", str(ACAC))
    config = yaml.safe_load(text)
    config["campaign"] = "acac-tiny"
    config["structures"].update(n_chains=20, chain_length=2)
    config["synthetic"]["n_shards"] = 2
    config["subsets"].update(sizes=[4, 8], seeds=[1, 2], n_valid=4)
    config["model"].update(num_channels=8, max_ell=1, correlation=2, radial_mlp=[8])
    config["pretrain"].update(max_epochs=2, batch_size=10)
    config["finetune"].update(max_steps=20, eval_steps=10, batch_size=4)
    config["stability"].update(n_structures=1, steps=10)
    workdir = tmp_path_factory.mktemp("acac")
    configfile = workdir / "acac.yaml"
    configfile.write_text(yaml.safe_dump(config, sort_keys=False))
    run = snakemake(ROOT, workdir, "--cores", "2", configfile=configfile)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return config, workdir / "results" / config["campaign"]


def test_every_model_is_scored_on_each_named_test_set_the_headline_first(acac_campaign):
    config, results = acac_campaign
    names = list(config["real"]["test"])
    assert names == ["md300", "md600", "h_transfer", "dihedral"]
    table = pd.read_csv(results / "learning_curves.csv")
    assert list(dict.fromkeys(table["test_set"])) == names
    per_set = table.groupby("test_set", sort=False)
    assert per_set.size().nunique() == 1  # every model on every set
    assert dict(per_set["n_test"].first()) == {
        "md300": 650, "md600": 650, "h_transfer": 15, "dihedral": 45,
    }  # fmt: skip
    # the NEB path and the dihedral scan hold energies alone: scored on energies alone
    for name, group in per_set:
        assert group["e_rmse"].notna().all()
        assert group["f_rmse"].isna().all() == (name in ("h_transfer", "dihedral"))
    summary = pd.read_csv(results / "summary.csv")
    assert list(dict.fromkeys(summary["test_set"])) == names
    ingest = json.loads((results / "real" / "ingest.json").read_text())
    assert ingest["pool"]["kept"] == 1000
    assert [ingest["test_sets"][n]["energy_only"] for n in names] == [False, False, True, True]
    scan = read_structures(results / "metrics/finetune/gfn2/n4/seed1/predictions-dihedral.extxyz")
    assert len(scan) == 45 and all(math.isfinite(a.info["MACE_energy"]) for a in scan)


def test_each_ordered_path_scores_its_barrier_and_is_plotted(acac_campaign):
    config, results = acac_campaign
    assert config["real"]["paths"] == ["h_transfer", "dihedral"]
    table = pd.read_csv(results / "learning_curves.csv")
    for name, group in table.groupby("test_set"):
        assert group["barrier_error"].notna().all() == (name in config["real"]["paths"])
    model = results / "metrics/finetune/gfn2/n8/seed2"
    scan = read_structures(model / "predictions-h_transfer.extxyz")
    barrier = {key: np.ptp([a.info[key] for a in scan]) for key in ("MACE_energy", "dft_energy")}
    row = table.query("test_set == 'h_transfer' and mode == 'finetune' and n_real == 8")
    row = row[row["seed"] == 2]
    expected = (barrier["MACE_energy"] - barrier["dft_energy"]) * 1000
    assert row["barrier_error"].item() == pytest.approx(expected, rel=1e-6)
    summary = pd.read_csv(results / "summary.csv").query("test_set == 'dihedral'")
    assert summary["barrier_error_mean"].notna().all()
    assert (results / "plots" / "paths.png").stat().st_size > 10_000


def test_each_seed_draws_its_own_nested_subsets(acac_campaign):
    _, results = acac_campaign
    subsets = results / "real" / "subsets"
    source = {
        (seed, n): [a.info["source"] for a in read_structures(subsets / f"seed{seed}/n{n}.extxyz")]
        for seed in (1, 2)
        for n in (4, 8)
    }
    assert source[1, 8][:4] == source[1, 4] and source[2, 8][:4] == source[2, 4]
    assert source[1, 8] != source[2, 8]
    valid = {a.info["source"] for a in read_structures(results / "real" / "valid.extxyz")}
    assert not valid & (set(source[1, 8]) | set(source[2, 8]))


def test_the_teacher_is_scored_against_the_dft_and_the_plots_are_made(acac_campaign):
    _, results = acac_campaign
    agreement = pd.read_csv(results / "teacher_agreement.csv").iloc[0]
    # GFN2-xTB against PBE+D3 on the 650 300 K test molecules (docs/own-data.md: 0.476 eV/Å)
    assert agreement["forces_rmse"] == pytest.approx(0.476, abs=0.005)
    assert agreement["n_structures"] == 650
    for plot in ("learning_curves", "parity", "cost", "stability", "coverage"):
        assert (results / "plots" / f"{plot}.png").stat().st_size > 10_000


def test_acac_benches_read_the_campaign_and_pretrain_each_student(acac_campaign, capsys):
    """Smoke tests of bench/run.py acac and acaccapacity on the tiny acac campaign."""
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    import run as bench

    config, results = acac_campaign
    workdir = results.parent.parent
    rows = bench.bench_acac(base=config, workdir=workdir, cores=2)
    assert [(row[0], row[1]) for row in rows] == [
        (name, n) for name in config["real"]["test"] for n in (4, 8)
    ]
    gain = pd.read_csv(results / "pretraining_gain.csv").set_index(["test_set", "mode", "n_real"])
    assert rows[0][5] == pytest.approx(gain.loc[("md300", "finetune", 4), "e_rmse_ratio"])
    out = capsys.readouterr().out
    assert "the student against its teacher and the teacher against the DFT" in out
    students = {"c4": {"num_channels": 4}}
    (row,) = bench.bench_acac_capacity(
        base=config, workdir=workdir, cores=2, students=students, max_epochs=1
    )
    student = json.loads(
        (
            workdir / f"results/{config['campaign']}-c4/metrics/pretrain/gfn2/metrics.json"
        ).read_text()
    )
    assert row[0] == "c4" and row[2] == pytest.approx(student["student_f_rmse"])
    assert row[4] == pytest.approx(0.476, abs=0.005) and row[6] == 1 and row[8] > 0


def test_acac_schedule_and_docs_benches_read_the_campaigns_own_files(acac_campaign, tmp_path):
    """Smoke tests of bench/run.py acacschedule (a schedule from the template's pre-trained
    model, labels and subsets) and docs (the figure and its table from the campaign's files)."""
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    import run as bench

    config, results = acac_campaign
    workdir = results.parent.parent
    schedules = {"template": {}, "energy x10": {"energy_weight": 3000.0}}
    rows = bench.bench_acac_schedule(
        base=config, workdir=workdir, cores=2, schedules=schedules, modes=("finetune",)
    )
    variant = workdir / f"results/{config['campaign']}-energy-x10"
    logs = sorted(p.name for p in (variant / "logs").iterdir())
    assert "pretrain" not in logs and "finetune" in logs  # the pre-trained model was reused
    tuned = json.loads((variant / "metrics/finetune/gfn2/n4/seed1/metrics.json").read_text())
    assert [row[:3] for row in rows] == [("template", "finetune", 1), ("energy x10", "finetune", 1)]
    assert rows[1][6:8] == (tuned["test_sets"][0]["e_rmse"], tuned["test_sets"][0]["f_rmse"])
    assert "--energy_weight=3000.0" in (variant / "logs/finetune/gfn2/n4/seed1.log").read_text()

    rows = bench.bench_docs(config["campaign"], workdir=workdir, out=tmp_path, name="acac")
    assert (tmp_path / "acac-learning-curves.png").read_bytes()[:4] == b"\x89PNG"
    summary = pd.read_csv(results / "summary.csv")
    assert len(rows) == len(summary)  # every set, mode and n of the finished campaign
    md300 = summary[(summary["test_set"] == "md300") & (summary["mode"] == "scratch")]
    assert rows[[r[:3] for r in rows].index(("md300", "scratch", 4))][5].startswith(
        f"{md300[md300['n_real'] == 4]['f_rmse_mean'].iloc[0]:.3g} ± "
    )
    assert (tmp_path / "acac-paths.png").stat().st_size > 10_000
    barriers = (tmp_path / "acac-barriers.md").read_text().splitlines()
    assert barriers[1].startswith("| path | n | ") and len(barriers) == 3 + 2 * 2  # 2 paths, 2 n
    dihedral = summary.query("test_set == 'dihedral' and mode == 'scratch' and n_real == 8")
    header, last = ([c.strip() for c in line.strip("|").split("|")] for line in barriers[1::5])
    mean, std = dihedral["barrier_error_mean"].item(), dihedral["barrier_error_std"].item()
    assert last[:2] == ["dihedral", "8"]
    cell_mean, cell_std = last[header.index("scratch")].split(" ± ")
    assert float(cell_mean) == pytest.approx(mean, rel=5e-3)
    assert float(cell_std) == pytest.approx(std, rel=5e-2)


def test_acac_energy_bench_splits_each_error_into_the_teachers_and_the_students(acac_campaign):
    """Smoke test of bench/run.py acacenergy on the tiny campaign's models at n = 4."""
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    import run as bench

    config, results = acac_campaign
    rows = bench.bench_acac_energy(base=config, workdir=results.parent.parent, cores=2)
    assert [row[:2] for row in rows] == [("teacher", ""), ("zero-shot", "")] + [
        (mode, f"seed{seed}") for mode in ("finetune", "scratch") for seed in (1, 2)
    ]
    agreement = pd.read_csv(results / "teacher_agreement.csv").iloc[0]
    assert rows[0][2] == pytest.approx(agreement["energy_rmse_centred"])
    tuned = read_structures(results / "metrics/finetune/gfn2/n4/seed2/predictions.extxyz")
    error = [(a.info["MACE_energy"] - a.info["dft_energy"]) / len(a) for a in tuned]
    assert rows[3][2] == pytest.approx(np.std(error) * 1000, rel=1e-6)  # one composition
    assert all(-1 <= row[3] <= 1 and -1 <= row[5] <= 1 for row in rows[2:])


def test_acac_strategies_bench_trains_only_the_strategies_it_lacks(acac_campaign):
    """Smoke test of bench/run.py acacstrategies: the template's scratch and fine-tuned models
    are reused, the other strategy trains, and every model gets each path's barrier error."""
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    import run as bench

    config, results = acac_campaign
    workdir = results.parent.parent
    rows = bench.bench_acac_strategies(
        base=config, workdir=workdir, cores=2, seeds=[1], strategies=["finetune", "frozen"]
    )
    variant = workdir / f"results/{config['campaign']}-strategies"
    logs = variant / "logs"
    assert (logs / "frozen/gfn2/n4/seed1.log").exists()
    # scratch and finetune came from the template campaign
    assert not (logs / "finetune").exists() and not (logs / "train_scratch").exists()
    table = pd.read_csv(results / "learning_curves.csv")
    tuned = table.query("test_set == 'dihedral' and mode == 'finetune' and n_real == 4")
    tuned = tuned[tuned["seed"] == 1]
    row = rows[[r[:2] for r in rows].index(("dihedral", "finetune"))]
    assert " ± " not in row[5]  # one seed: no std
    assert float(row[5]) == pytest.approx(tuned["barrier_error"].item(), rel=5e-3)
    modes = {r[1] for r in rows}
    assert modes == {"scratch", "finetune", "frozen", "zero-shot"}
