import json

import numpy as np
import pandas as pd
import pytest

from synthpt.aggregate import (
    COLUMNS,
    agreement,
    collect,
    curve_columns,
    data_efficiency,
    pretrain_seed_spread,
    pretraining_gain,
    scratch_equivalent,
    summarize,
)
from synthpt.plots import plot_cost, plot_learning_curves, plot_stability


@pytest.fixture
def metric_files(tmp_path):
    """Scratch error halves per doubling of n; fine-tuning is 2x better; seeds differ by 10%."""
    paths = []
    for n in (10, 20, 40, 80):
        for seed, jitter in ((1, 0.95), (2, 1.05)):
            for mode, teacher, factor in (("scratch", "none", 1.0), ("finetune", "snap", 0.5)):
                row = {
                    "teacher": teacher,
                    "mode": mode,
                    "n_real": n,
                    "seed": seed,
                    "e_rmse": 400 / n * factor * jitter,
                    "f_rmse": 8 / n * factor * jitter,
                    "e_mae": 1.0,
                    "f_mae": 1.0,
                    "n_test": 40,
                    "steps": 100 * n * factor,
                    "best_step": 80 * n * factor,
                    "epochs": 10,
                    "stopped_by": "cap" if n == 80 and seed == 2 else "rule",
                    "train_s": n * factor,
                    "md_steps": 100.0 if mode == "finetune" else 50.0,
                    "md_failed": 0 if mode == "finetune" else 1,
                    "md_reason": "none" if mode == "finetune" else "atoms closer than min_distance",
                    "md_s": 1.0,
                }
                path = tmp_path / f"{mode}-{n}-{seed}.json"
                path.write_text(json.dumps(row))
                paths.append(path)
    return paths


def test_table_has_one_row_per_model_and_documented_columns(metric_files):
    table = collect(metric_files)
    assert list(table.columns) == [*COLUMNS, "train_s", "md_s"]
    assert not {"train_s", "md_s"} & set(COLUMNS)  # wall times: apart, in training_time.csv
    assert len(table) == 16
    assert table.iloc[0][["mode", "n_real", "seed"]].tolist() == ["finetune", 10, 1]
    assert curve_columns(table) == COLUMNS


def test_per_element_force_errors_become_columns_and_summary_means(metric_files):
    for path in metric_files:
        row = json.loads(path.read_text())
        error = 0.2 * row["seed"]
        path.write_text(json.dumps(row | {"f_rmse_H": error, "f_rmse_C": 2 * error}))
    table = collect(metric_files)
    assert curve_columns(table) == [*COLUMNS, "f_rmse_C", "f_rmse_H"]
    summary = summarize(table)
    assert summary["f_rmse_H_mean"].tolist() == pytest.approx([0.3] * len(summary))
    assert summary["f_rmse_C_mean"].tolist() == pytest.approx([0.6] * len(summary))


def test_summary_and_gain(metric_files):
    summary = summarize(collect(metric_files))
    row = summary[(summary["mode"] == "scratch") & (summary["n_real"] == 10)].iloc[0]
    assert row["e_rmse_mean"] == pytest.approx(40.0)
    assert row["e_rmse_std"] == pytest.approx(np.std([38.0, 42.0], ddof=1))
    assert row["e_rmse_count"] == 2
    assert row["steps_mean"] == 1000
    assert (row["md_steps_mean"], row["md_failed"]) == (50.0, 2)  # both seeds failed
    assert summary["stopped_by_cap"].tolist() == [0, 0, 0, 1, 0, 0, 0, 1]  # n80 seed 2
    gain = pretraining_gain(summary)
    assert gain["e_rmse_ratio"].tolist() == pytest.approx([0.5] * 4)
    # gap 20 meV/atom against a spread of 2.83: about 7 standard deviations
    assert gain.iloc[0]["e_rmse_gap_over_std"] == pytest.approx(20 / np.std([38, 42], ddof=1))


