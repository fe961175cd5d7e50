from pathlib import Path
import os
import sys

from snakemake.utils import validate

PACKAGE_DIR = str(Path(workflow.basedir) / "workflow")
sys.path.insert(0, PACKAGE_DIR)
# Every job's script (local, SLURM or conda) imports synthpt from this checkout.
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        [PACKAGE_DIR]
        + [
            p
            for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
            if p not in ("", PACKAGE_DIR)
        ]
    )
)

import yaml

from synthpt.campaign import (
    augment_seed_files,
    structure_builders,
    SWEEP_SLICE,
    coverage_model,
    smallest_size_models,
    file_list,
    pretrained_models,
    real_files,
    real_from_files,
    strategies,
    structure_source,
    sweep,
    sweep_slice,
    synthetic_count,
    teacher_of,
    pretraining_seed,
    reads_hdf5,
    test_set_paths,
    path_sets,
    end_size_models,
)
from synthpt.checks import USER_FILE_KEYS, check_config, report_problem, schema_problem
from synthpt.configs import BASE, ConfigError, OverlayError, setting
from synthpt.configs import resolve as resolve_overlays
from synthpt.structures import AUGMENT
from synthpt.export import export_groups
from synthpt.paths import (
    EXPORT,
    FINETUNED_PATH,
    FINETUNE_TUNING_PATH,
    NO_TEACHER,
    PRETRAINED_DIR,
    PRETRAINED_METRICS,
    SCRATCH_PATH,
    SCRATCH_TUNING_PATH,
    ZERO_SHOT,
    ZERO_SHOT_PATH,
    ModelId,
    TuningRun,
    export_dir,
    metrics_dir,
    model_dir,
    pretrained_dir,
    results_dir,
    training_outputs,
    tuning_dir,
    path_wildcards,
)
from synthpt.hdf5 import (
    DATA_PATH_KEYS,
    HDF5_SET,
    hdf5_set_dir,
    portion_name,
    portion_size,
)
from synthpt.strategies import STRATEGIES
from synthpt.training import schedule_for
from synthpt.tuning import (
    CHOSEN as TUNING_CHOICE,
    tuned_modes,
    tuning_groups,
    tuning_runs,
    tuning_subset,
)
from synthpt.cost import (
    generation_minutes,
    label_groups,
    label_minutes,
    evaluation_minutes,
    preprocess_minutes,
    retried,
    shard_minutes,
    stream_units,
    test_label_minutes,
    training_minutes,
)
from synthpt.sources import mix_parts, source_names
from synthpt.structures import shard_indices

# A config naming a base: config holds only what differs from it (synthpt.configs).
if BASE in config:
    CONFIG_FILES = workflow.overwrite_configfiles or [
        Path(workflow.basedir) / "config" / "config.yaml"
    ]
    try:
        resolved = resolve_overlays(CONFIG_FILES, workflow.config_settings.config)
    except OverlayError as error:
        raise ConfigError(str(error)) from None
    config.clear()
    config.update(resolved)

SCHEMA = Path(workflow.basedir) / "config" / "schema.yaml"
if problem := schema_problem(config, yaml.safe_load(SCHEMA.read_text())):
    raise ConfigError(problem)  # one line naming the key, before Snakemake's own check
validate(config, schema="../../config/schema.yaml")
check_config(config)

RESULTS = results_dir(config["campaign"])
LOGS = f"{RESULTS}/logs"
BENCHMARKS = f"{RESULTS}/benchmarks"
ENV = "../../envs/synthpt.yaml"
MODELS = sweep(config)
REAL_FROM_FILES = real_from_files(config)
# The ingest report of the user's real data; training waits for it.
REAL_CHECKED = f"{RESULTS}/real/ingest.json" if REAL_FROM_FILES else []
REAL_VALID = f"{RESULTS}/real/valid.extxyz"
# Every test set by name, the headline (real/test.extxyz) first; every model is scored on each.
TEST_SETS = test_set_paths(RESULTS, config)

# The model-path grammar's wildcards (synthpt.paths).
MODEL_WILDCARDS = path_wildcards(strategies(config))


