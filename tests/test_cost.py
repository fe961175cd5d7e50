"""The job-cost model: resource requests as functions of the config."""

import copy
import math

import pytest
import yaml

from synthpt.cost import (
    LABEL_JOB_SECONDS,
    MAX_RUNTIME_MINUTES,
    evaluation_minutes,
    generation_minutes,
    label_calls,
    label_groups,
    label_minutes,
    preprocess_minutes,
    retried,
    shard_seconds,
    stream_units,
    training_minutes,
)


@pytest.fixture
def config(root):
    return yaml.safe_load((root / "config" / "config.yaml").read_text())


def test_training_requests_grow_with_the_cap_and_double_in_float64(config):
    base = training_minutes(config, "pretrain") - 10  # start-up apart
    longer = copy.deepcopy(config)
    longer["pretrain"]["max_epochs"] *= 2
    assert training_minutes(longer, "pretrain") - 10 == pytest.approx(2 * base, abs=1)
    double = copy.deepcopy(config)
    double["model"]["dtype"] = "float64"
    assert training_minutes(double, "finetune") - 10 == pytest.approx(
        2 * (training_minutes(config, "finetune") - 10), abs=1
    )


def test_replay_asks_for_its_replayed_steps_too(config):
    # replay's max_steps count real structures; as many replayed ones double its steps
    finetune = training_minutes(config, "finetune", mode="finetune") - 10  # start-up apart
    assert training_minutes(config, "finetune", mode="replay") - 10 == pytest.approx(
        2 * finetune, abs=1
    )
    assert training_minutes(config, "finetune", mode="lora") - 10 == finetune


def test_hdf5_pre_training_asks_for_its_loading_and_preprocessing_for_its_writing(config):
    """From HDF5 each structure is loaded (~10 ms) once an epoch and twice more at the start."""
    structures = 720  # the default's 36 trajectories x 20 snapshots
    extra = 2 * (structures * config["pretrain"]["max_epochs"] + 2 * structures) * 0.01 / 60
    gained = training_minutes(config, "pretrain", hdf5=True) - training_minutes(config, "pretrain")
    assert gained == pytest.approx(extra, abs=1)
    assert (
        preprocess_minutes(config, 100)
        <= preprocess_minutes(config)
        == 10 + math.ceil(2 * structures * 0.005 / 60)
    )


def test_labelling_jobs_cover_every_shard_once_with_about_two_minutes_of_work(config):
    teacher = config["teachers"][0]
    groups = label_groups(config, teacher)
    assert [k for g in groups for k in g] == list(range(config["synthetic"]["n_shards"]))
    per_shard = shard_seconds(config, "synthetic", label_calls(config), teacher)
    assert all(len(g) == 1 or len(g) * per_shard <= LABEL_JOB_SECONDS for g in groups)
    assert len(groups) == 1 or len(groups[0]) * per_shard > LABEL_JOB_SECONDS - per_shard
    pinned = copy.deepcopy(config)
    pinned["calculators"][teacher]["shards_per_job"] = 1
    assert len(label_groups(pinned, teacher)) == config["synthetic"]["n_shards"]
    assert label_minutes(pinned, teacher, 0) <= label_minutes(config, teacher, 0)


def test_a_trajectory_costs_its_md_steps_and_is_labelled_per_snapshot(config):
    settings = config["structures"]
    assert label_calls(config) == round(settings["anneal_ps"] / settings["snapshot_ps"])
    assert stream_units(config, "real") == config["real"]["n_pool"] + config["real"]["n_test"]
    longer = copy.deepcopy(config)
    longer["structures"]["anneal_ps"] *= 3  # melt 1 + quench 1 + anneal 2 ps -> 1 + 1 + 6
    steps = [generation_minutes(c, "synthetic") - 5 for c in (config, longer)]
    assert steps[1] == pytest.approx(steps[0] * 8 / 4, abs=1)


def test_augmentation_is_labelled_per_link_of_its_chains(config):
    config["structures"] = {"source": "augment", "n_chains": 10, "chain_length": 6,
                            "widths": [0.1], "min_distance": 1.0, "max_force": 20.0,
                            "relax_steps": 3}  # fmt: skip
    config["synthetic"]["n_shards"] = 5
    assert label_calls(config) == 6
    builder = config["teachers"][0]
    per_shard = shard_seconds(config, "synthetic", 6 * (2 + 3), builder)
    assert generation_minutes(config, "synthetic") == 5 + math.ceil(2 * per_shard / 60)


def test_training_requests_follow_the_device_threads_size_and_portion(root, config):
    paper = yaml.safe_load((root / "config" / "paper.yaml").read_text())
    on_gpu = training_minutes(paper, "pretrain")
    on_cpu = training_minutes(paper | {"model": paper["model"] | {"device": "cpu"}}, "pretrain")
    assert on_gpu < on_cpu == MAX_RUNTIME_MINUTES  # days on CPU cores: capped at two days
    assert training_minutes(paper, "pretrain", size=1000) < on_gpu / 5  # 1,000 of 11,000 cells
    two = copy.deepcopy(config)
    two["threads"]["train"] = 2
    assert training_minutes(two, "finetune") < training_minutes(config, "finetune")
    wider = copy.deepcopy(config)
    wider["model"]["num_channels"] *= 2  # four times the work per atom
    assert training_minutes(wider, "finetune") - 10 == pytest.approx(
        4 * (training_minutes(config, "finetune") - 10), rel=0.05
    )
    assert retried(on_gpu, 3) == min(3 * on_gpu, MAX_RUNTIME_MINUTES)


def test_scoring_asks_for_its_md_steps_on_its_device(root, config):
    paper = yaml.safe_load((root / "config" / "paper.yaml").read_text())
    cpu = paper | {"model": paper["model"] | {"device": "cpu"}}
    assert evaluation_minutes(paper) < evaluation_minutes(cpu) / 10
    longer = copy.deepcopy(config)
    longer["stability"]["steps"] *= 10
    assert evaluation_minutes(longer) > evaluation_minutes(config)
