"""The real validation set, or one nested subset of the rest of the pool."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821
from synthpt.runtime import start_job  # noqa: E402

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

from synthpt.io import read_structures, write_structures  # noqa: E402
from synthpt.subsets import nested_subset, validation_split  # noqa: E402

valid, rest = validation_split(read_structures(sm.input[0]), sm.params.n_valid, sm.params.seed)
if "n" in sm.wildcards.keys():
    write_structures(sm.output[0], nested_subset(rest, int(sm.wildcards.n), sm.params.seed))
else:
    write_structures(sm.output[0], valid)
