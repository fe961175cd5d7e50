"""ASE calculators synthpt writes around libraries that have none of their own: PySCF's
Kohn-Sham DFT for molecules, and calorine's CPU NEP with the checks of a NEP file it can
load (synthpt.calculators registers both)."""

from __future__ import annotations

import itertools
import logging

import numpy as np
from ase.calculators.calculator import Calculator, all_changes

log = logging.getLogger(__name__)

CALORINE = "4.1"  # the optional package behind `type: nep`


class PySCFCalculator(Calculator):
    """Kohn-Sham DFT energy and forces of a molecule (no cell) through PySCF."""

    implemented_properties = ["energy", "free_energy", "forces"]

    def __init__(self, xc="B3LYP", basis="def2-SVP", density_fit=True, charge=0, spin=0, **kwargs):
        super().__init__(**kwargs)
        self.xc, self.basis, self.density_fit = xc, basis, density_fit
        self.charge, self.spin = charge, spin

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        from ase.units import Bohr, Hartree
        from pyscf import dft, gto

        super().calculate(atoms, properties, system_changes)
        if self.atoms.pbc.any():
            raise ValueError("PySCFCalculator computes molecules: this structure is periodic")
        molecule = gto.M(
            atom=list(zip(self.atoms.get_chemical_symbols(), self.atoms.positions, strict=True)),
            basis=self.basis,
            charge=self.charge,
            spin=self.spin,
            unit="Angstrom",
            verbose=0,
        )
        method = (dft.RKS if self.spin == 0 else dft.UKS)(molecule, xc=self.xc)
        if self.density_fit:
            method = method.density_fit()
        energy = method.kernel()
        if not method.converged:
            raise RuntimeError(f"PySCF {self.xc}/{self.basis}: SCF did not converge")
        gradient = method.nuc_grad_method().kernel()
        self.results = {
            "energy": energy * Hartree,
            "free_energy": energy * Hartree,
            "forces": -gradient * Hartree / Bohr,
        }


def nep_file_problem(path: str, elements: list[str]) -> str | None:
    """What keeps the NEP file at ``path`` from labelling ``elements``, or None."""
    with open(path) as f:
        header = f.readline().split()
    token = header[0] if header else ""
    version = token.removeprefix("nep").split("_")[0]
    if not token.startswith("nep") or not version.isdigit():
        return f"not a NEP model file (first line {' '.join(header)!r})"
    if version != "4":
        return (
            f"a NEP{version} model; calorine {CALORINE}, which synthpt uses, reads NEP4 only"
            " (calorine 3.x reads NEP3 but replaces 4.1 and is not supported here):"
            " train it again as NEP4 (GPUMD's default, `version 4` in nep.in)"
        )
    kind = token.split("_", 1)[1] if "_" in token else ""
    if kind not in ("", "zbl"):
        return f"a NEP4 '{kind}' model; synthpt labels with plain energy models (nep4, nep4_zbl)"
    missing = sorted(set(elements) - set(header[2:]))
    if missing:
        return f"has no parameters for {', '.join(missing)} (its elements: {' '.join(header[2:])})"
    return nep_descriptor_problem(path)


def nep_descriptor_limits() -> tuple[int, int]:
    """The most descriptor components (all, angular) the installed calorine computes."""
    try:
        from calorine.nep import model
    except ImportError:
        return 103, 90  # GPUMD's MAX_DIM and MAX_DIM_ANGULAR, which calorine 4.1 shares
    return model._MAX_N_DESCRIPTOR, model._MAX_N_DESCRIPTOR_ANGULAR


def nep_descriptor_problem(path: str) -> str | None:
    """Why calorine cannot compute the descriptor of the NEP file at ``path``, or None."""
    header = {}
    with open(path) as f:
        for line in itertools.islice(f, 1, 12):
            words = line.split()
            if words and words[0] in ("n_max", "l_max"):
                header[words[0]] = [int(w) for w in words[1:]]
    if "n_max" not in header or "l_max" not in header:
        return None  # calorine reports a file it cannot parse when it reads it
    n_radial, n_angular = header["n_max"][:2]
    l_max = header["l_max"] + [0, 0]
    angular = (n_angular + 1) * (l_max[0] + (l_max[1] > 0) + (l_max[2] > 0))
    total = n_radial + 1 + angular
    most, most_angular = nep_descriptor_limits()
    if total > most or angular > most_angular:
        return (
            f"its descriptor has {total} components ({angular} angular; n_max"
            f" {' '.join(map(str, header['n_max']))}, l_max {' '.join(map(str, header['l_max']))});"
            f" calorine {CALORINE} computes at most {most} ({most_angular} angular):"
            " train it with a smaller n_max or l_max"
        )
    return None


class NEPCalculator(Calculator):
    """A NEP model (GPUMD's ``nep.txt``) through calorine's CPU implementation.

    ``nep_cpu`` treats every cell as periodic, so a structure with no periodic axis is
    computed in a box with more vacuum around it than the model's cutoff.
    """

    implemented_properties = ["energy", "free_energy", "forces", "energies"]

    def __init__(self, model_filename: str, **kwargs):
        from calorine.calculators import CPUNEP
        from calorine.nep import read_model

        super().__init__(**kwargs)
        self.nep = CPUNEP(model_filename)
        model = read_model(model_filename)  # cutoffs: one each, or one per element
        self.cutoff = max(np.max(model.radial_cutoff), np.max(model.angular_cutoff))

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        atoms = self.atoms.copy()
        if not atoms.pbc.any():
            atoms.cell = np.ptp(atoms.positions, axis=0) + 2 * self.cutoff
            atoms.center()
            atoms.pbc = True
        elif not atoms.pbc.all():
            raise ValueError("NEPCalculator: periodic along some axes only; not supported")
        atoms.calc = self.nep
        energy = atoms.get_potential_energy()
        self.results = {"energy": energy, "free_energy": energy, "forces": atoms.get_forces()}
        self.results["energies"] = atoms.get_potential_energies()
