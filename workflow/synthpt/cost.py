"""Resource requests of the campaign's jobs: padded one-core estimates from the config (the
cluster kills a job past its request, so each is about twice the estimate plus start-up)."""

from __future__ import annotations

import math

from synthpt.calculators import seconds_per_call
from synthpt.campaign import atoms_per_structure, structure_builders, synthetic_count
from synthpt.replay import replay_count
from synthpt.sources import STRUCTURE_SOURCES, source_of
from synthpt.strategies import STRATEGIES
from synthpt.structures import shard_groups, shards_per_job
from synthpt.training import schedule_for

# MACE training, seconds per atom and optimizer step, of a model of the default's size (16
# channels, max_L 0) in float32 (float64: twice), one CPU thread: bench/training.py measured
# 2,820 atoms/s (3.5e-4). On one GPU (an H200, bench/run.py presets, 2026-12-04): the paper
# model's step measured 1.8e-6 per default-size atom-step; a step of a smaller model or batch
# costs at least GPU_STEP_SECONDS, measured 0.057-0.073 s (launches and host work, not flops).
SECONDS_PER_ATOM_STEP = {"cpu": 4e-4, "cuda": 2e-6}
GPU_STEP_SECONDS = 0.06
# Two idle threads train 1.7x faster than one (measured on 2 cores): speed-up threads**0.75.
THREAD_SCALING = 0.75
# The per-atom cost of other sizes: (channels / 16)^2 x (max_L + 1)^2. The paper model (64
# channels, max_L 1) measured 48 atoms/s against 2,820: 59x, against 64x from this.
REFERENCE_CHANNELS = 16
# A scored model's prediction (forward and force pass) against a training step.
PREDICT_PER_STEP = 0.5
# No request above this: GPU partitions cap jobs near two days; resume carries a longer run
# across requeues (training state at each validation pass).
MAX_RUNTIME_MINUTES = 48 * 60
# Rules that run a MACE model and ask for a GPU when model.device is cuda: the SLURM profile
# (slurm/config.yaml) routes each of them to the GPU partition.
GPU_RULES = (
    "pretrain", "train_scratch", "finetune", "tune_scratch", "tune_finetune",
    "evaluate", "evaluate_zero_shot", "evaluate_pretrain",
)  # fmt: skip
# Estimated teacher work per synthetic labelling job: a job's start-up (1-2 s) stays a few %.
LABEL_JOB_SECONDS = 120
# mace's HDF5 files: reading one structure and building its graph, one core (bench/hdf5.py: ~8
# ms for 8-atom cells); preprocess_data reads the extxyz and writes the file (~4 ms).
HDF5_SECONDS_PER_LOAD = 0.01
HDF5_SECONDS_PER_WRITE = 0.005


def seconds_per_atom_step(config: dict) -> float:
    """Estimated training seconds per atom and step of the campaign's model on its device
    (model.device) with its threads (threads.train; CPU only)."""
    model = config["model"]
    size = (model["num_channels"] / REFERENCE_CHANNELS) ** 2 * (model["max_L"] + 1) ** 2
    seconds = SECONDS_PER_ATOM_STEP[model["device"]] * size
    seconds *= 2 if model["dtype"] == "float64" else 1
    if model["device"] == "cpu":
        seconds /= config["threads"]["train"] ** THREAD_SCALING
    return seconds


def step_seconds(config: dict, atoms: float) -> float:
    """One optimizer step over ``atoms`` atoms (a GPU step has a floor)."""
    seconds = atoms * seconds_per_atom_step(config)
    return max(seconds, GPU_STEP_SECONDS) if config["model"]["device"] == "cuda" else seconds


def request(seconds: float, start_minutes: int = 10) -> int:
    """A wall-time request in minutes: start-up plus twice the estimate, at most
    MAX_RUNTIME_MINUTES."""
    return min(start_minutes + math.ceil(2 * seconds / 60), MAX_RUNTIME_MINUTES)


def retried(minutes: int, attempt: int) -> int:
    """The request of retry ``attempt`` (1, 2, ...): ``minutes`` times the attempt, at most
    MAX_RUNTIME_MINUTES (a job that resumes needs no more than one request's time)."""
    return min(minutes * attempt, MAX_RUNTIME_MINUTES)


def training_minutes(
    config: dict,
    schedule: str,
    hdf5: bool = False,
    size: int | None = None,
    mode: str = "finetune",
) -> int:
    """Wall-time request of one training job (``pretrain`` or ``finetune`` schedule) at its
    cap: max_epochs over the synthetic set (or its first ``size`` structures, a portion of
    the pre-training-size sweep), or ``mode``'s max_steps batches of real structures (and its
    replayed ones); from HDF5 files, each structure also loaded once an epoch and twice before
    the first."""
    settings, atoms = schedule_for(config[schedule], mode), atoms_per_structure(config)
    if schedule == "pretrain":
        per_epoch = size or synthetic_count(config)
        steps = math.ceil(per_epoch / settings["batch_size"]) * settings["max_epochs"]
        structures = per_epoch * settings["max_epochs"]
    else:  # a replay strategy's steps on its replayed structures come on top of max_steps
        per_epoch = 0
        steps = settings["max_steps"] + replay_count(STRATEGIES.get(mode), settings["max_steps"])
        structures = steps * settings["batch_size"]
    seconds = steps * step_seconds(config, structures / steps * atoms)
    if hdf5:
        seconds += (structures + 2 * per_epoch) * HDF5_SECONDS_PER_LOAD
    return request(seconds)


def test_structures(config: dict) -> int:
    """Structures of the campaign's test set (user files: ~1000 taken, for estimates)."""
    return config["real"].get("n_test", 1000)


def evaluation_minutes(config: dict) -> int:
    """Wall-time request of scoring one model on its device: predicting the test structures
    and the held-out synthetic ones (against the teacher), then its MD stability runs, one
    prediction a step."""
    n_valid = math.ceil(synthetic_count(config) * config["synthetic"].get("valid_fraction", 0.05))
    n_test = test_structures(config) + n_valid
    atoms = atoms_per_structure(config)
    settings = config["stability"]
    steps = settings["n_structures"] * settings["steps"]
    seconds = PREDICT_PER_STEP * (n_test * atoms * seconds_per_atom_step(config))
    seconds += PREDICT_PER_STEP * steps * step_seconds(config, atoms)
    return request(seconds, start_minutes=5)


def preprocess_minutes(config: dict, size: int | None = None) -> int:
    """Wall-time request of writing a synthetic set (or its first ``size``) as HDF5 files."""
    structures = size or synthetic_count(config)
    return request(structures * HDF5_SECONDS_PER_WRITE)


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
    return request(seconds, start_minutes=5)


def test_label_minutes(config: dict, teacher: str) -> int:
    """Wall-time request of a teacher labelling the test set."""
    return request(test_structures(config) * call_seconds(config, teacher), start_minutes=5)


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
