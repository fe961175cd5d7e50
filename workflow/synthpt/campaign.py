"""Checks across config sections (the schema checks each value) and the campaign's model list."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from synthpt.calculators import CALCULATOR_TYPES, settings_problem
from synthpt.sources import STRUCTURE_SOURCES, source_names, source_of
from synthpt.strategies import STRATEGIES
from synthpt.structures import AUGMENT  # chains grown from the real pool's (or files') positions

SCRATCH = "scratch"
FINETUNE = "finetune"  # the default strategy
ZERO_SHOT = "zero-shot"  # a pre-trained model scored as it is, its E0s re-centred on the subset
NO_TEACHER = "none"
ZERO_SHOT_SEED = 0  # no training: one model per (teacher, n), whatever the training seeds


USER_FILE_KEYS = {name: kind.file_keys for name, kind in CALCULATOR_TYPES.items()}


class ConfigError(ValueError):
    """A config whose values are valid one by one but do not fit together."""


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


def schema_problem(config: dict, schema: dict) -> str | None:
    """The config's first schema violation in one line, naming the key: inside a ``oneOf``, the
    branch that the keys present fit best; for an unknown key, the keys allowed there."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    error = best_match(Draft202012Validator(schema).iter_errors(config))
    if error is None:
        return None
    while error.context:  # oneOf / anyOf: the branch with the fewest complaints
        branches = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        error = max(min(branches.values(), key=len), key=lambda sub: len(sub.absolute_path))
    where = ".".join(str(part) for part in error.absolute_path) or "top level"
    message = error.message
    if error.validator == "additionalProperties" and "properties" in error.schema:
        message += f"; allowed: {', '.join(sorted(error.schema['properties']))}"
    return f"config {where}: {message}"


def report_problem(argv: list[str], campaign: str, outputs: list[str]) -> str | None:
    """Why ``snakemake --report`` cannot show campaign ``campaign`` yet: its final ``outputs``
    are not all there (the report shows finished results; it runs nothing)."""
    if not any(arg == "--report" or arg.startswith("--report=") for arg in argv):
        return None
    missing = [path for path in outputs if not os.path.exists(path)]
    if not missing:
        return None
    return (
        f"--report: campaign '{campaign}' has not finished ({len(missing)} of its"
        f" {len(outputs)} final outputs missing, e.g. {missing[0]}): run it first with the same"
        " --configfile (make run), then make the report"
    )


def structure_source(config: dict) -> str:
    """The campaign's structure source, ``mix`` for several."""
    names = source_names(config["structures"])
    return names[0] if len(names) == 1 else "mix"


def molecule(name: str):
    """A molecule of ASE's g2 set by name (e.g. CH3CH2OH: ethanol), without cell or pbc."""
    from ase.build import molecule as build
    from ase.collections import g2

    if name not in g2.names:
        raise ConfigError(f"structures.molecules: '{name}' is not in ASE's g2 set (e.g. CH3CH2OH)")
    return build(name)


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


def require_files(key: str, paths) -> None:
    """Raise ConfigError naming ``key`` for the first of ``paths`` that is not a file."""
    for path in file_list(paths):
        if not os.path.isfile(path):
            raise ConfigError(f"{key}: file '{path}' not found (relative to {os.getcwd()})")


