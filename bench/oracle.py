"""The oracle check: the reference as its own teacher; fine-tuning must not hurt."""

from __future__ import annotations

import copy
import tempfile
import time
from pathlib import Path

import yaml
from common import DEFAULT, ROOT, metrics, model_path, snakemake, table

from synthpt.paths import ZERO_SHOT, metrics_file
from synthpt.strategies import FINETUNE


def oracle_config(base: dict, campaign: str = "oracle") -> dict:
    """Campaign ``base`` whose only teacher is its reference (the same settings under another
    name): the pre-trained model has learnt the reference itself, so no fine-tune on a few real
    structures should make it worse."""
    config = copy.deepcopy(base)
    reference = config["reference"]
    oracle = f"{reference}oracle"
    config["calculators"][oracle] = copy.deepcopy(config["calculators"][reference])
    config["teachers"], config["campaign"] = [oracle], campaign
    return config


def oracle_table(results: Path, config: dict) -> list[tuple]:
    """Per n: zero-shot and fine-tuned (mean over seeds) test errors, and whether fine-tuning
    made the start worse; from the metrics files."""
    import numpy as np

    teacher, rows = config["teachers"][0], []
    for n in config["subsets"]["sizes"]:
        start = metrics(results, model_path(ZERO_SHOT, n, teacher=teacher))
        tuned = [
            metrics(results, model_path(FINETUNE, n, seed, teacher))
            for seed in config["subsets"]["seeds"]
        ]
        e, f = (np.array([m[key] for m in tuned]) for key in ("e_rmse", "f_rmse"))
        kept = sum(m["kept"] == "start" for m in tuned)
        worse = e.mean() > start["e_rmse"] or f.mean() > start["f_rmse"]
        spread = [x.std(ddof=1) if len(x) > 1 else 0.0 for x in (e, f)]
        rows.append((n, start["e_rmse"], f"{e.mean():.2f} ± {spread[0]:.2f}",
                     start["f_rmse"], f"{f.mean():.4f} ± {spread[1]:.4f}",
                     f"{kept}/{len(tuned)}", "worse" if worse else "no worse"))  # fmt: skip
    return rows


def bench_oracle(base=None, workdir=ROOT, cores=2, replicas=1, seeds=(1, 2)):
    """The oracle check: the default with its reference (GFN1-xTB) as the teacher, on one MD
    replica (360 synthetic structures, to bound the xTB labelling), fine-tuned at every n;
    fine-tuned must be no worse than zero-shot on the test set, energy and forces. The real
    data (structures and reference labels) are the base campaign's when it has them (copied,
    mtimes kept: not recomputed)."""
    import shutil

    config = oracle_config(base or DEFAULT)
    source = Path(workdir) / "results" / (base or DEFAULT)["campaign"]
    target = Path(workdir) / "results" / config["campaign"]
    for part in ("structures/real", "real"):
        if (source / part).exists() and not (target / part).exists():
            shutil.copytree(source / part, target / part, ignore=shutil.ignore_patterns("teachers"))
    if "replicas" in config["structures"]:
        config["structures"]["replicas"] = replicas
    config["subsets"]["seeds"] = list(seeds)
    config["finetune"]["strategies"] = ["finetune"]
    teacher = config["teachers"][0]
    models = [model_path(ZERO_SHOT, n, teacher=teacher) for n in config["subsets"]["sizes"]]
    models += [
        model_path(FINETUNE, n, s, teacher) for n in config["subsets"]["sizes"] for s in seeds
    ]
    results = Path(workdir) / "results" / config["campaign"]
    targets = [metrics_file(config["campaign"], m) for m in models]
    with tempfile.TemporaryDirectory() as tmp:
        configfile = Path(tmp) / "oracle.yaml"
        configfile.write_text(yaml.safe_dump(config))
        start = time.perf_counter()
        snakemake(workdir, configfile, "--cores", str(cores), *targets)
        wall = time.perf_counter() - start
    rows = oracle_table(results, config)
    table(
        f"Oracle: teacher = reference ({teacher}); test errors, mean ± std over seeds {seeds}",
        [
            "n",
            "zero-shot E",
            "fine-tuned E",
            "zero-shot F",
            "fine-tuned F",
            "kept start",
            "verdict",
        ],
        rows,
    )
    print(f"\noracle campaign: {wall:.0f} s wall on {cores} cores; fine-tuned worse than"
          f" zero-shot at {sum(r[-1] == 'worse' for r in rows)} of {len(rows)} sizes")  # fmt: skip
    return rows