wildcard_constraints:
    shard=r"\d+",
    batch=r"\d+",
    teacher="[A-Za-z0-9]+",
    n=r"\d+",
    seed=r"\d+",
    portion=r"all|s\d+",
    sweep=SWEEP_SLICE,
    pretrained=MODEL_WILDCARDS["pretrained"],
    strategy=MODEL_WILDCARDS["strategy"],
    model=MODEL_WILDCARDS["model"],
    lr=MODEL_WILDCARDS["lr"],
    group=MODEL_WILDCARDS["group"],


TUNED = tuned_modes(config)
TUNING_N_SEED = tuning_subset(config)


def real_subset(seed, n):
    """Training seed ``seed``'s nested subset of ``n`` real structures."""
    return f"{RESULTS}/real/subsets/seed{seed}/n{n}.extxyz"


TUNING_SUBSET = real_subset(TUNING_N_SEED[1], TUNING_N_SEED[0])
TUNING_SEED = TUNING_N_SEED[1]
TUNING_CHOICES = [
    f"{RESULTS}/{tuning_dir(group.group)}/{TUNING_CHOICE}"
    for group in tuning_groups(config)
]


def tuned_rate(mode, pretrained=None):
    """The choice file of a mode whose learning rate the campaign tunes (else none)."""
    if mode not in TUNED:
        return []
    group = TuningRun(mode, pretrained or NO_TEACHER, "").group
    return f"{RESULTS}/{tuning_dir(group)}/{TUNING_CHOICE}"


def tuning_group_runs(group):
    return tuning_runs(config, TuningRun.from_group(group))


def tuning_records(group):
    return [
        f"{RESULTS}/{tuning_dir(r.path)}/training.json"
        for r in tuning_group_runs(group)
    ]


SOURCE = structure_source(config)
STRUCTURE_BUILDERS = structure_builders(config)


def structure_builder():
    """Settings of the calculator that relaxes cells or drives MD (None for user files; a
    mix: per source)."""
    builders = {k: calculator_settings(v) for k, v in STRUCTURE_BUILDERS.items()}
    if len(builders) > 1:
        return builders
    return next(iter(builders.values()), None)


def structure_seeds():
    """The files augmentation grows its chains from (the real pool's positions by default)."""
    if AUGMENT not in source_names(config["structures"]):
        return []
    return augment_seed_files(config, f"{RESULTS}/real/pool.extxyz")


def shard_range(stream, shard):
    indices = shard_indices(
        stream_units(config, stream), config[stream]["n_shards"], int(shard)
    )
    return (indices.start, indices.stop)


def shards(pattern, stream, **wildcards):
    return expand(pattern, shard=range(config[stream]["n_shards"]), **wildcards)


# Training and scoring run on model.device: on cuda each such job (synthpt.cost.GPU_RULES)
# asks for one GPU and threads.train cores; scoring on a CPU takes one core.
ON_GPU = config["model"]["device"] == "cuda"
TRAINING_GPUS = 1 if ON_GPU else 0
TRAINING_CPUS_PER_GPU = config["threads"]["train"] if ON_GPU else 0
EVALUATION_THREADS = config["threads"]["train"] if ON_GPU else 1


def synthetic_file(teacher, kind):
    """``teacher``'s gathered synthetic train or valid (held-out, never trained on) file."""
    return f"{RESULTS}/synthetic/{teacher}/{kind}.extxyz"


def synthetic_set(kind):
    """The gathered synthetic train or valid file of pre-trained model ``pretrained``."""
    return lambda wildcards: synthetic_file(teacher_of(wildcards.pretrained)[0], kind)


def pretraining_set(wildcards):
    """A pre-trained model's training data: the synthetic set as extxyz, or as mace's HDF5
    files with their description (count and E0s) once large (synthpt.campaign.reads_hdf5).
    """
    teacher, size = teacher_of(wildcards.pretrained)
    if not reads_hdf5(config, wildcards.pretrained):
        return {kind: synthetic_set(kind)(wildcards) for kind in ("train", "valid")}
    folder = hdf5_set_dir(RESULTS, teacher, portion_name(size))
    return {name: f"{folder}/{file}" for name, file in HDF5_SET.items()}


def replay_set(kind):
    """A replay strategy's pre-training structures (its pre-trained model's set); none else."""
    return lambda wildcards: (
        synthetic_set(kind)(wildcards) if STRATEGIES[wildcards.strategy].replay else []
    )


