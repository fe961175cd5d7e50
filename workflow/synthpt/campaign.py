"""The campaign's models and what they are made from: structure sources, test sets, model
identities and the sweep (the config checks: synthpt.checks)."""

from __future__ import annotations

import re

from synthpt.configs import ConfigError, setting
from synthpt.paths import (
    NO_TEACHER,
    PRETRAINED,
    ZERO_SHOT,
    ZERO_SHOT_SEED,
    ModelId,
    pretrained_name,
    pretrained_parts,
)
from synthpt.sources import STRUCTURE_SOURCES, source_names, source_of
from synthpt.strategies import SCRATCH


def structure_builders(config: dict) -> dict[str, str]:
    """Per structure source of the campaign, the calculator that relaxes or drives its
    structures (augment: the first teacher unless ``relax_with`` names one); none for files."""
    builders = {}
    for name in source_names(config["structures"]):
        source = STRUCTURE_SOURCES[name]
        if source.builder_key is not None:
            default = config["teachers"][0] if source.builder_defaults_to_teacher else None
            builders[name] = config["structures"].get(source.builder_key, default)
    return builders


def augment_seed_files(config: dict, pool: str) -> list[str]:
    """What augmentation grows from: the real pool (``seeds: pool``, the default) or files."""
    seeds = config["structures"].get("seeds", "pool")
    return [pool] if seeds == "pool" else file_list(seeds)


def structure_source(config: dict) -> str:
    """The campaign's structure source, ``mix`` for several."""
    names = source_names(config["structures"])
    return names[0] if len(names) == 1 else "mix"


def atoms_per_structure(config: dict) -> int:
    """Atoms of the campaign's largest structure, for cost estimates (user files: 64)."""
    return source_of(config).atoms(config)


def synthetic_units(config: dict) -> int:
    """What the synthetic shards divide: random structures, MD trajectories, augmentation
    chains, or 0 for files."""
    return source_of(config).units(config)


def synthetic_count(config: dict, default: int = 10000) -> int:
    """Synthetic structures of the campaign (an estimate for user files)."""
    names = source_names(config["structures"])
    if names == ["files"]:
        return config["synthetic"].get("n_structures", default)
    settings = config["structures"]
    parts = [STRUCTURE_SOURCES[name] for name in names]
    return sum(p.units(config) * p.structures_per_unit(settings) for p in parts)


def real_from_files(config: dict) -> bool:
    """Whether the real data are the user's files (else computed by the reference)."""
    return "pool" in config["real"]


def file_list(paths: str | list[str]) -> list[str]:
    return [paths] if isinstance(paths, str) else list(paths)


HEADLINE_TEST = "test"  # the name of a campaign's one test set (computed, or files unnamed)


def test_sets(config: dict) -> dict[str, list[str]]:
    """The campaign's test sets by name, the headline first: ``real.test`` given as a mapping
    of names to files, else one set named ``test`` (its files; none when computed)."""
    test = config["real"].get("test")
    if isinstance(test, dict):
        return {name: file_list(files) for name, files in test.items()}
    return {HEADLINE_TEST: file_list(test) if test else []}


def path_sets(config: dict) -> list[str]:
    """The test sets that are ordered paths (a reaction path, a torsion scan): each model's
    barrier along them is scored too (``real.paths``)."""
    return list(config["real"].get("paths", []))


def test_set_paths(results: str, config: dict) -> dict[str, str]:
    """Where each test set of the campaign lands: the headline at real/test.extxyz (the file
    every single-set consumer reads), the others at real/tests/NAME.extxyz."""
    names = list(test_sets(config))
    return {
        name: f"{results}/real/test.extxyz" if i == 0 else f"{results}/real/tests/{name}.extxyz"
        for i, name in enumerate(names)
    }


def real_files(config: dict) -> list[str]:
    """Every user file of the real data (pool first), as given in the config."""
    if not real_from_files(config):
        return []
    return file_list(config["real"]["pool"]) + [
        path for files in test_sets(config).values() for path in files
    ]


def pretrained_models(config: dict) -> list[str]:
    """Names of the pre-trained models: each teacher on its whole synthetic training set;
    ``TEACHER-pK``, the same pre-training from seed K (pretrain.seeds); and ``TEACHER-sN`` on
    its first N structures (the pre-training-size sweep, pretrain.sizes)."""
    teachers, sizes = config["teachers"], config["pretrain"].get("sizes", [])
    replicas = range(2, setting(config["pretrain"], "pretrain", "seeds") + 1)
    return (
        list(teachers)
        + [pretrained_name(t, replica=k) for t in teachers for k in replicas]
        + [pretrained_name(t, size=n) for t in teachers for n in sizes]
    )


