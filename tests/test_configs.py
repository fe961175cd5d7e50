"""Configs by overlay (synthpt.configs): a campaign names a base: config and gives only what
differs."""

import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, job_counts
from synthpt.configs import OverlayError, load_campaign, merge


def ordered(config):
    """The config with every mapping's key order made visible (Snakemake compares params,
    order included: an overlay must resolve to the same order as the whole file)."""
    if isinstance(config, dict):
        return [(key, ordered(value)) for key, value in config.items()]
    return config


def test_a_section_takes_the_overlays_keys_each_whole_and_null_deletes():
    base = {"a": 1, "real": {"n_pool": 70, "test": {"md300": "x", "md600": "y"}, "e0s": "fit"}}
    overlay = {"real": {"test": {"mine": "z"}, "e0s": None, "pool": ["p"]}, "b": 2}
    assert ordered(merge(base, overlay)) == ordered(
        {"a": 1, "real": {"n_pool": 70, "test": {"mine": "z"}, "pool": ["p"]}, "b": 2}
    )
    assert merge(base, {"real": None}) == {"a": 1}


def test_carbon_and_strategies_are_overlays_of_the_default():
    default = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    carbon = load_campaign(ROOT / "config" / "carbon.yaml")
    assert "base" in yaml.safe_load((ROOT / "config" / "carbon.yaml").read_text())
    assert [key for key in carbon] == [key for key in default]  # the default's order
    assert carbon["campaign"] == "carbon" and carbon["subsets"]["sizes"] == [10, 20, 40, 80]
    assert carbon["model"] == default["model"] and carbon["structures"]["replicas"] == 3
    strategies = load_campaign(ROOT / "config" / "strategies.yaml")
    assert {**strategies, "campaign": "default", "finetune": default["finetune"]} == default
    assert strategies["finetune"]["strategies"] == [
        "finetune", "discriminative", "frozen", "energy_only", "lora", "replay",
    ]  # fmt: skip


def test_a_chain_that_returns_or_a_missing_base_is_named(tmp_path):
    (tmp_path / "a.yaml").write_text("base: b.yaml\ncampaign: a\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\n")
    with pytest.raises(OverlayError, match=r"a\.yaml: base: the chain returns to .*a\.yaml"):
        load_campaign(tmp_path / "a.yaml")
    (tmp_path / "c.yaml").write_text("base: nowhere.yaml\n")
    with pytest.raises(OverlayError, match=r"c\.yaml: base: cannot read .*nowhere\.yaml"):
        load_campaign(tmp_path / "c.yaml")


def snakemake(workdir, configfile, *args):
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--cores",
         "1", "--directory", str(workdir), "--configfile", str(configfile), *args],
        capture_output=True, text=True,
    )  # fmt: skip


def test_the_workflow_runs_the_resolved_overlay_and_records_it_whole(tmp_path):
    overlay = ROOT / "config" / "strategies.yaml"
    run = snakemake(tmp_path, overlay, "--dry-run")
    assert run.returncode == 0, run.stderr[-3000:]
    jobs = job_counts(run.stdout)
    assert jobs["finetune"] == 6 * 2 * 3 and jobs["train_scratch"] == 2 * 3  # 6 modes, n, seeds
    run = snakemake(tmp_path, overlay, "--", "results/strategies/provenance/config.yaml")
    assert run.returncode == 0, run.stderr[-3000:]
    recorded = yaml.safe_load((tmp_path / "results/strategies/provenance/config.yaml").read_text())
    resolved = load_campaign(overlay)
    assert "base" not in recorded and recorded["campaign"] == "strategies"
    assert contains(recorded, resolved)  # the whole resolved config, and the schema's defaults


def contains(whole, part) -> bool:
    """Every key of ``part``, at every depth, is in ``whole`` with the same value."""
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(
            key in whole and contains(whole[key], value) for key, value in part.items()
        )
    return whole == part


def test_the_own_data_overlay_resolves_and_stops_on_its_placeholders(tmp_path):
    example = ROOT / "config" / "examples" / "my_system.yaml"
    config = load_campaign(example)
    template = load_campaign(ROOT / "config" / "own_data.yaml")
    assert config["real"]["test"] == "data/my_system/test.xyz"  # not acac's four sets
    assert config["model"] == template["model"] and config["campaign"] == "my_system"
    run = snakemake(tmp_path, example, "--dry-run")
    assert run.returncode != 0
    assert "data/my_system/train.xyz" in run.stderr + run.stdout


def test_a_default_is_read_from_the_schema_through_refs_and_combinators():
    from synthpt.configs import schema_default, setting

    schema = yaml.safe_load((ROOT / "config/schema.yaml").read_text())
    stated = schema["definitions"]["schedule"]["properties"]["lr_factor"]["default"]
    assert schema_default("finetune", "lr_factor") == stated  # allOf, then $ref
    assert schema_default("real", "e0s") == schema["definitions"]["e0s"]["default"]  # $ref
    assert schema_default("finetune", "lr_grid") == [0.0001, 0.0003, 0.001, 0.003, 0.01]
    with pytest.raises(KeyError, match="no default for structures.n_atoms"):
        schema_default("structures", "n_atoms")
    assert setting({"lr_factor": 0.5}, "finetune", "lr_factor") == 0.5
    assert setting({}, "finetune", "lr_factor") == stated


def test_the_training_plan_takes_the_schema_defaults_a_config_leaves_out():
    from synthpt.configs import schema_default
    from synthpt.training import training_plan

    schedule = {"batch_size": 2, "lr": 0.01, "max_steps": 100, "eval_steps": 10,
                "energy_weight": 1.0, "forces_weight": 1.0, "patience": 3}  # fmt: skip
    plan = training_plan("scratch", {"schedule": schedule, "reference": "dft"}, 10)
    assert plan.schedule["lr_factor"] == schema_default("finetune", "lr_factor")
    assert plan.min_delta == schema_default("finetune", "min_delta")
    assert plan.warmup_steps == schema_default("finetune", "warmup_steps")
    assert plan.e0s == schema_default("real", "e0s")