def label_batch_input(wildcards):
    group = label_groups(config, wildcards.teacher)[int(wildcards.batch)]
    return [f"{RESULTS}/structures/synthetic/shard-{k}.extxyz" for k in group]


def label_batches(pattern, teacher):
    return expand(
        pattern, batch=range(len(label_groups(config, teacher))), teacher=teacher
    )


def attempt_scaled(base):
    """A resource that grows with each retry (attempt 1, 2, ...)."""
    return lambda wildcards, attempt: base * attempt


def training_settings(schedule, mode=None):
    """Everything a training job of ``mode`` reads from the config (a change reruns the job):
    its own mode's rate (a number, or auto: then its tuning choice is an input) and cap,
    not the whole per-mode spec: changing one mode's setting reruns that mode alone."""
    settings = {
        "seed": config["seed"],
        "elements": config["elements"],
        "reference": config["reference"],
        "model": config["model"],
        # not the strategies nor the grid: a model reads its own mode's rate, chosen or pinned;
        # nor the pre-training sweeps: a model reads its own size and seed; nor how it reads
        # its data (the same model either way; its input files say which)
        "schedule": {
            k: v
            for k, v in config[schedule].items()
            if k not in ("strategies", "lr_grid", "sizes", "seeds", *DATA_PATH_KEYS)
        },
        **(
            {"e0s": setting(config["real"], "real", "e0s")}
            if schedule == "finetune"
            else {}
        ),
    }
    if mode is not None:
        settings["schedule"] = schedule_for(settings["schedule"], mode)
    return settings


def calculator_settings(name):
    return {
        "name": name,
        "spec": config["calculators"][name],
        "elements": config["elements"],
    }


def input_files():
    """Every user file the campaign reads: real data, structures, potential files."""
    structures = file_list(config["structures"]["files"]) if SOURCE == "files" else []
    potentials = [
        spec[key]
        for spec in config["calculators"].values()
        for key in USER_FILE_KEYS.get(spec["type"], ())
    ]
    return real_files(config) + structures + potentials


def model_identity(path):
    """The identity columns (mode, teacher, n_real, seed) of the model at ``path``."""
    return ModelId.from_path(path).columns()


def distance_teacher(model):
    """The teacher a model is scored against where no real data reaches: its pre-trained
    model's (a scratch model: the campaign's first)."""
    pretrained = ModelId.from_path(model).pretrained
    return (
        config["teachers"][0] if pretrained == NO_TEACHER else teacher_of(pretrained)[0]
    )


def set_predictions(model):
    """A model's predictions on each test set but the headline (predictions.extxyz)."""
    return [predictions_file(model, name) for name in list(TEST_SETS)[1:]]


def metrics_files(models):
    return [f"{RESULTS}/{metrics_dir(m.path)}/metrics.json" for m in models]


# Per trained mode, its models at the largest n: one of them is exported (export.smk).
EXPORT_GROUPS = export_groups(config)


# The coverage map: the first pre-trained model and its first strategy's model at the
# smallest n and first seed; at most so many structures of each set (evenly spaced).
COVERAGE_MODEL = coverage_model(config)
COVERAGE_STRUCTURES = 200


def predictions_file(model, name):
    """A model's predictions on test set ``name`` (the headline's: predictions.extxyz)."""
    own = "" if name == list(TEST_SETS)[0] else f"-{name}"
    return f"{RESULTS}/{metrics_dir(model)}/predictions{own}.extxyz"


# The path plot's models: every one at the smallest and largest n, on each ordered path.
PATH_PLOT = [
    (name, model) for name in path_sets(config) for model in end_size_models(config)
]


def final_outputs():
    paths = [f"{RESULTS}/plots/paths.png"] if PATH_PLOT else []
    return [
        f"{RESULTS}/coverage.csv",
        f"{RESULTS}/plots/coverage.png",
        f"{RESULTS}/provenance/provenance.json",
        f"{RESULTS}/learning_curves.csv",
        f"{RESULTS}/teacher_agreement.csv",
        f"{RESULTS}/plots/learning_curves.png",
        f"{RESULTS}/plots/parity.png",
        f"{RESULTS}/plots/cost.png",
        f"{RESULTS}/plots/stability.png",
        f"{RESULTS}/{EXPORT}/models.csv",
        *paths,
    ]


if problem := report_problem(sys.argv, config["campaign"], final_outputs()):
    raise ConfigError(problem)
