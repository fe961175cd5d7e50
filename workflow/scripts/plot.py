"""Learning-curve and parity plots."""

import pandas as pd

from synthpt.aggregate import headline
from synthpt.io import atomic_path, read_structures
from synthpt.labelling import label_keys
from synthpt.paths import ModelId
from synthpt.plots import (
    model_label,
    plot_cost,
    plot_learning_curves,
    plot_parity,
    plot_stability,
)
from synthpt.runtime import start_job

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

with atomic_path(sm.output.curves) as tmp:
    plot_learning_curves(pd.read_csv(sm.input.summary), tmp, pd.read_csv(sm.input.teachers))
summary, table = (headline(pd.read_csv(path)) for path in (sm.input.summary, sm.input.table))
with atomic_path(sm.output.stability) as tmp:
    plot_stability(summary, sm.params.md_steps, tmp)
with atomic_path(sm.output.cost) as tmp:
    plot_cost(table.merge(pd.read_csv(sm.input.times)), tmp)
predictions = {}
for path, model in zip(sm.input.predictions, sm.params.models, strict=True):
    model = ModelId.from_path(model)
    name = model_label(model.pretrained, model.mode)
    predictions[f"{name}, n={model.n_real}, seed {model.seed}"] = read_structures(path)
with atomic_path(sm.output.parity) as tmp:
    plot_parity(predictions, *label_keys(sm.params.reference), tmp)
