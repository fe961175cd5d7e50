"""The docs' figures from a campaign's own files: the learning curves of every model scored
so far (metrics/*/.../metrics.json), whichever sizes have run, and the fine-tuned/scratch
table behind them."""

from __future__ import annotations

from pathlib import Path

from common import ROOT, spread, table

FIGURES = ROOT / "docs" / "figures"


def _value(value) -> str:
    """Three digits, blank where absent (a campaign scored before the column existed)."""
    return "" if value is None or value != value else f"{value:.3g}"


def learning_summary(results: Path):
    """Mean ± std over seeds per test set, mode and n, of every model scored in ``results``."""
    from synthpt.aggregate import by_test_set, collect, summarize

    files = sorted(
        p for p in results.glob("metrics/*/**/metrics.json") if "pretrain" not in p.parts
    )
    if not files:
        raise FileNotFoundError(f"no scored model under {results}/metrics")
    return by_test_set(summarize, collect(files))


def gain_table(summary, campaign: str) -> str:
    """The docs' fine-tuned against scratch table: per test set and n, each mode's mean ± std
    over seeds, zero-shot, the ratio and the gap over the larger seed std; its first line
    names the campaign it came from."""
    frame = summary.set_index(["test_set", "mode", "n_real"])
    lines = [f"<!-- source: results/{campaign} -->",
             "| test set | n | fine-tuned E | scratch E | zero-shot E | E ratio (gap/std) "
             "| fine-tuned F | scratch F | zero-shot F | F ratio (gap/std) |",
             "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for test_set in dict.fromkeys(summary["test_set"]):
        for n in sorted(set(summary[summary["mode"] == "finetune"]["n_real"])):
            tuned, scratch = (
                frame.loc[(test_set, "finetune", n)],
                frame.loc[(test_set, "scratch", n)],
            )
            zero = frame.loc[(test_set, "zero-shot", n)]
            cells = [test_set, str(n)]
            for metric in ("e_rmse", "f_rmse"):
                mean, other = tuned[f"{metric}_mean"], scratch[f"{metric}_mean"]
                if mean != mean:  # an energy-only set
                    cells += [""] * 4
                    continue
                larger = max(tuned[f"{metric}_std"], scratch[f"{metric}_std"])
                cells += [spread(tuned, metric), spread(scratch, metric),
                          _value(zero[f"{metric}_mean"]),
                          f"{mean / other:.2f} ({(other - mean) / larger:.1f})"]  # fmt: skip
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def barrier_table(summary, campaign: str) -> str | None:
    """Per ordered path (real.paths) and n: each mode's barrier error (meV, the model's barrier
    less the reference's), mean ± std over seeds; None without paths. Its first line names the
    campaign it came from."""
    if "barrier_error_mean" not in summary:
        return None
    paths = summary[summary["barrier_error_mean"].notna()]
    if paths.empty:
        return None
    modes = list(dict.fromkeys(paths["mode"]))
    lines = [f"<!-- source: results/{campaign} -->",
             "| path | n | " + " | ".join(modes) + " |",
             "|---|---|" + "---|" * len(modes)]  # fmt: skip
    frame = paths.set_index(["test_set", "mode", "n_real"])
    for test_set in dict.fromkeys(paths["test_set"]):
        for n in sorted(set(paths[paths["test_set"] == test_set]["n_real"])):
            cells = [
                spread(frame.loc[(test_set, mode, n)], "barrier_error")
                if (test_set, mode, n) in frame.index
                else ""
                for mode in modes
            ]
            lines.append(f"| {test_set} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def strategy_table(summary, campaign: str) -> str | None:
    """Per test set and mode (every strategy, scratch, zero-shot): E and F at each n (mean ± std
    over seeds), F against the teacher on held-out synthetic structures at the largest n, mean
    optimizer steps at each n, runs that kept their start, MD trajectories that failed (every
    n); None with fewer than two strategies. Its first line names the campaign it came from."""
    from synthpt.strategies import STRATEGIES

    present = set(summary["mode"])
    modes = [m for m in STRATEGIES if m in present]
    if len(modes) < 2:
        return None
    sizes = sorted(set(summary["n_real"]))
    header = ([f"E n = {n}" for n in sizes] + [f"F n = {n}" for n in sizes]
              + [f"F vs teacher n = {sizes[-1]}", "steps " + " / ".join(map(str, sizes)),
                 "kept start", "MD failed"])  # fmt: skip
    lines = [f"<!-- source: results/{campaign} -->",
             "| test set | mode | " + " | ".join(header) + " |",
             "|---|---|" + "---|" * len(header)]  # fmt: skip
    frame = summary.set_index(["test_set", "mode", "n_real"])
    for test_set in dict.fromkeys(summary["test_set"]):
        for mode in ["scratch", *modes, "zero-shot"]:
            rows = [frame.loc[(test_set, mode, n)] for n in sizes]
            cells = [spread(r, m) for m in ("e_rmse", "f_rmse") for r in rows]
            cells.append(_value(rows[-1].get("synthetic_f_rmse_mean")))
            if mode == "zero-shot":
                cells += ["", ""]
            else:
                kept, runs = (
                    sum(int(r[key]) for r in rows) for key in ("kept_start", "e_rmse_count")
                )
                cells += [" / ".join(f"{r['steps_mean']:.0f}" for r in rows), f"{kept} of {runs}"]
            cells.append(str(sum(int(r["md_failed"]) for r in rows)))
            lines.append(f"| {test_set} | `{mode}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def paths_figure(results: Path, summary, figure: Path, reference: str) -> bool:
    """plots/paths.png's figure from the campaign's predictions so far: each ordered path (the
    sets with a barrier error), every mode at the smallest and largest n scored, against the
    ``reference`` labels; False (no figure) without paths."""
    from synthpt.io import read_structures
    from synthpt.labelling import label_keys
    from synthpt.paths import ModelId
    from synthpt.plots import path_curves, plot_paths

    if "barrier_error_mean" not in summary:
        return False
    names = list(dict.fromkeys(summary[summary["barrier_error_mean"].notna()]["test_set"]))
    sizes = sorted(set(summary["n_real"]))
    found = [
        (name, ModelId.from_path(str(file.parent.relative_to(results / "metrics"))), file)
        for name in names
        for file in sorted(results.glob(f"metrics/*/**/predictions-{name}.extxyz"))
    ]
    paths = path_curves(
        (name, model, read_structures(file))
        for name, model, file in found
        if model.n_real in (sizes[0], sizes[-1])
    )
    if paths:
        plot_paths(paths, label_keys(reference)[0], figure)
    return bool(paths)


# The generated tables beside each figure: NAME-SUFFIX.md from a campaign's summary.
TABLES = {"table": gain_table, "barriers": barrier_table, "strategies": strategy_table}


def bench_docs(campaign="own_data", workdir=ROOT, out=FIGURES, name=None, reference="dft"):
    """``docs/figures/NAME-learning-curves.png``, ``NAME-table.md`` (``gain_table``) and, with
    ordered paths, ``NAME-barriers.md`` and ``NAME-paths.png``, from ``results/<campaign>``
    (``reference``: the label whose energies the paths are drawn against); and the summary's
    table (E meV/atom, F eV/Å; mean ± std over seeds)."""
    import pandas as pd

    from synthpt.plots import plot_learning_curves

    results = Path(workdir) / "results" / campaign
    summary = learning_summary(results)
    agreement = results / "teacher_agreement.csv"
    out.mkdir(parents=True, exist_ok=True)
    figure = out / f"{name or campaign}-learning-curves.png"
    plot_learning_curves(summary, figure, pd.read_csv(agreement) if agreement.exists() else None)
    for suffix, make in TABLES.items():
        if (text := make(summary, campaign)) is not None:
            (out / f"{name or campaign}-{suffix}.md").write_text(text)
    paths_figure(results, summary, out / f"{name or campaign}-paths.png", reference)
    rows = [
        (r["test_set"], r["mode"], int(r["n_real"]), int(r["e_rmse_count"]),
         spread(r, "e_rmse"),
         spread(r, "f_rmse"),
         _value(r.get("synthetic_f_rmse_mean")))
        for _, r in summary.iterrows()
    ]  # fmt: skip
    shown = figure.relative_to(ROOT) if figure.is_relative_to(ROOT) else figure
    columns = ["test set", "mode", "n", "models", "E", "F", "F vs teacher (synthetic)"]
    table(f"{campaign}: {shown}", columns, rows)
    return rows
