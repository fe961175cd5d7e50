"""Gather every model's metrics into learning_curves.csv and the summaries derived from it."""

import json
import sys
from pathlib import Path

import pandas as pd

from synthpt.aggregate import (
    TIMES,
    by_test_set,
    collect,
    curve_columns,
    data_efficiency,
    farther_than_teacher,
    headline,
    pretrain_seed_spread,
    pretraining_gain,
    summarize,
    tuning_table,
)
from synthpt.io import write_table
from synthpt.runtime import start_job

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

table = collect(sm.input.models)
summary = by_test_set(summarize, table)
outputs = {
    "table": table[curve_columns(table)],
    "times": headline(table)[TIMES],
    "summary": summary,
    "gain": by_test_set(pretraining_gain, summary),
    "efficiency": by_test_set(data_efficiency, summary),
    "pretrain_seeds": by_test_set(pretrain_seed_spread, table),
    "pretraining": pd.DataFrame([json.loads(Path(p).read_text()) for p in sm.input.pretrained]),
    "tuning": tuning_table(sm.input.tuning),
}
for name, frame in outputs.items():
    write_table(sm.output[name], frame)
log.info("pre-training gain:\n%s", outputs["gain"].to_string())
log.info("pre-trained models against their teachers:\n%s", outputs["pretraining"].to_string())
log.info("learning rates chosen on validation:\n%s", outputs["tuning"].to_string())
for warning in farther_than_teacher(outputs["pretraining"]):
    log.warning(warning)
    print(f"synthpt: warning: {warning}", file=sys.__stderr__, flush=True)
