"""The structures of one shard: random cells relaxed briefly, melt-quench-anneal MD of cells,
MD of molecules, or chains augmented from the real pool's (or the user's) structures."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821
from synthpt.runtime import start_job  # noqa: E402

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

from synthpt.campaign import AUGMENT, TRAJECTORY_SOURCES, cell_composition  # noqa: E402
from synthpt.io import read_structures, write_structures  # noqa: E402

settings, builder = sm.params.settings, sm.params.builder
composition = cell_composition(builder["elements"], settings)
if settings.get("source", "random") in TRAJECTORY_SOURCES:
    from synthpt.calculators import md_driver
    from synthpt.md import run_trajectories

    structures = run_trajectories(
        trajectories=range(*sm.params.indices),
        settings=settings,
        composition=composition,
        seed=sm.params.seed,
        driver=md_driver(**builder),
        stream=sm.params.stream,
    )
elif settings.get("source") == AUGMENT:
    from synthpt.calculators import make_calculator
    from synthpt.structures import augment

    seeds = [a for path in sm.input.seeds for a in read_structures(path)]  # positions only used
    structures = augment(
        chains=range(*sm.params.indices),
        seeds=seeds,
        settings=settings,
        seed=sm.params.seed,
        calculator=make_calculator(**builder),
    )
    log.info("grew chains from %d seed structures of %s", len(seeds), list(sm.input.seeds))
else:
    from synthpt.calculators import make_calculator
    from synthpt.structures import generate

    structures = generate(
        indices=range(*sm.params.indices),
        stream=sm.params.stream,
        seed=sm.params.seed,
        composition=composition,
        n_atoms=settings["n_atoms"],
        density_range=tuple(settings["density_range"]),
        min_dist=settings["min_distance"],
        relax_steps=settings["relax_steps"],
        relax_calculator=make_calculator(**builder),
    )
write_structures(sm.output[0], structures)
log.info("wrote %d structures to %s", len(structures), sm.output[0])
