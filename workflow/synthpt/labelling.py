"""Label structures with a calculator under explicit keys; set failures aside with a reason."""

from __future__ import annotations

import logging

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator

log = logging.getLogger(__name__)


def label_keys(name: str) -> tuple[str, str]:
    """The info/arrays keys under which calculator ``name`` writes energy and forces."""
    return f"{name}_energy", f"{name}_forces"


def per_atom_key(name: str) -> str:
    """The arrays key of calculator ``name``'s per-atom energies, where it has them."""
    return f"{name}_energies"


def has_per_atom_energies(calculator: Calculator | None) -> bool:
    return calculator is not None and "energies" in calculator.implemented_properties


def one_by_one(structures: list[Atoms], calculator: Calculator):
    """(energy, forces, error, per-atom energies or None) per structure, one ASE call each."""
    per_atom = has_per_atom_energies(calculator)
    for atoms in structures:
        atoms = atoms.copy()
        atoms.calc = calculator
        try:
            energy, forces = float(atoms.get_potential_energy()), np.array(atoms.get_forces())
            energies = np.array(atoms.get_potential_energies()) if per_atom else None
            yield energy, forces, None, energies
        except Exception as err:  # SCF failures and calculator crashes are per structure
            yield None, None, f"{type(err).__name__}: {err}".replace("\n", " ")[:300], None


def in_batches(structures: list[Atoms], predict_batch, batch_size: int):
    """(energy, forces, None) per structure from ``predict_batch`` over chunks of structures."""
    for start in range(0, len(structures), batch_size):
        energies, forces = predict_batch(structures[start : start + batch_size])
        for energy, force in zip(energies, forces, strict=True):
            yield float(energy), np.asarray(force, dtype=float), None, None


def label(
    structures: list[Atoms],
    calculator: Calculator | None,
    name: str,
    max_force: float,
    predict_batch=None,
    batch_size: int = 64,
) -> tuple[list[Atoms], list[Atoms]]:
    """Return (labelled, rejects); each reject carries ``info['reject_reason']``.

    With ``predict_batch`` (structures -> energies, forces), ML teachers label many structures
    per forward pass instead of one ASE call each.
    """
    energy_key, forces_key = label_keys(name)
    results = (
        in_batches(structures, predict_batch, batch_size)
        if predict_batch is not None
        else one_by_one(structures, calculator)
    )
    labelled, rejects = [], []
    for atoms, (energy, forces, reason, energies) in zip(structures, results, strict=True):
        atoms = atoms.copy()
        if reason is None:
            if not (np.isfinite(energy) and np.all(np.isfinite(forces))):
                reason = "non-finite energy or forces"
            elif np.abs(forces).max() > max_force:
                reason = f"force component {np.abs(forces).max():.1f} eV/A above {max_force}"
        if reason is None:
            atoms.info[energy_key] = energy
            atoms.arrays[forces_key] = forces
            if energies is not None:  # the teacher's own split of the energy over atoms
                atoms.arrays[per_atom_key(name)] = energies
            labelled.append(atoms)
        else:
            log.warning("structure %s rejected by %s: %s", atoms.info.get("index"), name, reason)
            atoms.info["reject_reason"] = reason
            atoms.info["rejected_by"] = name
            rejects.append(atoms)
    return labelled, rejects


def check_rejects(n_rejected: int, n_structures: int, name: str, max_fraction: float) -> None:
    """Fail when calculator ``name`` rejected more than ``max_fraction`` of the structures."""
    if n_structures and n_rejected / n_structures > max_fraction:
        raise RuntimeError(
            f"calculator '{name}' rejected {n_rejected} of {n_structures} structures (more than"
            f" max_reject_fraction {max_fraction}): see the rejects file for the reasons"
        )
