"""Ingest a user's real (DFT) data: a train pool and a test set, validated, filtered, relabelled.

Input files are anything ASE reads. Labels are looked up under the configured keys, in
``atoms.info``/``atoms.arrays`` or, where ASE parsed them into a calculator (extxyz ``energy``,
``forces``), in its results. Output structures carry the labels under the campaign's explicit
keys (``REFERENCE_energy``, ``REFERENCE_forces``), in eV and Å,
plus ``index`` (position in the pool or test set) and ``source`` (file:structure).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
from ase import Atoms
from ase import units as ase_units

from synthpt.campaign import file_list
from synthpt.configs import setting
from synthpt.io import InputError, checked_labels, read_structures
from synthpt.labelling import label_keys
from synthpt.structures import min_distance as closest

log = logging.getLogger(__name__)

ENERGY_UNITS = {
    "eV": 1.0,
    "meV": 1e-3,
    "Hartree": ase_units.Hartree,
    "Ry": ase_units.Rydberg,
    "kcal/mol": ase_units.kcal / ase_units.mol,
    "kJ/mol": ase_units.kJ / ase_units.mol,
}
LENGTH_UNITS = {"Angstrom": 1.0, "Bohr": ase_units.Bohr}
MIN_CELL_VOLUME = 1.0  # Å^3; a periodic cell below this is degenerate
MIN_CELL_LENGTH = 0.5  # Å


def cell_problem(atoms: Atoms) -> str | None:
    if not np.all(np.isfinite(atoms.positions)):
        return "positions hold non-finite values"
    if not atoms.pbc.any():
        return None
    cell = np.asarray(atoms.cell)
    if not np.all(np.isfinite(cell)):
        return "cell holds non-finite values"
    lengths = np.linalg.norm(cell, axis=1)
    if np.any(lengths[atoms.pbc] < MIN_CELL_LENGTH):
        return f"periodic cell vector shorter than {MIN_CELL_LENGTH} Å: lengths {lengths.round(3)}"
    if atoms.pbc.all() and abs(atoms.cell.volume) < MIN_CELL_VOLUME:
        return f"periodic cell volume {atoms.cell.volume:.3g} Å^3 is degenerate"
    return None


def fingerprint(atoms: Atoms, decimals: int = 3) -> str:
    """Same for the same structure, whatever the atom order or periodic image."""
    cell = np.round(np.asarray(atoms.cell), decimals)
    if atoms.pbc.any():  # periodic images are the same structure along periodic axes only
        points = atoms.get_scaled_positions(wrap=False)
        periodic = np.asarray(atoms.pbc)
        points[:, periodic] = np.round(points[:, periodic], decimals + 1) % 1.0
    else:
        points = np.round(atoms.positions - atoms.positions.mean(axis=0), decimals)
    rows = np.column_stack([atoms.numbers, np.round(points, decimals + 1)])
    rows = rows[np.lexsort(rows.T[::-1])]
    digest = hashlib.sha1()
    for part in (rows, cell, atoms.pbc.astype(float)):
        digest.update(np.ascontiguousarray(part + 0.0).tobytes())
    return digest.hexdigest()


def read_set(
    paths: list[str],
    role: str,
    reference: str,
    elements: list[str],
    energy_key: str = "energy",
    forces_key: str = "forces",
    energy_unit: str = "eV",
    length_unit: str = "Angstrom",
    config_types: list[str] | None = None,
    n_atoms: tuple[int, int] | None = None,
    min_distance: float = 0.5,
    implausible_structures: str = "error",
    require_forces: bool = True,
) -> tuple[list[Atoms], dict]:
    """Read, filter, validate and relabel the structures of ``paths``; return them and a report.
    Without ``require_forces``, a set whose every structure lacks forces is energy-only
    (report ``energy_only``; scored on energies alone); a set with some is an error."""
    to_ev, to_angstrom = ENERGY_UNITS[energy_unit], LENGTH_UNITS[length_unit]
    energy_out, forces_out = label_keys(reference)
    known = set(elements)
    kept, report = [], {"files": {}, "filtered_config_type": 0, "filtered_size": 0}
    report["dropped_implausible"] = []
    for path in paths:
        structures = read_structures(path)
        report["files"][str(path)] = len(structures)
        for index, atoms in enumerate(structures):
            where = f"{path}: structure {index}"
            if config_types is not None and atoms.info.get("config_type") not in config_types:
                report["filtered_config_type"] += 1
                continue
            if n_atoms is not None and not n_atoms[0] <= len(atoms) <= n_atoms[1]:
                report["filtered_size"] += 1
                continue
            if len(atoms) == 0:
                raise InputError(f"{where}: holds no atoms")
            problem = cell_problem(atoms)
            if problem:
                raise InputError(f"{where}: {problem}")
            energy, forces = checked_labels(
                atoms, where, energy_key, forces_key, known, require_forces
            )
            if report.setdefault("energy_only", forces is None) != (forces is None):
                raise InputError(
                    f"{where}: {'no' if forces is None else ''} forces under key '{forces_key}',"
                    f" unlike the structures before it: a test set has forces throughout or not"
                    " at all (then it is scored on energies alone)"
                )
            clean = Atoms(
                numbers=atoms.numbers,
                positions=atoms.positions * to_angstrom,
                cell=np.asarray(atoms.cell) * to_angstrom,
                pbc=atoms.pbc,
            )
            clean.info.update(
                {
                    "index": len(kept),
                    "source": f"{Path(path).name}:{index}",
                    "config_type": atoms.info.get("config_type", role),
                    energy_out: energy * to_ev,
                }
            )
            if forces is not None:
                clean.arrays[forces_out] = forces * to_ev / to_angstrom
            why = implausible(clean, min_distance)
            if why and implausible_structures == "drop":
                report["dropped_implausible"].append(f"{Path(path).name}:{index}: {why}")
                continue
            if why:
                raise InputError(f"{where}: {why}; or set real.implausible: drop")
            clean.info["index"] = len(kept)
            kept.append(clean)
    if not kept:
        raise InputError(f"{role} files {list(map(str, paths))}: no structure left after filters")
    if not report["energy_only"]:
        check_force_scale(kept, forces_out, energy_unit, f"{role} files {list(map(str, paths))}")
    report["kept"] = len(kept)
    return kept, report


def check_disjoint(pool: list[Atoms], test: list[Atoms], duplicates: str = "error"):
    """The pool without repeats, and the sources of those dropped. A structure twice in the pool
    (it could land in a model's training and validation sets at once) raises InputError, or with
    ``duplicates: drop`` only its first copy is kept; a test structure also in the pool raises."""
    seen, kept, dropped = {}, [], []
    for atoms in pool:
        key = fingerprint(atoms)
        if key in seen:
            if duplicates == "drop":
                dropped.append(f"{atoms.info['source']} (repeats {seen[key]})")
                continue
            raise InputError(
                f"pool structure {atoms.info['source']} repeats {seen[key]} (same atoms up to"
                " order and periodic images): remove duplicates from the pool, or set"
                " real.duplicates: drop to keep the first copy"
            )
        seen[key] = atoms.info["source"]
        kept.append(atoms)
    for atoms in test:
        key = fingerprint(atoms)
        if key in seen:
            raise InputError(
                f"test structure {atoms.info['source']} is also in the pool ({seen[key]}):"
                " the test set must be held out"
            )
    for index, atoms in enumerate(kept):
        atoms.info["index"] = index
    return kept, dropped


# A force component's typical size in eV/Å: DFT data in eV and Å sit far below this median.
PLAUSIBLE_MEDIAN_FORCE = 10.0


def implausible(atoms: Atoms, min_distance: float, key: str = "real.min_distance") -> str | None:
    """Why a structure cannot be physical: atoms closer than ``min_distance`` (Å, config
    ``key``)."""
    if len(atoms) > 1:
        distance = closest(atoms)
        if distance < min_distance:
            return f"two atoms {distance:.3f} Å apart ({key} {min_distance} Å)"
    return None


def check_force_scale(structures: list[Atoms], forces_key: str, unit: str, where: str) -> None:
    """Raise InputError when the set's median force component is beyond any physical scale in
    eV/Å: most likely a wrong ``energy_unit`` (or ``length_unit``); say which unit would fit."""
    forces = np.abs(np.concatenate([a.arrays[forces_key].ravel() for a in structures]))
    median = float(np.median(forces))
    if median <= PLAUSIBLE_MEDIAN_FORCE:
        return
    as_if = {name: median / ENERGY_UNITS[unit] * factor for name, factor in ENERGY_UNITS.items()}
    fitting = [name for name, value in as_if.items() if 0.01 < value <= PLAUSIBLE_MEDIAN_FORCE]
    raise InputError(
        f"{where}: the median force component is {median:.1f} eV/Å after converting from"
        f" energy_unit {unit}, beyond any physical scale (DFT data: well under"
        f" {PLAUSIBLE_MEDIAN_FORCE:g}); is real.energy_unit right? {fitting or 'no unit'} would fit"
    )


def ingest(real: dict, reference: str, elements: list[str], largest_subset: int):
    """The pool and the test sets (by name, the headline first; ``campaign.test_sets``)
    described by config section ``real``, and a report."""
    from synthpt.campaign import test_sets

    options = {
        key: real[key]
        for key in (
            "energy_key",
            "forces_key",
            "energy_unit",
            "length_unit",
            "config_types",
            "min_distance",
        )
        if real.get(key) is not None
    }
    options["implausible_structures"] = setting(real, "real", "implausible")
    if real.get("n_atoms") is not None:
        options["n_atoms"] = tuple(real["n_atoms"])
    pool_files = file_list(real["pool"])
    pool, pool_report = read_set(pool_files, "pool", reference, elements, **options)
    tests, test_reports = {}, {}
    for i, (name, files) in enumerate(test_sets({"real": real}).items()):
        # the headline set (first) needs forces: MD checks and the coverage map read them
        tests[name], test_reports[name] = read_set(
            files, name, reference, elements, **options, require_forces=i == 0
        )
    every_test = [atoms for structures in tests.values() for atoms in structures]
    pool, dropped = check_disjoint(pool, every_test, setting(real, "real", "duplicates"))
    if dropped:
        log.warning("dropped %d repeated pool structures: %s", len(dropped), dropped)
    pool_report |= {"dropped_duplicates": len(dropped), "duplicates": dropped, "kept": len(pool)}
    if largest_subset > len(pool):
        raise InputError(
            f"subsets: the largest size plus the validation set ({largest_subset}) exceeds the"
            f" pool of {len(pool)} structures"
            f" in {pool_files}"
        )
    report = {"pool": pool_report, "test": next(iter(test_reports.values()))}
    if len(tests) > 1:
        report["test_sets"] = test_reports
    return pool, tests, report


def read_structures_to_label(
    paths: list[str], elements: list[str], min_distance: float = 0.5
) -> list[Atoms]:
    """The user's synthetic structures: checked (elements, cell, no atoms closer than
    ``min_distance`` Å), stripped of any labels, numbered ``index``."""
    known = set(elements)
    structures = []
    for path in paths:
        for index, atoms in enumerate(read_structures(path)):
            where = f"{path}: structure {index}"
            unknown = sorted(set(atoms.get_chemical_symbols()) - known)
            if unknown:
                raise InputError(f"{where}: elements {unknown} are not in the config's elements")
            problem = cell_problem(atoms)
            if problem:
                raise InputError(f"{where}: {problem}")
            clean = Atoms(atoms.symbols, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
            if why := implausible(clean, min_distance, "structures.min_distance"):
                raise InputError(f"{where}: {why}")
            clean.info.update(
                {
                    "index": len(structures),
                    "stream": "synthetic",
                    "source": f"{Path(path).name}:{index}",
                    "config_type": atoms.info.get("config_type", "synthetic"),
                }
            )
            structures.append(clean)
    return structures
