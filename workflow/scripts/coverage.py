"""coverage.csv and plots/coverage.png: the real structures in the pre-trained model's
descriptor space, against the synthetic ones, and the fine-tuned model's errors there."""

import numpy as np

from synthpt.coverage import (
    centred_per_element,
    coverage_table,
    descriptors,
    evenly,
    per_atom_force_errors,
    plot_coverage,
)
from synthpt.io import read_structures, write_table
from synthpt.labelling import label_keys, per_atom_key
from synthpt.runtime import start_job

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

at_most = sm.params.max_structures
structures = {
    name: evenly(read_structures(sm.input[name]), at_most)
    for name in ("synthetic", "pool", "valid")
}
structures["test"] = read_structures(sm.input.test)
features = {name: descriptors(sm.input.model, s, sm.params.dtype) for name, s in structures.items()}
stacked = {name: np.concatenate(f) for name, f in features.items()}
predictions = read_structures(sm.input.predictions)
errors = per_atom_force_errors(predictions, label_keys(sm.params.reference)[1])
sources = [a.info.get("source", a.info.get("config_type", "")) for a in structures["test"]]
parts = {}  # a mixed synthetic set: each source's environments apart
for atoms, feature in zip(structures["synthetic"], features["synthetic"], strict=True):
    parts.setdefault(atoms.info.get("structure_source"), []).append(feature)
parts = {k: np.concatenate(v) for k, v in parts.items() if k} if len(parts) > 1 else None
table = coverage_table(
    features["test"], stacked["synthetic"], stacked["pool"], errors, sources, parts
)
write_table(sm.output.table, table)
teacher_energies = centred_per_element(structures["synthetic"], per_atom_key(sm.params.teacher))
title = f"test atoms: force error of {sm.params.model}"
plot_coverage(stacked, np.concatenate(errors), title, sm.output.plot, teacher_energies)
log.info("descriptor atoms per set: %s", {k: len(v) for k, v in stacked.items()})
log.info("coverage:\n%s", table.describe().to_string())
