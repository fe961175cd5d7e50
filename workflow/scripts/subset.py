"""One nested subset of the real pool."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821
from synthpt.runtime import start_job  # noqa: E402

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

from synthpt.io import read_structures, write_structures  # noqa: E402
from synthpt.subsets import nested_subset  # noqa: E402

subset = nested_subset(read_structures(sm.input[0]), int(sm.wildcards.n), sm.params.seed)
write_structures(sm.output[0], subset)
