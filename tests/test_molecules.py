"""A tiny molecular campaign end to end: MD of three C/H/O molecules driven by GFN2-xTB (tblite),
a PySCF DFT reference, real MACE, no cell anywhere."""

import re

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import ROOT, snakemake
from synthpt.io import read_structures

pytestmark = pytest.mark.workflow
MOLECULES = ROOT / "tests" / "configs" / "tiny_molecules.yaml"
CONFIG = yaml.safe_load(MOLECULES.read_text())


@pytest.fixture(scope="module")
def molecules(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("molecules")
    run = snakemake(ROOT, workdir, "--cores", "2", configfile=MOLECULES)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    return workdir / "results" / "tiny_molecules"


def test_structures_are_molecules_of_every_element_without_a_cell(molecules):
    for path in ("synthetic/gfn2/train.extxyz", "real/pool.extxyz", "real/test.extxyz"):
        structures = read_structures(molecules / path)
        assert structures and all(not a.pbc.any() and a.cell.rank == 0 for a in structures)
    synthetic = read_structures(molecules / "synthetic" / "gfn2" / "train.extxyz")
    formulas = {a.get_chemical_formula() for a in synthetic}
    assert formulas == {"C2H6O", "C2H4O2", "CH4O"}  # every molecule, each with C, H and O
    pool = read_structures(molecules / "real" / "pool.extxyz")
    assert all("dft_energy" in a.info and a.arrays["dft_forces"].shape == (len(a), 3) for a in pool)
    # PBE/STO-3G total energies: ~ -114 (methanol) to -226 (acetic acid) Hartree
    assert all(-6500 < a.info["dft_energy"] < -3000 for a in pool)


def test_every_model_is_scored_with_e0s_per_element(molecules):
    table = pd.read_csv(molecules / "learning_curves.csv")
    assert set(table["mode"]) == {"scratch", "finetune", "zero-shot"}
    errors = table[["e_rmse", "f_rmse", "f_rmse_C", "f_rmse_H", "f_rmse_O"]]
    assert len(table) == 6 and np.isfinite(errors).all().all()
    assert (table["md_steps"] >= 1).all()
    log = (molecules / "logs" / "train_scratch" / "n8" / "seed1.log").read_text()
    e0s = dict(re.findall(r"(\d+): (-?[\d.]+)", log.split("E0s ")[1].splitlines()[0]))
    assert set(e0s) == {"1", "6", "8"}  # H, C and O, each fitted
