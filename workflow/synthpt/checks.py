"""Checks across config sections (the schema checks each value): each problem raised as a
ConfigError that names the key, before any job runs."""

from __future__ import annotations

import os

from synthpt.calculators import CALCULATOR_TYPES, settings_problem
from synthpt.campaign import (
    file_list,
    path_sets,
    real_files,
    real_from_files,
    source_names,
    source_of,
    structure_builders,
    synthetic_count,
    synthetic_units,
    test_sets,
)
from synthpt.configs import ConfigError, setting
from synthpt.sources import STRUCTURE_SOURCES
from synthpt.structures import AUGMENT, molecule

USER_FILE_KEYS = {name: kind.file_keys for name, kind in CALCULATOR_TYPES.items()}


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


def require_files(key: str, paths) -> None:
    """Raise ConfigError naming ``key`` for the first of ``paths`` that is not a file."""
    for path in file_list(paths):
        if not os.path.isfile(path):
            raise ConfigError(f"{key}: file '{path}' not found (relative to {os.getcwd()})")


def _check_real(config: dict) -> None:
    real = config["real"]
    e0s = setting(real, "real", "e0s")
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
