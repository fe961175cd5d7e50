"""Benchmarks: where a campaign's time goes. Prints tables; not part of the tests.

    .venv/bin/python bench/run.py [BENCHMARK ...]   (--help: this list)

labelling      structures/s per core of each offline teacher: the calculator in a plain loop
               against the workflow's labelling job (Snakemake's own benchmark of the job)
orchestration  dry-run DAG build time and job count of paper-scale configs (100-5000 shards)
training       MACE training throughput (atoms/s): the default model in float32/64 on 1/2 threads,
               the paper model in float32 on 1/2 threads
campaign       wall, CPU and peak memory of results/default from its benchmark files and log,
               job time by stage
learning       the learning-curve bars of results/default: scratch falling, fine-tuned/scratch
               at the smallest n against the seed spread, models stopped by the cap
md             the MD driver trade-off: teacher-driven (as in the paper) against Tersoff-driven
               trajectories, cost per step and teacher-reference agreement on their snapshots
oracle         the default with its reference as the teacher (results/oracle): fine-tuned must be
               no worse than zero-shot on the test set at every n
capacity       the default's pre-training at 8, 16 and 32 channels: the student against its
               teacher beside the teacher against the reference
target         synthetic structure sources on a carbon target the MD grid does not make (crystals,
               slabs, amorphous, liquid; bench/target.py): MD grid, augmentation and a mix at the
               same synthetic budget; zero-shot, fine-tuned/scratch ratios and coverage
faults         the tiny campaign SIGKILLed with its jobs at random moments in labelling,
               pre-training, fine-tuning, scratch training and evaluation, rerun each time with
               the README's `make run` alone; compared with an uninterrupted run
"""

from __future__ import annotations

import copy
import glob
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("OMP_NUM_THREADS", "1")

DEFAULT = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def table(title, header, rows):
    print(f"\n## {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in row) + " |")
    return rows


def snakemake(workdir, configfile, *args):
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
               "--directory", str(workdir), "--configfile", str(configfile), *args]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, check=True)


def label_batches(teacher, spec, shard_size, n_shards, cores, batches=1):
    """Label the first ``batches`` labelling batches of ``n_shards`` shards of ``shard_size``
    structures through the workflow; per job: (benchmark seconds, structures)."""
    import ase.io

    config = copy.deepcopy(DEFAULT)
    config.update(campaign="bench", teachers=[teacher])
    config["calculators"] = {teacher: spec, "gfn1": DEFAULT["calculators"]["gfn1"]}
    config["structures"] = {  # random cells: the labelling rate does not depend on the source
        "source": "random", "n_atoms": 64, "density_range": [1.5, 3.5], "min_distance": 1.1,
        "relax_with": teacher, "relax_steps": 0, "max_force": 100.0,
    }  # fmt: skip
    config["synthetic"].update(n_structures=shard_size * n_shards, n_shards=n_shards)
    config["pretrain"]["batch_size"] = 1  # labelling only: no pre-training runs
    with tempfile.TemporaryDirectory() as tmp:
        configfile = Path(tmp) / "config.yaml"
        configfile.write_text(yaml.safe_dump(config))
        folder = Path(tmp) / f"results/bench/synthetic/{teacher}"
        targets = [f"results/bench/synthetic/{teacher}/batch-{k}.extxyz" for k in range(batches)]
        snakemake(tmp, configfile, "--cores", str(cores), *targets)
        jobs = []
        for k in range(batches):
            tsv = Path(tmp) / f"results/bench/benchmarks/label_synthetic/{teacher}/batch-{k}.tsv"
            seconds = float(tsv.read_text().splitlines()[1].split("\t")[0])
            structures = [atoms for f in (folder / f"batch-{k}.extxyz",
                          folder / f"rejects/batch-{k}.extxyz") if f.stat().st_size
                          for atoms in ase.io.read(f, ":")]  # fmt: skip
            jobs.append((seconds, structures))
        return jobs


def loop_seconds(name, spec, structures):
    """The limit: the calculator alone over ``structures`` in this process, one call each."""
    from synthpt.calculators import make_calculator

    calculator = make_calculator(name, spec, ["C"])
    start = time.perf_counter()
    for atoms in structures:
        atoms = atoms.copy()
        atoms.calc = calculator
        atoms.get_potential_energy(), atoms.get_forces()
    return time.perf_counter() - start


