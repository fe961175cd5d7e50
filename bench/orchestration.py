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
