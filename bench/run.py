"""Benchmarks: where a campaign's time goes. Prints tables; not part of the tests.

    .venv/bin/python bench/run.py [BENCHMARK ...]   (--help: this list; one module per topic)

labelling      structures/s per core of each offline teacher: the calculator in a plain loop
               against the workflow's labelling job (Snakemake's own benchmark of the job)
orchestration  dry-run DAG build time and job count of paper-scale configs (100-5000 shards)
paperdag       config/paper.yaml (11,000 cells) and a 10^5-cell variant: DAG build beside
               Snakemake's floor (a trivial workflow of the same job count) in one run
training       MACE training throughput (atoms/s): the default model in float32/64 on 1/2 threads,
               the paper model in float32 on 1/2 threads
presets        every shipped config's model on this device (cuda where visible) at its
               pre-training and fine-tuning batch: atoms/s, s per step, s per epoch of its
               whole synthetic set; with and without cuequivariance on a GPU
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
targetstudent  students of several sizes pre-trained on augmented labels of the carbon target's
               pool: each against its teacher on the target's test cells, beside the teacher
               against the reference; CPU seconds per epoch
resume         a pre-training and a fine-tuning job killed at random moments (SIGKILL, SIGTERM)
               and resumed: weights and file hash against the uninterrupted run, steps redone
hdf5           pre-training's data paths, extxyz (every graph in memory) against mace's HDF5
               (graphs batch by batch), at 10^4-10^5 small cells: peak memory, set-up, epoch time
acac           real DFT nobody here made (../shared/data/acac) through config/own_data.yaml:
               the student against its GFN2-xTB teacher, fine-tuned against scratch and
               zero-shot on each named test set at every n
acaccapacity   student sizes on acac: pre-trained against the teacher, CPU seconds per epoch
acacenergy     whose error is left in the fine-tuned energies on acac: correlation with the
               teacher's error against the DFT and with the student's against its teacher
acacschedule   fine-tuning schedules on acac at the smallest n (rate, weights, warm-up, interval)
               from the template's pre-trained model: kept start, steps, every test set
gpu_smoke      the one script for a lent GPU: the tiny campaign on cuda with max_L 1, the
               device in mace's logs, models that load with no GPU, kill-and-resume, atoms/s
               with and without cuequivariance (on a CPU: the same checks there)
docs           the docs' learning-curve figure and its table from a campaign's own files
               (every model scored so far): docs/figures/CAMPAIGN-learning-curves.png
faults         the tiny campaign SIGKILLed with its jobs at random moments in labelling,
               pre-training, fine-tuning, scratch training and evaluation, rerun each time with
               the README's `make run` alone; compared with an uninterrupted run
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from acac import (  # noqa: E402
    bench_acac,
    bench_acac_capacity,
    bench_acac_energy,
    bench_acac_schedule,
    bench_acac_strategies,
)
from campaign import bench_campaign, bench_learning  # noqa: E402
from capacity import bench_capacity  # noqa: E402
from faults import bench_faults  # noqa: E402
from gpu_smoke import bench_gpu_smoke  # noqa: E402
from hdf5 import bench_hdf5  # noqa: E402
from labelling import bench_labelling  # noqa: E402
from md import bench_md  # noqa: E402
from oracle import bench_oracle  # noqa: E402
from orchestration import bench_orchestration, bench_paper_dag  # noqa: E402
from resume import bench_resume  # noqa: E402
from target import bench_target, bench_target_student  # noqa: E402
from training import bench_presets, bench_training  # noqa: E402

from docs import bench_docs  # noqa: E402

BENCHMARKS = {
    "labelling": bench_labelling,
    "orchestration": bench_orchestration,
    "paperdag": bench_paper_dag,
    "training": bench_training,
    "presets": bench_presets,
    "campaign": bench_campaign,
    "learning": bench_learning,
    "md": bench_md,
    "oracle": bench_oracle,
    "capacity": bench_capacity,
    "target": bench_target,
    "targetstudent": bench_target_student,
    "faults": bench_faults,
    "resume": bench_resume,
    "hdf5": bench_hdf5,
    "acac": bench_acac,
    "acaccapacity": bench_acac_capacity,
    "acacschedule": bench_acac_schedule,
    "acacstrategies": bench_acac_strategies,
    "acacenergy": bench_acac_energy,
    "gpu_smoke": bench_gpu_smoke,
    "docs": bench_docs,
}
QUICK = ["labelling", "orchestration", "training", "campaign", "learning", "md"]


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "benchmarks",
        nargs="*",
        choices=[[], *BENCHMARKS],
        metavar="BENCHMARK",
        help=f"one or more of {', '.join(BENCHMARKS)} (default: {', '.join(QUICK)})",
    )
    for name in parser.parse_args(argv).benchmarks or QUICK:
        BENCHMARKS[name]()


if __name__ == "__main__":
    main()