def test_data_efficiency_interpolates_log_log_and_bounds_beyond_the_sweep():
    n, err = [10, 20, 40], [40, 20, 10]
    assert scratch_equivalent(n, err, 20) == (pytest.approx(20), "=")
    assert scratch_equivalent(n, err, 28.284271) == (pytest.approx(14.142, rel=1e-4), "=")
    assert scratch_equivalent(n, err, 5) == (40, ">")  # better than every scratch model
    assert scratch_equivalent(n, err, 50) == (10, "<")  # worse than scratch at the smallest n
    assert scratch_equivalent(n, err, 40) == (10, "=")


def test_data_efficiency_reads_as_numbers_never_inf(metric_files):
    efficiency = data_efficiency(summarize(collect(metric_files)))
    assert np.isfinite(efficiency["scratch_equivalent_n"]).all()
    at_80 = efficiency[(efficiency["n_real"] == 80) & (efficiency["metric"] == "f_rmse")].iloc[0]
    assert (at_80["bound"], at_80["scratch_equivalent_n"], at_80["reads"]) == (">", 80, "> 80")


def test_fine_tuning_twice_as_good_equals_twice_the_data(metric_files):
    efficiency = data_efficiency(summarize(collect(metric_files)))
    at_20 = efficiency[(efficiency["n_real"] == 20) & (efficiency["metric"] == "e_rmse")]
    assert at_20["scratch_equivalent_n"].item() == pytest.approx(40)
    assert at_20["factor"].item() == pytest.approx(2)


def test_learning_curve_plot_draws_each_mode_over_the_sizes_in_log_log(metric_files, tmp_path):
    path = tmp_path / "curves.png"
    figure = plot_learning_curves(summarize(collect(metric_files)), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    energy, forces = figure.axes
    assert (energy.get_xscale(), energy.get_yscale()) == ("log", "log")
    lines = {line.get_label(): line for line in forces.get_lines()}
    assert set(lines) == {"scratch", "finetune from snap"}
    assert list(lines["scratch"].get_xdata()) == [10, 20, 40, 80]
    assert np.allclose(lines["scratch"].get_ydata(), [8 / n for n in (10, 20, 40, 80)])
    assert np.allclose(lines["finetune from snap"].get_ydata(), [4 / n for n in (10, 20, 40, 80)])


def test_cost_plot_puts_each_trained_model_at_its_wall_time_and_error(metric_files, tmp_path):
    figure = plot_cost(collect(metric_files), tmp_path / "cost.png")
    energy, forces = figure.axes
    assert energy.get_xlabel() == "training wall time (s)"
    points = {c.get_label(): c.get_offsets() for c in energy.collections}
    assert set(points) == {"scratch", "finetune from snap"}
    scratch = np.asarray(points["scratch"])  # (train_s, e_rmse) of 4 sizes x 2 seeds
    assert len(scratch) == 8 and sorted(set(scratch[:, 0])) == [10, 20, 40, 80]
    assert np.allclose(sorted(scratch[:, 1]), sorted(400 / n * j for n in (10, 20, 40, 80)
                                                      for j in (0.95, 1.05)))  # fmt: skip
    assert sorted({t.get_text() for t in forces.texts}, key=int) == ["10", "20", "40", "80"]


def test_stability_plot_gives_each_mode_its_mean_steps_under_the_bound(metric_files, tmp_path):
    figure = plot_stability(summarize(collect(metric_files)), 100, tmp_path / "stability.png")
    (ax,) = figure.axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"scratch", "finetune from snap", "bound (no failure)"}
    assert list(lines["finetune from snap"].get_ydata()) == [100.0] * 4
    assert list(lines["scratch"].get_ydata()) == [50.0] * 4
    assert list(lines["bound (no failure)"].get_ydata()) == [100, 100]
    assert ax.get_ylim() == (0, 108)


def test_parity_plot_scatters_predictions_against_reference_per_atom(tmp_path):
    from ase import Atoms

    from synthpt.plots import plot_parity

    structures = []
    for energy in (-10.0, -12.0):
        atoms = Atoms("C2", positions=[[0, 0, 0], [0, 0, 1.4]])
        atoms.info.update(dft_energy=energy, MACE_energy=energy + 0.2)
        atoms.arrays["dft_forces"] = np.ones((2, 3))
        atoms.arrays["MACE_forces"] = 2 * np.ones((2, 3))
        structures.append(atoms)
    path = tmp_path / "parity.png"
    figure = plot_parity({"scratch n10": structures}, "dft_energy", "dft_forces", path)
    energy, forces = figure.axes
    assert np.allclose(energy.collections[0].get_offsets(), [[-5.0, -4.9], [-6.0, -5.9]])
    assert np.allclose(forces.collections[0].get_offsets(), [[1.0, 2.0]] * 12)
    diagonal = energy.get_lines()[0]
    assert list(diagonal.get_xdata()) == list(diagonal.get_ydata())  # y = x


