"""Split the user's structure files into the campaign's shards (read once, written atomically)."""

from synthpt.ingest import read_structures_to_label
from synthpt.io import write_structures
from synthpt.runtime import start_job
from synthpt.structures import shard_indices

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

structures = read_structures_to_label(sm.input, sm.params.elements, sm.params.min_distance)
if len(structures) < len(sm.output):
    raise ValueError(f"{len(structures)} structures in {list(sm.input)}: fewer than the shards")
for shard, path in enumerate(sm.output):
    indices = shard_indices(len(structures), len(sm.output), shard)
    write_structures(path, structures[indices.start : indices.stop])
log.info("%d structures in %d shards", len(structures), len(sm.output))
