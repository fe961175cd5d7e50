"""How long a trained model survives in MD: NVT (Langevin) at a high temperature from held-out
real structures, bounded in steps; time to failure is the first step with atoms closer than
``min_distance``, a force above ``max_force`` (or not finite), or a potential energy per atom
more than ``max_energy_change`` away from the start."""

from __future__ import annotations

import time

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from synthpt.evaluate import edges, predict_compiled

NONE = "none"


class CompiledModelCalculator(Calculator):
    """Energy and forces of a TorchScript MACE model (``evaluate.load_compiled``)."""

    implemented_properties = ["energy", "free_energy", "forces"]

    def __init__(self, model, device: str = "cpu", **kwargs):
        super().__init__(**kwargs)
        self.model, self.device = model, device

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        energies, forces = predict_compiled(self.model, [self.atoms], device=self.device)
        energy = float(energies[0])
        self.results = {"energy": energy, "free_energy": energy, "forces": forces[0]}


def failure(atoms: Atoms, start_energy: float, settings: dict) -> str:
    """Why the current state counts as failed (``NONE``: it does not)."""
    forces = atoms.get_forces()
    if not np.all(np.isfinite(forces)):
        return "non-finite forces"
    if np.abs(forces).max() > settings["max_force"]:
        return "force above max_force"
    change = atoms.get_potential_energy() / len(atoms) - start_energy
    if not abs(change) <= settings["max_energy_change"]:
        return "energy change above max_energy_change"
    if len(edges(atoms, settings["min_distance"])[0]):
        return "atoms closer than min_distance"
    return NONE


def time_to_failure(calculator, atoms: Atoms, settings: dict, seed: int) -> tuple[int, str]:
    """(steps survived, reason) of one Langevin trajectory of at most ``settings['steps']``
    with ``calculator``."""
    from synthpt.md import langevin

    atoms = Atoms(atoms.numbers, atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
    atoms.calc = calculator
    rng = np.random.default_rng(seed)
    dynamics = langevin(atoms, settings, settings["temperature"], rng, fixcm=False)
    start_energy = atoms.get_potential_energy() / len(atoms)
    for step in range(1, settings["steps"] + 1):
        dynamics.run(1)
        reason = failure(atoms, start_energy, settings)
        if reason != NONE:
            return step, reason
    return settings["steps"], NONE


def stability(
    model, structures: list[Atoms], settings: dict, seed: int, device: str = "cpu"
) -> dict:
    """A model's MD record: mean steps survived over ``structures``, how many trajectories
    failed, the reason of the earliest failure, and the wall time."""
    start = time.perf_counter()
    calculator = CompiledModelCalculator(model, device)
    runs = [
        time_to_failure(calculator, atoms, settings, seed + k) for k, atoms in enumerate(structures)
    ]
    failed = [(steps, reason) for steps, reason in runs if reason != NONE]
    return {
        "md_steps": float(np.mean([steps for steps, _ in runs])),
        "md_failed": len(failed),
        "md_reason": min(failed)[1] if failed else NONE,
        "md_s": round(time.perf_counter() - start, 2),
    }
