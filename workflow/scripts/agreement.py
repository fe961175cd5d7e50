"""Teacher-reference agreement on the real test structures, one row per teacher."""

import pandas as pd

from synthpt.aggregate import agreement
from synthpt.io import read_structures, write_table
from synthpt.runtime import start_job

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

rows = [
    agreement(read_structures(path), teacher, sm.params.reference)
    for path, teacher in zip(sm.input, sm.params.teachers, strict=True)
]
table = pd.DataFrame(rows)
write_table(sm.output[0], table)
log.info("teacher-reference agreement:\n%s", table.to_string())
