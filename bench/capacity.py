"""Student capacity: the default's pre-training at several widths."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import yaml
from common import DEFAULT, ROOT, reuse_labels, snakemake, table

from synthpt.paths import pretrained_metrics_file


def bench_capacity(base=None, workdir=ROOT, channels=(8, 16, 32), cores=2):
    """How large a student learns its teacher: the campaign's pre-training at several widths
    (model.num_channels) on its own synthetic set, each scored against the teacher on held-out
    synthetic cells and, beside the teacher against the reference, on the agreement (test)
    structures. Reuses results/<campaign>'s structures and labels (copied, mtimes kept)."""
    import json

    base = base or DEFAULT
    source = Path(workdir) / "results" / base["campaign"]
    teacher = base["teachers"][0]
    if not (source / "synthetic" / teacher / "train.extxyz").exists():
        print(f"\n(capacity: run the {base['campaign']} campaign first, for its labels)")
        return []
    rows = []
    for width in channels:
        config = copy.deepcopy(base)
        config["model"]["num_channels"] = width
        config["campaign"] = f"{base['campaign']}-c{width}"
        results = Path(workdir) / "results" / config["campaign"]
        reuse_labels(source, results)
        with tempfile.TemporaryDirectory() as tmp:
            configfile = Path(tmp) / "capacity.yaml"
            configfile.write_text(yaml.safe_dump(config))
            target = pretrained_metrics_file(config["campaign"], teacher)
            snakemake(workdir, configfile, "--cores", str(cores), target)
        m = json.loads((Path(workdir) / target).read_text())
        rows.append((width, m["e_rmse"], m["f_rmse"], m["student_f_rmse"], m["teacher_f_rmse"],
                     m["epochs"], m["stopped_by"], m["train_s"]))  # fmt: skip
        print(f"capacity: {rows[-1]}", flush=True)
    table(
        f"Student capacity ({base['campaign']}): pre-trained against {teacher}",
        ["channels", "E vs teacher (held-out synthetic)", "F vs teacher (held-out synthetic)",
         "F vs teacher (agreement set)", "teacher F vs reference", "epochs", "stopped by",
         "train s"],
        rows,
    )  # fmt: skip
    return rows
