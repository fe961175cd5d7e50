"""Smoke tests of the benchmarks on tiny inputs: each runs and prints its figures."""

import copy
import json
import sys

import pytest
import yaml

from conftest import ROOT, TINY_CONFIG

sys.path.insert(0, str(ROOT / "bench"))
import run as bench  # noqa: E402

pytestmark = pytest.mark.workflow


def test_oracle_bench_compares_fine_tuned_with_zero_shot_at_every_size(tmp_path, capsys):
    base = copy.deepcopy(TINY_CONFIG)
    base["synthetic"]["n_structures"] = 20  # labelled by GFN1-xTB here
    rows = bench.bench_oracle(base=base, workdir=tmp_path, seeds=(1,))
    assert [row[0] for row in rows] == base["subsets"]["sizes"]
    results = tmp_path / "results/oracle/metrics"
    for n, start_e, tuned_e, start_f, tuned_f, _, verdict in rows:
        start = json.loads((results / f"zero-shot/gfn1oracle/n{n}/seed0/metrics.json").read_text())
        tuned = json.loads((results / f"finetune/gfn1oracle/n{n}/seed1/metrics.json").read_text())
        assert (start_e, start_f) == (start["e_rmse"], start["f_rmse"])
        assert tuned_e == f"{tuned['e_rmse']:.2f} ± 0.00"  # one seed: no spread
        assert tuned_f == f"{tuned['f_rmse']:.4f} ± 0.0000"
        worse = tuned["e_rmse"] > start["e_rmse"] or tuned["f_rmse"] > start["f_rmse"]
        assert verdict == ("worse" if worse else "no worse")
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


def test_target_bench_compares_structure_sources_on_the_mixed_carbon_target(tmp_path, capsys):
    from ase.io import read

    md = {"densities": [2.0, 3.0], "temperatures": [3000], "anneal_ps": 0.3}
    rows = bench.bench_target(
        base=copy.deepcopy(TINY_CONFIG), workdir=tmp_path, n_synthetic=12, sizes=(4,),
        seeds=(1,), lr=0.01, crystals=1, replicas=1, md_overrides=md,
    )  # fmt: skip
    assert [row[0] for row in rows] == ["md", "augment", "mix"]
    assert all(row[1] == 4 and row[2] > 0 and row[3] > 0 and row[6] > 0 for row in rows)
    data = tmp_path / "results/target-data"
    kinds = {
        a.info["config_type"] for f in ("pool", "test") for a in read(data / f"{f}.extxyz", ":")
    }
    assert {"diamond", "graphite", "graphene", "slab100", "amorphous", "liquid"} <= kinds
    synthetic = {
        name: len(read(tmp_path / f"results/target-{name}/synthetic/snap/train.extxyz", ":"))
        + len(read(tmp_path / f"results/target-{name}/synthetic/snap/valid.extxyz", ":"))
        for name in ("md", "augment", "mix")
    }
    assert synthetic == {"md": 12, "augment": 12, "mix": 12}  # the same budget
    ingest = json.loads((tmp_path / "results/target-augment/real/ingest.json").read_text())
    assert ingest["pool"]["kept"] == 9  # 15 structures, 6 of them the test set
    assert not (tmp_path / "results/target-augment/metrics/scratch").exists()  # md's reused
    assert "Synthetic sources on the carbon target" in capsys.readouterr().out


def test_target_student_bench_pretrains_each_student_on_the_same_target_labels(tmp_path, capsys):
    students = {"narrow": {"num_channels": 4}, "wide, r_max 3": {"num_channels": 8, "r_max": 3.0}}
    rows = bench.bench_target_student(
        base=copy.deepcopy(TINY_CONFIG), workdir=tmp_path, n_synthetic=(8,), students=students,
        pretrain={"max_epochs": 2, "batch_size": 2}, crystals=1, replicas=1,
    )  # fmt: skip
    assert [row[:2] for row in rows] == [("narrow", 8), ("wide, r_max 3", 8)]
    campaigns = [tmp_path / "results" / name for name in
                 ("target-student-8-narrow", "target-student-8-wide-r-max-3")]  # fmt: skip
    labels = [(c / "synthetic/snap/train.extxyz").read_bytes() for c in campaigns]
    assert labels[0] == labels[1] and labels[0].count(b"Lattice=") == 8 - 1  # 1 validation
    for row, campaign, channels in zip(rows, campaigns, (4, 8), strict=True):
        m = json.loads((campaign / "metrics/pretrain/snap/metrics.json").read_text())
        keys = ("student_e_rmse", "student_f_rmse", "teacher_e_rmse", "teacher_f_rmse", "f_rmse",
                "epochs", "stopped_by")  # fmt: skip
        assert row[2:9] == tuple(m[key] for key in keys)
        assert m["epochs"] <= 2 and row[9] == m["train_s"] / max(m["epochs"], 1)
        log = (campaign / "logs/pretrain/snap.log").read_text()
        assert f"--num_channels={channels} " in log
    assert "Carbon target: students pre-trained" in capsys.readouterr().out


