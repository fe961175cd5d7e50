"""A carbon target that the default's MD grid does not make: crystals (diamond, graphite,
graphene, diamond (100) and (111) slabs), amorphous cells at four densities and liquid; built
offline and labelled by the reference calculator, to compare synthetic structure sources on it.
"""

from __future__ import annotations

import copy

import numpy as np
from ase import Atoms
from ase.build import bulk, diamond100, diamond111, graphene
from ase.calculators.singlepoint import SinglePointCalculator
from ase.lattice.hexagonal import Graphite

# Crystal kinds; each copy is rattled (Gaussian, sigma 0.03-0.1 Å) and strained (up to 2%).
CRYSTALS = {
    "diamond": lambda: bulk("C", "diamond", a=3.567, cubic=True).repeat((2, 2, 1)),
    "graphite": lambda: Graphite("C", latticeconstant={"a": 2.46, "c": 6.71}, size=(2, 2, 2)),
    "graphene": lambda: graphene(a=2.46, size=(4, 4, 1), vacuum=5.0),
    "slab100": lambda: diamond100("C", size=(2, 2, 8), a=3.567, vacuum=5.0),
    "slab111": lambda: diamond111("C", size=(2, 2, 6), a=3.567, vacuum=5.0),
}
# Melt-quench-anneal cells (32 atoms) at each density and the anneal temperature; the last
# snapshot of each trajectory is kept (LAMMPS Tersoff, as the default's MD).
DISORDERED = {
    "amorphous": {"densities": [1.5, 2.0, 2.5, 3.0], "temperatures": [1500, 2500]},
    "liquid": {"densities": [2.0, 2.5], "temperatures": [6000]},
}


def crystal_copies(kind: str, count: int, rng: np.random.Generator) -> list[Atoms]:
    out = []
    for _ in range(count):
        atoms = CRYSTALS[kind]()
        atoms.pbc = True  # slabs and graphene: periodic cells with vacuum along z
        strain = np.eye(3) + np.diag(rng.uniform(-0.02, 0.02, 3))
        atoms.set_cell(atoms.cell @ strain, scale_atoms=True)
        atoms.positions += rng.normal(scale=rng.uniform(0.03, 0.1), size=atoms.positions.shape)
        atoms.info["config_type"] = kind
        out.append(atoms)
    return out


def disordered_cells(kind: str, replicas: int, seed: int) -> list[Atoms]:
    from synthpt.sources import STRUCTURE_SOURCES, Shard

    settings = {
        "source": "md", "n_atoms": 32, "min_distance": 1.1, "replicas": replicas,
        "timestep_fs": 1.0, "friction": 0.01, "melt_temperature": 6000, "melt_ps": 1.0,
        "quench_ps": 1.0, "anneal_ps": 1.0, "snapshot_ps": 0.1, "max_force": 100.0,
        **DISORDERED[kind],
    }  # fmt: skip
    n = len(settings["densities"]) * len(settings["temperatures"]) * replicas
    builder = {"name": "tersoff", "spec": {"type": "lammps", "potential": "tersoff"},
               "elements": ["C"]}  # fmt: skip
    cells = STRUCTURE_SOURCES["md"].generate(Shard(range(n), "real", settings, seed, builder, []))
    for atoms in cells:
        atoms.info = {"config_type": kind}
    return cells


def carbon_target(seed: int = 2026, crystals: int = 10, replicas: int = 5) -> list[Atoms]:
    """The target's structures, unlabelled, in a seeded random order: ``crystals`` copies of
    each crystal kind and ``replicas`` trajectories per (density, temperature) of each
    disordered kind (defaults: 50 crystals, 40 amorphous, 10 liquid cells)."""
    rng = np.random.default_rng(seed)
    structures = [a for kind in CRYSTALS for a in crystal_copies(kind, crystals, rng)]
    structures += [a for kind in DISORDERED for a in disordered_cells(kind, replicas, seed)]
    order = rng.permutation(len(structures))
    return [structures[i] for i in order]


def label(structures: list[Atoms], name: str, spec: dict) -> list[Atoms]:
    """Reference energies and forces as a calculator's results (ASE writes energy, forces)."""
    from synthpt.calculators import make_calculator

    calculator = make_calculator(name, spec, ["C"])
    labelled = []
    for atoms in structures:
        atoms = atoms.copy()
        atoms.calc = calculator
        energy, forces = atoms.get_potential_energy(), atoms.get_forces()
        atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces)
        labelled.append(atoms)
    return labelled


def source_configs(
    base: dict, md_settings: dict, pool: str, test: str, n_synthetic: int
) -> dict[str, dict]:
    """Campaign ``base`` on the target's files, one config per synthetic structure source at
    about the same number of synthetic labels: the MD grid (``md_settings``, the default's,
    its replicas cut to the budget, 32-atom cells like the target's) and augmentation of the
    pool's positions (chains of 4: Gaussian displacements of 0.05, 0.1, 0.15 Å in turn, strain
    up to 3%, 2 FIRE steps with the teacher)."""
    from synthpt.sources import snapshots_per_trajectory, trajectory_grid

    real = {"pool": pool, "test": test, "energy_key": "energy", "forces_key": "forces"}
    md = copy.deepcopy(md_settings) | {"source": "md", "n_atoms": 32}
    per_replica = len(trajectory_grid(md | {"replicas": 1})) * snapshots_per_trajectory(md)
    md["replicas"] = max(1, round(n_synthetic / per_replica))
    chain_length = 4
    augment = {
        "source": "augment", "seeds": "pool", "n_chains": max(1, n_synthetic // chain_length),
        "chain_length": chain_length, "widths": [0.05, 0.1, 0.15], "strain": 0.03,
        "relax_steps": 2, "min_distance": 1.0, "max_force": md["max_force"],
    }  # fmt: skip
    configs = {}
    for name, structures in (("md", md), ("augment", augment)):
        config = copy.deepcopy(base)
        config.update(campaign=f"target-{name}", structures=structures, real=copy.deepcopy(real))
        config["synthetic"].pop("n_structures", None)
        if "tersoff" not in config["calculators"]:
            config["calculators"]["tersoff"] = {"type": "lammps", "potential": "tersoff"}
        configs[name] = config
    return configs
