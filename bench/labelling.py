"""Labelling throughput of the offline teachers: a plain loop against the workflow's job."""

from __future__ import annotations

import copy
import math
import tempfile
import time
from pathlib import Path

import yaml
from common import DEFAULT, snakemake, table


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
