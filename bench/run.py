"""Benchmarks: where a campaign's time goes. Prints tables; not part of the tests.

    .venv/bin/python bench/run.py [labelling] [orchestration] [training] [campaign]

labelling      structures/s per core of each offline teacher: the calculator in a plain loop
               against the workflow's labelling job (Snakemake's own benchmark of the job)
orchestration  dry-run DAG build time and job count of paper-scale configs (100-5000 shards)
training       MACE training throughput (atoms/s) of the default model, float32/64, 1/2 threads
campaign       wall, CPU and peak memory of results/default from its benchmark files and log
"""

from __future__ import annotations

import copy
import glob
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))
os.environ.setdefault("OMP_NUM_THREADS", "1")

DEFAULT = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def table(title, header, rows):
    print(f"\n## {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in row) + " |")


def snakemake(workdir, configfile, *args):
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
               "--directory", str(workdir), "--configfile", str(configfile), *args]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, check=True)


def bench_labelling(n_structures=400):
    from synthpt.calculators import OFFLINE_CARBON_TEACHERS as TEACHERS
    from synthpt.calculators import make_calculator
    from synthpt.labelling import label
    from synthpt.structures import generate

    structures = generate(range(n_structures), "synthetic", 1, "C", 64, (1.5, 3.5), 1.1)
    rows = []
    for name, spec in TEACHERS.items():
        calculator = make_calculator(name, spec, ["C"])
        start = time.perf_counter()
        label(structures, calculator, name, max_force=1e9)
        loop = n_structures / (time.perf_counter() - start)

        config = copy.deepcopy(DEFAULT)
        config.update(campaign="bench", teachers=[name])
        config["calculators"] = {name: spec, "gfn1": DEFAULT["calculators"]["gfn1"]}
        config["structures"].update(relax_with=name, relax_steps=0)
        config["synthetic"].update(n_structures=n_structures, n_shards=1)
        with tempfile.TemporaryDirectory() as tmp:
            configfile = Path(tmp) / "config.yaml"
            configfile.write_text(yaml.safe_dump(config))
            target = f"results/bench/synthetic/{name}/shard-0.extxyz"
            snakemake(tmp, configfile, "--cores", "1", target)
            job = Path(tmp) / f"results/bench/benchmarks/label_synthetic/{name}/shard-0.tsv"
            seconds = float(job.read_text().splitlines()[1].split("\t")[0])
        workflow = n_structures / seconds
        rows.append((name, n_structures, loop, workflow, workflow / loop))
    table(
        "Labelling (1 core, 64-atom cells)",
        ["teacher", "structures", "loop /s", "workflow job /s", "ratio"],
        rows,
    )


def paper_scale(n_shards):
    from synthpt.calculators import OFFLINE_CARBON_TEACHERS as TEACHERS

    config = copy.deepcopy(DEFAULT)
    config["calculators"].update(tersoff=TEACHERS["tersoff"], rebo=TEACHERS["rebo"])
    config.update(campaign="paper", teachers=["snap", "tersoff", "rebo"])
    config["synthetic"].update(n_structures=100 * n_shards, n_shards=n_shards)
    config["real"].update(n_pool=1000, n_test=500, n_shards=150)
    config["subsets"].update(sizes=[25, 50, 100, 200, 400, 800], seeds=[1, 2, 3, 4, 5])
    return config


def bench_orchestration():
    rows = []
    for n_shards in (100, 1000, 5000):
        with tempfile.TemporaryDirectory() as tmp:
            configfile = Path(tmp) / "paper.yaml"
            configfile.write_text(yaml.safe_dump(paper_scale(n_shards)))
            start = time.perf_counter()
            run = snakemake(tmp, configfile, "--dry-run", "--quiet", "rules")
            seconds = time.perf_counter() - start
        jobs = int(re.findall(r"^total\s+(\d+)$", run.stdout, flags=re.MULTILINE)[-1])
        rows.append((n_shards, jobs, seconds, 1000 * seconds / jobs))
    table(
        "Orchestration: dry run of a paper-scale campaign (3 teachers, 6 sizes x 5 seeds)",
        ["synthetic shards", "jobs", "DAG build + dry run (s)", "ms per job"],
        rows,
    )


