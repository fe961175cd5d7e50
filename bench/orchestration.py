"""Snakemake's DAG build time at paper scale beside its own per-job floor."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from common import DEFAULT, ROOT, table


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


def paper_data(folder: Path) -> None:
    """Stand-ins for the C-GAP-17 files config/paper.yaml reads (a DAG needs only their
    presence and labels): 3 random cells, a GAP file that is never loaded."""
    import numpy as np
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.io import write

    from synthpt.structures import generate

    data = folder / "data" / "c-gap-17"
    data.mkdir(parents=True)
    (data / "gap-17.xml").write_text("<GAP_params/>\n")
    cells = generate(range(3), "real", 11, "C", 64, (2.0, 3.0), 1.2)
    for atoms in cells:
        atoms.calc = SinglePointCalculator(atoms, energy=-500.0, forces=np.zeros((64, 3)))
    write(data / "train.extxyz", cells[:2])
    write(data / "test.extxyz", cells[2:])


def paper_with_cells(n_cells: int | None) -> dict:
    """config/paper.yaml, its replicas raised to at least ``n_cells`` synthetic cells (one
    trajectory per labelling shard, as there)."""
    config = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
    if n_cells is not None:
        settings = config["structures"]
        grid = len(settings["densities"]) * len(settings["temperatures"])
        per_trajectory = settings["anneal_ps"] // settings["snapshot_ps"]
        settings["replicas"] = -(-n_cells // (grid * per_trajectory))
        config["synthetic"]["n_shards"] = grid * settings["replicas"]
    return config


def bench_paper_dag(cell_counts=(None, 100_000)):
    """config/paper.yaml (11,000 cells) and its variant with 10^5 synthetic cells, each beside
    Snakemake's floor: a trivial one-rule workflow (a script rule, as ours) of the same job
    count, in the same run. Ratio: our DAG build over the floor's."""
    rows = []
    for n_cells in cell_counts:
        config = paper_with_cells(n_cells)
        with tempfile.TemporaryDirectory() as tmp:
            paper_data(Path(tmp))
            configfile = Path(tmp) / "paper.yaml"
            configfile.write_text(yaml.safe_dump(config))
            dry, dag, jobs = dag_seconds(
                tmp, "--snakefile", str(ROOT / "Snakefile"), "--configfile", str(configfile)
            )
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "Snakefile").write_text(TRIVIAL.format(n=jobs, action='script: "s.py"'))
            (Path(tmp) / "s.py").touch()
            floor_dry, floor_dag, floor_jobs = dag_seconds(
                tmp, "--snakefile", str(Path(tmp) / "Snakefile")
            )
        cells = 11_000 if n_cells is None else n_cells
        rows.append((f"paper.yaml, {cells} cells", jobs, dag, dry, floor_jobs - 1, floor_dag,
                     floor_dry, dag / floor_dag))  # fmt: skip
        print(f"paper dag: {rows[-1]}", flush=True)
    return table(
        "The paper DAG beside Snakemake's floor (same job count, one run; start-up included)",
        ["DAG", "jobs", "DAG build (s)", "dry run (s)", "floor jobs", "floor DAG build (s)",
         "floor dry run (s)", "DAG / floor"],
        rows,
    )  # fmt: skip


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
