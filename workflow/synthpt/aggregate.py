"""Learning curves: one tidy table of every model's test metrics, summaries and plots."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from synthpt.campaign import SCRATCH

COLUMNS = ["teacher", "mode", "n_real", "seed", "e_rmse", "f_rmse", "e_mae", "f_mae", "n_test"]
METRICS = {"e_rmse": "energy RMSE (meV/atom)", "f_rmse": "force RMSE (eV/Å)"}


def collect(metric_files) -> pd.DataFrame:
    """One row per model, sorted, from the evaluate step's metrics.json files."""
    rows = [json.loads(open(path).read()) for path in metric_files]
    table = pd.DataFrame(rows, columns=COLUMNS)
    return table.sort_values(["mode", "teacher", "n_real", "seed"], ignore_index=True)


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Mean, std and count over seeds per (teacher, mode, n_real)."""
    grouped = table.groupby(["teacher", "mode", "n_real"])[list(METRICS)]
    summary = grouped.agg(["mean", "std", "count"])
    summary.columns = [f"{metric}_{stat}" for metric, stat in summary.columns]
    return summary.reset_index()


def pretraining_gain(summary: pd.DataFrame) -> pd.DataFrame:
    """Per teacher and size: fine-tuned / scratch mean RMSE (below 1: pre-training helps)."""
    scratch = summary[summary["mode"] == SCRATCH].set_index("n_real")
    rows = []
    for (teacher, mode), group in summary[summary["mode"] != SCRATCH].groupby(["teacher", "mode"]):
        for _, row in group.iterrows():
            base = scratch.loc[row["n_real"]]
            entry = {"teacher": teacher, "mode": mode, "n_real": row["n_real"]}
            for metric in METRICS:
                entry[f"{metric}_ratio"] = row[f"{metric}_mean"] / base[f"{metric}_mean"]
                spread = np.nanmax([row[f"{metric}_std"], base[f"{metric}_std"]])
                gap = base[f"{metric}_mean"] - row[f"{metric}_mean"]
                entry[f"{metric}_gap_over_std"] = gap / spread if spread > 0 else np.nan
            rows.append(entry)
    return pd.DataFrame(rows)


def scratch_equivalent(n_real, errors, target: float) -> float:
    """Smallest n at which scratch reaches ``target`` error, log-log interpolated.

    ``inf`` if scratch never reaches it in the sweep, NaN if it already does at the smallest n.
    """
    log_n, log_err = np.log(np.asarray(n_real, float)), np.log(np.asarray(errors, float))
    reached = np.flatnonzero(log_err <= np.log(target))
    if not len(reached):
        return np.inf
    i = reached[0]
    if i == 0:
        return np.nan
    t = (np.log(target) - log_err[i - 1]) / (log_err[i] - log_err[i - 1])
    return float(np.exp(log_n[i - 1] + t * (log_n[i] - log_n[i - 1])))


def data_efficiency(summary: pd.DataFrame) -> pd.DataFrame:
    """How many real structures scratch needs to match each pre-trained mean error."""
    scratch = summary[summary["mode"] == SCRATCH].sort_values("n_real")
    rows = []
    for _, row in summary[summary["mode"] != SCRATCH].iterrows():
        for metric in METRICS:
            n_match = scratch_equivalent(
                scratch["n_real"], scratch[f"{metric}_mean"], row[f"{metric}_mean"]
            )
            rows.append(
                {
                    "teacher": row["teacher"],
                    "mode": row["mode"],
                    "n_real": row["n_real"],
                    "metric": metric,
                    "scratch_equivalent_n": n_match,
                    "factor": n_match / row["n_real"],
                }
            )
    return pd.DataFrame(rows)


def model_label(teacher: str, mode: str) -> str:
    return "scratch" if mode == SCRATCH else f"{mode} from {teacher}"


def plot_learning_curves(summary: pd.DataFrame, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullLocator

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), constrained_layout=True)
    for ax, (metric, title) in zip(axes, METRICS.items(), strict=True):
        for (teacher, mode), group in summary.groupby(["teacher", "mode"]):
            group = group.sort_values("n_real")
            ax.errorbar(
                group["n_real"],
                group[f"{metric}_mean"],
                yerr=group[f"{metric}_std"].fillna(0.0),
                marker="o" if mode == SCRATCH else "s",
                capsize=3,
                label=model_label(teacher, mode),
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        sizes = sorted(summary["n_real"].unique())
        ax.set_xticks(sizes, [str(n) for n in sizes])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel("real training structures")
        ax.set_ylabel(title)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def plot_parity(predictions: dict, energy_key: str, forces_key: str, path) -> None:
    """Energy (per atom) and force parity plots; ``predictions`` maps a label to structures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_e, ax_f) = plt.subplots(1, 2, figsize=(9, 4.2), constrained_layout=True)
    for label, structures in predictions.items():
        n = np.array([len(a) for a in structures])
        ref_e = np.array([a.info[energy_key] for a in structures]) / n
        pred_e = np.array([a.info["MACE_energy"] for a in structures]) / n
        ref_f = np.concatenate([a.arrays[forces_key].ravel() for a in structures])
        pred_f = np.concatenate([a.arrays["MACE_forces"].ravel() for a in structures])
        ax_e.scatter(ref_e, pred_e, s=10, alpha=0.7, label=label)
        ax_f.scatter(ref_f, pred_f, s=2, alpha=0.3, label=label)
    for ax, unit in ((ax_e, "energy (eV/atom)"), (ax_f, "force component (eV/Å)")):
        lo, hi = ax.get_xlim()
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_xlabel(f"reference {unit}")
        ax.set_ylabel(f"MACE {unit}")
    ax_e.legend()
    fig.savefig(path, dpi=150)
    plt.close(fig)