def bench_labelling(shard_size=400, teachers=None, batch_shards=40, parallel=((2, 2), (4, 2))):
    """Each job's rate against the calculator's own loop over the same structures, timed
    right after it (this machine's speed drifts by 10-20% over minutes)."""
    from synthpt.calculators import OFFLINE_CARBON_TEACHERS as TEACHERS

    rows, job_rates = [], {}
    for name, spec in TEACHERS.items():
        if teachers and name not in teachers:
            continue
        single = dict(spec, shards_per_job=1)
        ((job, structures),) = label_batches(name, single, shard_size, 1, 1)
        loop = loop_seconds(name, spec, structures)
        fixed = job - loop  # start-up, imports, reading and writing the shard
        enough = math.ceil(9 * fixed / loop * shard_size)  # start-up <= 10% of a job
        job_rates[name] = shard_size / job
        ((batch_job, batch),) = label_batches(name, spec, shard_size, batch_shards, 1)
        batch_loop = loop_seconds(name, spec, batch)
        rows.append((name, shard_size / loop, loop / job, fixed, enough, len(batch),
                     len(batch) / batch_loop, batch_loop / batch_job))  # fmt: skip
        print(f"labelling: {rows[-1]}", flush=True)
    table(
        f"Labelling (1 core, 64-atom cells; shards of {shard_size} structures; ratio = job rate /"
        " the calculator's loop over the same structures)",
        ["teacher", "loop /s", "one-shard job ratio", "job fixed cost (s)",
         "structures a job for ratio 0.9", "workflow batch (structures)", "loop /s",
         "batch job ratio"],
        rows,
    )  # fmt: skip

    if "snap" not in job_rates or not parallel:
        return []
    alone = job_rates["snap"]
    rows = []
    single = dict(TEACHERS["snap"], shards_per_job=1)
    for n_shards, cores in parallel:
        jobs = label_batches("snap", single, shard_size, n_shards, cores, batches=n_shards)
        per_job = [len(structures) / seconds for seconds, structures in jobs]
        rows.append((n_shards, cores, alone, sum(per_job) / len(per_job) / alone))
    return table(
        f"Parallel efficiency: K SNAP shards of {shard_size} structures on N cores",
        ["K shards", "N cores", "one shard alone /s", "per-job rate side by side / alone"],
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


TRIVIAL = """
rule all:
    input: expand("out/{{i}}.txt", i=range({n}))
rule make:
    output: "out/{{i}}.txt"
    {action}
"""


def dag_seconds(tmp, *args):
    """Seconds of a dry run (it also formats every job's description), of a DAG-only build
    (``--rulegraph`` builds every job, prints one node per rule), and the dry run's job count."""
    command = [sys.executable, "-m", "snakemake", "--directory", str(tmp), *args]
    start = time.perf_counter()
    run = subprocess.run(command + ["--dry-run", "--quiet", "rules"], capture_output=True,
                         text=True, check=True)  # fmt: skip
    dry = time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run(command + ["--rulegraph"], capture_output=True, check=True)
    dag = time.perf_counter() - start
    return dry, dag, int(re.findall(r"^total\s+(\d+)$", run.stdout, flags=re.MULTILINE)[-1])


def bench_orchestration(shard_counts=(100, 1000, 5000, 10000), floor_jobs=10000):
    rows = []
    for n_shards in shard_counts:  # 10000: over 10^4 jobs
        with tempfile.TemporaryDirectory() as tmp:
            configfile = Path(tmp) / "paper.yaml"
            configfile.write_text(yaml.safe_dump(paper_scale(n_shards)))
            dry, dag, jobs = dag_seconds(
                tmp, "--snakefile", str(ROOT / "Snakefile"), "--configfile", str(configfile)
            )
        rows.append((f"synthpt, {n_shards} synthetic shards", jobs, dag, dry, 1000 * dag / jobs))
    for action in ('shell: "touch {output}"', 'script: "s.py"'):
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "Snakefile").write_text(TRIVIAL.format(n=floor_jobs, action=action))
            (Path(tmp) / "s.py").touch()
            dry, dag, jobs = dag_seconds(tmp, "--snakefile", str(Path(tmp) / "Snakefile"))
        rows.append((f"Snakemake's floor: one trivial {action.split(':')[0]} rule", jobs, dag, dry,
                     1000 * dag / jobs))  # fmt: skip
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "snakemake", "--version"], check=True,
                   capture_output=True)  # fmt: skip
    rows.append(("`snakemake --version` (start-up alone)", 0, time.perf_counter() - start, "", 0))
    return table(
        "Orchestration (paper-scale campaign: 3 teachers, 6 sizes x 5 seeds); start-up included",
        ["DAG", "jobs", "DAG build (s)", "dry run (s)", "DAG ms per job"],
        rows,
    )