def test_agreement_of_a_teacher_that_is_the_reference_shifted(cells):
    from conftest import labelled

    structures = labelled(cells, "ref")
    for atoms in structures:  # same forces, energies shifted by -2 eV/atom, one made noisier
        atoms.info["teacher_energy"] = atoms.info["ref_energy"] - 2.0 * len(atoms)
        atoms.arrays["teacher_forces"] = atoms.arrays["ref_forces"] * 1.0
    row = agreement(structures, "teacher", "ref")
    assert row["energy_r"] == pytest.approx(1.0) and row["forces_r"] == pytest.approx(1.0)
    assert row["energy_rmse_centred"] == pytest.approx(0.0, abs=1e-9)
    assert row["forces_rmse"] == 0.0 and row["n_structures"] == 3
    structures[0].arrays["teacher_forces"] = structures[0].arrays["teacher_forces"] + 1.0
    noisy = agreement(structures, "teacher", "ref")
    assert noisy["forces_rmse"] == pytest.approx(np.sqrt(1 / 3)) and noisy["forces_r"] < 1


def test_agreement_removes_each_levels_energy_zero_per_element():
    """Molecules of three compositions: a teacher whose zero differs per element (and whose
    energies are otherwise the reference's) agrees perfectly; a plain mean would not."""
    from ase.build import molecule

    rng = np.random.default_rng(0)
    structures = []
    for name in ("CH3CH2OH", "CH3COOH", "CH3OH", "CH3CH2OH", "CH3COOH", "CH3OH"):
        atoms = molecule(name)
        counts = {s: atoms.get_chemical_symbols().count(s) for s in "CHO"}
        reference = -100 * counts["C"] - 10 * counts["H"] - 400 * counts["O"] + rng.normal()
        teacher = reference + 5 * counts["C"] - 3 * counts["H"] + 20 * counts["O"]
        forces = rng.normal(size=(len(atoms), 3))
        atoms.info.update(ref_energy=reference, teacher_energy=teacher)
        atoms.arrays.update(ref_forces=forces, teacher_forces=forces)
        structures.append(atoms)
    row = agreement(structures, "teacher", "ref")
    assert row["energy_r"] == pytest.approx(1.0) and row["energy_rmse_centred"] < 1e-6
    assert 0 < row["energy_spread"] < 1000  # the noise, not the ~40 eV/atom between molecules


def test_spread_over_pretraining_seeds_is_reported_beside_the_finetuning_one(metric_files):
    """A second pre-trained model (snap-p2) 20% worse than the first: the pre-training spread is
    the std of the two models' means; the fine-tuning spread the mean of their own stds."""
    table = collect(metric_files)
    replica = table[table["mode"] == "finetune"].assign(teacher="snap-p2")
    replica["e_rmse"] *= 1.2
    spread = pretrain_seed_spread(pd.concat([table, replica]))
    row = spread[spread["n_real"] == 10].iloc[0]
    assert (row["teacher"], row["mode"], row["pretrain_seeds"], row["finetune_seeds"]) == (
        "snap",
        "finetune",
        2,
        2,
    )
    first, second = [19.0, 21.0], [22.8, 25.2]  # 400 / 10 * 0.5 * (0.95, 1.05), then x 1.2
    assert row["e_rmse_mean"] == pytest.approx(np.mean(first + second))
    assert row["e_rmse_std_pretrain"] == pytest.approx(np.std([20.0, 24.0], ddof=1))
    assert row["e_rmse_std_finetune"] == pytest.approx(
        (np.std(first, ddof=1) + np.std(second, ddof=1)) / 2
    )
    alone = pretrain_seed_spread(table)  # one pre-training seed: that spread is unknown
    assert (alone["pretrain_seeds"] == 1).all() and alone["e_rmse_std_pretrain"].isna().all()
    assert "scratch" not in set(spread["mode"])


