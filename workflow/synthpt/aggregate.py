"""Learning curves: one tidy table of every model's test metrics, summaries and plots."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from synthpt.evaluate import COST, ELEMENT_FORCES, WALL_TIME
from synthpt.strategies import SCRATCH

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


def relative_energies(structures, energies) -> np.ndarray:
    """Per-atom energies (eV) relative to their own least-squares E0 per element: what two
    levels of theory with different energy zeros can be compared on (for one composition:
    centred on the mean)."""
    from synthpt.e0s import composition_matrix, fit_e0s

    elements = sorted({s for a in structures for s in a.get_chemical_symbols()})
    e0 = fit_e0s(structures, energies, elements)  # keyed in the order of ``elements``
    counts = composition_matrix(structures, elements)
    n = np.array([len(a) for a in structures])
    return (np.asarray(energies) - counts @ np.array(list(e0.values()))) / n


def agreement(structures, teacher: str, reference: str) -> dict:
    """How a teacher's labels track the reference's on the same structures: Pearson r and RMSE
    of per-atom energies and of force components. The energy zeros differ per element, so each
    level's energies are taken relative to its own least-squares E0 per element."""
    from synthpt.io import energy_forces
    from synthpt.labelling import label_keys

    ref = [energy_forces(a, *label_keys(reference)) for a in structures]
    own = [energy_forces(a, *label_keys(teacher)) for a in structures]
    e_ref = relative_energies(structures, [e for e, _ in ref])
    e_own = relative_energies(structures, [e for e, _ in own])
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
