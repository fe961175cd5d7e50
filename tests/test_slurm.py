"""The campaign through `snakemake --profile slurm` on a real single-node SLURM.

CI starts SLURM with tests/slurm/start.sh; elsewhere these tests are skipped when no SLURM
answers (under CI=true they fail instead).
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import ROOT, TINY

pytestmark = pytest.mark.slurm


def slurm_up() -> bool:
    if not shutil.which("sinfo"):
        return False
    run = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True)
    return run.returncode == 0 and bool(re.search(r"idle|mix|alloc", run.stdout))


@pytest.fixture(scope="module", autouse=True)
def slurm():
    if not slurm_up():
        if os.environ.get("CI"):
            pytest.fail("SLURM is not running: .ci/run starts it with tests/slurm/start.sh")
        pytest.skip("no SLURM here: start one with tests/slurm/start.sh")


def profile_command(workdir, configfile, *targets):
    """The README's `make slurm` (the profile through synthpt.launch), on a test cluster."""
    arguments = [
        "--directory", str(workdir), "--configfile", str(configfile),
        "--slurm-init-seconds-before-status-checks", "2",
        "--slurm-logdir", str(Path(workdir) / "slurm_logs"), "--slurm-keep-successful-logs",
        "--jobs", "4", "--cores", "2", *targets,
    ]  # fmt: skip
    return ["make", "-C", str(ROOT), "slurm", f"ARGS={' '.join(arguments)}"]


def slurm_job_logs(workdir) -> dict[str, list[Path]]:
    """The plugin's per-SLURM-job logs, by rule or group: one file per sbatch submission."""
    logs, top = {}, Path(workdir) / "slurm_logs"
    for path in top.rglob("*.log"):
        logs.setdefault(path.relative_to(top).parts[0], []).append(path)
    return logs


@pytest.fixture(scope="module")
def slurm_campaign(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("slurm-campaign")
    run = subprocess.run(profile_command(workdir, TINY), capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-6000:]
    return workdir, run.stdout + run.stderr


def test_jobs_go_through_sbatch_and_give_the_local_results(slurm_campaign, campaign):
    workdir, output = slurm_campaign
    job_ids = set(re.findall(r"has been submitted with SLURM jobid (\d+)", output))
    assert job_ids, output[-3000:]
    states = subprocess.run(
        ["scontrol", "show", "job", max(job_ids, key=int)], capture_output=True, text=True
    ).stdout
    assert "JobState=COMPLETED" in states, states  # SLURM's own record of the last job
    logs = slurm_job_logs(workdir)
    trained = {"rule_pretrain", "rule_finetune", "rule_train_scratch", "rule_tune_finetune"}
    assert trained | {"rule_evaluate"} <= set(logs)
    _, local_dir, local_results = campaign
    slurm_results = workdir / "results" / "tiny"
    files = lambda d: {  # noqa: E731
        p.relative_to(d)
        for p in d.rglob("*")
        if p.is_file() and not {"logs", "benchmarks", "work"} & set(p.parts)
    }
    assert files(slurm_results) == files(local_results)
    # Same seeds, same data: MACE training is deterministic (the wall time lives apart).
    slurm_table = pd.read_csv(slurm_results / "learning_curves.csv")
    local_table = pd.read_csv(local_results / "learning_curves.csv")
    pd.testing.assert_frame_equal(slurm_table, local_table, rtol=1e-5)


def test_labelling_shards_share_slurm_jobs(slurm_campaign):
    workdir, _ = slurm_campaign
    config = yaml.safe_load(TINY.read_text())
    shard_jobs = 2 * (config["synthetic"]["n_shards"] + config["real"]["n_shards"])
    logs = slurm_job_logs(workdir)
    grouped = [name for name in logs if name.startswith("group_")]
    assert grouped, sorted(logs)
    submitted = sum(len(logs[name]) for name in grouped)
    assert 0 < submitted < shard_jobs
    assert not {"rule_label_real", "rule_label_synthetic"} & set(logs)


def test_second_slurm_run_has_nothing_to_do(slurm_campaign):
    workdir, _ = slurm_campaign
    run = subprocess.run(profile_command(workdir, TINY), capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Nothing to be done" in run.stdout + run.stderr


def epochs_trained(log_text: str) -> list[int]:
    return [int(e) for e in re.findall(r"INFO: Epoch (\d+):", log_text)]


def test_cancelled_training_resumes_from_its_last_validation_pass(tmp_path):
    """scancel pre-training mid-way: the retry resumes from the training state of its last
    validation pass (test_bench.py's resume test proves the resumed model is the
    uninterrupted one, bit for bit) and trains only the epochs after it. (The whole campaign
    through the profile is test_jobs_go_through_sbatch_and_give_the_local_results.)"""
    config = yaml.safe_load(TINY.read_text())
    config["pretrain"].update(max_epochs=16, patience=16, min_delta=0.0)  # the cap ends it
    configfile = tmp_path / "long-pretrain.yaml"
    configfile.write_text(yaml.safe_dump(config))
    work = tmp_path / "results" / "tiny" / "models" / "pretrain" / "snap" / "work"
    process = subprocess.Popen(
        profile_command(tmp_path, configfile, "results/tiny/models/pretrain/snap/mace.model"),
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.time() + 400
        while time.time() < deadline and not list((work / "checkpoints").glob("*epoch-[3-9]*.pt")):
            assert process.poll() is None, process.stdout.read()[-3000:]
            time.sleep(0.5)
        assert list((work / "checkpoints").glob("*.pt")), "no checkpoint appeared"
        running = subprocess.run(
            ["squeue", "-h", "-o", "%i %k", "--states=RUNNING"], capture_output=True, text=True
        ).stdout.splitlines()
        job_id = next(line.split()[0] for line in running if "rule_pretrain" in line)
        subprocess.run(["scancel", job_id], check=True)
        output, _ = process.communicate(timeout=600)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(60)
    assert process.returncode == 0, output[-4000:]
    assert "CANCELLED" in output or "cancelled" in output.lower()
    # The retry's log (Snakemake starts a failed job's log afresh) trains every epoch again.
    log = (tmp_path / "results" / "tiny" / "logs" / "pretrain" / "snap.log").read_text()
    assert "this run was interrupted: resuming from its last validation pass" in log
    done = int(re.search(r"resuming after epoch (\d+)", log)[1]) + 1
    assert done >= 3  # it had written checkpoints up to epoch 3 or later
    assert done < config["pretrain"]["max_epochs"]  # cancelled before its end
    assert epochs_trained(log) == list(range(done, config["pretrain"]["max_epochs"]))
    record = json.loads((work.parent / "training.json").read_text())
    assert record["stopped_by"] == "cap"
