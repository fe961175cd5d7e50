"""Melt-quench-anneal molecular dynamics: the paper's synthetic (and the default's real) structures.

One trajectory: a random cell at a given density is melted, quenched linearly to the anneal
temperature, and annealed; a snapshot is kept every ``snapshot_ps`` of the anneal. Langevin
dynamics seeded per trajectory, so a trajectory is the same in any shard. A LAMMPS pair style
runs inside LAMMPS (its own velocity-Verlet integrator and Langevin thermostat, 13x cheaper than
stepping it from ASE); any other calculator is stepped by ASE's Langevin.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
from ase import Atoms, units
from ase.calculators.calculator import Calculator
from ase.data import atomic_masses, atomic_numbers

from synthpt.configs import setting
from synthpt.structures import molecule, random_cell, structure_rng
from synthpt.trajectories import snapshots_per_trajectory, trajectory_grid

if TYPE_CHECKING:
    from synthpt.calculators import CalculatorEntry

log = logging.getLogger(__name__)
QUENCH_STAGES = 10  # ASE's Langevin ramps the quench in stages; LAMMPS ramps it every step


def steps(ps: float, timestep_fs: float) -> int:
    return max(0, round(ps * 1000 / timestep_fs))


def langevin(atoms: Atoms, settings: dict, temperature: float, rng, fixcm: bool = True):
    """ASE's Langevin NVT at ``temperature`` (K; ``settings``: timestep_fs, friction in 1/fs)
    from Maxwell-Boltzmann velocities drawn with ``rng``; ``fixcm``: no centre-of-mass drift
    (the momentum is removed first)."""
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary

    MaxwellBoltzmannDistribution(atoms, temperature_K=temperature, rng=rng)
    if fixcm:
        Stationary(atoms)
    return Langevin(
        atoms,
        settings["timestep_fs"] * units.fs,
        temperature_K=temperature,
        friction=settings["friction"] / units.fs,
        fixcm=fixcm,
        rng=rng,
    )


class AseDynamics:
    """Langevin dynamics stepped by ASE with any calculator."""

    def __init__(self, atoms: Atoms, calculator: Calculator, settings: dict, rng, temperature):
        self.atoms = atoms
        atoms.calc = calculator
        self.dynamics = langevin(atoms, settings, temperature, rng)

    def run(self, n_steps: int, start: float, stop: float) -> None:
        stages = np.linspace(start, stop, QUENCH_STAGES + 1)[1:] if start != stop else [stop]
        for k, target in enumerate(stages):
            self.dynamics.set_temperature(temperature_K=target)
            self.dynamics.run(n_steps // len(stages) + (k < n_steps % len(stages)))

    def positions(self) -> np.ndarray:
        return self.atoms.positions.copy()

    def close(self) -> None:
        self.atoms.calc = None


class LammpsDynamics:
    """Langevin dynamics inside LAMMPS (fix nve + fix langevin) for a LAMMPS pair style."""

    def __init__(self, atoms: Atoms, pair: tuple[str, str], settings: dict, rng, temperature):
        from synthpt.calculators import start_lammps

        if not np.allclose(atoms.cell.array, np.diag(np.diag(atoms.cell.array))):
            raise ValueError("LAMMPS MD here takes orthorhombic cells")
        self.lmp = start_lammps()
        self.seeds = iter(  # LAMMPS takes seeds up to 9e8
            rng.integers(1, 900_000_000, size=1000).tolist()
        )
        self.n_atoms = len(atoms)
        self.damp_ps = 1e-3 / settings["friction"]  # LAMMPS's damping time (ps) = 1 / friction
        lx, ly, lz = (float(length) for length in np.diag(atoms.cell.array))
        symbols = sorted(set(atoms.get_chemical_symbols()), key=atoms.get_chemical_symbols().index)
        for command in (
            "units metal",
            "atom_style atomic",
            "boundary p p p",
            "atom_modify map array sort 0 0",
            f"region box block 0 {lx!r} 0 {ly!r} 0 {lz!r}",
            f"create_box {len(symbols)} box",
            *(f"mass {k + 1} {atomic_masses[atomic_numbers[s]]}" for k, s in enumerate(symbols)),
            f"pair_style {pair[0]}",
            f"pair_coeff {pair[1]}",
            f"timestep {settings['timestep_fs'] / 1000!r}",
            "thermo 0",
        ):
            self.lmp.command(command)
        types = [symbols.index(s) + 1 for s in atoms.get_chemical_symbols()]
        self.lmp.create_atoms(
            self.n_atoms, list(range(1, self.n_atoms + 1)), types, atoms.positions.ravel().tolist()
        )
        seed = next(self.seeds)
        self.lmp.command(f"velocity all create {float(temperature)!r} {seed} dist gaussian mom yes")
        self.lmp.command("fix integrate all nve")

    def run(self, n_steps: int, start: float, stop: float) -> None:
        if n_steps == 0:
            return
        start, stop, seed = float(start), float(stop), next(self.seeds)
        self.lmp.command(f"fix thermostat all langevin {start!r} {stop!r} {self.damp_ps!r} {seed}")
        self.lmp.command(f"run {n_steps}")
        self.lmp.command("unfix thermostat")

    def positions(self) -> np.ndarray:
        x = self.lmp.gather_atoms("x", 1, 3)  # ordered by atom id
        return np.ctypeslib.as_array(x).reshape(self.n_atoms, 3).copy()

    def close(self) -> None:
        self.lmp.close()


def sample(
    dynamics, atoms: Atoms, settings: dict, temperature: float, trajectory: int, n_snapshots, info
) -> list[Atoms]:
    """The last ``n_snapshots`` (None: all) of the snapshots taken every ``snapshot_ps`` of
    ``anneal_ps`` at ``temperature``, each with ``info``; ``index`` numbers them across the
    grid of trajectories."""
    per_trajectory = snapshots_per_trajectory(settings)
    n_snapshots = per_trajectory if n_snapshots is None else n_snapshots
    interval = steps(settings["snapshot_ps"], settings["timestep_fs"])
    dynamics.run(interval * (per_trajectory - n_snapshots), temperature, temperature)
    snapshots = []
    for k in range(per_trajectory - n_snapshots, per_trajectory):
        dynamics.run(interval, temperature, temperature)
        snapshot = Atoms(
            atoms.symbols, positions=dynamics.positions(), cell=atoms.cell, pbc=atoms.pbc
        )
        if snapshot.pbc.any():
            snapshot.wrap()
        snapshot.info.update(
            {"index": trajectory * n_snapshots + len(snapshots)}
            | info
            | {"trajectory": trajectory, "time_ps": round((k + 1) * settings["snapshot_ps"], 6)}
        )
        snapshots.append(snapshot)
    return snapshots


def melt_quench_anneal(
    trajectory: int,
    density: float,
    temperature: float,
    settings: dict,
    composition: str | Mapping[str, float],
    seed: int,
    driver: CalculatorEntry,
    stream: str = "synthetic",
    n_snapshots: int | None = None,
) -> list[Atoms]:
    """Snapshots of one trajectory of ``stream``; ``index`` numbers them across the grid.

    ``driver`` runs inside LAMMPS where its type declares a LAMMPS pair, else ASE steps its
    calculator; ``n_snapshots`` keeps only the last ones (default: one per ``snapshot_ps`` of
    the anneal).
    """
    rng = structure_rng(seed, stream, trajectory)
    atoms = random_cell(composition, settings["n_atoms"], density, settings["min_distance"], rng)
    melt = settings["melt_temperature"]
    if driver.lammps_pair:
        dynamics = LammpsDynamics(atoms, driver.lammps_pair, settings, rng, melt)
    else:
        dynamics = AseDynamics(atoms, driver.calculator, settings, rng, melt)
    timestep = settings["timestep_fs"]
    try:
        dynamics.run(steps(settings["melt_ps"], timestep), melt, melt)
        dynamics.run(steps(settings["quench_ps"], timestep), melt, temperature)
        snapshots = sample(dynamics, atoms, settings, temperature, trajectory, n_snapshots, {
            "stream": stream,
            "config_type": "melt_quench_anneal",
            "density": density,
            "anneal_temperature": temperature,
        })  # fmt: skip
    finally:
        dynamics.close()
    log.info(
        "%s trajectory %d (%.2f g/cm^3, %g K): %d snapshots",
        stream,
        trajectory,
        density,
        temperature,
        len(snapshots),
    )
    return snapshots


def molecular_trajectory(
    trajectory: int,
    name: str,
    temperature: float,
    settings: dict,
    seed: int,
    driver: CalculatorEntry,
    stream: str = "synthetic",
    n_snapshots: int | None = None,
) -> list[Atoms]:
    """Snapshots of one Langevin trajectory of molecule ``name`` (no cell, no pbc) at
    ``temperature``: ``equilibrate_ps``, then one snapshot every ``snapshot_ps`` of
    ``anneal_ps`` (the last ``n_snapshots`` of them)."""
    rng = structure_rng(seed, stream, trajectory)
    atoms = molecule(name)
    dynamics = AseDynamics(atoms, driver.calculator, settings, rng, temperature)
    try:
        equilibrate = steps(
            setting(settings, "structures", "equilibrate_ps"), settings["timestep_fs"]
        )
        dynamics.run(equilibrate, temperature, temperature)
        snapshots = sample(dynamics, atoms, settings, temperature, trajectory, n_snapshots, {
            "stream": stream,
            "config_type": name,
            "temperature": temperature,
        })  # fmt: skip
    finally:
        dynamics.close()
    log.info(
        "%s trajectory %d (%s, %g K): %d snapshots",
        stream,
        trajectory,
        name,
        temperature,
        len(snapshots),
    )
    return snapshots


def run_trajectories(
    trajectories: range,
    settings: dict,
    composition: str | Mapping[str, float],
    seed: int,
    driver: CalculatorEntry,
    stream: str = "synthetic",
) -> list[Atoms]:
    """The snapshots of ``trajectories``. The synthetic stream keeps every snapshot; the real
    stream keeps one per trajectory (independent structures, the grid taken in turn)."""
    grid = trajectory_grid(settings)
    structures = []
    for trajectory in trajectories:
        start, temperature, _ = grid[trajectory % len(grid)]
        n_snapshots = 1 if stream == "real" else None
        if settings.get("source") == "molecules":
            structures += molecular_trajectory(
                trajectory, start, temperature, settings, seed, driver, stream, n_snapshots
            )
        else:
            structures += melt_quench_anneal(
                trajectory,
                start,
                temperature,
                settings,
                composition,
                seed,
                driver,
                stream,
                n_snapshots,
            )
    return structures
