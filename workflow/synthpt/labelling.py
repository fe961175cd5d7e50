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


def label(
    structures: list[Atoms], calculator: Calculator, name: str, max_force: float
) -> tuple[list[Atoms], list[Atoms]]:
    """Return (labelled, rejects); each reject carries ``info['reject_reason']``."""
    energy_key, forces_key = label_keys(name)
    labelled, rejects = [], []
    for atoms in structures:
        atoms = atoms.copy()
        atoms.calc = calculator
        reason = None
        try:
            energy = float(atoms.get_potential_energy())
            forces = np.array(atoms.get_forces())
        except Exception as err:  # SCF failures and calculator crashes are per structure
            reason = f"{type(err).__name__}: {err}".replace("\n", " ")[:300]
        else:
            if not (np.isfinite(energy) and np.all(np.isfinite(forces))):
                reason = "non-finite energy or forces"
            elif np.abs(forces).max() > max_force:
                reason = f"force component {np.abs(forces).max():.1f} eV/A above {max_force}"
        atoms.calc = None
        if reason is None:
            atoms.info[energy_key] = energy
            atoms.arrays[forces_key] = forces
            labelled.append(atoms)
        else:
            log.warning("structure %s rejected by %s: %s", atoms.info.get("index"), name, reason)
            atoms.info["reject_reason"] = reason
            atoms.info["rejected_by"] = name
            rejects.append(atoms)
    return labelled, rejects
