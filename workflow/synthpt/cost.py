"""Resource requests of the campaign's jobs: padded one-core estimates from the config (the
cluster kills a job past its request, so each is about twice the estimate plus start-up)."""

from __future__ import annotations

import math

from synthpt.calculators import seconds_per_call
from synthpt.campaign import atoms_per_structure, structure_builders, synthetic_count
from synthpt.sources import STRUCTURE_SOURCES, source_of
from synthpt.structures import shard_groups, shards_per_job

# MACE training on one core, default model size, float32 (float64: twice).
SECONDS_PER_ATOM_STEP = 4e-4
# Estimated teacher work per synthetic labelling job: a job's start-up (1-2 s) stays a few %.
LABEL_JOB_SECONDS = 120
# mace's HDF5 files: reading one structure and building its graph, one core (bench/hdf5.py: ~8
# ms for 8-atom cells); preprocess_data reads the extxyz and writes the file (~4 ms).
HDF5_SECONDS_PER_LOAD = 0.01
HDF5_SECONDS_PER_WRITE = 0.005


def training_minutes(config: dict, schedule: str, hdf5: bool = False) -> int:
    """Wall-time request of one training job (``pretrain`` or ``finetune`` schedule) at its
    cap: max_epochs over the synthetic set, or max_steps batches of real structures; from HDF5
    files, each structure also loaded once an epoch and twice before the first."""
    settings = config[schedule]
    if schedule == "pretrain":
        structures = synthetic_count(config) * settings["max_epochs"]
    else:
        structures = settings["max_steps"] * settings["batch_size"]
    per_atom_step = SECONDS_PER_ATOM_STEP * (2 if config["model"]["dtype"] == "float64" else 1)
    seconds = structures * atoms_per_structure(config) * per_atom_step
    if hdf5:
        seconds += (structures + 2 * synthetic_count(config)) * HDF5_SECONDS_PER_LOAD
    return 10 + math.ceil(2 * seconds / 60)


def preprocess_minutes(config: dict, size: int | None = None) -> int:
    """Wall-time request of writing a synthetic set (or its first ``size``) as HDF5 files."""
    structures = size or synthetic_count(config)
    return 10 + math.ceil(2 * structures * HDF5_SECONDS_PER_WRITE / 60)


def stream_units(config: dict, stream: str) -> int:
    """What a stream's shards divide: synthetic structures, trajectories or chains; the real
    pool and test set."""
    if stream == "synthetic":
        return source_of(config).units(config)
    return config["real"]["n_pool"] + config["real"]["n_test"]


def call_seconds(config: dict, calculator: str) -> float:
    """Padded estimate of one call of ``calculator`` on one of the campaign's structures."""
    return seconds_per_call(config["calculators"][calculator], atoms_per_structure(config))


def shard_seconds(config: dict, stream: str, calls_per_unit: float, calculator: str) -> float:
    """One shard's calculator work: its units times the calls each needs times a call's cost."""
    per_shard = math.ceil(stream_units(config, stream) / config[stream]["n_shards"])
    return per_shard * calls_per_unit * call_seconds(config, calculator)


def shard_minutes(
    config: dict, stream: str, calls_per_unit: float, calculator: str, shards: int = 1
) -> int:
    """Wall-time request of a job over ``shards`` shards."""
    seconds = shards * shard_seconds(config, stream, calls_per_unit, calculator)
    return 5 + math.ceil(2 * seconds / 60)


def test_label_minutes(config: dict, teacher: str) -> int:
    """Wall-time request of a teacher labelling the test set (user files: ~1000 taken)."""
    n_test = config["real"].get("n_test", 1000)
    return 5 + math.ceil(2 * n_test * call_seconds(config, teacher) / 60)


def label_calls(config: dict) -> int:
    """Teacher calls per synthetic unit: one per structure it holds (a mix: the mean)."""
    units = source_of(config).units(config)
    return math.ceil(synthetic_count(config) / units) if units else 1


def label_groups(config: dict, teacher: str) -> tuple[range, ...]:
    """Structure shards of each labelling job of ``teacher``: fast teachers take several."""
    n_shards = config["synthetic"]["n_shards"]
    per_job = config["calculators"][teacher].get("shards_per_job") or shards_per_job(
        shard_seconds(config, "synthetic", label_calls(config), teacher),
        n_shards,
        LABEL_JOB_SECONDS,
    )
    return shard_groups(n_shards, per_job)


def label_minutes(config: dict, teacher: str, batch: int) -> int:
    """Wall-time request of labelling batch ``batch`` of the synthetic shards."""
    shards = len(label_groups(config, teacher)[batch])
    return shard_minutes(config, "synthetic", label_calls(config), teacher, shards)


def generation_minutes(config: dict, stream: str) -> int:
    """Wall-time request of generating one shard of ``stream`` (a mix: its costliest part's
    units throughout)."""
    settings = config["structures"]
    return (
        max(
            shard_minutes(config, stream, STRUCTURE_SOURCES[name].builder_calls(settings), builder)
            for name, builder in structure_builders(config).items()
        )
        if structure_builders(config)
        else 5
    )
