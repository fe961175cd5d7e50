import copy

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from synthpt.campaign import (
    path_sets,
    pretrained_models,
    sweep,
    sweep_slice,
    teacher_of,
)
from synthpt.checks import ConfigError, check_config
from synthpt.paths import ModelId


@pytest.fixture
def config(root):
    return yaml.safe_load((root / "config" / "config.yaml").read_text())


@pytest.fixture
def six(root):
    """The carbon campaign (n = 10-80, seeds 1-3) with config/strategies.yaml's six strategies."""
    from synthpt.configs import load_campaign

    carbon = load_campaign(root / "config" / "carbon.yaml")
    six = load_campaign(root / "config" / "strategies.yaml")["finetune"]["strategies"]
    carbon["finetune"]["strategies"] = six
    return carbon


def test_default_config_is_valid(root, config):
    validate(copy.deepcopy(config), schema=str(root / "config" / "schema.yaml"))
    check_config(config)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c["subsets"].update(sizes=[10, "x"]), "'x' is not of type 'integer'"),
        (lambda c: c["model"].update(dtype="float16"), "'float16' is not one of"),
        (lambda c: c.update(teacher=["snap"]), "Additional properties are not allowed"),
        (lambda c: c["structures"].pop("min_distance"), "'min_distance' is a required property"),
        (lambda c: c["calculators"]["snap"].update(type="vasp"), "'vasp' is not one of"),
        (lambda c: c["structures"].pop("driver"), "'driver' is a required property"),
        (lambda c: c["subsets"].pop("n_valid"), "'n_valid' is a required property"),
        (lambda c: c["finetune"].update(lr={"scratch": "fast"}), "is not valid under any"),
        (lambda c: c["finetune"].update(lr={"finetuned": 0.01}), "is not valid under any"),
        (lambda c: c["pretrain"].update(lr="auto"), "'auto' is not of type 'number'"),
        (lambda c: c["real"].update(pool="a.xyz"), "is not valid under any of the given schemas"),
        (lambda c: c["real"].update(e0s="guess"), "is not valid under any of the given schemas"),
        (lambda c: c.update(campaign=".."), "does not match"),
    ],
)
def test_schema_rejects_bad_values_with_a_clear_message(root, config, change, message):
    change(config)
    with pytest.raises(WorkflowError, match=message):
        validate(config, schema=str(root / "config" / "schema.yaml"))


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c.update(teachers=["chgnet"]), "teachers: 'chgnet' is not one of calculators"),
        (lambda c: c.update(reference="snap"), "reference 'snap' is also a teacher"),
        (
            lambda c: c["subsets"].update(sizes=[10, 130]),
            r"the largest size 130 plus the validation set \(n_valid 20\) exceeds the pool",
        ),
        (
            lambda c: c["finetune"].update(batch_size=11),
            r"finetune.batch_size \(11\) exceeds the smallest subset \(n10\)",
        ),
        (
            lambda c: (
                c["structures"].update(source="random", density_range=[3, 2], relax_with="snap"),
                c["synthetic"].update(n_structures=100),
            ),
            "low 3 above high 2",
        ),
        (lambda c: c["synthetic"].update(n_shards=5000), "synthetic.n_shards"),
        (
            lambda c: (
                c["structures"].update(replicas=3),  # 54 trajectories x 20 = 1080, 95% train
                c["pretrain"].update(batch_size=2000),
            ),
            r"pretrain.batch_size \(2000\) exceeds the 1026 structures",
        ),
        (
            lambda c: c["pretrain"].update(sizes=[10]),
            r"pretrain.batch_size \(20\) exceeds the 10 structures",
        ),
        (lambda c: c["real"].update(e0s={"Si": -1.0}), r"real.e0s: given for \['Si'\]"),
        (
            lambda c: c.update(real={"pool": "nope.xyz", "test": "t.xyz"}, reference="dft"),
            "real: file 'nope.xyz' not found",
        ),
        (
            lambda c: c.update(real={"pool": "p.xyz", "test": "t.xyz", "stress_key": "stress"}),
            r"real.stress_key \('stress'\): stress is neither trained on nor scored",
        ),
        (
            lambda c: c["structures"].update(source="molecules", molecules=["H2O"]),
            r"structures.molecules: H2O holds \['H', 'O'\], not in elements \['C'\]",
        ),
        (
            lambda c: c["structures"].update(composition={"C": 1, "Si": 1}),
            r"structures.composition: \['Si'\] not in elements \['C'\]",
        ),
        (
            lambda c: c["structures"].update(source="molecules", molecules=["C60-ish"]),
            "'C60-ish' is not in ASE's g2 set",
        ),
        (
            lambda c: c["calculators"].update(gap={"type": "gap", "xml": "none.xml"}),
            "calculators.gap.xml: file 'none.xml' not found",
        ),
        (
            lambda c: c["structures"].update(source="files", files=["none.xyz"]),
            "structures: file 'none.xyz' not found",
        ),
    ],
)
def test_inconsistent_sections_are_named(config, change, message):
    change(config)
    with pytest.raises(ConfigError, match=message):
        check_config(config)


