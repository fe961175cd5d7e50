"""Teacher-reference agreement on the real test structures, one row per teacher."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821
from synthpt.runtime import start_job  # noqa: E402

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

import pandas as pd  # noqa: E402

from synthpt.aggregate import agreement  # noqa: E402
from synthpt.io import read_structures, write_table  # noqa: E402

rows = [
    agreement(read_structures(path), teacher, sm.params.reference)
    for path, teacher in zip(sm.input, sm.params.teachers, strict=True)
]
table = pd.DataFrame(rows)
write_table(sm.output[0], table)
log.info("teacher-reference agreement:\n%s", table.to_string())
