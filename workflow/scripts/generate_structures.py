"""Random cells of one shard, relaxed briefly by the configured calculator."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821
from synthpt.runtime import start_job  # noqa: E402

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

from synthpt.calculators import make_calculator  # noqa: E402
from synthpt.io import write_structures  # noqa: E402
from synthpt.structures import generate  # noqa: E402

settings, relaxer = sm.params.settings, sm.params.relaxer
structures = generate(
    indices=range(*sm.params.indices),
    stream=sm.params.stream,
    seed=sm.params.seed,
    element=relaxer["elements"][0],
    n_atoms=settings["n_atoms"],
    density_range=tuple(settings["density_range"]),
    min_dist=settings["min_distance"],
    relax_steps=settings["relax_steps"],
    relax_calculator=make_calculator(**relaxer),
)
write_structures(sm.output[0], structures)
log.info("wrote %d structures to %s", len(structures), sm.output[0])
