import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "configs" / "tiny.yaml"
TINY_CONFIG = yaml.safe_load(TINY.read_text())
sys.path.insert(0, str(ROOT / "workflow"))
os.environ.setdefault("OMP_NUM_THREADS", "1")

from synthpt.structures import generate  # noqa: E402


@pytest.fixture
def root():
    return ROOT


@pytest.fixture(scope="session")
def cells():
    """Three random 64-atom carbon cells, unrelaxed."""
    return generate(range(3), "real", 11, "C", 64, (2.0, 3.0), 1.2)


def labelled(structures, name="ref", seed=0):
    """Copies carrying made-up but well-formed labels under ``name``."""
    rng = np.random.default_rng(seed)
    out = []
    for atoms in structures:
        atoms = atoms.copy()
        atoms.info[f"{name}_energy"] = -7.0 * len(atoms) + rng.normal()
        atoms.arrays[f"{name}_forces"] = rng.normal(size=(len(atoms), 3))
        out.append(atoms)
    return out


def write_nep4(path, elements, neurons=8, seed=0, zbl=None, n_max=(4, 4), l_max=(4, 2, 0)):
    """A NEP4 potential file (GPUMD's nep.txt layout) with random weights over ``elements``;
    ``zbl`` (inner, outer): a nep4_zbl model, whose zbl line comes before the cutoffs."""
    basis = (6, 6)
    n_descriptor = n_max[0] + 1 + (n_max[1] + 1) * (l_max[0] + (l_max[1] > 0) + (l_max[2] > 0))
    n_network = len(elements) * (n_descriptor + 2) * neurons + 1
    n_radial, n_angular = ((n + 1) * (b + 1) for n, b in zip(n_max, basis, strict=True))
    n_basis = len(elements) ** 2 * (n_radial + n_angular)
    rng = np.random.default_rng(seed)
    values = [*rng.uniform(-0.5, 0.5, n_network), *rng.uniform(-1, 1, n_basis)]
    values += [0.5] * n_descriptor  # q_scaler
    zbl_lines = [f"zbl {zbl[0]} {zbl[1]}"] if zbl else []
    header = [
        f"nep4{'_zbl' if zbl else ''} {len(elements)} {' '.join(elements)}", *zbl_lines,
        "cutoff 5.0 4.0 100 100",
        f"n_max {n_max[0]} {n_max[1]}", f"basis_size {basis[0]} {basis[1]}",
        f"l_max {' '.join(map(str, l_max))}", f"ANN {neurons} 0",
    ]  # fmt: skip
    Path(path).write_text("\n".join(header + [f"{v:.8e}" for v in values]) + "\n")
    return str(path)


def snakemake(root, workdir, *args, configfile=TINY):
    """Run the workflow in ``workdir`` on ``configfile``; return the CompletedProcess."""
    command = [
        sys.executable, "-m", "snakemake", "--snakefile", str(root / "Snakefile"),
        "--directory", str(workdir), "--configfile", str(configfile), *args,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, cwd=root)


def job_counts(stdout: str) -> dict[str, int]:
    """Snakemake's job stats table (a dry run's, or a run's): rule -> number of jobs."""
    return {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)$", stdout, flags=re.MULTILINE)}


@pytest.fixture(scope="session")
def campaign(tmp_path_factory):
    """The tiny campaign, run once through the README's `make run` entry point."""
    workdir = tmp_path_factory.mktemp("campaign")
    run = subprocess.run(
        ["make", "-C", str(ROOT), "run", "CORES=2",
         f"ARGS=--directory {workdir} --configfile {TINY}"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    return ROOT, workdir, workdir / "results" / "tiny"


@pytest.fixture
def tiny_model():
    """A small untrained MACE model for carbon (E0 -9 eV/atom)."""
    import mace  # noqa: F401, I001  (before e3nn: lets e3nn load its constants, torch 2.13)
    import torch
    from e3nn import o3
    from mace import modules

    torch.set_default_dtype(torch.float64)
    torch.manual_seed(0)
    return modules.MACE(
        r_max=3.5,
        num_bessel=4,
        num_polynomial_cutoff=5,
        max_ell=1,
        interaction_cls=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
        interaction_cls_first=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
        num_interactions=1,
        num_elements=1,
        hidden_irreps=o3.Irreps("4x0e"),
        MLP_irreps=o3.Irreps("4x0e"),
        atomic_energies=np.array([-9.0]),
        avg_num_neighbors=8.0,
        atomic_numbers=[6],
        correlation=2,
        gate=torch.nn.functional.silu,
    )