def _check_real(config: dict) -> None:
    real = config["real"]
    e0s = real.get("e0s", "fit")
    if isinstance(e0s, dict) and set(e0s) != set(config["elements"]):
        raise ConfigError(
            f"real.e0s: given for {sorted(e0s)}, but the campaign's elements are"
            f" {sorted(config['elements'])}"
        )
    if real_from_files(config):
        if real.get("stress_key"):
            raise ConfigError(
                f"real.stress_key ({real['stress_key']!r}): stress is neither trained on nor"
                " scored (the models fit energies and forces); remove the key"
            )
        require_files("real", real_files(config))
        if unknown := [name for name in path_sets(config) if name not in test_sets(config)]:
            raise ConfigError(
                f"real.paths: {unknown} are not named test sets (real.test names"
                f" {list(test_sets(config))})"
            )
        low, high = real.get("n_atoms", (1, 1))
        if low > high:
            raise ConfigError(f"real.n_atoms: min {low} above max {high}")
        return
    if {"files", AUGMENT} & set(source_names(config["structures"])):
        raise ConfigError(
            "real: computed real data need structures.source random or md (their structures are"
            " made like the synthetic ones, from their own trajectories); give pool and test files"
        )
    if config["reference"] not in config["calculators"]:
        raise ConfigError(
            f"reference: '{config['reference']}' is not one of calculators"
            f" {sorted(config['calculators'])} (needed to compute the real data)"
        )
    n_real = real["n_pool"] + real["n_test"]
    if real["n_shards"] > n_real:
        raise ConfigError(f"real.n_shards ({real['n_shards']}) exceeds {n_real} structures")
    largest, n_valid = max(config["subsets"]["sizes"]), config["subsets"]["n_valid"]
    if largest + n_valid > real["n_pool"]:
        raise ConfigError(
            f"subsets: the largest size {largest} plus the validation set (n_valid {n_valid})"
            f" exceeds the pool of real.n_pool = {real['n_pool']}"
        )


def check_config(config: dict) -> None:
    """Raise ConfigError naming the key when sections disagree with each other."""
    known = set(config["calculators"])
    named = [("teachers", t) for t in config["teachers"]]
    sources = source_names(config["structures"])
    if "files" in sources and len(sources) > 1:
        raise ConfigError("structures.source: files cannot be mixed with generated sources")
    named += [
        (f"structures.{STRUCTURE_SOURCES[name].builder_key}", builder)
        for name, builder in structure_builders(config).items()
    ]
    for key, name in named:
        if name not in known:
            raise ConfigError(f"{key}: '{name}' is not one of calculators {sorted(known)}")
    if "molecules" in sources:
        for name in config["structures"]["molecules"]:
            missing = set(molecule(name).get_chemical_symbols()) - set(config["elements"])
            if missing:
                raise ConfigError(
                    f"structures.molecules: {name} holds {sorted(missing)}, not in elements"
                    f" {config['elements']}"
                )
    unknown = set(config["structures"].get("composition", {})) - set(config["elements"])
    if unknown:
        raise ConfigError(
            f"structures.composition: {sorted(unknown)} not in elements {config['elements']}"
        )
    if config["reference"] in config["teachers"]:
        raise ConfigError(f"reference '{config['reference']}' is also a teacher")
    if "random" in sources:
        if "n_structures" not in config["synthetic"]:
            raise ConfigError("synthetic.n_structures: required for random structures")
        low, high = config["structures"]["density_range"]
        if low > high:
            raise ConfigError(f"structures.density_range: low {low} above high {high}")
    if AUGMENT in sources and config["structures"].get("seeds", "pool") != "pool":
        require_files("structures.seeds", config["structures"]["seeds"])
    if sources == ["files"]:
        require_files("structures", config["structures"]["files"])
    units = synthetic_units(config)
    if units and config["synthetic"]["n_shards"] > units:
        what = source_of(config).unit
        raise ConfigError(
            f"synthetic.n_shards ({config['synthetic']['n_shards']}) exceeds {units} {what}"
        )
    for name, spec in config["calculators"].items():
        if problem := settings_problem(name, spec, config["elements"]):
            raise ConfigError(problem)
        for key in USER_FILE_KEYS.get(spec["type"], ()):
            if key not in spec:
                raise ConfigError(f"calculators.{name}: a {spec['type']} entry needs '{key}'")
            require_files(f"calculators.{name}.{key}", spec[key])
            file_problem = CALCULATOR_TYPES[spec["type"]].file_problem
            problem = file_problem and file_problem(spec[key], config["elements"])
            if problem:
                raise ConfigError(f"calculators.{name}.{key}: file '{spec[key]}': {problem}")
    _check_real(config)
    n_synthetic = synthetic_count(config, default=0)
    if n_synthetic:
        n_pretrain = min(
            [round(n_synthetic * (1 - config["synthetic"]["valid_fraction"]))]
            + config["pretrain"].get("sizes", [])
        )
        if config["pretrain"]["batch_size"] > n_pretrain:
            raise ConfigError(
                f"pretrain.batch_size ({config['pretrain']['batch_size']}) exceeds the"
                f" {n_pretrain} structures of the smallest pre-training set"
            )
    smallest = min(config["subsets"]["sizes"])
    if config["finetune"]["batch_size"] > smallest:
        raise ConfigError(
            f"finetune.batch_size ({config['finetune']['batch_size']}) exceeds the smallest"
            f" subset (n{smallest})"
        )


