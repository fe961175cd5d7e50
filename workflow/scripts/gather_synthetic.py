"""Gather a teacher's labelled shards into train and valid files."""

from synthpt.io import read_shards, write_structures
from synthpt.runtime import start_job
from synthpt.subsets import split
from synthpt.training import n_valid

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

structures = read_shards(sm.input)
if len(structures) < 2:
    raise ValueError(f"only {len(structures)} synthetic structures survived labelling: see rejects")
valid, train = split(
    structures,
    n_valid(len(structures), sm.params.valid_fraction),
    sm.params.seed,
)
write_structures(sm.output.valid, valid)
write_structures(sm.output.train, train)
log.info("gathered %d train and %d valid structures", len(train), len(valid))
