"""Learning curves: one tidy table of every model's test metrics, summaries and plots."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from synthpt.evaluate import COST, ELEMENT_FORCES, WALL_TIME
from synthpt.paths import ZERO_SHOT
from synthpt.strategies import SCRATCH, STRATEGIES

IDENTITY = ["teacher", "mode", "n_real", "seed"]
STABILITY = ["md_steps", "md_failed", "md_reason"]
TEST_SET = "test_set"  # a row's test set (campaign.test_sets); the headline's rows come first
# Each model against its teacher (a scratch model: the first teacher) on held-out synthetic
# structures, where no real data reaches: what forgetting costs (energies centred per element).
TEACHER_DISTANCE = ["synthetic_e_rmse", "synthetic_f_rmse"]
BARRIER = "barrier_error"  # on an ordered path (real.paths): predicted less reference barrier, meV
COLUMNS = [TEST_SET, *IDENTITY, "e_rmse", "f_rmse", "e_mae", "f_mae", "n_test", BARRIER,
           *TEACHER_DISTANCE, *COST, *STABILITY]  # fmt: skip
TIMES = [*IDENTITY, WALL_TIME, "md_s"]  # apart: learning_curves.csv is the same after any rerun
METRICS = {"e_rmse": "energy RMSE (meV/atom)", "f_rmse": "force RMSE (eV/Å)"}


def collect(metric_files) -> pd.DataFrame:
    """One row per model and test set, sorted (the headline set's rows first), from the
    evaluate step's metrics.json files: the columns of learning_curves.csv
    (``curve_columns``), then the training wall time."""
    from synthpt.campaign import HEADLINE_TEST

    rows = []
    for path in metric_files:
        row = json.loads(open(path).read())
        for scores in row.pop("test_sets", None) or [{TEST_SET: HEADLINE_TEST}]:
            rows.append(row | scores)
    elements = sorted({key for row in rows for key in row if key.startswith(ELEMENT_FORCES)})
    table = pd.DataFrame(rows, columns=[*COLUMNS, *elements, *TIMES[len(IDENTITY) :]])
    order = {name: i for i, name in enumerate(dict.fromkeys(table[TEST_SET]))}
    return table.sort_values(
        [TEST_SET, "mode", "teacher", "n_real", "seed"],
        key=lambda column: column.map(order) if column.name == TEST_SET else column,
        ignore_index=True,
    )


def headline(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of the headline test set (the first)."""
    return table[table[TEST_SET] == table[TEST_SET].iloc[0]] if len(table) else table


def by_test_set(summary_of, table: pd.DataFrame) -> pd.DataFrame:
    """``summary_of`` applied to each test set's rows, the results stacked with a
    ``test_set`` column first, in the table's order of test sets."""
    if TEST_SET not in table:
        return summary_of(table)
    parts = []
    for name in dict.fromkeys(table[TEST_SET]):
        part = summary_of(table[table[TEST_SET] == name].drop(columns=TEST_SET))
        parts.append(part.assign(**{TEST_SET: name})[[TEST_SET, *part.columns]])
    return pd.concat(parts, ignore_index=True) if parts else summary_of(table)


def curve_columns(table: pd.DataFrame) -> list[str]:
    """The columns of learning_curves.csv: ``COLUMNS``, then per-element force errors if any."""
    return [*COLUMNS, *(c for c in table.columns if c.startswith(ELEMENT_FORCES))]


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Mean, std and count over seeds per (teacher, mode, n_real); mean training steps and the
    number of runs the cap (not the stopping rule) ended."""
    grouped = table.groupby(["teacher", "mode", "n_real"])
    summary = grouped[list(METRICS)].agg(["mean", "std", "count"])
    summary.columns = [f"{metric}_{stat}" for metric, stat in summary.columns]
    for column in curve_columns(table)[len(COLUMNS) :]:
        summary[f"{column}_mean"] = grouped[column].mean()
    for column in TEACHER_DISTANCE:
        summary[f"{column}_mean"] = grouped[column].mean()
    summary[f"{BARRIER}_mean"] = grouped[BARRIER].mean()
    summary[f"{BARRIER}_std"] = grouped[BARRIER].std()
    summary["steps_mean"] = grouped["steps"].mean()
    summary["stopped_by_cap"] = grouped["stopped_by"].agg(lambda s: int((s == "cap").sum()))
    summary["kept_start"] = grouped["kept"].agg(lambda s: int((s == "start").sum()))
    summary["md_steps_mean"] = grouped["md_steps"].mean()
    summary["md_failed"] = grouped["md_failed"].sum()
    return summary.reset_index()


def pretrain_seed_spread(table: pd.DataFrame) -> pd.DataFrame:
    """pretrain_seeds.csv: per pre-trained model family (its replicas over pretrain.seeds),
    mode and size, the mean over every pre-training and fine-tuning seed, the spread over
    fine-tuning seeds (the mean of each pre-trained model's own std) and the spread over
    pre-training seeds (the std of the pre-trained models' means; NaN with one)."""
    from synthpt.campaign import pretraining_family

    trained = table[table["mode"] != SCRATCH].assign(
        family=lambda t: t["teacher"].map(pretraining_family)
    )
    per_model = trained.groupby(["family", "mode", "n_real", "teacher"])[list(METRICS)]
    means, stds = per_model.mean(), per_model.std()
    rows = []
    for (family, mode, n_real), group in means.groupby(level=[0, 1, 2]):
        entry = {"teacher": family, "mode": mode, "n_real": n_real}
        entry["pretrain_seeds"] = len(group)
        entry["finetune_seeds"] = int(per_model.size().loc[(family, mode, n_real)].min())
        for metric in METRICS:
            entry[f"{metric}_mean"] = group[metric].mean()
            entry[f"{metric}_std_finetune"] = stds.loc[group.index, metric].mean()
            entry[f"{metric}_std_pretrain"] = group[metric].std()
        rows.append(entry)
    return pd.DataFrame(rows)


def tuning_table(choice_files) -> pd.DataFrame:
    """tuning.csv: every run of every tuned mode's learning-rate grid, the chosen ones marked."""
    from synthpt.tuning import COLUMNS as TUNING

    rows = [row for path in choice_files for row in json.loads(open(path).read())["runs"]]
    return pd.DataFrame(rows, columns=TUNING)


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


def scratch_equivalent(n_real, errors, target: float) -> tuple[float, str]:
    """(n, bound): the smallest n at which scratch reaches ``target`` error, interpolated in
    log-log between the sizes of the sweep (bound "="); beyond them, the sweep's largest size
    with bound ">" (scratch never got there) or its smallest with bound "<" (it did at once)."""
    n_real, errors = np.asarray(n_real, float), np.asarray(errors, float)
    reached = np.flatnonzero(errors <= target)
    if not len(reached):
        return float(n_real[-1]), ">"
    i = reached[0]
    if i == 0:
        return float(n_real[0]), "<" if errors[0] < target else "="
    log_n, log_err = np.log(n_real), np.log(errors)
    t = (np.log(target) - log_err[i - 1]) / (log_err[i] - log_err[i - 1])
    return float(np.exp(log_n[i - 1] + t * (log_n[i] - log_n[i - 1]))), "="


def data_efficiency(summary: pd.DataFrame) -> pd.DataFrame:
    """How many real structures scratch needs to match each pre-trained mean error; "> N"
    where it needs more than the sweep's largest size N."""
    scratch = summary[summary["mode"] == SCRATCH].sort_values("n_real")
    rows = []
    for _, row in summary[summary["mode"] != SCRATCH].iterrows():
        for metric in METRICS:
            n_match, bound = scratch_equivalent(
                scratch["n_real"], scratch[f"{metric}_mean"], row[f"{metric}_mean"]
            )
            rows.append(
                {
                    "teacher": row["teacher"],
                    "mode": row["mode"],
                    "n_real": row["n_real"],
                    "metric": metric,
                    "bound": bound,
                    "scratch_equivalent_n": n_match,
                    "factor": n_match / row["n_real"],
                    "reads": f"{'' if bound == '=' else bound + ' '}{n_match:.3g}",
                }
            )
    return pd.DataFrame(rows)


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


def agreement(structures, teacher: str, reference: str) -> dict:
    """How a teacher's labels track the reference's on the same structures: Pearson r and RMSE
    of per-atom energies and of force components. The energy zeros differ per element, so each
    level's energies are taken relative to its own least-squares E0 per element (for one
    element and equal sizes: centred on the mean)."""
    from synthpt.e0s import composition_matrix, fit_e0s
    from synthpt.io import energy_forces
    from synthpt.labelling import label_keys

    ref = [energy_forces(a, *label_keys(reference)) for a in structures]
    own = [energy_forces(a, *label_keys(teacher)) for a in structures]
    n = np.array([len(a) for a in structures])
    elements = sorted({s for a in structures for s in a.get_chemical_symbols()})
    counts = composition_matrix(structures, elements)

    def relative(energies):
        e0 = fit_e0s(structures, energies, elements)  # keyed in the order of ``elements``
        return (np.asarray(energies) - counts @ np.array(list(e0.values()))) / n

    e_ref, e_own = relative([e for e, _ in ref]), relative([e for e, _ in own])
    f_ref = np.concatenate([f.ravel() for _, f in ref])
    f_own = np.concatenate([f.ravel() for _, f in own])
    de = e_own - e_ref
    return {
        "teacher": teacher,
        "reference": reference,
        "n_structures": len(structures),
        "energy_r": float(np.corrcoef(e_own, e_ref)[0, 1]),
        "energy_rmse_centred": float(np.sqrt(np.mean(de**2)) * 1000),
        "energy_spread": float(e_ref.std() * 1000),
        "forces_r": float(np.corrcoef(f_own, f_ref)[0, 1]),
        "forces_rmse": float(np.sqrt(np.mean((f_own - f_ref) ** 2))),
        "forces_rms": float(np.sqrt(np.mean(f_ref**2))),
    }


STUDENT = "student"  # the label prefix of a pre-trained model's predictions


def student_agreement(structures, teacher: str, reference: str) -> dict:
    """On the agreement structures (the test set, labelled by the teacher and the reference):
    how far a pre-trained student (predictions under ``student_*``) is from its teacher, beside
    how far the teacher is from the reference, by the same centred measures."""
    student = agreement(structures, STUDENT, teacher)
    teacher_row = agreement(structures, teacher, reference)
    return {
        "student_e_rmse": student["energy_rmse_centred"],
        "student_f_rmse": student["forces_rmse"],
        "student_forces_r": student["forces_r"],
        "teacher_e_rmse": teacher_row["energy_rmse_centred"],
        "teacher_f_rmse": teacher_row["forces_rmse"],
        "teacher_forces_r": teacher_row["forces_r"],
        "student_farther": bool(student["forces_rmse"] > teacher_row["forces_rmse"]),
    }


def farther_than_teacher(pretraining: pd.DataFrame) -> list[str]:
    """A warning per pre-trained model farther (in forces) from its teacher than the teacher is
    from the reference on the agreement structures: the student has not learnt its teacher."""
    if "student_farther" not in pretraining:
        return []
    return [
        f"pre-trained model {row.pretrained}: {row.student_f_rmse:.3f} eV/Å from its teacher"
        f" {row.teacher}, which is {row.teacher_f_rmse:.3f} eV/Å from the reference on the same"
        " structures: the student has not learnt its teacher, and fine-tuning cannot make up"
        " for it. The way out: a larger student (model.num_channels 32-64, max_L 1, max_ell 2,"
        " correlation 3: config/own_data.yaml's model and up; bench/run.py acaccapacity"
        " measures sizes) or a longer pre-training (pretrain.patience / min_delta / max_epochs)"
        for row in pretraining.itertuples()
        if row.student_farther
    ]


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
    fig.legend(handles, labels, loc="outside lower center", ncols=4, fontsize=7)
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
