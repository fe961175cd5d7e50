"""Checks across config sections (the schema checks each value) and the campaign's model list."""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass

from synthpt.strategies import STRATEGIES

SCRATCH = "scratch"
FINETUNE = "finetune"  # the default strategy
ZERO_SHOT = "pretrained"  # a pre-trained model scored as it is, its E0s re-centred on the subset
NO_TEACHER = "none"
ZERO_SHOT_SEED = 0  # no training: one model per (teacher, n), whatever the training seeds


USER_FILE_KEYS = {"gap": ("xml",), "ace": ("potential",), "mace": ("model",)}


class ConfigError(ValueError):
    """A config whose values are valid one by one but do not fit together."""


def structure_source(config: dict) -> str:
    return config["structures"].get("source", "random")


def trajectory_grid(settings: dict) -> list[tuple[float, float, int]]:
    """(density, anneal temperature, replica) of every MD trajectory, in a fixed order."""
    return list(
        itertools.product(
            settings["densities"], settings["temperatures"], range(settings.get("replicas", 1))
        )
    )


def snapshots_per_trajectory(settings: dict) -> int:
    return max(1, round(settings["anneal_ps"] / settings["snapshot_ps"]))


def synthetic_units(config: dict) -> int:
    """What the synthetic shards divide: random structures, MD trajectories, or 0 for files."""
    source = structure_source(config)
    if source == "md":
        return len(trajectory_grid(config["structures"]))
    if source == "random":
        return config["synthetic"]["n_structures"]
    return 0


def synthetic_count(config: dict, default: int = 10000) -> int:
    """Synthetic structures of the campaign (an estimate for user files)."""
    if structure_source(config) == "md":
        settings = config["structures"]
        return len(trajectory_grid(settings)) * snapshots_per_trajectory(settings)
    return config["synthetic"].get("n_structures", default)


def real_from_files(config: dict) -> bool:
    """Whether the real data are the user's files (else computed by the reference)."""
    return "pool" in config["real"]


def file_list(paths: str | list[str]) -> list[str]:
    return [paths] if isinstance(paths, str) else list(paths)


def real_files(config: dict) -> list[str]:
    """Every user file of the real data (pool first), as given in the config."""
    if not real_from_files(config):
        return []
    return file_list(config["real"]["pool"]) + file_list(config["real"]["test"])


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
        for path in real_files(config):
            if not os.path.isfile(path):
                raise ConfigError(f"real: file '{path}' not found (relative to {os.getcwd()})")
        low, high = real.get("n_atoms", (1, 1))
        if low > high:
            raise ConfigError(f"real.n_atoms: min {low} above max {high}")
        return
    if structure_source(config) == "files":
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
    source = structure_source(config)
    builder = {"random": "relax_with", "md": "driver"}.get(source)
    if builder:
        named += [(f"structures.{builder}", config["structures"][builder])]
    for key, name in named:
        if name not in known:
            raise ConfigError(f"{key}: '{name}' is not one of calculators {sorted(known)}")
    if config["reference"] in config["teachers"]:
        raise ConfigError(f"reference '{config['reference']}' is also a teacher")
    if source == "random":
        if "n_structures" not in config["synthetic"]:
            raise ConfigError("synthetic.n_structures: required for random structures")
        low, high = config["structures"]["density_range"]
        if low > high:
            raise ConfigError(f"structures.density_range: low {low} above high {high}")
    if source == "files":
        for path in file_list(config["structures"]["files"]):
            if not os.path.isfile(path):
                raise ConfigError(
                    f"structures: file '{path}' not found (relative to {os.getcwd()})"
                )
    units = synthetic_units(config)
    if units and config["synthetic"]["n_shards"] > units:
        what = "trajectories" if source == "md" else "structures"
        raise ConfigError(
            f"synthetic.n_shards ({config['synthetic']['n_shards']}) exceeds {units} {what}"
        )
    for name, spec in config["calculators"].items():
        for key in USER_FILE_KEYS.get(spec["type"], ()):
            if key not in spec:
                raise ConfigError(f"calculators.{name}: a {spec['type']} entry needs '{key}'")
            if not os.path.isfile(spec[key]):
                raise ConfigError(
                    f"calculators.{name}.{key}: file '{spec[key]}' not found"
                    f" (relative to {os.getcwd()})"
                )
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


@dataclass(frozen=True)
class ModelId:
    """One trained model of the sweep: its place under models/ and metrics/."""

    mode: str
    teacher: str
    n_real: int
    seed: int

    @property
    def path(self) -> str:
        if self.mode == SCRATCH:
            return f"{SCRATCH}/n{self.n_real}/seed{self.seed}"
        return f"{self.mode}/{self.teacher}/n{self.n_real}/seed{self.seed}"

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


PRETRAINED = r"[A-Za-z0-9]+(?:-s\d+)?"


def pretrained_models(config: dict) -> list[str]:
    """Names of the pre-trained models: each teacher on its whole synthetic training set, and
    ``TEACHER-sN`` on its first N structures (the pre-training-size sweep, pretrain.sizes)."""
    sizes = config["pretrain"].get("sizes", [])
    return list(config["teachers"]) + [f"{t}-s{n}" for t in config["teachers"] for n in sizes]


def teacher_of(pretrained: str) -> tuple[str, int | None]:
    """(teacher, number of pre-training structures or None for all) of a pre-trained model."""
    teacher, _, size = pretrained.partition("-s")
    return teacher, int(size) if size else None


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
