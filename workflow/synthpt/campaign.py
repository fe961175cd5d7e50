"""Checks across config sections (the schema checks each value) and the campaign's model list."""

from __future__ import annotations

import re
from dataclasses import dataclass

SCRATCH = "scratch"
FINETUNE = "finetune"
NO_TEACHER = "none"


class ConfigError(ValueError):
    """A config whose values are valid one by one but do not fit together."""


def check_config(config: dict) -> None:
    """Raise ConfigError naming the key when sections disagree with each other."""
    known = set(config["calculators"])
    named = [("teachers", t) for t in config["teachers"]]
    named += [("reference", config["reference"])]
    named += [("structures.relax_with", config["structures"]["relax_with"])]
    for key, name in named:
        if name not in known:
            raise ConfigError(f"{key}: '{name}' is not one of calculators {sorted(known)}")
    if config["reference"] in config["teachers"]:
        raise ConfigError(f"reference '{config['reference']}' is also a teacher")
    low, high = config["structures"]["density_range"]
    if low > high:
        raise ConfigError(f"structures.density_range: low {low} above high {high}")
    for section in ("synthetic", "real"):
        n = (
            config[section]["n_structures"]
            if section == "synthetic"
            else config[section]["n_pool"] + config[section]["n_test"]
        )
        if config[section]["n_shards"] > n:
            raise ConfigError(
                f"{section}.n_shards ({config[section]['n_shards']}) exceeds {n} structures"
            )
    largest = max(config["subsets"]["sizes"])
    if largest > config["real"]["n_pool"]:
        raise ConfigError(
            f"subsets.sizes: {largest} exceeds the pool of real.n_pool = {config['real']['n_pool']}"
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
        match = re.fullmatch(r"(?:(scratch)|(finetune)/([^/]+))/n(\d+)/seed(\d+)", path)
        if not match:
            raise ValueError(f"not a model path: {path!r}")
        scratch, finetune, teacher, n, seed = match.groups()
        mode = scratch or finetune
        return cls(mode, teacher or NO_TEACHER, int(n), int(seed))


def sweep(config: dict, sizes=None, seeds=None, teachers=None) -> list[ModelId]:
    """Every scratch and fine-tuned model of the campaign (optionally a slice of it)."""
    sizes = sizes or config["subsets"]["sizes"]
    seeds = seeds or config["subsets"]["seeds"]
    teachers = teachers or config["teachers"]
    models = []
    for n in sizes:
        for seed in seeds:
            models.append(ModelId(SCRATCH, NO_TEACHER, n, seed))
            models += [ModelId(FINETUNE, t, n, seed) for t in teachers]
    return models
