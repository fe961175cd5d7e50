import numpy as np
import pytest
from ase.build import bulk

from synthpt.calculators import OFFLINE_CARBON_TEACHERS as OFFLINE
from synthpt.calculators import CalculatorConfigError, make_calculator
from synthpt.labelling import label, label_keys


def diamond(rattle=0.05, repeat=2):
    atoms = bulk("C", "diamond", a=3.567, cubic=True).repeat(repeat)
    atoms.rattle(rattle, seed=3)
    return atoms


@pytest.mark.parametrize("name", sorted(OFFLINE))
def test_empirical_and_ml_teachers_match_finite_differences(name):
    atoms = diamond()
    atoms.calc = make_calculator(name, OFFLINE[name], ["C"])
    energy = atoms.get_potential_energy() / len(atoms)
    assert -9.5 < energy < -6.5, f"{name}: {energy} eV/atom for near-diamond"
    forces = atoms.get_forces()
    for i, axis in [(0, 0), (5, 2), (17, 1)]:
        h = 1e-4
        shifted = []
        for sign in (1, -1):
            trial = atoms.copy()
            trial.calc = atoms.calc
            trial.positions[i, axis] += sign * h
            shifted.append(trial.get_potential_energy())
        numeric = -(shifted[0] - shifted[1]) / (2 * h)
        assert forces[i, axis] == pytest.approx(numeric, abs=2e-3)


def test_gfn1_xtb_reference_labels_a_64_atom_cell():
    atoms = diamond(rattle=0.03)
    atoms.calc = make_calculator("gfn1", {"type": "xtb", "method": "GFN1-xTB"}, ["C"])
    energy = atoms.get_potential_energy() / len(atoms)
    forces = atoms.get_forces()
    assert -60 < energy < -50  # xTB's own energy zero, far from the teachers'
    assert np.isfinite(forces).all() and np.abs(forces.sum(axis=0)).max() < 1e-3


def test_label_writes_explicit_keys_and_sets_failures_aside():
    good, crowded = diamond(), diamond()
    crowded.positions[1] = crowded.positions[0] + [0.3, 0, 0]
    calculator = make_calculator("snap", OFFLINE["snap"], ["C"])
    labelled, rejects = label([good, crowded], calculator, "snap", max_force=50.0)
    assert len(labelled) == 1 and len(rejects) == 1
    energy_key, forces_key = label_keys("snap")
    assert energy_key in labelled[0].info and labelled[0].arrays[forces_key].shape == (64, 3)
    assert labelled[0].calc is None and "energy" not in labelled[0].info
    assert "above 50.0" in rejects[0].info["reject_reason"]


def test_calculator_exceptions_become_reject_reasons():
    atoms = diamond(repeat=1)
    atoms.calc = None
    xtb = make_calculator("gfn1", {"type": "xtb", "max_iterations": 1}, ["C"])
    labelled, rejects = label([atoms], xtb, "gfn1", max_force=100.0)
    assert not labelled
    assert rejects[0].info["rejected_by"] == "gfn1" and rejects[0].info["reject_reason"]


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"type": "dft"}, "unknown type 'dft'"),
        ({"type": "lammps", "potential": "nope"}, "unknown LAMMPS potential 'nope'"),
        ({"type": "lammps"}, "needs 'potential' or 'pair_style' and 'pair_coeff'"),
        ({"type": "tersoff", "parameters": "Nope"}, "no Tersoff/Brenner parameter set 'Nope'"),
        ({"type": "mace", "model": "missing.model"}, "MACE model file 'missing.model' not found"),
    ],
)
def test_bad_calculator_entries_are_explained(spec, message):
    with pytest.raises(CalculatorConfigError, match=message):
        make_calculator("bad", spec, ["C"])
