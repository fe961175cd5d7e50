"""MD stability: time to failure with real potentials and a real MACE model."""

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.singlepoint import SinglePointCalculator

from synthpt.calculators import make_calculator
from synthpt.stability import NONE, failure, stability, time_to_failure

SETTINGS = {
    "n_structures": 1,
    "temperature": 3000,
    "steps": 60,
    "timestep_fs": 1.0,
    "friction": 0.01,
    "min_distance": 0.7,
    "max_force": 50.0,
    "max_energy_change": 1.5,
}


class NoForces(Calculator):
    """A model that learnt nothing: no repulsion, atoms pass through each other."""

    implemented_properties = ["energy", "forces"]

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.results = {"energy": 0.0, "forces": np.zeros((len(self.atoms), 3))}


def test_a_model_without_repulsion_fails_by_close_contact_a_real_potential_survives(cells):
    steps, reason = time_to_failure(NoForces(), cells[0], SETTINGS, seed=1)
    assert reason == "atoms closer than min_distance" and 1 <= steps < SETTINGS["steps"]
    tersoff = make_calculator("tersoff", {"type": "tersoff"}, ["C"])
    relaxed = cells[0].copy()
    relaxed.calc = tersoff
    from ase.optimize import FIRE

    FIRE(relaxed, logfile=None).run(fmax=0.5, steps=200)
    assert time_to_failure(tersoff, relaxed, SETTINGS, seed=1) == (SETTINGS["steps"], NONE)


@pytest.mark.parametrize(
    "positions, energy, forces, reason",
    [
        ([[0, 0, 0], [0.5, 0, 0]], 0.0, 1.0, "atoms closer than min_distance"),
        ([[0, 0, 0], [1.5, 0, 0]], 0.0, 80.0, "force above max_force"),
        ([[0, 0, 0], [1.5, 0, 0]], 0.0, np.nan, "non-finite forces"),
        ([[0, 0, 0], [1.5, 0, 0]], 4.0, 1.0, "energy change above max_energy_change"),
        ([[0, 0, 0], [1.5, 0, 0]], 2.0, 1.0, NONE),  # 1 eV/atom from the start
    ],
)
def test_each_failure_is_named(positions, energy, forces, reason):
    atoms = Atoms("C2", positions=positions, cell=[10, 10, 10], pbc=True)
    atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=np.full((2, 3), forces))
    assert failure(atoms, 0.0, SETTINGS) == reason


def test_stability_of_a_compiled_mace_model(tiny_model, cells):
    import torch

    compiled = torch.jit.script(tiny_model)
    # bounds no state can break: both trajectories survive every step
    lenient = SETTINGS | {"steps": 5, "max_force": 1e9, "max_energy_change": 1e9, "min_distance": 0}
    record = stability(compiled, cells[:2], lenient, seed=3)
    assert record["md_steps"] == 5.0 and record["md_failed"] == 0 and record["md_reason"] == NONE
    assert record["md_s"] > 0
    # a force bound every state breaks: both fail at their first step, and say why
    strict = lenient | {"max_force": 0.0}
    record = stability(compiled, cells[:2], strict, seed=3)
    assert record["md_steps"] == 1.0 and record["md_failed"] == 2
    assert record["md_reason"] == "force above max_force"
    settings = SETTINGS | {"steps": 5}
    record = stability(compiled, cells[:2], settings, seed=3)
    assert record == stability(compiled, cells[:2], settings, seed=3) | {
        "md_s": record["md_s"]
    }  # the same trajectories again: deterministic