def teacher_of(pretrained: str) -> tuple[str, int | None]:
    """(teacher, number of pre-training structures or None for all) of a pre-trained model."""
    teacher, size, _ = pretrained_parts(pretrained)
    return teacher, int(size) if size else None


def reads_hdf5(config: dict, pretrained: str) -> bool:
    """Whether pre-trained model ``pretrained`` reads mace's HDF5 files (graphs built batch by
    batch) rather than extxyz (every graph in memory): its set holds pretrain.hdf5_min_atoms
    atoms or more (planned structures x atoms per structure)."""
    threshold = config["pretrain"].get("hdf5_min_atoms")
    if threshold is None:
        return False
    size = teacher_of(pretrained)[1] or synthetic_count(config)
    return size * atoms_per_structure(config) >= threshold


def pretraining_seed(pretrained: str, seed: int) -> int:
    """The training seed of a pre-trained model: the campaign's ``seed``, plus K - 1 for the
    K-th pre-training seed (``TEACHER-pK``)."""
    replica = pretrained_parts(pretrained)[2]
    return seed + int(replica or 1) - 1


def pretraining_family(pretrained: str) -> str:
    """The pre-trained model a replica repeats from another seed (itself for the first)."""
    return pretrained.split("-p")[0]


def strategies(config: dict) -> list[str]:
    """The fine-tuning strategies the campaign runs (names of ``STRATEGIES``)."""
    return setting(config["finetune"], "finetune", "strategies")


def sweep(config: dict, sizes=None, seeds=None, teachers=None) -> list[ModelId]:
    """Every scored model of the campaign (optionally a slice of it): scratch and each
    fine-tuning strategy per size and seed, and each pre-trained model zero-shot per size."""
    sizes = sizes or config["subsets"]["sizes"]
    seeds = seeds or config["subsets"]["seeds"]
    teachers = teachers or pretrained_models(config)
    models = []
    for n in sizes:
        models += [ModelId(ZERO_SHOT, t, n, ZERO_SHOT_SEED) for t in teachers]
        for seed in seeds:
            models.append(ModelId(SCRATCH, NO_TEACHER, n, seed))
            models += [ModelId(s, t, n, seed) for s in strategies(config) for t in teachers]
    return models


def smallest_size_models(config: dict) -> list[ModelId]:
    """The models at the smallest n and first seed (the parity plot's)."""
    n, seed = min(config["subsets"]["sizes"]), config["subsets"]["seeds"][0]
    return [m for m in sweep(config) if m.n_real == n and m.seed == seed]


def end_size_models(config: dict) -> list[ModelId]:
    """Every model (all seeds) at the smallest and the largest n (the path plot's)."""
    sizes = config["subsets"]["sizes"]
    return sweep(config, sizes=sorted({min(sizes), max(sizes)}))


def coverage_model(config: dict) -> ModelId:
    """The coverage map's model: the first pre-trained model's first strategy at the smallest
    n and first seed."""
    first = pretrained_models(config)[0]
    n, seed = min(config["subsets"]["sizes"]), config["subsets"]["seeds"][0]
    return ModelId(strategies(config)[0], first, n, seed)


SWEEP_SLICE = rf"n\d+|seed\d+|scratch|teacher-{PRETRAINED}"


def sweep_slice(config: dict, name: str) -> list[ModelId]:
    """The models of one slice of the sweep: ``nN`` (one data size, all seeds and modes),
    ``seedS``, ``scratch`` or ``teacher-T`` (the models fine-tuned from teacher T)."""
    models = sweep(config)
    if match := re.fullmatch(r"n(\d+)", name):
        chosen = [m for m in models if m.n_real == int(match[1])]
    elif match := re.fullmatch(r"seed(\d+)", name):
        chosen = [m for m in models if m.seed == int(match[1]) and m.mode != ZERO_SHOT]
    elif name == SCRATCH:
        chosen = [m for m in models if m.mode == SCRATCH]
    elif match := re.fullmatch(r"teacher-(.+)", name):
        chosen = [m for m in models if m.mode != SCRATCH and m.pretrained == match[1]]
    else:
        raise ConfigError(f"'{name}' is not a sweep slice (nN, seedS, scratch or teacher-T)")
    if not chosen:
        raise ConfigError(f"sweep slice '{name}' holds no model of this campaign's config")
    return chosen
