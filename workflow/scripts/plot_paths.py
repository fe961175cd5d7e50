"""Energy along each ordered path (real.paths): reference and every mode."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821
from synthpt.runtime import start_job  # noqa: E402

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

from synthpt.io import atomic_path, read_structures  # noqa: E402
from synthpt.labelling import label_keys  # noqa: E402
from synthpt.paths import ModelId  # noqa: E402
from synthpt.plots import path_curves, plot_paths  # noqa: E402

paths = path_curves(
    (name, ModelId.from_path(model), read_structures(path))
    for name, model, path in zip(
        sm.params.sets, sm.params.models, sm.input.predictions, strict=True
    )
)
with atomic_path(sm.output[0]) as tmp:
    plot_paths(paths, label_keys(sm.params.reference)[0], tmp)
