"""Split the labelled real structures into a fine-tuning pool and a held-out test set."""

from synthpt.io import read_shards, write_structures
from synthpt.runtime import start_job
from synthpt.subsets import split_pool_test

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

n_pool, n_test = sm.params.n_pool, sm.params.n_test
structures = read_shards(sm.input)
pool, test = split_pool_test(structures, n_pool, n_test, sm.params.seed)
if len(test) < n_test:
    log.warning("test set has %d structures, not %d: some were rejected", len(test), n_test)
write_structures(sm.output.test, test)
write_structures(sm.output.pool, pool)
log.info("pool %d, test %d", len(pool), len(test))
