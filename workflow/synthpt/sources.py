"""One table of the synthetic structure sources (a config's ``structures.source``).

Each entry says how a shard's structures are made, which calculator makes them, what the
shards divide and what a unit costs; the config check, the rules' resource requests and the
generation script read it. Adding a source: one entry here and its generator function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from ase import Atoms

from synthpt.configs import setting
from synthpt.structures import AUGMENT
from synthpt.trajectories import md_steps, snapshots_per_trajectory, trajectory_count


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
    builder: dict  # make_calculator's arguments for the builder (a mix: one per source)
    seed_structures: list[Atoms]  # augment: what the chains grow from
    parts: tuple[tuple[str, int], ...] = ()  # a mix: (source, units) in order (mix_parts)


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
    from synthpt.calculators import calculator_entry
    from synthpt.md import run_trajectories

    return run_trajectories(
        trajectories=shard.indices,
        settings=shard.settings,
        composition=cell_composition(shard.builder["elements"], shard.settings),
        seed=shard.seed,
        driver=calculator_entry(**shard.builder),
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
    from synthpt.structures import molecule

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


_TRAJECTORIES = StructureSource(
    _trajectories,
    builder_key="driver",
    unit="trajectories",
    units=lambda config: trajectory_count(config["structures"]),
    structures_per_unit=snapshots_per_trajectory,
    builder_calls=md_steps,
)
STRUCTURE_SOURCES = {
    "random": StructureSource(
        _random_cells,
        builder_key="relax_with",
        units=lambda config: config["synthetic"]["n_structures"],
        builder_calls=lambda settings: 1 + settings["relax_steps"],
    ),
    "md": _TRAJECTORIES,
    "molecules": replace(_TRAJECTORIES, atoms=_molecule_atoms),
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


def source_names(settings: Mapping) -> list[str]:
    """The structure source(s) of a config's ``structures`` section: one name, or a mix."""
    source = setting(settings, "structures", "source")
    return [source] if isinstance(source, str) else list(source)


def _mixed(names: list[str]) -> StructureSource:
    """Several sources in one synthetic set (``source: [md, augment]``): their units one after
    the other in the order given, each part made by its own generator and builder (a shard may
    span two), each structure numbered after the parts before it and marked with its source
    (``info["structure_source"]``)."""
    parts = [STRUCTURE_SOURCES[name] for name in names]

    def generate(shard: Shard) -> list[Atoms]:
        structures, unit_offset, index_offset = [], 0, 0
        for name, units in shard.parts:
            part = STRUCTURE_SOURCES[name]
            local = range(
                max(shard.indices.start, unit_offset) - unit_offset,
                min(shard.indices.stop, unit_offset + units) - unit_offset,
            )
            if len(local):
                made = part.generate(
                    Shard(local, shard.stream, shard.settings, shard.seed,
                          shard.builder[name], shard.seed_structures)
                )  # fmt: skip
                for atoms in made:
                    atoms.info["index"] += index_offset
                    atoms.info["structure_source"] = name
                structures += made
            unit_offset += units
            index_offset += units * part.structures_per_unit(shard.settings)
        return structures

    return StructureSource(
        generate,
        builder_key=None,
        unit="units (" + ", ".join(f"{n} {STRUCTURE_SOURCES[n].unit}" for n in names) + ")",
        units=lambda config: sum(p.units(config) for p in parts),
        structures_per_unit=lambda settings: max(p.structures_per_unit(settings) for p in parts),
        builder_calls=lambda settings: max(p.builder_calls(settings) for p in parts),
        atoms=lambda config: max(p.atoms(config) for p in parts),
    )


def mix_parts(config: dict) -> tuple[tuple[str, int], ...]:
    """(source, units) of each part of a mixed synthetic set, in order; () for one source."""
    names = source_names(config["structures"])
    if len(names) == 1:
        return ()
    return tuple((name, STRUCTURE_SOURCES[name].units(config)) for name in names)


def source_of(config: dict) -> StructureSource:
    names = source_names(config["structures"])
    return STRUCTURE_SOURCES[names[0]] if len(names) == 1 else _mixed(names)
