import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
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
