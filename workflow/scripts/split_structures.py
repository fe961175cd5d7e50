"""Split the user's structure files into the campaign's shards (read once, written atomically)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821
from synthpt.runtime import start_job  # noqa: E402

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

from synthpt.ingest import read_structures_to_label  # noqa: E402
from synthpt.io import write_structures  # noqa: E402
from synthpt.structures import shard_indices  # noqa: E402

structures = read_structures_to_label(sm.input, sm.params.elements, sm.params.min_distance)
if len(structures) < len(sm.output):
    raise ValueError(f"{len(structures)} structures in {list(sm.input)}: fewer than the shards")
for shard, path in enumerate(sm.output):
    indices = shard_indices(len(structures), len(sm.output), shard)
    write_structures(path, structures[indices.start : indices.stop])
log.info("%d structures in %d shards", len(structures), len(sm.output))