def test_labelling_bench_rates_a_teacher_in_a_loop_and_in_the_workflow(capsys):
    rows = bench.bench_labelling(
        shard_size=3, teachers=("snap",), batch_shards=2, parallel=((2, 2),)
    )
    n_shards, cores, alone, efficiency = rows[0]
    assert (n_shards, cores) == (2, 2) and alone > 0 and efficiency > 0
    out = capsys.readouterr().out
    assert "## Labelling (1 core" in out and "| snap |" in out and "Parallel efficiency" in out


def test_orchestration_bench_times_the_paper_dag_beside_snakemakes_floor(capsys):
    rows = bench.bench_orchestration(shard_counts=(10,), floor_jobs=50)
    names = [row[0] for row in rows]
    assert names[0] == "synthpt, 10 synthetic shards" and rows[0][1] > 100  # jobs
    assert [row[1] for row in rows[1:3]] == [51, 51]  # the trivial rule's jobs and `all`
    assert all(row[2] > 0 for row in rows)
    assert "Orchestration (paper-scale campaign" in capsys.readouterr().out


def test_paper_dag_bench_sets_the_paper_config_beside_a_floor_of_its_job_count(capsys):
    import orchestration

    config = orchestration.paper_with_cells(3000)  # 55 x 2 trajectories of 50 snapshots
    assert config["structures"]["replicas"] == 2 and config["synthetic"]["n_shards"] == 110
    rows = bench.bench_paper_dag(cell_counts=(3000,))
    ((name, jobs, dag, dry, floor_jobs, floor_dag, floor_dry, ratio),) = rows
    assert name == "paper.yaml, 3000 cells" and jobs > 500 and floor_jobs == jobs
    assert dag > 0 and floor_dag > 0 and ratio == dag / floor_dag
    assert "The paper DAG beside Snakemake's floor" in capsys.readouterr().out


def test_training_bench_measures_throughput_on_a_campaigns_synthetic_set(campaign, capsys):
    _, _, results = campaign
    tiny = copy.deepcopy(TINY_CONFIG)
    rows = bench.bench_training(
        train=results / "synthetic/snap/train.extxyz",
        runs=[("tiny", tiny, 20, "float32", 1)],
        epochs=3,
    )
    (name, batch, dtype, threads, atoms_per_s), *_ = rows
    assert (name, batch, dtype, threads) == ("tiny", tiny["pretrain"]["batch_size"], "float32", 1)
    assert atoms_per_s > 0
    assert "Training throughput on this CPU" in capsys.readouterr().out


def test_presets_bench_times_each_config_model_at_its_batch_sizes(campaign, capsys):
    from synthpt.campaign import synthetic_count

    _, _, results = campaign
    carbon = results / "synthetic/snap/train.extxyz"
    rows = bench.bench_presets(carbon=carbon, n=30, epochs=3, presets=["default"])
    default = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    batches = [default["pretrain"]["batch_size"], default["finetune"]["batch_size"]]
    assert [row[:4] for row in rows] == [
        ("default", "pretrain", batches[0], False),  # no GPU: no cuequivariance row
        ("default", "finetune", batches[1], False),
    ]
    for _, phase, batch, _, rate, per_step, per_epoch in rows:  # 64-atom cells
        assert per_step == pytest.approx(batch * 64 / rate)
        whole = synthetic_count(default) * 64 / rate
        assert per_epoch == (pytest.approx(whole) if phase == "pretrain" else "")
    assert "Training on cpu (1 threads; 30 structures" in capsys.readouterr().out


def test_campaign_and_learning_benches_read_a_finished_campaign(campaign, capsys):
    _, workdir, results = campaign
    totals = bench.bench_campaign(results=results, logs=workdir / ".snakemake/log")
    jobs, wall, job_seconds, cpu_seconds, peak_mb, *_ = totals[0]
    assert jobs == len(list((results / "benchmarks").rglob("*.tsv"))) and job_seconds > 0
    modes = [row[0] for row in bench.bench_learning(results=results)]
    assert {"scratch", "finetune", "zero-shot"} <= set(modes)
    out = capsys.readouterr().out
    assert "job time by stage" in out and "scratch falls at every n" in out


