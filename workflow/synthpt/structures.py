"""Random periodic cells, briefly relaxed, deterministic per structure and sharded."""

from __future__ import annotations

import functools
import logging
import math
from collections import Counter
from collections.abc import Mapping

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator
from ase.data import atomic_masses, atomic_numbers
from ase.geometry import get_distances

from synthpt.configs import ConfigError, setting

AMU_PER_G_CM3_TO_A3 = 1.66053906660  # volume (Å^3) of 1 amu at 1 g/cm^3
STREAMS = {"synthetic": 0, "real": 1}
AUGMENT = "augment"  # the structure source that grows chains from the real pool
log = logging.getLogger(__name__)


def shard_indices(n_structures: int, n_shards: int, shard: int) -> range:
    """Global structure indices held by ``shard``: contiguous, sizes differing by at most one."""
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} out of range for {n_shards} shards")
    step = n_structures / n_shards  # the bounds of np.linspace(0, n, n_shards + 1).round()
    stop = n_structures if shard + 1 == n_shards else round((shard + 1) * step)
    return range(round(shard * step), stop)


def shards_per_job(seconds_per_shard: float, n_shards: int, job_seconds: float) -> int:
    """Consecutive shards one job takes so that it holds about ``job_seconds`` of work
    (one when a shard's work is unknown: 0 s, as for the user's structure files)."""
    if seconds_per_shard <= 0:
        return 1
    return max(1, min(n_shards, math.floor(job_seconds / seconds_per_shard)))


@functools.cache  # asked for by every labelling job's input and resources
def shard_groups(n_shards: int, per_job: int) -> tuple[range, ...]:
    """The shards of each job when a job takes ``per_job`` consecutive shards."""
    return tuple(
        range(start, min(start + per_job, n_shards)) for start in range(0, n_shards, per_job)
    )


def relaxer(atoms: Atoms):
    """ASE's FIRE as every relaxation here runs it (imported on use: scipy.optimize costs every
    Snakemake start 0.6 s)."""
    from ase.optimize import FIRE

    return FIRE(atoms, maxstep=0.1, logfile=None)


def structure_rng(seed: int, stream: str, index: int) -> np.random.Generator:
    """One generator per structure: the same structure whatever the sharding."""
    return np.random.default_rng([seed, STREAMS[stream], index])


