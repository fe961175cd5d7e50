"""Read the user's real pool and test files: validate, filter, relabel under explicit keys."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821
from synthpt.runtime import start_job  # noqa: E402

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

from synthpt.ingest import ingest  # noqa: E402
from synthpt.io import write_json, write_structures  # noqa: E402

pool, test, report = ingest(
    sm.params.real, sm.params.reference, sm.params.elements, sm.params.largest_subset
)
write_structures(sm.output.test, test)
write_structures(sm.output.pool, pool)
write_json(sm.output.report, report)
log.info("pool %d, test %d: %s", len(pool), len(test), report)
