"""Learning curves of a campaign as it stands: every model with metrics, and what is missing."""

from pathlib import Path

import pandas as pd

from synthpt.aggregate import (
    by_test_set,
    collect,
    curve_columns,
    summarize,
)
from synthpt.io import atomic_path, write_table
from synthpt.paths import ModelId
from synthpt.plots import plot_learning_curves
from synthpt.runtime import start_job

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

found, missing = [], []
for model, path in zip(sm.params.models, sm.params.metrics, strict=True):
    (found if Path(path).exists() else missing).append((model, path))
table = collect([path for _, path in found])
missing = pd.DataFrame(
    [ModelId.from_path(model).columns() for model, _ in missing],
    columns=["mode", "teacher", "n_real", "seed"],
)
write_table(sm.output.table, table[curve_columns(table)])
write_table(sm.output.missing, missing)
with atomic_path(sm.output.curves) as tmp:
    plot_learning_curves(by_test_set(summarize, table), tmp)
log.info("%d of %d models have metrics", len(found), len(sm.params.models))
if len(missing):
    log.warning("missing (not yet run):\n%s", missing.to_string(index=False))