def min_distance(atoms: Atoms) -> float:
    _, d = get_distances(atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
    np.fill_diagonal(d, np.inf)
    return float(d.min())


def cell_symbols(composition: str | Mapping[str, float], n_atoms: int) -> list[str]:
    """The symbols of a cell of ``n_atoms``: one element, or the elements of ``composition``
    in proportion to its numbers (largest remainders round), in its order."""
    if isinstance(composition, str):
        return [composition] * n_atoms
    total = sum(composition.values())
    exact = {element: n_atoms * share / total for element, share in composition.items()}
    counts = {element: math.floor(x) for element, x in exact.items()}
    by_remainder = sorted(exact, key=lambda element: counts[element] - exact[element])
    for element in by_remainder[: n_atoms - sum(counts.values())]:
        counts[element] += 1
    return [element for element, count in counts.items() for _ in range(count)]


def random_cell(
    composition: str | Mapping[str, float],
    n_atoms: int,
    density: float,
    min_dist: float,
    rng: np.random.Generator,
) -> Atoms:
    """A cubic periodic cell of ``n_atoms`` (of one element or a ``composition``, see
    ``cell_symbols``) at ``density`` (g/cm^3), atoms >= ``min_dist`` apart."""
    symbols = cell_symbols(composition, n_atoms)
    counts = Counter(symbols)  # mass * count: one element's cells as before, to the bit
    mass = sum(atomic_masses[atomic_numbers[element]] * n for element, n in counts.items())
    length = (mass / density * AMU_PER_G_CM3_TO_A3) ** (1 / 3)
    cell = np.eye(3) * length
    positions = np.empty((0, 3))
    attempts = 0
    while len(positions) < n_atoms:
        attempts += 1
        if attempts > 10000 * n_atoms:
            raise RuntimeError(
                f"cannot place {n_atoms} atoms {min_dist} Å apart at {density} g/cm^3"
            )
        trial = rng.random(3) * length
        if len(positions):
            delta = positions - trial
            delta -= length * np.round(delta / length)
            if np.min(np.linalg.norm(delta, axis=1)) < min_dist:
                continue
        positions = np.vstack([positions, trial])
    return Atoms(symbols, positions=positions, cell=cell, pbc=True)


def generate(
    indices: range,
    stream: str,
    seed: int,
    composition: str | Mapping[str, float],
    n_atoms: int,
    density_range: tuple[float, float],
    min_dist: float,
    relax_steps: int = 0,
    relax_calculator: Calculator | None = None,
    max_attempts: int = 20,
) -> list[Atoms]:
    """Structures ``indices`` of ``stream``: random cells relaxed a few FIRE steps.

    A cell whose relaxation brings two atoms closer than ``min_dist`` is drawn again.
    """
    structures = []
    for index in indices:
        rng = structure_rng(seed, stream, index)
        for attempt in range(max_attempts):
            density = float(rng.uniform(*density_range))
            atoms = random_cell(composition, n_atoms, density, min_dist, rng)
            if relax_steps and relax_calculator is not None:
                atoms.calc = relax_calculator
                relaxer(atoms).run(fmax=0.5, steps=relax_steps)
                atoms.calc = None
            if min_distance(atoms) >= min_dist:
                break
            log.info("structure %d: attempt %d came too close, drawing again", index, attempt)
        else:
            raise RuntimeError(f"structure {index}: no acceptable cell in {max_attempts} attempts")
        atoms.wrap()
        atoms.info.update(
            {"index": index, "stream": stream, "density": round(density, 4), "config_type": stream}
        )
        structures.append(atoms)
    return structures


def positions_only(atoms: Atoms) -> Atoms:
    """The atoms, cell and periodicity of a structure, without any label or info."""
    return Atoms(atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)


def symmetric_strain(rng: np.random.Generator, largest: float) -> np.ndarray:
    """A random symmetric strain tensor with components within ±``largest``."""
    strain = rng.uniform(-largest, largest, (3, 3))
    return (strain + strain.T) / 2


SEED_CONTACT_MARGIN = 0.95


def chain_min_distance(seed_atoms: Atoms, floor: float, chain: int) -> float:
    """The shortest contact a chain accepts: ``floor``, or just below its seed's own shortest
    contact when the seed already has atoms closer than that."""
    own = min_distance(seed_atoms)
    if own >= floor:
        return floor
    log.warning(
        "chain %d: its seed's shortest contact is %.3f Å, below min_distance %.3g Å: the chain"
        " accepts %.3f Å", chain, own, floor, SEED_CONTACT_MARGIN * own,
    )  # fmt: skip
    return SEED_CONTACT_MARGIN * own


TORSION_STREAM = 1  # a chain's torsion draws: apart from its displacements, which stay as they were


def rotatable_bonds(atoms: Atoms) -> list[tuple[int, int, np.ndarray]]:
    """The bonds (covalent radii x 1.2) of a molecule that lie in no ring and whose two atoms
    both have other neighbours, each with the atoms on its smaller side (those a turn moves)."""
    from ase.neighborlist import natural_cutoffs, neighbor_list

    first, second = neighbor_list("ij", atoms, natural_cutoffs(atoms, mult=1.2))
    neighbours = [set() for _ in atoms]
    for i, j in zip(first, second, strict=True):
        neighbours[i].add(int(j))
    bonds = []
    for i, j in sorted({(int(i), int(j)) for i, j in zip(first, second, strict=True) if i < j}):
        if len(neighbours[i]) < 2 or len(neighbours[j]) < 2:
            continue
        side, frontier = {j}, [j]  # what j reaches without crossing the bond
        while frontier:
            k = frontier.pop()
            for m in neighbours[k] - side:
                if not (k == j and m == i):
                    side.add(m)
                    frontier.append(m)
        if i in side:  # a ring
            continue
        other = set(range(len(atoms))) - side
        moving = side if len(side) <= len(other) else other
        bonds.append((i, j, np.array(sorted(moving))))
    return bonds


def turn_torsion(atoms: Atoms, rng: np.random.Generator) -> tuple[Atoms, str]:
    """``atoms`` with one rotatable bond, drawn at random, turned by a random angle (its
    smaller side rotates about the bond), and what was turned; unchanged when it has none."""
    bonds = rotatable_bonds(atoms)
    if not bonds:
        return atoms, ""
    i, j, moving = bonds[rng.integers(len(bonds))]
    angle = float(rng.uniform(-180.0, 180.0))
    turned = atoms.copy()
    part = turned[moving]
    part.rotate(angle, turned.positions[j] - turned.positions[i], center=turned.positions[j])
    turned.positions[moving] = part.positions
    return turned, f"{i}-{j} {angle:.1f}"


def augment_chain(
    seed_atoms: Atoms,
    chain: int,
    length: int,
    settings: Mapping,
    seed: int,
    calculator: Calculator | None,
    max_attempts: int = 20,
) -> list[Atoms]:
    """Chain ``chain``: ``length`` structures grown from ``seed_atoms`` (positions only). Each
    link is the one before, displaced by a Gaussian of the next width of ``widths`` (Å, in
    turn), its cell strained by a random symmetric strain within ±``strain`` (periodic cells
    only; atoms follow), then relaxed ``relax_steps`` FIRE steps by ``calculator``. A link with,
    after that, atoms closer than ``min_distance`` or a force component above ``max_force`` is
    drawn again from the link before. A seed whose own shortest contact is below
    ``min_distance`` (real data hold such cells) lowers its chain's floor to
    ``SEED_CONTACT_MARGIN`` times that contact. A share ``torsions`` of the chains of a
    molecule (no cell) turns one rotatable bond by a random angle in their first link, drawn
    again with the link (``turn_torsion``): conformers that MD of the pool rarely reaches.
    Deterministic per chain, whatever the sharding."""
    rng = structure_rng(seed, "synthetic", chain)
    turns = np.random.default_rng([seed, STREAMS["synthetic"], chain, TORSION_STREAM])
    turning = not seed_atoms.pbc.any() and turns.random() < settings.get("torsions", 0.0)
    widths, largest = settings["widths"], setting(settings, "structures", "strain")
    steps = settings.get("relax_steps", 0)
    current, links = positions_only(seed_atoms), []
    floor = chain_min_distance(seed_atoms, settings["min_distance"], chain)
    for link in range(length):
        width = widths[link % len(widths)]
        failed = ""
        for attempt in range(max_attempts):
            atoms, turned = current.copy(), ""
            if turning and link == 0:
                atoms, turned = turn_torsion(atoms, turns)
            if largest and atoms.pbc.all():
                cell = atoms.cell.array @ (np.eye(3) + symmetric_strain(rng, largest))
                atoms.set_cell(cell, scale_atoms=True)
            atoms.positions += rng.normal(0.0, width, atoms.positions.shape)
            if min_distance(atoms) < floor / 2:  # hopeless: no calculator call
                failed = f"atoms closer than min_distance {floor:.3g} Å"
                continue
            if calculator is not None:
                atoms.calc = calculator
                if steps:
                    relaxer(atoms).run(fmax=0.5, steps=steps)
                largest_force = float(np.abs(atoms.get_forces()).max())
                atoms.calc = None
                if largest_force > settings["max_force"]:
                    failed = f"a force above max_force {settings['max_force']:g} eV/Å"
                    log.info("chain %d link %d: force %.1f eV/Å, again", chain, link, largest_force)
                    continue
            if min_distance(atoms) >= floor:
                break
            failed = f"atoms closer than min_distance {floor:.3g} Å"
            log.info("chain %d link %d: attempt %d came too close, again", chain, link, attempt)
        else:
            raise RuntimeError(
                f"chain {chain} link {link}: no acceptable structure in {max_attempts} attempts"
                f" (the last: {failed}); lower structures.widths or min_distance, or raise"
                " max_force"
            )
        if atoms.pbc.any():
            atoms.wrap()
        atoms.info.update(
            {"index": chain * length + link, "stream": "synthetic", "chain": chain, "link": link,
             "width": width, "source": AUGMENT, "config_type": AUGMENT}
        )  # fmt: skip
        if turned:
            atoms.info["torsion"] = turned
        links.append(atoms)
        current = positions_only(atoms)
    return links


def augment(chains: range, seeds: list[Atoms], settings: Mapping, seed: int, calculator):
    """The structures of ``chains``: chain k grows from seed k modulo the number of seeds
    (``seed_index``); ``index`` numbers them chain by chain."""
    if not seeds:
        raise ValueError("augment: no seed structure")
    structures = []
    for chain in chains:
        links = augment_chain(
            seeds[chain % len(seeds)], chain, settings["chain_length"], settings, seed, calculator
        )
        for atoms in links:
            atoms.info["seed_index"] = chain % len(seeds)
        structures += links
    return structures


def molecule(name: str):
    """A molecule of ASE's g2 set by name (e.g. CH3CH2OH: ethanol), without cell or pbc."""
    from ase.build import molecule as build
    from ase.collections import g2

    if name not in g2.names:
        raise ConfigError(f"structures.molecules: '{name}' is not in ASE's g2 set (e.g. CH3CH2OH)")
    return build(name)
