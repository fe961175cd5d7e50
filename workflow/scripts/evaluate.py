"""Score one model on the real test set: metrics.json and per-structure predictions."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821
from synthpt.runtime import start_job  # noqa: E402

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

from dataclasses import asdict  # noqa: E402

from synthpt.campaign import ModelId  # noqa: E402
from synthpt.evaluate import load_compiled, metrics, predict_compiled, with_predictions  # noqa: E402
from synthpt.io import read_structures, validate_labels, write_json, write_structures  # noqa: E402
from synthpt.labelling import label_keys  # noqa: E402

energy_key, forces_key = label_keys(sm.params.reference)
test = read_structures(sm.input.test)
validate_labels(test, sm.input.test, energy_key, forces_key, sm.params.elements)
energies, forces = predict_compiled(load_compiled(sm.input.model), test)
scores = asdict(ModelId.from_path(sm.wildcards.model)) | metrics(
    test, energy_key, forces_key, energies, forces
)
write_structures(sm.output.predictions, with_predictions(test, energies, forces))
write_json(sm.output.metrics, scores)
log.info("%s: %s", sm.wildcards.model, scores)
