"""The MD trajectories a config's ``structures`` section asks for: their grid, count, length
and snapshots (read by the source table, the generator and the cost of a job)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping

from synthpt.configs import setting


def _trajectory_axes(settings: Mapping) -> tuple:
    """(densities or molecules, temperatures, replicas): what the MD grid is the product of."""
    starts = (
        settings["molecules"] if settings.get("source") == "molecules" else settings["densities"]
    )
    return starts, settings["temperatures"], range(setting(settings, "structures", "replicas"))


def trajectory_grid(settings: Mapping) -> list[tuple]:
    """(density or molecule, temperature, replica) of every MD trajectory, in a fixed order."""
    return list(itertools.product(*_trajectory_axes(settings)))


def trajectory_count(settings: Mapping) -> int:
    """``len(trajectory_grid(settings))``, without building it (input functions ask per job)."""
    return math.prod(len(axis) for axis in _trajectory_axes(settings))


def trajectory_picoseconds(settings: Mapping) -> float:
    """Simulated time of one trajectory: melt, quench and anneal (md); equilibration and
    sampling (molecules)."""
    phases = ("melt_ps", "quench_ps", "equilibrate_ps", "anneal_ps")
    return sum(settings.get(phase, 0.0) for phase in phases)


def snapshots_per_trajectory(settings: Mapping) -> int:
    return max(1, round(settings["anneal_ps"] / settings["snapshot_ps"]))


def md_steps(settings: Mapping) -> float:
    return trajectory_picoseconds(settings) * 1000 / setting(settings, "structures", "timestep_fs")
