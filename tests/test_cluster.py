"""A GPU cluster run read from the DAG and the profile: what each job asks for, where it goes,
and models that load on a node without a GPU."""

import re
import sys

import yaml

from conftest import snakemake
from synthpt.cost import GPU_RULES, MAX_RUNTIME_MINUTES


def dry_run_jobs(output: str) -> list[tuple[str, dict]]:
    """(rule, resources) of every job a dry run lists."""
    jobs = []
    for block in re.split(r"^\s*\[.*\]\n", output, flags=re.MULTILINE):
        rule = re.search(r"^\s*(?:local)?rule (\w+):", block, flags=re.MULTILINE)
        found = re.search(r"^\s+resources: (.*)$", block, flags=re.MULTILINE)
        if rule and found:
            resources = dict(item.split("=", 1) for item in found[1].split(", "))
            jobs.append((rule[1], resources))
    return jobs


def test_paper_dag_on_cuda_asks_for_at_most_48_hours_and_routes_every_gpu_job(root, tmp_path):
    sys.path.insert(0, str(root / "bench"))
    from orchestration import paper_data

    paper_data(tmp_path)
    config = yaml.safe_load((root / "config" / "paper.yaml").read_text())
    assert config["model"]["device"] == "cuda"
    run = snakemake(root, tmp_path, "--dry-run", configfile=root / "config" / "paper.yaml")
    assert run.returncode == 0, run.stderr[-2000:]
    jobs = dry_run_jobs(run.stdout)
    totals = re.findall(r"^total\s+(\d+)$", run.stdout, flags=re.MULTILINE)
    assert len(jobs) == int(totals[-1])  # every job lists its resources
    longest = max(int(resources.get("runtime", 0)) for _, resources in jobs)
    assert longest <= MAX_RUNTIME_MINUTES == 48 * 60
    gpu_rules = {rule for rule, resources in jobs if int(resources.get("gpu", 0)) > 0}
    profile = yaml.safe_load((root / "slurm" / "config.yaml").read_text())
    routed = {
        rule for rule, settings in profile["set-resources"].items() if "slurm_partition" in settings
    }
    assert gpu_rules <= routed, f"GPU jobs without a partition: {gpu_rules - routed}"
    assert routed == set(GPU_RULES) >= gpu_rules
    # with lr: auto, the tuning grid runs on GPUs too, and it is routed
    assert {"tune_scratch", "tune_finetune", "evaluate", "pretrain"} <= gpu_rules
    # the pre-training-size portions ask for less than the whole sets
    pretrain = {}
    for block in re.split(r"^\s*\[.*\]\n", run.stdout, flags=re.MULTILINE):
        if re.search(r"^\s*rule pretrain:", block, flags=re.MULTILINE):
            name = re.search(r"pretrained=([\w-]+)", block)[1]
            pretrain[name] = int(re.search(r"runtime=(\d+)", block)[1])
    teacher = config["teachers"][0]
    sizes = sorted(config["pretrain"]["sizes"])
    assert pretrain[f"{teacher}-s{sizes[0]}"] < pretrain[f"{teacher}-s{sizes[-1]}"]
    assert pretrain[f"{teacher}-s{sizes[-1]}"] < pretrain[teacher]


def test_cpu_campaigns_ask_for_no_gpu(root, tmp_path):
    run = snakemake(root, tmp_path, "--dry-run")
    assert run.returncode == 0, run.stderr[-2000:]
    jobs = dry_run_jobs(run.stdout)
    assert jobs and all(int(resources.get("gpu", 0)) == 0 for _, resources in jobs)


def test_models_are_saved_on_the_cpu_and_cueq_is_asked_for_by_the_config():
    """A model trained on a GPU must load on a CPU node (the coverage map, a user's laptop):
    mace moves it to the CPU before saving. bench/gpu_smoke.py (and its smoke test in
    test_bench.py) loads a max_L 1 model in a process that sees no GPU."""
    from synthpt.mace_run import mace_arguments

    architecture = {"num_channels": 8, "max_L": 1, "max_ell": 2, "correlation": 2,
                    "r_max": 3.0, "num_interactions": 2}  # fmt: skip
    schedule = {"batch_size": 5, "lr": 0.01, "energy_weight": 1.0, "forces_weight": 10.0}
    common = dict(
        work_dir="w", train_file="t", energy_key="e", forces_key="f", e0s="{}", schedule=schedule,
        epochs=1, seed=1, dtype="float32", device="cuda", valid_file="v",
    )  # fmt: skip
    arguments = mace_arguments(architecture=architecture, **common)
    assert "--save_cpu" in arguments and "--device=cuda" in arguments
    assert not [a for a in arguments if a.startswith("--enable_cueq")]
    cueq = mace_arguments(architecture=architecture | {"cueq": True}, **common)
    assert "--enable_cueq=True" in cueq