def mode_group(mode: str, teacher: str) -> str:
    """The folder of a mode's models (or its tuning runs) without size and seed: ``scratch``,
    or ``MODE/PRETRAINED``."""
    return SCRATCH if mode == SCRATCH else f"{mode}/{teacher}"


@dataclass(frozen=True)
class ModelId:
    """One trained model of the sweep: its place under models/ and metrics/."""

    mode: str
    teacher: str
    n_real: int
    seed: int

    @property
    def group(self) -> str:
        """Its mode's folder, without size and seed (``mode_group``)."""
        return mode_group(self.mode, self.teacher)

    @property
    def path(self) -> str:
        return f"{self.group}/n{self.n_real}/seed{self.seed}"

    @classmethod
    def from_path(cls, path: str) -> ModelId:
        match = re.fullmatch(
            rf"(?:({SCRATCH})|({'|'.join([*STRATEGIES, ZERO_SHOT])})/([^/]+))/n(\d+)/seed(\d+)",
            path,
        )
        if not match:
            raise ValueError(f"not a model path: {path!r}")
        scratch, mode, teacher, n, seed = match.groups()
        return cls(scratch or mode, teacher or NO_TEACHER, int(n), int(seed))


PRETRAINED = r"[A-Za-z0-9]+(?:-s\d+)?(?:-p\d+)?"


def pretrained_models(config: dict) -> list[str]:
    """Names of the pre-trained models: each teacher on its whole synthetic training set;
    ``TEACHER-pK``, the same pre-training from seed K (pretrain.seeds); and ``TEACHER-sN`` on
    its first N structures (the pre-training-size sweep, pretrain.sizes)."""
    teachers, sizes = config["teachers"], config["pretrain"].get("sizes", [])
    replicas = range(2, config["pretrain"].get("seeds", 1) + 1)
    return (
        list(teachers)
        + [f"{t}-p{k}" for t in teachers for k in replicas]
        + [f"{t}-s{n}" for t in teachers for n in sizes]
    )


def _pretrained_parts(pretrained: str) -> tuple[str, str | None, str | None]:
    match = re.fullmatch(r"([A-Za-z0-9]+)(?:-s(\d+))?(?:-p(\d+))?", pretrained)
    if not match:
        raise ValueError(f"not a pre-trained model name: {pretrained!r}")
    return match.groups()


def teacher_of(pretrained: str) -> tuple[str, int | None]:
    """(teacher, number of pre-training structures or None for all) of a pre-trained model."""
    teacher, size, _ = _pretrained_parts(pretrained)
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
    replica = _pretrained_parts(pretrained)[2]
    return seed + int(replica or 1) - 1


def pretraining_family(pretrained: str) -> str:
    """The pre-trained model a replica repeats from another seed (itself for the first)."""
    return pretrained.split("-p")[0]


def strategies(config: dict) -> list[str]:
    """The fine-tuning strategies the campaign runs (names of ``STRATEGIES``)."""
    return config["finetune"].get("strategies", [FINETUNE])


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


def model_pattern(config: dict) -> str:
    """The regex of a model's path (``ModelId.path``) in this campaign: the ``model`` wildcard."""
    return rf"({SCRATCH}|({'|'.join(strategies(config))})/{PRETRAINED})/n\d+/seed\d+"


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
        chosen = [m for m in models if m.mode != SCRATCH and m.teacher == match[1]]
    else:
        raise ConfigError(f"'{name}' is not a sweep slice (nN, seedS, scratch or teacher-T)")
    if not chosen:
        raise ConfigError(f"sweep slice '{name}' holds no model of this campaign's config")
    return chosen
