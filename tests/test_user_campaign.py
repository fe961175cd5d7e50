"""A campaign on a user's own DFT-style files, two teachers side by side, single-slice reruns."""

import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from conftest import TINY, snakemake
from synthpt.calculators import make_calculator
from synthpt.e0s import model_e0s
from synthpt.evaluate import load_model
from synthpt.io import read_structures
from synthpt.provenance import sha256
from synthpt.structures import generate

pytestmark = pytest.mark.workflow


def write_dft_files(folder):
    """Pool (10 bulk + 2 'liquid' cells) and test (4 cells) as a DFT code would write them."""
    tersoff = make_calculator("tersoff", {"type": "tersoff"}, ["C"])
    cells = generate(range(16), "real", 3, "C", 64, (2.0, 3.0), 1.2)
    for atoms in cells:
        atoms.calc = tersoff
        energy, forces = atoms.get_potential_energy(), atoms.get_forces()
        atoms.calc = SinglePointCalculator(atoms, energy=energy - 64 * 0.5, forces=forces)
        atoms.info = {"config_type": "bulk"}
    for atoms in cells[10:12]:
        atoms.info["config_type"] = "liquid"
    write(folder / "train.extxyz", cells[:12])
    write(folder / "test.extxyz", cells[12:])
    synthetic = generate(range(40), "synthetic", 3, "C", 64, (2.0, 3.0), 1.2)
    write(folder / "synthetic.extxyz", synthetic[:25])
    write(folder / "more.xyz", synthetic[25:], format="extxyz")


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("user")
    (workdir / "data").mkdir()
    write_dft_files(workdir / "data")
    config = yaml.safe_load(TINY.read_text())
    config["campaign"] = "mine"
    config["calculators"] = {"snap": config["calculators"]["snap"], "tersoff": {"type": "tersoff"}}
    config["teachers"] = ["snap", "tersoff"]
    config["finetune"]["strategies"] = ["finetune"]  # two teachers: one strategy is enough here
    config["reference"] = "dft"
    config["structures"] = {
        "source": "files",
        "files": ["data/synthetic.extxyz", "data/more.xyz"],
        "max_force": 100.0,
    }
    config["synthetic"] = {"n_shards": 3, "valid_fraction": 0.1}
    config["real"] = {
        "pool": "data/train.extxyz",
        "test": ["data/test.extxyz"],
        "config_types": ["bulk"],
        "e0s": {"C": -3.0},
    }
    configfile = workdir / "mine.yaml"
    configfile.write_text(yaml.safe_dump(config))
    return workdir, configfile, workdir / "results" / "mine"


def run(root, user, *args):
    workdir, configfile, _ = user
    result = snakemake(root, workdir, "--cores", "2", *args, configfile=configfile)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_one_size_first_then_the_whole_campaign_then_one_size_again(root, user):
    workdir, _, results = user
    # One data size as a target: only its models are trained; the rest is listed as missing.
    run(root, user, "results/mine/sweeps/n4/learning_curves.csv")
    so_far = pd.read_csv(results / "sweeps" / "n4" / "learning_curves.csv")
    assert set(so_far["n_real"]) == {4} and len(so_far) == 5  # 3 trained, 2 zero-shot
    missing = pd.read_csv(results / "sweeps" / "n4" / "missing.csv")
    assert set(missing["n_real"]) == {8} and len(missing) == 5
    assert not (results / "models" / "scratch" / "n8").exists()

    run(root, user)
    table = pd.read_csv(results / "learning_curves.csv")
    assert set(zip(table["mode"], table["teacher"], strict=True)) == {
        ("scratch", "none"),
        ("finetune", "snap"),
        ("finetune", "tersoff"),
        ("zero-shot", "snap"),
        ("zero-shot", "tersoff"),
    }
    assert len(table) == 10 and (table["n_test"] == 4).all()
    assert np.isfinite(table[["e_rmse", "f_rmse"]]).all().all()

    # Rerun one size from training on: n8 and the pre-trained models stay untouched.
    models = results / "models"
    untouched = [models / "scratch/n8/seed1/mace.model", models / "pretrain/snap/mace.model"]
    rerun = [models / f"{m}/n4/seed1/mace.model" for m in ("scratch", "finetune/tersoff")]
    before = {path: path.stat().st_mtime_ns for path in untouched + rerun}
    run(root, user, "--forcerun", "train_scratch", "finetune", "--",
        "results/mine/sweeps/n4/learning_curves.csv")  # fmt: skip
    for path in untouched:
        assert path.stat().st_mtime_ns == before[path]
    for path in rerun:
        assert path.stat().st_mtime_ns > before[path]
    # retrained from epoch 0, not resumed from the finished run's checkpoint
    for name in ("train_scratch/n4/seed1.log", "finetune/tersoff/n4/seed1.log"):
        log = (results / "logs" / name).read_text().split("work dir")[-1]
        assert log.startswith(" ") and "a finished run was here" in log.splitlines()[0]
        epochs = [int(e) for e in re.findall(r"INFO: Epoch (\d+):", log)]
        assert epochs == list(range(len(epochs))) and len(epochs) > 1  # every epoch from 0
    n8_log = (results / "logs" / "train_scratch/n8/seed1.log").read_text()
    assert n8_log.count("work dir") == 1  # trained once
    assert pd.read_csv(results / "sweeps" / "n4" / "missing.csv").empty