def test_md_bench_compares_the_teacher_and_tersoff_as_drivers(capsys):
    short = {"densities": [2.4], "temperatures": [3000], "melt_ps": 0.02, "quench_ps": 0.02,
             "anneal_ps": 0.02, "snapshot_ps": 0.01, "n_atoms": 16}  # fmt: skip
    rows = bench.bench_md(trajectories=1, snapshots=2, overrides=short)
    assert [row[0] for row in rows] == ["tersoff", "snap"]
    assert all(row[1] > 0 and row[2] == 2 for row in rows)  # ms a step, two snapshots each
    assert "MD driver trade-off" in capsys.readouterr().out


def test_faults_bench_kills_the_tiny_campaign_and_finishes_it(campaign, capsys):
    _, workdir, _ = campaign
    rows, identical, redone = bench.bench_faults(stages=("pretrain",), clean=workdir)
    assert [row[1] for row in rows] == ["pretrain", "(none: let finish)"]
    assert rows[0][5] == "killed" and rows[-1][5] == 0
    assert identical and not redone
    assert "kills survived: 1" in capsys.readouterr().out


def test_resume_bench_kills_training_and_resumes_it_to_the_uninterrupted_model(
    tmp_path, cells, capsys
):
    """A pre-training and a fine-tuning run killed at random moments after their first
    validation pass (SIGKILL, then SIGTERM) resume from their last pass (raw weights, EMA,
    optimizer, scheduler, RNGs, data order, stopping rule, warm-up, loose gradients) and end
    with the uninterrupted run's weights, bit for bit, and the same model file (hash), redoing
    at most one validation interval."""
    from conftest import labelled
    from synthpt.io import write_structures

    structures = labelled(cells, "ref")
    write_structures(tmp_path / "train.extxyz", structures[:2])
    write_structures(tmp_path / "valid.extxyz", structures[2:])
    files = (str(tmp_path / "train.extxyz"), str(tmp_path / "valid.extxyz"))
    data = {"teacher": "ref", "reference": "ref", "synthetic": files, "real": files,
            "n_synthetic": 2, "n_real": 2, "e0s": "{6: -7.0}"}  # fmt: skip
    common = {"batch_size": 1, "lr": 0.01, "energy_weight": 30, "forces_weight": 100,
              "lr_factor": 0.5, "lr_patience": 2, "ema_decay": 0.99}  # fmt: skip
    schedule = {
        "pretrain": common | {"max_epochs": 60, "patience": 1000},
        "finetune": common | {"max_steps": 120, "eval_steps": 4, "patience": 1000,
                              "warmup_steps": 6},
    }  # fmt: skip
    arch = {"num_channels": 4, "max_L": 0, "max_ell": 1, "correlation": 2, "r_max": 3.5,
            "num_interactions": 2, "radial_mlp": [8]}  # fmt: skip
    rows = bench.bench_resume(data, schedule, arch, "float64", kills=1, workdir=tmp_path)
    assert [(row[0], row[1]) for row in rows] == [("pretrain", "SIGKILL"), ("finetune", "SIGTERM")]
    for mode, _, _, killed, resumed, _, kept, redone, same_weights, same_file in rows:
        interval = 2 if mode == "pretrain" else 4  # steps: an epoch; eval_steps
        assert killed and resumed and kept > 0 and same_weights and same_file, rows
        assert 0 <= redone <= interval, rows
    assert "Training jobs killed and resumed" in capsys.readouterr().out


def test_hdf5_bench_measures_both_data_paths_in_their_own_processes(tmp_path, capsys):
    """Both paths on 200 small cells: each step's peak memory (a real process's, above the
    ~300 MB that torch and mace take), mace's set-up and epoch times from its log."""
    import hdf5

    rows = hdf5.bench_hdf5(sizes=(200,), hdf5_sizes=(200,), distinct=50, threads=1,
                           workdir=tmp_path)  # fmt: skip
    assert [row[2] for row in rows] == ["extxyz", "hdf5"]
    for _, atoms, _, peak, setup, epoch, wall, *_ in rows:
        assert atoms == 200 * 8 and peak > 300 and 0 < setup < wall and 0 < epoch < wall
    assert rows[1][7] > 0 and rows[1][8] > 0  # the preprocessing's own time and peak
    assert "HDF5 peak / extxyz peak" in capsys.readouterr().out


