"""Label shards with one calculator; failures go to the rejects file with their reason."""

from synthpt.calculators import calculator_entry
from synthpt.io import read_structures, write_structures
from synthpt.labelling import check_rejects, label
from synthpt.runtime import start_job

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

settings = sm.params.calculator
name = settings["name"]
structures = [atoms for path in sm.input for atoms in read_structures(path)]
entry = calculator_entry(**settings)
predict_batch = entry.predict_batch  # where its type declares one, else one structure at a time
calculator = entry.calculator if predict_batch is None else None
labelled, rejects = label(structures, calculator, name, sm.params.max_force, predict_batch)
write_structures(sm.output.rejects, rejects)
log.info("%s labelled %d structures, rejected %d", name, len(labelled), len(rejects))
check_rejects(len(rejects), len(structures), name, settings["spec"].get("max_reject_fraction", 0.5))
write_structures(sm.output.labelled, labelled)
