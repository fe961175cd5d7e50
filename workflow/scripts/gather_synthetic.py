"""Gather a teacher's labelled shards into train and valid files."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821
from synthpt.runtime import start_job  # noqa: E402

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

from synthpt.io import read_shards, write_structures  # noqa: E402
from synthpt.subsets import split  # noqa: E402
from synthpt.training import n_valid  # noqa: E402

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