def test_gpu_smoke_runs_every_check_on_the_cpu_here(tmp_path, capsys):
    """The CPU half of bench/gpu_smoke.py: the same script a lent GPU runs."""
    rows = bench.bench_gpu_smoke(workdir=tmp_path, device="cpu", epochs=2, resume_steps=60)
    checks = {row[0]: row for row in rows}
    assert [row[1] for row in rows[:4]] == ["cpu"] * 4  # mace's own log, each mode
    assert checks["saved on the CPU, scored and mapped with no GPU visible"][1] == (
        '{"scored": 4, "mapped": 4}'
    )
    resumed = next(row for row in rows if row[0].startswith("kill at step"))
    assert resumed[1] <= 1e-6 and resumed[2]  # float32: within a few ulps (gpu_smoke's note)
    assert all(row[2] for row in rows), rows
    assert "GPU smoke (cpu)" in capsys.readouterr().out


def test_a_raised_epoch_cap_resumes_a_finished_run_to_the_longer_run_itself(tmp_path, cells):
    """A finished pre-training and fine-tuning run asked again with a higher cap (and nothing
    else changed) trains on from its last pass, not from epoch 0, and ends with the weights of
    the run that had the higher cap from the start. A run its rule had stopped trains no
    further and publishes the same model."""
    import re

    from resume import run_once, weights_equal

    from conftest import labelled
    from synthpt.io import write_structures

    structures = labelled(cells, "ref")
    write_structures(tmp_path / "train.extxyz", structures[:2])
    write_structures(tmp_path / "valid.extxyz", structures[2:])
    common = {"batch_size": 1, "lr": 0.01, "energy_weight": 30, "forces_weight": 100,
              "lr_factor": 0.5, "lr_patience": 2, "ema_decay": 0.99, "patience": 1000}  # fmt: skip
    base = {
        "architecture": {"num_channels": 4, "max_L": 0, "max_ell": 1, "correlation": 2,
                         "r_max": 3.5, "num_interactions": 2, "radial_mlp": [8]},
        "dtype": "float64", "seed": 7, "e0s": "{6: -7.0}", "labels": "ref", "n_train": 2,
        "train": str(tmp_path / "train.extxyz"), "valid": str(tmp_path / "valid.extxyz"),
    }  # fmt: skip
    pretrain = base | {"mode": "pretrain"}
    finetune = base | {"mode": "finetune", "foundation": str(tmp_path / "long-pretrain.model")}

    def run(spec, name, schedule):
        record = run_once(spec | {"work_dir": str(tmp_path / name), "schedule": schedule})
        log = (tmp_path / f"{name}.log").read_text().split("work dir")[-1]
        epochs = [int(e) for e in re.findall(r"INFO: Epoch (\d+):", log)]
        return record, log.splitlines()[0], epochs, tmp_path / f"{name}.model"

    caps = {  # short and long cap per mode; fine-tuning's cap is in steps (2 an epoch here)
        "pretrain": ({"max_epochs": 3}, {"max_epochs": 6}),
        "finetune": ({"max_steps": 8, "eval_steps": 2}, {"max_steps": 16, "eval_steps": 2}),
    }
    for mode, spec in (("pretrain", pretrain), ("finetune", finetune)):
        short, long = (common | cap for cap in caps[mode])
        whole = run(spec, f"long-{mode}", long)
        first = run(spec, f"raised-{mode}", short)
        assert first[0]["stopped_by"] == "cap" and first[2] == list(range(first[0]["epochs"]))
        raised = run(spec, f"raised-{mode}", long)
        assert "epoch cap was raised" in raised[1], raised[1]
        assert raised[2] == list(range(first[0]["epochs"], whole[0]["epochs"]))  # no epoch redone
        assert raised[0]["validation"] == whole[0]["validation"]
        assert weights_equal(whole[3], raised[3])

    ruled = common | {"max_epochs": 6, "patience": 1, "min_delta": 0.99}  # stops at its 2nd pass
    first = run(pretrain, "ruled", ruled)
    assert first[0]["stopped_by"] == "rule" and first[0]["epochs"] < 6
    again = run(pretrain, "ruled", ruled | {"max_epochs": 12})
    assert "epoch cap was raised" in again[1] and again[2] == []  # trained no further
    assert again[0] | {"wall_s": 0} == first[0] | {"wall_s": 0}
    assert weights_equal(first[3], again[3])
