"""export/models.csv: which exported model is which, with its test figures."""

import json
from pathlib import Path

from synthpt.export import models_table
from synthpt.io import write_table
from synthpt.runtime import start_job

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

choices = [json.loads(Path(path).read_text()) for path in sm.input]
write_table(sm.output[0], models_table(choices, str(Path(sm.output[0]).parent)))
log.info("exported %d models", len(choices))