def test_user_data_are_ingested_with_explicit_keys_and_given_e0s(user):
    workdir, _, results = user
    report = json.loads((results / "real" / "ingest.json").read_text())
    assert report["pool"]["kept"] == 10 and report["pool"]["filtered_config_type"] == 2
    scratch = load_model(results / "models" / "scratch" / "n4" / "seed1" / "mace.model")
    assert model_e0s(scratch)[6] == pytest.approx(-3.0)
    assert not (results / "structures" / "real").exists()  # no reference labelling ran


def test_user_structures_are_sharded_and_labelled_by_each_teacher(user):
    _, _, results = user
    shards = [read_structures(results / f"structures/synthetic/shard-{k}.extxyz") for k in range(3)]
    assert [len(s) for s in shards] == [13, 14, 13]
    indices = [a.info["index"] for shard in shards for a in shard]
    assert indices == list(range(40))
    assert shards[2][-1].info["source"] == "more.xyz:14"
    for teacher in ("snap", "tersoff"):
        labelled = read_structures(results / f"synthetic/{teacher}/train.extxyz")
        labelled += read_structures(results / f"synthetic/{teacher}/valid.extxyz")
        assert len(labelled) == 40 and all(f"{teacher}_energy" in a.info for a in labelled)


def test_provenance_records_config_versions_and_checksums(user):
    workdir, configfile, results = user
    record = json.loads((results / "provenance" / "provenance.json").read_text())
    assert record["inputs"]["data/train.extxyz"]["sha256"] == sha256(
        workdir / "data" / "train.extxyz"
    )
    assert set(record["inputs"]) == {f"data/{name}" for name in (
        "train.extxyz", "test.extxyz", "synthetic.extxyz", "more.xyz")}  # fmt: skip
    assert record["packages"]["mace-torch"] == "0.3.16"
    resolved = yaml.safe_load((results / "provenance" / "config.yaml").read_text())
    given = yaml.safe_load(configfile.read_text())["real"]
    assert resolved["real"] == given | {"energy_key": "energy", "forces_key": "forces",
        "stress_key": None, "energy_unit": "eV", "length_unit": "Angstrom",
        "duplicates": "error", "min_distance": 0.5, "implausible": "error"}  # fmt: skip
    assert resolved["teachers"] == ["snap", "tersoff"]


def test_an_ingest_error_reaches_the_console_with_file_and_problem(root, tmp_path):
    (tmp_path / "data").mkdir()
    write_dft_files(tmp_path / "data")
    pool = read_structures(tmp_path / "data" / "train.extxyz")
    pool[3].calc.results["energy"] = float("nan")
    write(tmp_path / "data" / "train.extxyz", pool)
    config = yaml.safe_load(TINY.read_text())
    config["reference"] = "dft"
    config["real"] = {"pool": "data/train.extxyz", "test": "data/test.extxyz"}
    configfile = tmp_path / "bad.yaml"
    configfile.write_text(yaml.safe_dump(config))
    result = snakemake(root, tmp_path, "--cores", "1", "results/tiny/real/ingest.json",
                       configfile=configfile)  # fmt: skip
    assert result.returncode != 0
    message = "synthpt: InputError: data/train.extxyz: structure 3: energy 'energy' is not finite"
    assert message in result.stderr, result.stderr[-2000:]


def test_augmented_synthetic_set_grows_from_the_pool_only(root, user):
    """structures.source augment: chains of rattled, strained, relaxed copies of the ingested
    pool's structures (positions only), labelled by the teacher like any synthetic set."""
    workdir, configfile, _ = user
    config = yaml.safe_load(configfile.read_text())
    config["campaign"] = "augmented"
    config["teachers"] = ["snap"]
    config["structures"] = {
        "source": "augment", "n_chains": 6, "chain_length": 2, "widths": [0.05, 0.1],
        "strain": 0.02, "relax_steps": 2, "min_distance": 1.1, "max_force": 100.0,
    }  # fmt: skip
    config["synthetic"] = {"n_shards": 2, "valid_fraction": 0.2}
    augmented = workdir / "augmented.yaml"
    augmented.write_text(yaml.safe_dump(config))
    target = "results/augmented/synthetic/snap/train.extxyz"
    result = snakemake(root, workdir, "--cores", "2", target, configfile=augmented)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    results = workdir / "results" / "augmented"
    pool = read_structures(results / "real" / "pool.extxyz")
    test = read_structures(results / "real" / "test.extxyz")
    synthetic = read_structures(results / "synthetic" / "snap" / "train.extxyz")
    synthetic += read_structures(results / "synthetic" / "snap" / "valid.extxyz")
    assert len(synthetic) == 12 and all(a.info["source"] == "augment" for a in synthetic)
    assert all("snap_energy" in a.info and "dft_energy" not in a.info for a in synthetic)
    # chain k grows from pool structure k: its first link is within a small rattle of it
    from ase.geometry import find_mic

    for atoms in (a for a in synthetic if a.info["link"] == 0):
        seed = pool[atoms.info["chain"] % len(pool)]
        rms = np.sqrt((find_mic(atoms.positions - seed.positions, seed.cell)[0] ** 2).mean())
        assert rms < 0.3
        assert not any(np.allclose(atoms.cell.lengths(), t.cell.lengths()) for t in test)
    log = (results / "logs" / "generate_structures" / "synthetic" / "shard-0.log").read_text()
    assert "grew chains from 10 seed structures of ['results/augmented/real/pool.extxyz']" in log
