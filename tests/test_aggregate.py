import json

import numpy as np
import pytest

from synthpt.aggregate import (
    COLUMNS,
    collect,
    data_efficiency,
    plot_learning_curves,
    pretraining_gain,
    scratch_equivalent,
    summarize,
)


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
                }
                path = tmp_path / f"{mode}-{n}-{seed}.json"
                path.write_text(json.dumps(row))
                paths.append(path)
    return paths


def test_table_has_one_row_per_model_and_documented_columns(metric_files):
    table = collect(metric_files)
    assert list(table.columns) == COLUMNS
    assert len(table) == 16
    assert table.iloc[0][["mode", "n_real", "seed"]].tolist() == ["finetune", 10, 1]


def test_summary_and_gain(metric_files):
    summary = summarize(collect(metric_files))
    row = summary[(summary["mode"] == "scratch") & (summary["n_real"] == 10)].iloc[0]
    assert row["e_rmse_mean"] == pytest.approx(40.0)
    assert row["e_rmse_std"] == pytest.approx(np.std([38.0, 42.0], ddof=1))
    assert row["e_rmse_count"] == 2
    gain = pretraining_gain(summary)
    assert gain["e_rmse_ratio"].tolist() == pytest.approx([0.5] * 4)
    # gap 20 meV/atom against a spread of 2.83: about 7 standard deviations
    assert gain.iloc[0]["e_rmse_gap_over_std"] == pytest.approx(20 / np.std([38, 42], ddof=1))


def test_data_efficiency_interpolates_log_log():
    assert scratch_equivalent([10, 20, 40], [40, 20, 10], 20) == pytest.approx(20)
    assert scratch_equivalent([10, 20, 40], [40, 20, 10], 28.284271) == pytest.approx(
        14.142, rel=1e-4
    )
    assert scratch_equivalent([10, 20, 40], [40, 20, 10], 5) == np.inf
    assert np.isnan(scratch_equivalent([10, 20, 40], [40, 20, 10], 50))


def test_fine_tuning_twice_as_good_equals_twice_the_data(metric_files):
    efficiency = data_efficiency(summarize(collect(metric_files)))
    at_20 = efficiency[(efficiency["n_real"] == 20) & (efficiency["metric"] == "e_rmse")]
    assert at_20["scratch_equivalent_n"].item() == pytest.approx(40)
    assert at_20["factor"].item() == pytest.approx(2)


def test_learning_curve_plot_is_a_png(metric_files, tmp_path):
    path = tmp_path / "curves.png"
    plot_learning_curves(summarize(collect(metric_files)), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10000
