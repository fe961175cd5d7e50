"""`make run`'s launcher: after a kill, the same command finishes the workflow."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

from synthpt.launch import RUNS, stale_lock, start_time, working_directory

TOY = """
rule all:
    input: "b"

rule a:
    output: "a"
    shell: "echo started >> a.starts; touch {output}; sleep 60"

rule b:
    input: "a"
    output: "b"
    shell: "touch {output}"
"""


def record(workdir, pid, host=None):
    runs = workdir / RUNS
    runs.mkdir(parents=True, exist_ok=True)
    run = {"host": host or socket.gethostname(), "pid": pid, "start": start_time(pid)}
    (runs / f"{run['host']}-{pid}.json").write_text(json.dumps(run))


def test_a_lock_is_stale_only_when_every_run_that_may_hold_it_has_ended(tmp_path):
    (tmp_path / ".snakemake" / "locks").mkdir(parents=True)
    (tmp_path / ".snakemake" / "locks" / "0.output.lock").write_text("b")
    live = subprocess.Popen(["sleep", "60"])
    try:
        record(tmp_path, live.pid)
        assert stale_lock(tmp_path) is None  # a live run may hold it
        live.kill()
        time.sleep(0.5)  # killed, not yet reaped: a zombie has ended too
        gone = stale_lock(tmp_path)
        live.wait()
        assert [run["pid"] for run in gone] == [live.pid]
        assert not list((tmp_path / RUNS).iterdir())  # ended runs' records are cleared
        record(tmp_path, live.pid, host="another-node")
        assert stale_lock(tmp_path) is None  # this host cannot tell: Snakemake's own error
    finally:
        live.kill()


def test_working_directory_follows_snakemake_arguments():
    assert str(working_directory(["--cores", "2", "--directory", "x/y"])) == "x/y"
    assert str(working_directory(["-d", "z", "t"])) == "z"
    assert str(working_directory(["--directory=w"])) == "w"
    assert str(working_directory(["--cores", "2"])) == "."


def test_the_same_command_finishes_after_a_kill(tmp_path, root):
    (tmp_path / "Snakefile").write_text(TOY)
    snakefile = str(tmp_path / "Snakefile")
    command = [sys.executable, "-m", "synthpt.launch", "--cores", "1",
               "--snakefile", snakefile, "--directory", str(tmp_path)]  # fmt: skip
    env = os.environ | {"PYTHONPATH": str(root / "workflow")}
    first = subprocess.Popen(command, env=env, start_new_session=True, cwd=root,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.time() + 120
    while not (tmp_path / "a").exists() and time.time() < deadline:
        time.sleep(0.2)
    assert (tmp_path / "a").exists() and list((tmp_path / ".snakemake" / "locks").iterdir())
    os.killpg(first.pid, signal.SIGKILL)  # Snakemake and its job, mid-job
    first.wait()
    (tmp_path / "Snakefile").write_text(TOY.replace("sleep 60", "true"))
    second = subprocess.run(command, env=env, cwd=root, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"releasing the lock left by a killed Snakemake run (pid {first.pid})" in second.stdout
    assert (tmp_path / "b").exists()
    assert (tmp_path / "a.starts").read_text().count("started") == 2  # the torn job redone


def test_a_target_after_configfile_is_refused_with_the_way_out(root):
    from synthpt.launch import misplaced_targets

    assert misplaced_targets(["--configfile", "my.yaml", "results/x/learning_curves.csv"]) == [
        "results/x/learning_curves.csv"
    ]
    assert misplaced_targets(["--configfile", "my.yaml", "--", "results/x/a.csv"]) == []
    assert misplaced_targets(["results/x/a.csv", "--configfile", "a.yml", "b.json"]) == []
    assert misplaced_targets(["--configfile", "my.yaml", "--cores", "2", "all"]) == []
    run = subprocess.run(
        ["make", "-C", str(root), "run", "ARGS=--configfile my.yaml results/mine/plots/parity.png"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode != 0
    assert "after --configfile would be read as config files: put targets after `--`" in run.stderr
    assert "Traceback" not in run.stderr
