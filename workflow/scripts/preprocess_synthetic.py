"""A large synthetic set as mace's HDF5 files (preprocess_data), with its count and E0s."""

import tempfile
from pathlib import Path

from synthpt.e0s import fit_e0s
from synthpt.hdf5 import describe_set, write_hdf5_set
from synthpt.io import energy_forces, read_structures, validate_labels, write_structures
from synthpt.labelling import label_keys
from synthpt.runtime import start_job
from synthpt.subsets import pretraining_subset

sm = snakemake  # noqa: F821
log = start_job(sm.log[0], sm.threads)

size, elements = sm.params.size, sm.params.elements
keys = label_keys(sm.wildcards.teacher)
train = pretraining_subset(read_structures(sm.input.train), size, sm.input.train)
validate_labels(train, sm.input.train, *keys, elements)
e0s = fit_e0s(train, [energy_forces(a, *keys)[0] for a in train], elements)
with tempfile.TemporaryDirectory(dir=Path(sm.output.train).parent) as work:
    train_file = sm.input.train
    if size is not None:
        train_file = f"{work}/train_subset.extxyz"
        write_structures(train_file, train)
    write_hdf5_set(
        train_file, sm.input.valid, {"train": sm.output.train, "valid": sm.output.valid},
        keys=keys, elements=elements, seed=sm.params.seed, log_file=sm.log[0],
    )  # fmt: skip
describe_set(sm.output.dataset, len(train), e0s)
log.info("%d train structures as HDF5 (%s); E0s %s", len(train), sm.output.train, e0s)
