"""A finished campaign's cost and learning-curve bars, from its own files."""

from __future__ import annotations

import glob
import re
from datetime import datetime
from pathlib import Path

from common import ROOT, table

from synthpt.paths import ZERO_SHOT


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
    trained = table_[table_["mode"] != ZERO_SHOT]
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
