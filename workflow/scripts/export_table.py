"""export/models.csv: which exported model is which, with its test figures."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821
from synthpt.runtime import start_job  # noqa: E402

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

import json  # noqa: E402

from synthpt.export import models_table  # noqa: E402
from synthpt.io import write_table  # noqa: E402

choices = [json.loads(Path(path).read_text()) for path in sm.input]
write_table(sm.output[0], models_table(choices, str(Path(sm.output[0]).parent)))
log.info("exported %d models", len(choices))
