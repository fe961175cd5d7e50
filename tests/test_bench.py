"""Smoke tests of the benchmarks on tiny inputs: each runs and prints its figures."""

import copy
import sys

import pytest

from conftest import ROOT, TINY_CONFIG

sys.path.insert(0, str(ROOT / "bench"))
import run as bench  # noqa: E402

pytestmark = pytest.mark.workflow


def test_oracle_bench_compares_fine_tuned_with_zero_shot_at_every_size(tmp_path, capsys):
    base = copy.deepcopy(TINY_CONFIG)
    base["synthetic"]["n_structures"] = 20  # labelled by GFN1-xTB here
    rows = bench.bench_oracle(base=base, workdir=tmp_path, seeds=(1,))
    assert [row[0] for row in rows] == base["subsets"]["sizes"]
    assert all(row[-1] in ("worse", "no worse") and row[1] > 0 and row[3] > 0 for row in rows)
    synthetic = (tmp_path / "results/oracle/synthetic/gfn1oracle/train.extxyz").read_text()
    assert "gfn1oracle_energy" in synthetic  # labelled by the reference's settings
    out = capsys.readouterr().out
    assert "Oracle: teacher = reference (gfn1oracle)" in out and "oracle campaign:" in out


def test_capacity_bench_pretrains_each_width_on_the_campaign_labels(campaign, capsys):
    _, workdir, _ = campaign
    rows = bench.bench_capacity(base=TINY_CONFIG, workdir=workdir, channels=(4,))
    assert [row[0] for row in rows] == [4]
    width, e, f, student_f, teacher_f, epochs, stopped_by, train_s = rows[0]
    assert e > 0 and f > 0 and student_f > 0 and teacher_f > 0 and epochs >= 1
    log = (workdir / "results/tiny-c4/logs/pretrain/snap.log").read_text()
    assert "--num_channels=4" in log
    assert not (workdir / "results/tiny-c4/logs/label_synthetic").exists()  # labels reused
    assert "Student capacity (tiny)" in capsys.readouterr().out


def test_bench_names_its_benchmarks_and_refuses_unknown_ones():
    import subprocess

    help_ = subprocess.run(
        [sys.executable, ROOT / "bench/run.py", "--help"], capture_output=True, text=True
    )
    assert help_.returncode == 0 and "oracle" in help_.stdout and "capacity" in help_.stdout
    wrong = subprocess.run(
        [sys.executable, ROOT / "bench/run.py", "nope"], capture_output=True, text=True
    )
    assert wrong.returncode == 2 and "invalid choice: 'nope'" in wrong.stderr
