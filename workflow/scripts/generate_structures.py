"""The structures of one shard, made by the config's structure source (synthpt.sources)."""

from synthpt.io import read_structures, write_structures
from synthpt.runtime import start_job
from synthpt.sources import Shard, source_of

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

settings = sm.params.settings
seeds = [a for path in sm.input.get("seeds", []) for a in read_structures(path)]  # positions
shard = Shard(
    indices=range(*sm.params.indices),
    stream=sm.params.stream,
    settings=settings,
    seed=sm.params.seed,
    builder=sm.params.builder,
    seed_structures=seeds,
    parts=tuple(tuple(part) for part in sm.params.parts),
)
structures = source_of({"structures": settings}).generate(shard)
for atoms in structures:  # a mix marks each part's; one source, every structure
    atoms.info.setdefault("structure_source", settings.get("source", "random"))
if seeds:
    log.info("grew chains from %d seed structures of %s", len(seeds), list(sm.input.seeds))
write_structures(sm.output[0], structures)
log.info("wrote %d structures to %s", len(structures), sm.output[0])
