"""One table of the synthetic structure sources (a config's ``structures.source``).

Each entry says how a shard's structures are made, which calculator makes them, what the
shards divide and what a unit costs; the config check, the rules' resource requests and the
generation script read it. Adding a source: one entry here and its generator function.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ase import Atoms

from synthpt.structures import AUGMENT


def trajectory_grid(settings: Mapping) -> list[tuple]:
    """(density or molecule, temperature, replica) of every MD trajectory, in a fixed order."""
    starts = (
        settings["molecules"] if settings.get("source") == "molecules" else settings["densities"]
    )
    return list(
        itertools.product(starts, settings["temperatures"], range(settings.get("replicas", 1)))
    )


def trajectory_picoseconds(settings: Mapping) -> float:
    """Simulated time of one trajectory: melt, quench and anneal (md); equilibration and
    sampling (molecules)."""
    phases = ("melt_ps", "quench_ps", "equilibrate_ps", "anneal_ps")
    return sum(settings.get(phase, 0.0) for phase in phases)


def snapshots_per_trajectory(settings: Mapping) -> int:
    return max(1, round(settings["anneal_ps"] / settings["snapshot_ps"]))


def md_steps(settings: Mapping) -> float:
    return trajectory_picoseconds(settings) * 1000 / settings.get("timestep_fs", 1.0)


def cell_composition(elements: list[str], settings: Mapping) -> str | dict[str, float]:
    """What random and melt-quench cells are made of: ``structures.composition`` (element ->
    share), else the campaign's one element, else all its elements in equal shares."""
    if settings.get("composition"):
        return settings["composition"]
    return elements[0] if len(elements) == 1 else dict.fromkeys(elements, 1.0)


@dataclass(frozen=True)
class Shard:
    """What one generation job makes: units ``indices`` of ``stream``."""

    indices: range
    stream: str  # synthetic or real
    settings: Mapping  # the config's structures section
    seed: int
    builder: dict  # make_calculator's arguments for the builder calculator
    seed_structures: list[Atoms]  # augment: what the chains grow from


def _random_cells(shard: Shard) -> list[Atoms]:
    from synthpt.calculators import make_calculator
    from synthpt.structures import generate

    settings = shard.settings
    return generate(
        indices=shard.indices,
        stream=shard.stream,
        seed=shard.seed,
        composition=cell_composition(shard.builder["elements"], settings),
        n_atoms=settings["n_atoms"],
        density_range=tuple(settings["density_range"]),
        min_dist=settings["min_distance"],
        relax_steps=settings["relax_steps"],
        relax_calculator=make_calculator(**shard.builder),
    )


def _trajectories(shard: Shard) -> list[Atoms]:
    from synthpt.calculators import md_driver
    from synthpt.md import run_trajectories

    return run_trajectories(
        trajectories=shard.indices,
        settings=shard.settings,
        composition=cell_composition(shard.builder["elements"], shard.settings),
        seed=shard.seed,
        driver=md_driver(**shard.builder),
        stream=shard.stream,
    )


def _chains(shard: Shard) -> list[Atoms]:
    from synthpt.calculators import make_calculator
    from synthpt.structures import augment

    return augment(
        chains=shard.indices,
        seeds=shard.seed_structures,
        settings=shard.settings,
        seed=shard.seed,
        calculator=make_calculator(**shard.builder),
    )


def _molecule_atoms(config: dict) -> int:
    from synthpt.campaign import molecule

    return max(len(molecule(name)) for name in config["structures"]["molecules"])


def _cell_atoms(config: dict) -> int:
    return config["structures"].get("n_atoms", 64)


@dataclass(frozen=True)
class StructureSource:
    """Everything the workflow knows of one structure source."""

    generate: Callable | None  # Shard -> structures; None: the user's files, split as given
    builder_key: str | None = None  # config key naming the calculator that relaxes or drives
    unit: str = "structures"  # what the shards divide, in words
    units: Callable[[dict], int] = lambda config: 0  # how many (0: unknown, the user's files)
    structures_per_unit: Callable[[Mapping], int] = lambda settings: 1
    builder_calls: Callable[[Mapping], float] = lambda settings: 0.0  # per unit
    atoms: Callable[[dict], int] = _cell_atoms  # of the largest structure, for cost estimates
    builder_defaults_to_teacher: bool = False  # the first teacher when builder_key is absent


STRUCTURE_SOURCES = {
    "random": StructureSource(
        _random_cells,
        builder_key="relax_with",
        units=lambda config: config["synthetic"]["n_structures"],
        builder_calls=lambda settings: 1 + settings["relax_steps"],
    ),
    "md": StructureSource(
        _trajectories,
        builder_key="driver",
        unit="trajectories",
        units=lambda config: len(trajectory_grid(config["structures"])),
        structures_per_unit=snapshots_per_trajectory,
        builder_calls=md_steps,
    ),
    "molecules": StructureSource(
        _trajectories,
        builder_key="driver",
        unit="trajectories",
        units=lambda config: len(trajectory_grid(config["structures"])),
        structures_per_unit=snapshots_per_trajectory,
        builder_calls=md_steps,
        atoms=_molecule_atoms,
    ),
    # per chain: each link relaxed, then its forces checked
    AUGMENT: StructureSource(
        _chains,
        builder_key="relax_with",
        unit="chains",
        units=lambda config: config["structures"]["n_chains"],
        structures_per_unit=lambda settings: settings["chain_length"],
        builder_calls=lambda settings: (
            settings["chain_length"] * (2 + settings.get("relax_steps", 0))
        ),
        builder_defaults_to_teacher=True,
    ),
    "files": StructureSource(None),
}


def source_of(config: dict) -> StructureSource:
    return STRUCTURE_SOURCES[config["structures"].get("source", "random")]
