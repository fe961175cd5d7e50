"""The real validation set, or one nested subset of the rest of the pool."""

from synthpt.io import InputError, read_structures, write_structures
from synthpt.runtime import start_job
from synthpt.subsets import (
    missing_elements,
    nested_subset,
    subset_chain,
    validation_split,
)

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

valid, rest = validation_split(read_structures(sm.input[0]), sm.params.n_valid, sm.params.seed)
chosen = (
    nested_subset(
        rest,
        int(sm.wildcards.n),
        sm.params.seed,
        subset_chain(sm.params.draw, int(sm.wildcards.seed)),
    )
    if "n" in sm.wildcards.keys()
    else valid
)
if missing := missing_elements(chosen, sm.params.elements):
    raise InputError(
        f"{sm.output[0]}: no structure holds {missing} (elements {sm.params.elements}): no model"
        " can learn or be scored on them; raise the smallest subsets.sizes or n_valid, or drop"
        " the element"
    )
write_structures(sm.output[0], chosen)
