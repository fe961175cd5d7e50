"""Read the user's real pool and test files: validate, filter, relabel under explicit keys."""

from synthpt.ingest import ingest
from synthpt.io import write_json, write_structures
from synthpt.runtime import start_job

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

pool, tests, report = ingest(
    sm.params.real, sm.params.reference, sm.params.elements, sm.params.largest_subset
)
for structures, path in zip(tests.values(), sm.output.tests, strict=True):
    write_structures(path, structures)
write_structures(sm.output.pool, pool)
write_json(sm.output.report, report)
log.info("pool %d, tests %s: %s", len(pool), {k: len(v) for k, v in tests.items()}, report)
