"""Energy along each ordered path (real.paths): reference and every mode."""

from synthpt.io import atomic_path, read_structures
from synthpt.labelling import label_keys
from synthpt.paths import ModelId
from synthpt.plots import path_curves, plot_paths
from synthpt.runtime import start_job

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

paths = path_curves(
    (name, ModelId.from_path(model), read_structures(path))
    for name, model, path in zip(
        sm.params.sets, sm.params.models, sm.input.predictions, strict=True
    )
)
with atomic_path(sm.output[0]) as tmp:
    plot_paths(paths, label_keys(sm.params.reference)[0], tmp)