def test_each_named_test_set_gets_its_rows_summaries_and_panel(metric_files, tmp_path):
    """metrics.json with test_sets: a row per model and set, the headline's first; summaries
    per set; one row of panels per set, with the teacher's own error dashed on the headline."""
    from synthpt.aggregate import TEST_SET, by_test_set, headline

    for path in metric_files:
        row = json.loads(path.read_text())
        worse = {k: row[k] * 3 for k in ("e_rmse", "f_rmse")} | {"n_test": 15}
        headline_scores = {k: row[k] for k in ("e_rmse", "f_rmse", "e_mae", "f_mae", "n_test")}
        row["test_sets"] = [  # in the campaign's order, not the JSON file's sorted keys
            {"test_set": "md300", **headline_scores},
            {"test_set": "dihedral", **headline_scores, **worse},
        ]
        path.write_text(json.dumps(row))
    table = collect(metric_files)
    assert len(table) == 32 and list(dict.fromkeys(table[TEST_SET])) == ["md300", "dihedral"]
    assert len(headline(table)) == 16 and (headline(table)[TEST_SET] == "md300").all()
    summary = by_test_set(summarize, table)
    assert list(summary.columns[:2]) == [TEST_SET, "teacher"]
    by_set = summary.set_index([TEST_SET, "mode", "n_real"])["e_rmse_mean"]
    assert by_set["dihedral", "scratch", 10] == pytest.approx(3 * by_set["md300", "scratch", 10])
    gain = by_test_set(pretraining_gain, summary)
    assert set(gain[TEST_SET]) == {"md300", "dihedral"}
    assert np.allclose(gain["e_rmse_ratio"], 0.5)
    teachers = pd.DataFrame([{"teacher": "snap", "energy_rmse_centred": 7.0, "forces_rmse": 0.4}])
    figure = plot_learning_curves(summary, tmp_path / "curves.png", teachers)
    axes = figure.axes
    assert len(axes) == 4  # (energy, forces) x (md300, dihedral)
    assert [ax.get_title() for ax in axes[::2]] == ["test set md300", "test set dihedral"]
    dashed = [line for line in axes[1].get_lines() if line.get_linestyle() == "--"]
    assert [line.get_ydata()[0] for line in dashed] == [0.4]
    assert not [line for line in axes[3].get_lines() if line.get_linestyle() == "--"]
    assert [t.get_text() for t in axes[0].get_xticklabels()] == ["10", "20", "40", "80"]
    assert len(axes[0].collections) == 2  # the seed bands of scratch and finetune
    # an energy-only set (a NEB path): its force panel says so instead of failing on log axes
    energy_only = summary.assign(
        f_rmse_mean=lambda s: s["f_rmse_mean"].where(s[TEST_SET] == "md300"),
        f_rmse_std=lambda s: s["f_rmse_std"].where(s[TEST_SET] == "md300"),
    )
    figure = plot_learning_curves(energy_only, tmp_path / "energy-only.png", teachers)
    assert [t.get_text() for t in figure.axes[3].texts] == ["no labels in this set"]
    assert not figure.axes[3].get_lines() and figure.axes[2].get_lines()


def test_a_student_farther_from_its_teacher_than_the_teacher_from_the_dft_names_the_way_out():
    from synthpt.aggregate import farther_than_teacher

    pretraining = pd.DataFrame(
        [
            {"pretrained": "nep", "teacher": "nep", "student_f_rmse": 0.807,
             "teacher_f_rmse": 0.675, "student_farther": True},
            {"pretrained": "gfn2", "teacher": "gfn2", "student_f_rmse": 0.045,
             "teacher_f_rmse": 0.476, "student_farther": False},
        ]
    )  # fmt: skip
    (warning,) = farther_than_teacher(pretraining)
    assert warning.startswith("pre-trained model nep: 0.807 eV/Å from its teacher nep")
    assert "model.num_channels 32-64, max_L 1" in warning and "acaccapacity" in warning
    assert farther_than_teacher(pretraining.drop(columns="student_farther")) == []