def training_throughput(structures, architecture, batch_size, dtype, threads, epochs=3):
    """Atoms per second of mace_run_train over ``epochs`` (first epoch excluded: warm-up)."""
    import ase.io

    from synthpt.e0s import e0s_argument
    from synthpt.training import (
        NEVER,
        EarlyStopping,
        mace_arguments,
        prepare_work_dir,
        run_mace,
        steps_per_epoch,
    )

    n_valid = max(1, len(structures) // 10)
    with tempfile.TemporaryDirectory() as tmp:
        train, valid = Path(tmp) / "train.extxyz", Path(tmp) / "valid.extxyz"
        ase.io.write(train, structures[n_valid:], format="extxyz")
        ase.io.write(valid, structures[:n_valid], format="extxyz")
        work, log = Path(tmp) / "work", Path(tmp) / "log"
        schedule = dict(DEFAULT["pretrain"], batch_size=batch_size)
        args = mace_arguments(
            work_dir=work, train_file=train, valid_file=valid, energy_key="snap_energy",
            forces_key="snap_forces", e0s=e0s_argument({6: -8.0}), architecture=architecture,
            schedule=schedule, epochs=epochs, seed=1, dtype=dtype, device="cpu",
        )  # fmt: skip
        prepare_work_dir(work, {"command": args})
        outputs = SimpleNamespace(
            model=work / "out.model", compiled=work / "out_compiled.model", record=work / "r.json"
        )
        per_epoch = steps_per_epoch(len(structures) - n_valid, batch_size)
        run_mace(args, work, outputs, threads, log, EarlyStopping(NEVER, 0.0), per_epoch)
        text = log.read_text().split("running: ")[-1]
    stamps = re.findall(r"^(\S+ \S+) INFO: Epoch (\d+):", text, flags=re.MULTILINE)
    first, last = (datetime.fromisoformat(s) for s, _ in (stamps[0], stamps[-1]))
    atoms_per_epoch = per_epoch * batch_size * len(structures[0])
    return atoms_per_epoch * (len(stamps) - 1) / (last - first).total_seconds()


def bench_training(train=ROOT / "results/default/synthetic/snap/train.extxyz", runs=None, epochs=3):
    """MACE training throughput; ``runs``: (name, config, structures, dtype, threads) tuples
    (default: the default and paper models on 1 and 2 threads)."""
    from synthpt.io import read_structures

    if not Path(train).exists():
        print("\n(training: run the default campaign first, for its synthetic set)")
        return
    structures = read_structures(train)
    paper = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
    rows = []
    if runs is None:
        runs = [("default", DEFAULT, 100, dtype, threads) for dtype in ("float32", "float64")
                for threads in (1, 2)]  # fmt: skip
        wide = copy.deepcopy(DEFAULT)
        wide["model"].pop("radial_mlp", None)  # mace's own [64, 64, 64]
        runs += [("default, mace's radial MLP", wide, 100, "float32", t) for t in (1, 2)]
        runs += [("paper", paper, 34, "float32", t) for t in (1, 2)]  # 2 steps an epoch
    for name, config, n, dtype, threads in runs:
        batch = config["pretrain"]["batch_size"]
        speed = training_throughput(structures[:n], config["model"], batch, dtype, threads, epochs)
        rows.append((name, batch, dtype, threads, speed))
        print(f"training: {rows[-1]}", flush=True)
    table(
        "Training throughput on this CPU (64-atom cells; train + validation passes)",
        ["model", "batch", "dtype", "threads", "atoms/s"],
        rows,
    )
    from synthpt.campaign import synthetic_count

    n_synthetic = synthetic_count(paper) * paper["structures"]["n_atoms"]
    for name, _, dtype, threads, speed in rows:
        if name == "paper" and dtype == "float32" and threads == 2:
            print(
                f"\nOne paper-scale pre-training epoch ({n_synthetic} atoms) at that rate:"
                f" {n_synthetic / speed / 3600:.1f} h on this CPU (no GPU was at hand)"
            )
    return rows


def bench_campaign(results=ROOT / "results/default", logs=ROOT / ".snakemake/log"):
    files = glob.glob(str(results / "benchmarks/**/*.tsv"), recursive=True)
    if not files:
        print("\n(campaign: run the default campaign first)")
        return
    rows = [open(f).read().splitlines()[1].split("\t") for f in files]
    job_seconds = sum(float(r[0]) for r in rows)
    cpu_seconds = sum(float(r[-1]) for r in rows)
    peak_mb = max(float(r[2]) for r in rows)
    wall = None
    for log in reversed(sorted(Path(logs).glob("*.snakemake.log"))):
        text = log.read_text()
        if "(100%) done" in text and str(results.name) in text:
            stamps = re.findall(r"^\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]", text, re.MULTILINE)
            parse = lambda s: datetime.strptime(s, "%a %b %d %H:%M:%S %Y")  # noqa: E731
            wall = (parse(stamps[-1]) - parse(stamps[0])).total_seconds()
            break
    stages = {}
    for f, r in zip(files, rows, strict=True):
        stage = Path(f).relative_to(results / "benchmarks").parts[0].removesuffix(".tsv")
        count, seconds = stages.get(stage, (0, 0.0))
        stages[stage] = (count + 1, seconds + float(r[0]))
    table(
        f"Campaign {results.name}: job time by stage",
        ["stage", "jobs", "job wall (s)"],
        sorted(((k, c, t) for k, (c, t) in stages.items()), key=lambda row: -row[2]),
    )
    cores = 2
    idle = wall * cores - job_seconds if wall else float("nan")
    return table(
        f"Campaign {results.name} ({cores} cores; wall from the first to the last log line)",
        ["jobs", "wall (s)", "sum of job wall (s)", "CPU (s)", "peak RSS (MB)",
         "core time outside jobs", "per job (s)"],
        [(len(rows), wall or float("nan"), job_seconds, cpu_seconds, peak_mb,
          f"{idle / (wall * cores):.1%}" if wall else "n/a", idle / len(rows))],
    )  # fmt: skip


def bench_md(trajectories=6, snapshots=4, overrides=None):
    """The MD driver trade-off: the default's trajectories driven by the teacher (SNAP, as in
    the paper) or by the cheap Tersoff, both inside LAMMPS; cost per step and how well the
    teacher's labels track the reference's on the snapshots each driver makes."""
    from synthpt.aggregate import agreement
    from synthpt.calculators import make_calculator, md_driver
    from synthpt.labelling import label
    from synthpt.md import run_trajectories

    settings = dict(DEFAULT["structures"]) | (overrides or {})
    teacher, reference = DEFAULT["teachers"][0], DEFAULT["reference"]
    calculators = DEFAULT["calculators"]
    steps = sum(settings[k] for k in ("melt_ps", "quench_ps", "anneal_ps")) * 1000
    grid = len(settings["densities"]) * len(settings["temperatures"])
    chosen = range(0, grid, grid // trajectories)[:trajectories]  # across the density grid
    rows = []
    for driver in (settings["driver"], teacher):
        start = time.perf_counter()
        structures = []
        for k in chosen:
            snaps = run_trajectories(range(k, k + 1), settings, "C", DEFAULT["seed"],
                                     md_driver(driver, calculators[driver], ["C"]))  # fmt: skip
            structures += snaps[-snapshots:]
        ms_per_step = 1000 * (time.perf_counter() - start) / (len(chosen) * steps)
        for name in (teacher, reference):
            structures, _ = label(structures, make_calculator(name, calculators[name], ["C"]),
                                  name, DEFAULT["structures"]["max_force"])  # fmt: skip
        row = agreement(structures, teacher, reference)
        rows.append((driver, ms_per_step, len(structures), row["energy_r"],
                     row["energy_rmse_centred"], row["energy_spread"], row["forces_r"],
                     row["forces_rmse"], row["forces_rms"]))  # fmt: skip
        print(f"md: {rows[-1]}", flush=True)
    return table(
        f"MD driver trade-off ({teacher} vs {reference} on the snapshots each driver makes)",
        ["driver", "ms per step", "snapshots", "energy r", "energy RMSE meV/atom (centred)",
         "reference spread", "forces r", "forces RMSE eV/Å", "reference rms"],
        rows,
    )  # fmt: skip


def bench_learning(results=ROOT / "results/default"):
    """The learning-curve bars of the default campaign, from its tables."""
    import pandas as pd

    if not (results / "learning_curves.csv").exists():
        print("\n(learning: run the default campaign first)")
        return
    table_ = pd.read_csv(results / "learning_curves.csv")
    summary = pd.read_csv(results / "summary.csv")
    times = pd.read_csv(results / "training_time.csv")
    train_s = times.groupby(["teacher", "mode", "n_real"])["train_s"].mean()
    rows = []
    for (mode, teacher), group in summary.groupby(["mode", "teacher"]):
        for _, row in group.sort_values("n_real").iterrows():
            energy = f"{row['e_rmse_mean']:.1f} ± {row['e_rmse_std']:.1f}"
            forces = f"{row['f_rmse_mean']:.3f} ± {row['f_rmse_std']:.3f}"
            rows.append((mode, teacher, row["n_real"], energy, forces, row["steps_mean"],
                         train_s[row["teacher"], row["mode"], row["n_real"]],
                         row["stopped_by_cap"]))  # fmt: skip
    table(
        "Learning curves (mean ± std over seeds; steps and wall time per model)",
        ["mode", "teacher", "n", "energy meV/atom", "forces eV/Å", "steps", "train s", "at cap"],
        rows,
    )
    scratch = summary[summary["mode"] == "scratch"].sort_values("n_real")
    falls = {
        m: bool((scratch[f"{m}_mean"].diff().dropna() < 0).all()) for m in ("e_rmse", "f_rmse")
    }
    drop = 1 - scratch["f_rmse_mean"].iloc[-1] / scratch["f_rmse_mean"].iloc[0]
    print(f"\nscratch falls at every n: energy {falls['e_rmse']}, forces {falls['f_rmse']};"
          f" force RMSE largest n vs smallest: -{drop:.0%}")  # fmt: skip
    gain = pd.read_csv(results / "pretraining_gain.csv")
    smallest = gain[gain["n_real"] == gain["n_real"].min()]
    for _, row in smallest.iterrows():
        print(f"n = {row['n_real']}, {row['mode']} from {row['teacher']}: energy ratio"
              f" {row['e_rmse_ratio']:.2f} (gap {row['e_rmse_gap_over_std']:.1f} seed std),"
              f" forces {row['f_rmse_ratio']:.2f}"
              f" (gap {row['f_rmse_gap_over_std']:.1f})")  # fmt: skip
    trained = table_[table_["mode"] != "pretrained"]
    print(
        f"models stopped by the cap: {int((trained['stopped_by'] == 'cap').sum())}"
        f" of {len(trained)}"
    )
    return bench_strategies(table_.merge(times), summary)


def bench_strategies(table_, summary):
    """Each mode at the smallest n against scratch, its cost and its MD stability."""
    smallest = summary["n_real"].min()
    base = summary[(summary["mode"] == "scratch") & (summary["n_real"] == smallest)].iloc[0]
    rows = []
    for mode, group in table_.groupby("mode"):
        at_smallest = summary[(summary["mode"] == mode) & (summary["n_real"] == smallest)].iloc[0]
        trained = group[group["train_s"] > 0]
        md_share = (trained["md_s"] / trained["train_s"]).max() if len(trained) else float("nan")
        rows.append((
            mode,
            at_smallest["e_rmse_mean"] / base["e_rmse_mean"],
            at_smallest["f_rmse_mean"] / base["f_rmse_mean"],
            group["steps"].mean(), group["train_s"].mean(),
            group["md_steps"].mean(), int(group["md_failed"].sum()), len(group),
            md_share,
        ))  # fmt: skip
    return table(
        f"Modes: error at n = {smallest} over scratch's, cost, MD stability (all n and seeds)",
        ["mode", "energy ratio", "force ratio", "steps", "train s", "MD steps survived",
         "trajectories failed", "models", "MD s / train s (max)"],
        rows,
    )  # fmt: skip


def oracle_config(base: dict, campaign: str = "oracle") -> dict:
    """Campaign ``base`` whose only teacher is its reference (the same settings under another
    name): the pre-trained model has learnt the reference itself, so no fine-tune on a few real
    structures should make it worse."""
    config = copy.deepcopy(base)
    reference = config["reference"]
    oracle = f"{reference}oracle"
    config["calculators"][oracle] = copy.deepcopy(config["calculators"][reference])
    config["teachers"], config["campaign"] = [oracle], campaign
    return config


def oracle_table(results: Path, config: dict) -> list[tuple]:
    """Per n: zero-shot and fine-tuned (mean over seeds) test errors, and whether fine-tuning
    made the start worse; from the metrics files."""
    import json

    import numpy as np

    teacher, rows = config["teachers"][0], []
    for n in config["subsets"]["sizes"]:
        start = json.loads(
            (results / f"metrics/pretrained/{teacher}/n{n}/seed0/metrics.json").read_text()
        )
        tuned = [
            json.loads(
                (results / f"metrics/finetune/{teacher}/n{n}/seed{seed}/metrics.json").read_text()
            )
            for seed in config["subsets"]["seeds"]
        ]
        e, f = (np.array([m[key] for m in tuned]) for key in ("e_rmse", "f_rmse"))
        kept = sum(m["kept"] == "start" for m in tuned)
        worse = e.mean() > start["e_rmse"] or f.mean() > start["f_rmse"]
        spread = [x.std(ddof=1) if len(x) > 1 else 0.0 for x in (e, f)]
        rows.append((n, start["e_rmse"], f"{e.mean():.2f} ± {spread[0]:.2f}",
                     start["f_rmse"], f"{f.mean():.4f} ± {spread[1]:.4f}",
                     f"{kept}/{len(tuned)}", "worse" if worse else "no worse"))  # fmt: skip
    return rows


def bench_oracle(base=None, workdir=ROOT, cores=2, replicas=1, seeds=(1, 2)):
    """The oracle check: the default with its reference (GFN1-xTB) as the teacher, on one MD
    replica (360 synthetic structures, to bound the xTB labelling), fine-tuned at every n;
    fine-tuned must be no worse than zero-shot on the test set, energy and forces. The real
    data (structures and reference labels) are the base campaign's when it has them (copied,
    mtimes kept: not recomputed)."""
    import shutil

    config = oracle_config(base or DEFAULT)
    source = Path(workdir) / "results" / (base or DEFAULT)["campaign"]
    target = Path(workdir) / "results" / config["campaign"]
    for part in ("structures/real", "real"):
        if (source / part).exists() and not (target / part).exists():
            shutil.copytree(source / part, target / part, ignore=shutil.ignore_patterns("teachers"))
    if "replicas" in config["structures"]:
        config["structures"]["replicas"] = replicas
    config["subsets"]["seeds"] = list(seeds)
    config["finetune"]["strategies"] = ["finetune"]
    teacher = config["teachers"][0]
    models = [f"pretrained/{teacher}/n{n}/seed0" for n in config["subsets"]["sizes"]]
    models += [
        f"finetune/{teacher}/n{n}/seed{s}" for n in config["subsets"]["sizes"] for s in seeds
    ]
    results = Path(workdir) / "results" / config["campaign"]
    targets = [f"results/{config['campaign']}/metrics/{m}/metrics.json" for m in models]
    with tempfile.TemporaryDirectory() as tmp:
        configfile = Path(tmp) / "oracle.yaml"
        configfile.write_text(yaml.safe_dump(config))
        start = time.perf_counter()
        snakemake(workdir, configfile, "--cores", str(cores), *targets)
        wall = time.perf_counter() - start
    rows = oracle_table(results, config)
    table(
        f"Oracle: teacher = reference ({teacher}); test errors, mean ± std over seeds {seeds}",
        [
            "n",
            "zero-shot E",
            "fine-tuned E",
            "zero-shot F",
            "fine-tuned F",
            "kept start",
            "verdict",
        ],
        rows,
    )
    print(f"\noracle campaign: {wall:.0f} s wall on {cores} cores; fine-tuned worse than"
          f" zero-shot at {sum(r[-1] == 'worse' for r in rows)} of {len(rows)} sizes")  # fmt: skip
    return rows


def bench_capacity(base=None, workdir=ROOT, channels=(8, 16, 32), cores=2):
    """How large a student learns its teacher: the campaign's pre-training at several widths
    (model.num_channels) on its own synthetic set, each scored against the teacher on held-out
    synthetic cells and, beside the teacher against the reference, on the agreement (test)
    structures. Reuses results/<campaign>'s structures and labels (copied, mtimes kept)."""
    import json
    import shutil

    base = base or DEFAULT
    source = Path(workdir) / "results" / base["campaign"]
    teacher = base["teachers"][0]
    if not (source / "synthetic" / teacher / "train.extxyz").exists():
        print(f"\n(capacity: run the {base['campaign']} campaign first, for its labels)")
        return []
    rows = []
    for width in channels:
        config = copy.deepcopy(base)
        config["model"]["num_channels"] = width
        config["campaign"] = f"{base['campaign']}-c{width}"
        results = Path(workdir) / "results" / config["campaign"]
        for part in ("structures", "synthetic", "real"):
            if not (results / part).exists():
                shutil.copytree(source / part, results / part)
        with tempfile.TemporaryDirectory() as tmp:
            configfile = Path(tmp) / "capacity.yaml"
            configfile.write_text(yaml.safe_dump(config))
            target = f"results/{config['campaign']}/metrics/pretrain/{teacher}/metrics.json"
            snakemake(workdir, configfile, "--cores", str(cores), target)
        m = json.loads((Path(workdir) / target).read_text())
        rows.append((width, m["e_rmse"], m["f_rmse"], m["student_f_rmse"], m["teacher_f_rmse"],
                     m["epochs"], m["stopped_by"], m["train_s"]))  # fmt: skip
        print(f"capacity: {rows[-1]}", flush=True)
    table(
        f"Student capacity ({base['campaign']}): pre-trained against {teacher}",
        ["channels", "E vs teacher (held-out synthetic)", "F vs teacher (held-out synthetic)",
         "F vs teacher (agreement set)", "teacher F vs reference", "epochs", "stopped by",
         "train s"],
        rows,
    )  # fmt: skip
    return rows


def target_table(results: Path, config: dict, scratch: Path) -> list[tuple]:
    """Per n: zero-shot, fine-tuned and scratch test errors (mean ± std over seeds) and the
    fine-tuned/scratch ratios of one source's campaign; scratch from ``scratch`` (the same real
    data, subsets and seeds in every source's campaign: the same models)."""
    import json

    import numpy as np

    teacher, seeds, rows = config["teachers"][0], config["subsets"]["seeds"], []

    def metrics(root, model):
        return json.loads((root / f"metrics/{model}/metrics.json").read_text())

    for n in config["subsets"]["sizes"]:
        zero = metrics(results, f"pretrained/{teacher}/n{n}/seed0")
        tuned = [metrics(results, f"finetune/{teacher}/n{n}/seed{s}") for s in seeds]
        base = [metrics(scratch, f"scratch/n{n}/seed{s}") for s in seeds]
        row = [n, zero["e_rmse"], zero["f_rmse"]]
        for key in ("e_rmse", "f_rmse"):
            ft, sc = np.array([m[key] for m in tuned]), np.array([m[key] for m in base])
            spread = [x.std(ddof=1) if len(x) > 1 else 0.0 for x in (ft, sc)]
            row += [f"{ft.mean():.3f} ± {spread[0]:.3f}", f"{sc.mean():.3f} ± {spread[1]:.3f}",
                    ft.mean() / sc.mean(), max(spread) / sc.mean()]  # fmt: skip
        row.append(sum(m["kept"] == "start" for m in tuned))
        rows.append(tuple(row))
    return rows


def coverage_figures(results: Path) -> tuple[float, float, float]:
    """Median over test structures of their atoms' median distance to the nearest synthetic
    and to the nearest pool environment, and the share of test structures nearer the pool."""
    import pandas as pd

    cov = pd.read_csv(results / "coverage.csv")
    nearer_pool = float((cov["pool_median"] < cov["synthetic_median"]).mean())
    return float(cov["synthetic_median"].median()), float(cov["pool_median"].median()), nearer_pool


def bench_target(
    base=None, workdir=ROOT, cores=2, n_synthetic=360, sizes=(10, 40), seeds=(1, 2, 3),
    lr=0.001, crystals=10, replicas=5, md_overrides=None,
):  # fmt: skip
    """Synthetic structure sources on a carbon target the MD grid does not make (bench/target.py:
    crystals, slabs, amorphous cells at four densities, liquid; reference labels): the MD grid,
    augmentation of the pool and a half-and-half mix at the same number of synthetic labels;
    zero-shot, fine-tuned and scratch at each n, ratios, and coverage. ``lr`` pins every mode's
    rate (the default chose 0.001 for scratch and fine-tuning; "auto" tunes each campaign)."""
    from ase.io import read, write
    from target import carbon_target, label, source_configs

    base = copy.deepcopy(base or DEFAULT)
    data = Path(workdir) / "results" / "target-data"
    pool, test = data / "pool.extxyz", data / "test.extxyz"
    if not pool.exists():
        data.mkdir(parents=True, exist_ok=True)
        reference = base["reference"]
        start = time.perf_counter()
        structures = label(
            carbon_target(base["seed"], crystals, replicas),
            reference,
            base["calculators"][reference],
        )
        n_test = len(structures) * 2 // 5
        write(test, structures[:n_test])
        write(pool, structures[n_test:])
        print(f"target: {len(structures)} structures labelled by {reference} in"
              f" {time.perf_counter() - start:.0f} s ({n_test} test)", flush=True)  # fmt: skip
    base["subsets"].update(sizes=list(sizes), seeds=list(seeds))
    base["finetune"].update(strategies=["finetune"], lr=lr)
    md_settings = DEFAULT["structures"] | (md_overrides or {})
    configs = source_configs(base, md_settings, str(pool), str(test), n_synthetic)
    teacher = base["teachers"][0]

    def run(config, with_scratch):
        results = Path(workdir) / "results" / config["campaign"]
        models = [f"pretrained/{teacher}/n{n}/seed0" for n in sizes]
        models += [f"finetune/{teacher}/n{n}/seed{s}" for n in sizes for s in seeds]
        models += [f"scratch/n{n}/seed{s}" for n in sizes for s in seeds] if with_scratch else []
        targets = [f"results/{config['campaign']}/metrics/{m}/metrics.json" for m in models]
        targets += [f"results/{config['campaign']}/{t}" for t in
                    ("coverage.csv", f"metrics/pretrain/{teacher}/metrics.json")]  # fmt: skip
        with tempfile.TemporaryDirectory() as tmp:
            configfile = Path(tmp) / "target.yaml"
            configfile.write_text(yaml.safe_dump(config))
            start = time.perf_counter()
            snakemake(workdir, configfile, "--cores", str(cores), *targets)
        print(f"target: {config['campaign']} in {time.perf_counter() - start:.0f} s", flush=True)
        return results

    results = {"md": run(configs["md"], True), "augment": run(configs["augment"], False)}
    shards = [sorted(glob.glob(str(results[name] / "structures/synthetic/shard-*.extxyz")))
              for name in ("md", "augment")]  # fmt: skip
    halves = [read(path, ":")[::2] for paths in shards for path in paths]
    mixed, draft = data / "mix-synthetic.extxyz", data / ".mix-synthetic.extxyz"
    write(draft, [a for part in halves for a in part])
    if mixed.exists() and mixed.read_bytes() == draft.read_bytes():
        draft.unlink()  # the same set: keep its time, so the mix campaign is not rerun
    else:
        draft.replace(mixed)
    mix = copy.deepcopy(configs["md"])
    mix["campaign"] = "target-mix"
    mix["structures"] = {"source": "files", "files": str(mixed),
                         "max_force": configs["md"]["structures"]["max_force"]}  # fmt: skip
    results["mix"] = run(mix, False)
    rows, configs["mix"] = [], mix
    for name, root in results.items():
        import json

        pretrain = json.loads((root / f"metrics/pretrain/{teacher}/metrics.json").read_text())
        for row in target_table(root, configs[name], results["md"]):
            rows.append((name, *row, pretrain["student_f_rmse"], *coverage_figures(root)))
    table(
        f"Synthetic sources on the carbon target ({n_synthetic} synthetic labels each, teacher"
        f" {teacher}); test errors, mean ± std over seeds {seeds}, lr {lr}",
        ["source", "n", "zero-shot E", "zero-shot F", "fine-tuned E", "scratch E", "E ratio",
         "E spread/scratch", "fine-tuned F", "scratch F", "F ratio", "F spread/scratch",
         "kept start", "student F vs teacher (test)", "synthetic distance", "pool distance",
         "test nearer pool"],
        rows,
    )  # fmt: skip
    return rows


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


BENCHMARKS = ("labelling", "orchestration", "training", "campaign", "learning", "md", "oracle",
              "capacity", "target", "faults")  # fmt: skip


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "benchmarks", nargs="*", choices=[[], *BENCHMARKS], metavar="BENCHMARK",
        help=f"one or more of {', '.join(BENCHMARKS)} (default: the first six)",
    )  # fmt: skip
    chosen = parser.parse_args().benchmarks or [
        "labelling", "orchestration", "training", "campaign", "learning", "md"
    ]  # fmt: skip
    for name in chosen:
        globals()[f"bench_{name}"]()
