"""Record the campaign's provenance: resolved config (re-runnable), versions, input checksums."""

import yaml

from synthpt.io import atomic_path, write_json
from synthpt.provenance import provenance
from synthpt.runtime import start_job

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

config = sm.params.config
with atomic_path(sm.output.config) as tmp:
    tmp.write_text(yaml.safe_dump(config, sort_keys=False))
write_json(sm.output.record, provenance(config, sm.input, sm.params.workflow_dir))
log.info("provenance of %d input files recorded", len(sm.input))