def bench_training(n_structures=100):
    from synthpt.e0s import e0s_argument
    from synthpt.io import read_structures
    from synthpt.training import mace_arguments, prepare_work_dir, run_mace

    train = ROOT / "results/default/synthetic/snap/train.extxyz"
    if not train.exists():
        print("\n(training: run the default campaign first, for its synthetic set)")
        return
    structures = read_structures(train)[:n_structures]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        subset = Path(tmp) / "train.extxyz"
        import ase.io

        ase.io.write(subset, structures, format="extxyz")
        for dtype in ("float32", "float64"):
            for threads in (1, 2):
                work = Path(tmp) / f"{dtype}-{threads}"
                schedule = dict(DEFAULT["pretrain"], valid_fraction=0.1)
                args = mace_arguments(
                    work_dir=work, train_file=subset, energy_key="snap_energy",
                    forces_key="snap_forces", e0s=e0s_argument({6: -8.0}),
                    architecture=DEFAULT["model"], schedule=schedule, epochs=2, seed=1,
                    dtype=dtype, device="cpu",
                )  # fmt: skip
                prepare_work_dir(work, args)
                run_mace(args, work, work / "out.model", threads, Path(tmp) / "log", False)
                log = (Path(tmp) / "log").read_text().split("running: ")[-1]
                stamps = re.findall(r"^(\S+ \S+) INFO: Epoch (\d+):", log, flags=re.MULTILINE)
                first, last = (datetime.fromisoformat(s) for s, _ in (stamps[0], stamps[-1]))
                n_train = len(structures) - int(0.1 * len(structures))
                atoms_per_s = n_train * 64 * (len(stamps) - 1) / (last - first).total_seconds()
                rows.append((dtype, threads, atoms_per_s))
    table(
        f"Training throughput, default model, batch {DEFAULT['pretrain']['batch_size']} (CPU)",
        ["dtype", "threads", "atoms/s (train + validation pass)"],
        rows,
    )


def bench_campaign(results=ROOT / "results/default"):
    files = glob.glob(str(results / "benchmarks/**/*.tsv"), recursive=True)
    if not files:
        print("\n(campaign: run the default campaign first)")
        return
    rows = [open(f).read().splitlines()[1].split("\t") for f in files]
    job_seconds = sum(float(r[0]) for r in rows)
    cpu_seconds = sum(float(r[-1]) for r in rows)
    peak_mb = max(float(r[2]) for r in rows)
    logs = sorted((ROOT / ".snakemake/log").glob("*.snakemake.log"))
    wall = None
    for log in reversed(logs):
        text = log.read_text()
        if "(100%) done" in text and str(results.name) in text:
            stamps = re.findall(r"^\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]", text, re.MULTILINE)
            parse = lambda s: datetime.strptime(s, "%a %b %d %H:%M:%S %Y")  # noqa: E731
            wall = (parse(stamps[-1]) - parse(stamps[0])).total_seconds()
            break
    cores = 2
    table(
        f"Campaign {results.name}",
        ["jobs", "wall (s)", "sum of job wall (s)", "CPU (s)", "peak RSS (MB)",
         f"outside jobs on {cores} cores"],
        [(len(rows), wall or float("nan"), job_seconds, cpu_seconds, peak_mb,
          f"{1 - job_seconds / cores / wall:.1%}" if wall else "n/a")],
    )  # fmt: skip


if __name__ == "__main__":
    chosen = sys.argv[1:] or ["labelling", "orchestration", "training", "campaign"]
    for name in chosen:
        globals()[f"bench_{name}"]()
