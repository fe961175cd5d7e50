"""The campaign's figures: learning curves, cost, parity, barriers along ordered paths and MD
stability; each returns its figure, so that tests read what is drawn."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthpt.aggregate import METRICS, TEST_SET
from synthpt.evaluate import WALL_TIME
from synthpt.paths import ZERO_SHOT
from synthpt.strategies import SCRATCH, STRATEGIES


def model_label(teacher: str, mode: str) -> str:
    if mode == ZERO_SHOT:
        return f"{teacher} pre-trained, not fine-tuned"
    return "scratch" if mode == SCRATCH else f"{mode} from {teacher}"


STRATEGY_MARKERS = "sD^v<>ph"


def _marker(mode: str) -> dict:
    if mode in STRATEGIES:
        return {"marker": STRATEGY_MARKERS[list(STRATEGIES).index(mode) % len(STRATEGY_MARKERS)]}
    return {SCRATCH: {"marker": "o"}, ZERO_SHOT: {"marker": "x", "linestyle": ":"}}[mode]


TEACHER_ERRORS = {"e_rmse": "energy_rmse_centred", "f_rmse": "forces_rmse"}  # agreement's


def plot_learning_curves(summary: pd.DataFrame, path, teachers: pd.DataFrame | None = None):
    """Mean over seeds with the seed std as a band, log-log, one row of (energy, force)
    panels per test set (the headline first), the legend beside the panels; ``teachers``
    (teacher_agreement.csv): each teacher's own error against the reference on the headline
    set, dashed, the bound of its zero-shot row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullLocator

    from synthpt.campaign import HEADLINE_TEST

    if TEST_SET not in summary:
        summary = summary.assign(**{TEST_SET: HEADLINE_TEST})
    names = list(dict.fromkeys(summary[TEST_SET]))
    fig, axes = plt.subplots(
        len(names), 2, figsize=(10.5, 3.4 * len(names)), squeeze=False, constrained_layout=True
    )
    for row, name in zip(axes, names, strict=True):
        part = summary[summary[TEST_SET] == name]
        for ax, (metric, title) in zip(row, METRICS.items(), strict=True):
            ax.set_title(f"test set {name}", fontsize=9)
            if part[f"{metric}_mean"].isna().all():  # an energy-only set
                ax.text(0.5, 0.5, "no labels in this set", ha="center", transform=ax.transAxes)
                ax.set_ylabel(title)
                continue
            for (teacher, mode), group in part.groupby(["teacher", "mode"]):
                group = group.sort_values("n_real")
                mean, std = group[f"{metric}_mean"], group[f"{metric}_std"].fillna(0.0)
                (line,) = ax.plot(
                    group["n_real"], mean, **_marker(mode), label=model_label(teacher, mode)
                )
                ax.fill_between(
                    group["n_real"], mean - std, mean + std, color=line.get_color(), alpha=0.2
                )
            if teachers is not None and name == names[0]:
                for teacher in teachers.itertuples():
                    ax.axhline(
                        getattr(teacher, TEACHER_ERRORS[metric]), color="grey", linestyle="--",
                        linewidth=1, label=f"teacher {teacher.teacher} vs reference",
                    )  # fmt: skip
            ax.set_xscale("log")
            ax.set_yscale("log")
            sizes = sorted(part["n_real"].unique())
            ax.set_xticks(sizes, [str(n) for n in sizes])
            ax.xaxis.set_minor_locator(NullLocator())
            low, high = ax.get_ylim()
            ticks = [t for t in _round_ticks(low, high) if low <= t <= high]
            ax.yaxis.set_ticks(ticks, [f"{t:g}" for t in ticks])
            ax.yaxis.set_minor_locator(NullLocator())
            ax.set_xlabel("real training structures")
            ax.set_ylabel(title)
            ax.grid(True, which="both", alpha=0.3)
    axes[0][1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return fig


def _round_ticks(low: float, high: float) -> list[float]:
    """Round numbers (1, 1.5, 2, 3, 5, 7 x 10^k; finer on a short axis) for a log axis."""
    exponents = range(int(np.floor(np.log10(low))), int(np.ceil(np.log10(high))) + 1)
    steps = (1, 1.5, 2, 3, 5, 7) if high / low > 3 else (1, 1.05, 1.1, 1.2, 1.5, 2, 3, 5, 7)
    return [round(m * 10.0**k, 6) for k in exponents for m in steps]


def plot_cost(table: pd.DataFrame, path):
    """Test error against training wall time, one point per trained model: what each mode
    pays for its accuracy (labels: subset size)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullLocator

    trained = table[table["mode"] != ZERO_SHOT]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), constrained_layout=True)
    for ax, (metric, title) in zip(axes, METRICS.items(), strict=True):
        for (teacher, mode), group in trained.groupby(["teacher", "mode"]):
            ax.scatter(
                group[WALL_TIME],
                group[metric],
                label=model_label(teacher, mode),
                marker=_marker(mode)["marker"],
            )
            for _, row in group.iterrows():
                ax.annotate(str(row["n_real"]), (row[WALL_TIME], row[metric]), fontsize=6)
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis, low, high in ((ax.xaxis, *ax.get_xlim()), (ax.yaxis, *ax.get_ylim())):
            ticks = [t for t in _round_ticks(low, high) if low <= t <= high]
            axis.set_ticks(ticks, [f"{t:g}" for t in ticks])
            axis.set_minor_locator(NullLocator())
        ax.set_xlabel("training wall time (s)")
        ax.set_ylabel(title)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return fig


def plot_parity(predictions: dict, energy_key: str, forces_key: str, path):
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
    return fig


def path_curves(entries) -> dict:
    """``plot_paths``' input from (path name, ModelId, structures with predictions) entries:
    {name: {n: {(pre-trained model, mode): [structures, one list per seed]}}}."""
    paths = {}
    for name, model, structures in entries:
        by_mode = paths.setdefault(name, {}).setdefault(model.n_real, {})
        by_mode.setdefault((model.pretrained, model.mode), []).append(structures)
    return paths


def plot_paths(paths: dict, energy_key: str, path):
    """Energy along each ordered path, each curve less its own lowest point (so its highest is
    its barrier): the reference and, per mode, the mean over seeds with their range as a band;
    one row per path, one column per size. ``paths`` maps a path's name to {n: {(teacher,
    mode): [structures with predictions, one list per seed]}}."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({n for by_size in paths.values() for n in by_size})
    fig, axes = plt.subplots(
        len(paths), len(sizes), figsize=(4.6 * len(sizes), 3.4 * len(paths)),
        squeeze=False, constrained_layout=True,
    )  # fmt: skip
    for row, (name, by_size) in zip(axes, paths.items(), strict=True):
        for ax, n in zip(row, sizes, strict=True):
            drawn = False
            for (teacher, mode), seeds in sorted(by_size.get(n, {}).items()):
                curves = np.array([[a.info["MACE_energy"] for a in s] for s in seeds])
                curves = (curves - curves.min(axis=1, keepdims=True)) * 1000.0
                images = np.arange(curves.shape[1])
                line = ax.plot(images, curves.mean(axis=0), **_marker(mode), markersize=3,
                               label=model_label(teacher, mode))  # fmt: skip
                ax.fill_between(images, curves.min(axis=0), curves.max(axis=0),
                                color=line[0].get_color(), alpha=0.15)  # fmt: skip
                if not drawn:
                    reference = np.array([a.info[energy_key] for a in seeds[0]])
                    ax.plot(images, (reference - reference.min()) * 1000.0, "k-", lw=2,
                            label="reference", zorder=0)  # fmt: skip
                    drawn = True
            ax.set_title(f"{name}, n = {n}", fontsize=9)
            ax.set_xlabel("image along the path")
            ax.set_ylabel("energy less the lowest (meV)")
            ax.grid(True, alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    # two legend columns per panel column: one panel column's width holds two labels
    fig.legend(
        handles, labels, loc="outside lower center", ncols=min(4, 2 * len(sizes)), fontsize=7
    )
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return fig


def plot_stability(summary: pd.DataFrame, steps: int, path):
    """MD steps survived (mean over seeds and trajectories; ``steps`` is the bound) against the
    number of real structures, per teacher and mode."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullLocator

    fig, ax = plt.subplots(figsize=(5.5, 3.8), constrained_layout=True)
    for (teacher, mode), group in summary.groupby(["teacher", "mode"]):
        group = group.sort_values("n_real")
        ax.plot(
            group["n_real"],
            group["md_steps_mean"],
            **_marker(mode),
            label=model_label(teacher, mode),
        )
    ax.axhline(steps, color="grey", linewidth=0.8, linestyle="--", label="bound (no failure)")
    ax.set_xscale("log")
    sizes = sorted(summary["n_real"].unique())
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_ylim(0, steps * 1.08)
    ax.set_xlabel("real training structures")
    ax.set_ylabel("MD steps survived (mean)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return fig
