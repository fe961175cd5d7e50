"""Melt-quench-anneal molecular dynamics driven by a teacher: the paper's synthetic structures.

One trajectory: a random cell at a given density is melted, quenched linearly to the anneal
temperature, and annealed; a snapshot is kept every ``snapshot_ps`` of the anneal. Langevin
dynamics with a per-trajectory random generator, so a trajectory is the same in any shard.
"""

from __future__ import annotations

import logging

import numpy as np
from ase import Atoms, units
from ase.calculators.calculator import Calculator
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary

from synthpt.campaign import snapshots_per_trajectory, trajectory_grid
from synthpt.structures import random_cell, structure_rng

log = logging.getLogger(__name__)


def steps(ps: float, timestep_fs: float) -> int:
    return max(0, round(ps * 1000 / timestep_fs))


def melt_quench_anneal(
    trajectory: int,
    density: float,
    temperature: float,
    settings: dict,
    element: str,
    seed: int,
    calculator: Calculator,
) -> list[Atoms]:
    """Snapshots of one trajectory; ``index`` numbers them across the whole grid."""
    rng = structure_rng(seed, "synthetic", trajectory)
    atoms = random_cell(element, settings["n_atoms"], density, settings["min_distance"], rng)
    atoms.calc = calculator
    timestep = settings["timestep_fs"] * units.fs
    melt = settings["melt_temperature"]
    MaxwellBoltzmannDistribution(atoms, temperature_K=melt, rng=rng)
    Stationary(atoms)
    dynamics = Langevin(
        atoms, timestep, temperature_K=melt, friction=settings["friction"] / units.fs, rng=rng
    )
    dynamics.run(steps(settings["melt_ps"], settings["timestep_fs"]))
    quench = steps(settings["quench_ps"], settings["timestep_fs"])
    ramp = np.linspace(melt, temperature, 11)[1:]
    for target in ramp:  # a linear ramp in ten stages
        dynamics.set_temperature(temperature_K=target)
        dynamics.run(quench // len(ramp))
    dynamics.set_temperature(temperature_K=temperature)
    n_snapshots = snapshots_per_trajectory(settings)
    interval = steps(settings["snapshot_ps"], settings["timestep_fs"])
    snapshots = []
    for k in range(n_snapshots):
        dynamics.run(interval)
        snapshot = Atoms(atoms.symbols, positions=atoms.positions, cell=atoms.cell, pbc=True)
        snapshot.wrap()
        snapshot.info.update(
            {
                "index": trajectory * n_snapshots + k,
                "stream": "synthetic",
                "config_type": "melt_quench_anneal",
                "density": density,
                "anneal_temperature": temperature,
                "trajectory": trajectory,
                "time_ps": round((k + 1) * settings["snapshot_ps"], 6),
            }
        )
        snapshots.append(snapshot)
    atoms.calc = None
    log.info(
        "trajectory %d (%.2f g/cm^3, %g K): %d snapshots",
        trajectory,
        density,
        temperature,
        len(snapshots),
    )
    return snapshots


def run_trajectories(
    trajectories: range, settings: dict, element: str, seed: int, calculator: Calculator
) -> list[Atoms]:
    grid = trajectory_grid(settings)
    structures = []
    for trajectory in trajectories:
        density, temperature, _ = grid[trajectory]
        structures += melt_quench_anneal(
            trajectory, density, temperature, settings, element, seed, calculator
        )
    return structures
