"""The tiny campaign killed at random moments and finished by `make run` alone."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

from common import ROOT, table

JOB = re.compile(r"^(?:local)?rule (\w+):\n((?:    .*\n)+)", re.M)


def jobs_of(log: str) -> tuple[dict, set]:
    """Snakemake's console log: {jobid: (rule, outputs)} of the jobs it started, and the
    jobids it finished."""
    started = {}
    for rule, body in JOB.findall(log):
        fields = dict(re.findall(r"^    (\w+): (.*)$", body, re.M))
        if "jobid" in fields:
            started[fields["jobid"]] = (rule, fields.get("output", ""))
    return started, set(re.findall(r"Finished jobid: (\d+)", log))


def make_run(workdir, log_path):
    arguments = f"--directory {workdir} --configfile {ROOT / 'tests/configs/tiny.yaml'}"
    command = ["make", "-C", str(ROOT), "run", "CORES=2", f"ARGS={arguments}"]
    log = open(log_path, "w")
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def leftovers(workdir: Path) -> list[str]:
    """Temporary files of atomic writes, incomplete markers and shadow folders left behind."""
    temporary = [
        str(p.relative_to(workdir))
        for p in (workdir / "results").rglob(".*")
        if p.is_file() and re.fullmatch(r"\..+\.\w{8}(\.\w+)?", p.name)
    ]
    markers = list((workdir / ".snakemake" / "incomplete").glob("*"))
    shadow = list((workdir / ".snakemake" / "shadow").glob("*"))
    return temporary + [str(p) for p in markers + shadow]


def bench_faults(
    stages=("label_synthetic", "pretrain", "finetune", "train_scratch", "evaluate", "label_real"),
    seed=0,
    clean=None,
):
    """Kill the tiny campaign (Snakemake and its jobs, SIGKILL) once a job of each stage runs,
    after a random 0-2 s, and rerun `make run` until it completes; compared with an
    uninterrupted run (``clean``: the folder of one already made, else one is made here)."""
    import random
    import shutil

    rng = random.Random(seed)
    base = Path(tempfile.mkdtemp(prefix="faults-"))
    killed = base / "killed"
    start = time.perf_counter()
    if clean is None:
        clean = base / "clean"
        assert make_run(clean, base / "clean.log").wait() == 0, (base / "clean.log").read_text()
    clean_s = time.perf_counter() - start
    rows, finished, redone, runs = [], {}, [], 0
    for stage in [*stages, None]:  # None: the final run, left to finish
        log_path = base / f"run{runs}.log"
        process, runs = make_run(killed, log_path), runs + 1
        running = []
        while stage is not None and process.poll() is None:
            started, done = jobs_of(log_path.read_text())
            running = [rule for jobid, (rule, _) in started.items() if jobid not in done]
            if stage in running:
                time.sleep(rng.uniform(0, 2))
                started, done = jobs_of(log_path.read_text())
                running = [rule for jobid, (rule, _) in started.items() if jobid not in done]
                os.killpg(process.pid, 9)
                break
            time.sleep(0.1)
        code = process.wait()
        log = log_path.read_text()
        started, done = jobs_of(log)
        again = [started[j] for j in started if started[j] in finished.values()]
        redone += again
        finished |= {(runs, j): started[j] for j in done if j in started}
        rows.append((runs, stage or "(none: let finish)", ", ".join(sorted(set(running))) or "-",
                     len(done), len(again), "killed" if code == -9 or code == 137 else code,
                     "released" if "releasing the lock" in log else "-"))  # fmt: skip
        if stage is None and code != 0:
            print(log[-3000:])
    table(
        f"Fault injection: the tiny campaign (uninterrupted {clean_s:.0f} s), killed once per"
        " stage, then `make run` until done",
        ["run", "kill aimed at", "jobs running at the kill", "jobs finished",
         "finished jobs redone", "exit", "stale lock"],
        rows,
    )  # fmt: skip
    ours = (killed / "results/tiny/learning_curves.csv").read_bytes()
    theirs = (clean / "results/tiny/learning_curves.csv").read_bytes()
    kills = sum(1 for row in rows if row[5] == "killed")
    print(f"\nkills survived: {kills}; learning_curves.csv byte-identical to the uninterrupted"
          f" run's: {ours == theirs}; finished jobs redone: {len(redone)} {redone or ''};"
          f" torn or temporary files left: {leftovers(killed) or 0}")  # fmt: skip
    shutil.rmtree(base)
    return rows, ours == theirs, redone