def test_sweep_pairs_every_fine_tuned_model_with_a_scratch_twin(six):
    config = six
    models = sweep(config)
    sizes, seeds = config["subsets"]["sizes"], config["subsets"]["seeds"]
    teachers, strategies = len(config["teachers"]), len(config["finetune"]["strategies"])
    assert strategies == 6  # finetune, discriminative, frozen, energy_only, lora, replay
    assert len(models) == len(sizes) * (len(seeds) * (1 + strategies * teachers) + teachers)
    for model in models:
        assert ModelId.from_path(model.path) == model
    assert ModelId.from_path("finetune/snap/n10/seed2") == ModelId("finetune", "snap", 10, 2)
    assert ModelId.from_path("frozen/snap/n10/seed2").mode == "frozen"
    for mode in ("scratch", *config["finetune"]["strategies"]):
        assert {(m.n_real, m.seed) for m in models if m.mode == mode} == {
            (n, s) for n in sizes for s in seeds
        }
    zero_shot = [m for m in models if m.mode == "zero-shot"]
    assert {(m.pretrained, m.seed) for m in zero_shot} == {("snap", 0)} and len(zero_shot) == 4
    assert ModelId.from_path("scratch/n80/seed1").pretrained == "none"
    with pytest.raises(ValueError, match="not a model path"):
        ModelId.from_path("pretrain/snap")


def test_pretraining_size_sweep_adds_pretrained_models(six):
    config = six
    config["pretrain"]["sizes"] = [100, 300]
    assert pretrained_models(config) == ["snap", "snap-s100", "snap-s300"]
    assert teacher_of("snap-s300") == ("snap", 300) and teacher_of("snap") == ("snap", None)
    models = sweep(config)
    assert ModelId.from_path("finetune/snap-s100/n10/seed1") in models
    assert ModelId.from_path("zero-shot/snap-s300/n80/seed0") in models
    assert len(models) == 4 * (3 * (1 + 6 * 3) + 3)


@pytest.mark.parametrize(
    "name, count, check",
    [
        ("n20", 22, lambda m: m.n_real == 20),  # 3 seeds x (scratch + 6 strategies), zero-shot
        ("seed2", 28, lambda m: m.seed == 2),
        ("scratch", 12, lambda m: m.mode == "scratch"),
        ("teacher-snap", 76, lambda m: m.mode != "scratch" and m.pretrained == "snap"),
    ],
)
def test_sweep_slices_select_one_size_seed_or_teacher(six, name, count, check):
    chosen = sweep_slice(six, name)
    assert len(chosen) == count and all(check(m) for m in chosen)


def test_unknown_sweep_slice_is_explained(config):
    with pytest.raises(ConfigError, match="holds no model"):
        sweep_slice(config, "n999")


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda c: c.update(real={"pool": "a.xyz", "test": "b.xyz", "energy_units": "eV"}),
            "config real: Additional properties are not allowed ('energy_units' was unexpected);"
            " allowed: config_types, duplicates, e0s, energy_key, energy_unit,",
        ),
        (
            lambda c: c.update(bogus=1),
            "config top level: Additional properties are not allowed ('bogus' was unexpected);"
            " allowed: calculators, campaign,",
        ),
        (
            lambda c: c["finetune"].update(lr={"scratch": "fast"}),
            "config finetune.lr.scratch: 'fast' is not of type 'number'",
        ),
        (
            lambda c: c["model"].update(dtype="float16"),
            "config model.dtype: 'float16' is not one of",
        ),
    ],
)
def test_schema_problems_name_the_key_in_one_line(root, config, change, message):
    from synthpt.checks import schema_problem

    schema = yaml.safe_load((root / "config" / "schema.yaml").read_text())
    assert schema_problem(config, schema) is None
    change(config)
    problem = schema_problem(config, schema)
    assert problem.startswith(message) and "\n" not in problem and len(problem) < 400


