"""Reading, validating and atomically writing structure files (extxyz)."""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import ase.io
import numpy as np
from ase import Atoms


class InputError(ValueError):
    """A structure file that cannot be used; the message names the file and the problem."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success, with the
    mode a plain ``open`` would give it (mkstemp's 0600 would hide results from a group)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_structures(path, structures: list[Atoms]) -> None:
    """Write ``structures`` as extxyz, atomically (an empty list gives an empty file)."""
    with atomic_path(path) as tmp:
        if structures:
            ase.io.write(tmp, structures, format="extxyz")
        else:
            tmp.write_text("")


def write_json(path, data) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_table(path, frame) -> None:
    """Write a pandas DataFrame as CSV (6 significant digits), atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6g")


def read_structures(path, allow_empty: bool = False) -> list[Atoms]:
    """Read every structure in ``path``; errors name the file."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.stat().st_size == 0:
        if allow_empty:
            return []
        raise InputError(f"{path}: file is empty")
    try:
        structures = ase.io.read(path, index=":")
    except Exception as err:  # ASE raises many kinds for malformed files
        raise InputError(f"{path}: cannot be read as a structure file ({err})") from err
    if not structures and not allow_empty:
        raise InputError(f"{path}: holds no structures")
    return structures


def read_shards(paths) -> list[Atoms]:
    """All structures of several shard files; a shard emptied by rejects is allowed."""
    return [atoms for path in paths for atoms in read_structures(path, allow_empty=True)]


def energy_forces(atoms: Atoms, energy_key: str, forces_key: str):
    """The labels stored under explicit keys, as (float, (N, 3) array)."""
    return float(atoms.info[energy_key]), np.asarray(atoms.arrays[forces_key])


def _label(atoms: Atoms, key: str, per_atom: bool):
    """The value stored under ``key``, or None."""
    store = atoms.arrays if per_atom else atoms.info
    if key in store:
        return store[key]
    results = getattr(atoms.calc, "results", {}) or {}
    return results.get(key)


def checked_labels(
    atoms: Atoms,
    where: str,
    energy_key: str,
    forces_key: str,
    elements: set[str] | None = None,
    require_forces: bool = True,
):
    """(energy, forces) of one structure; InputError naming ``where`` and the
    first problem. Labels are looked up in info/arrays, then in an attached calculator's results.
    Forces None where absent and not ``require_forces`` (an energy-only test set)."""
    if elements is not None:
        unknown = sorted(set(atoms.get_chemical_symbols()) - elements)
        if unknown:
            raise InputError(
                f"{where}: elements {unknown} are not in the config's elements {sorted(elements)}"
            )
    energy = _label(atoms, energy_key, per_atom=False)
    if energy is None:
        raise InputError(f"{where}: no energy under key '{energy_key}'")
    try:
        energy = float(energy)
    except (TypeError, ValueError):
        raise InputError(f"{where}: energy '{energy_key}' is not a number: {energy!r}") from None
    if not np.isfinite(energy):
        raise InputError(f"{where}: energy '{energy_key}' is not finite ({energy})")
    forces = _label(atoms, forces_key, per_atom=True)
    if forces is None and not require_forces:
        return energy, None
    if forces is None:
        raise InputError(f"{where}: no forces under key '{forces_key}'")
    forces = np.asarray(forces, dtype=float)
    if forces.shape != (len(atoms), 3):
        raise InputError(
            f"{where}: forces '{forces_key}' have shape {forces.shape}, expected ({len(atoms)}, 3)"
        )
    if not np.all(np.isfinite(forces)):
        raise InputError(f"{where}: forces '{forces_key}' hold non-finite values")
    return energy, forces


def validate_labels(
    structures: list[Atoms],
    path,
    energy_key: str,
    forces_key: str,
    elements: list[str] | None = None,
    require_forces: bool = True,
) -> None:
    """Raise InputError naming ``path``, the structure index and the first problem found."""
    known = set(elements) if elements else None
    for index, atoms in enumerate(structures):
        where = f"{path}: structure {index}"
        checked_labels(atoms, where, energy_key, forces_key, known, require_forces)