def test_a_config_error_reaches_the_console_before_any_job(root, tmp_path):
    from conftest import snakemake

    bad = yaml.safe_load((root / "tests" / "configs" / "tiny.yaml").read_text())
    bad["real"] = {"pool": "a.xyz", "test": "b.xyz", "energy_units": "eV"}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    run = snakemake(root, tmp_path, "--dry-run", configfile=path)
    output = run.stdout + run.stderr
    assert run.returncode != 0 and "('energy_units' was unexpected)" in output
    assert len(output.splitlines()) < 20  # no schema dump


def test_a_report_before_its_campaign_says_which_campaign_to_run(root, tmp_path):
    from conftest import TINY, snakemake

    run = snakemake(root, tmp_path, "--report", "report.html")
    output = run.stdout + run.stderr
    assert run.returncode != 0 and not (tmp_path / "report.html").exists()
    name = yaml.safe_load(TINY.read_text())["campaign"]
    assert f"--report: campaign '{name}' has not finished (10 of its 10 final outputs" in output
    assert "then make the report" in output and "marked for report" not in output


def test_pretraining_seeds_add_pretrained_models_each_tuned_and_fine_tuned(root, tmp_path):
    from conftest import TINY, snakemake
    from synthpt.campaign import pretraining_family, pretraining_seed
    from synthpt.tuning import tuning_groups

    config = yaml.safe_load(TINY.read_text())
    config["pretrain"]["seeds"] = 3
    teacher = config["teachers"][0]
    assert pretrained_models(config) == [teacher, f"{teacher}-p2", f"{teacher}-p3"]
    assert teacher_of(f"{teacher}-p2") == (teacher, None)
    assert [pretraining_seed(p, 7) for p in pretrained_models(config)] == [7, 8, 9]
    assert {pretraining_family(p) for p in pretrained_models(config)} == {teacher}
    finetuned = {m.pretrained for m in sweep(config) if m.mode not in ("scratch",)}
    assert finetuned == set(pretrained_models(config))
    path = tmp_path / "seeds.yaml"
    path.write_text(yaml.safe_dump(config))
    run = snakemake(root, tmp_path, "--dry-run", "--printshellcmds", configfile=path)
    assert run.returncode == 0, run.stderr[-2000:]
    jobs = dict(
        line.split()[:2] for line in run.stdout.splitlines() if line[:1].isalpha() and "  " in line
    )
    tuned = [g for g in tuning_groups(config) if g.mode != "scratch"]
    assert {g.pretrained for g in tuned} == set(pretrained_models(config))  # each replica tuned
    assert jobs["pretrain"] == "3" and jobs["choose_lr"] == str(len(tuning_groups(config)))


def test_model_paths_are_built_and_matched_by_one_home(six):
    import re

    from synthpt.campaign import coverage_model, smallest_size_models, strategies
    from synthpt.paths import model_pattern

    pattern = model_pattern(strategies(six))
    trained = [m for m in sweep(six) if m.mode != "zero-shot"]
    assert all(re.fullmatch(pattern, m.path) for m in trained)
    assert all(ModelId.from_path(m.path) == m for m in sweep(six))
    assert not re.fullmatch(pattern, "zero-shot/snap/n10/seed0")  # zero-shot: not trained
    assert coverage_model(six) in smallest_size_models(six)
    assert {m.n_real for m in smallest_size_models(six)} == {min(six["subsets"]["sizes"])}


def test_an_ordered_path_must_be_a_named_test_set(config, tmp_path):
    files = {name: tmp_path / f"{name}.xyz" for name in ("pool", "md", "scan")}
    for path in files.values():
        path.write_text("")
    config.update(reference="dft")
    config["real"] = {"pool": str(files["pool"]), "test": {"md": str(files["md"])}}
    config["real"]["paths"] = ["scan"]
    with pytest.raises(ConfigError, match=r"real.paths: \['scan'\] are not named test sets"):
        check_config(config)
    config["real"]["test"]["scan"] = str(files["scan"])
    check_config(config)
    assert path_sets(config) == ["scan"]
