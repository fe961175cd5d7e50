"""Deterministic train/valid and pool/test splits and nested subsets of the pool."""

from __future__ import annotations

import numpy as np
from ase import Atoms

SPLIT_STREAM = 101
SUBSET_STREAM = 102
VALID_STREAM = 103


def _by_index(structures: list[Atoms]) -> list[Atoms]:
    """Order by generation index, so results do not depend on shard order."""
    return sorted(structures, key=lambda a: a.info["index"])


PER_SEED = "per_seed"  # subsets.draw: training seed k draws its own nested chain
FIXED = "fixed"  # one chain for every training seed (before 2026-12-03, the only draw)
DRAWS = (PER_SEED, FIXED)


def split(
    structures: list[Atoms], n_first: int, seed: int, stream: int = SPLIT_STREAM, *chain: int
):
    """Shuffle deterministically; return (first ``n_first``, the rest)."""
    ordered = _by_index(structures)
    order = np.random.default_rng([seed, stream, *chain]).permutation(len(ordered))
    shuffled = [ordered[i] for i in order]
    return shuffled[:n_first], shuffled[n_first:]


def split_pool_test(structures: list[Atoms], n_pool: int, n_test: int, seed: int):
    """A pool of exactly ``n_pool`` and a disjoint test set of at most ``n_test`` structures."""
    if len(structures) < n_pool + 1:
        raise ValueError(
            f"only {len(structures)} labelled real structures: need a pool of {n_pool}"
            " and at least one test structure (see the rejects files)"
        )
    pool, rest = split(structures, n_pool, seed)
    return pool, rest[:n_test]


def validation_split(pool: list[Atoms], n_valid: int, seed: int):
    """(the validation set of ``n_valid`` structures, the rest: the pool of the subsets)."""
    if n_valid >= len(pool):
        raise ValueError(f"a validation set of {n_valid} leaves nothing of a pool of {len(pool)}")
    return split(pool, n_valid, seed, VALID_STREAM)


def missing_elements(structures: list[Atoms], elements: list[str]) -> list[str]:
    """The campaign's elements that no structure of ``structures`` contains."""
    present = {symbol for atoms in structures for symbol in atoms.get_chemical_symbols()}
    return [element for element in elements if element not in present]


def subset_chain(draw: str, training_seed: int) -> tuple[int, ...]:
    """Which permutation of the pool a training seed's subsets come from: its own (per_seed)
    or the one shared by all seeds (fixed)."""
    if draw not in DRAWS:
        raise ValueError(f"subsets.draw: {draw!r} is not one of {DRAWS}")
    return (training_seed,) if draw == PER_SEED else ()


def nested_subset(pool: list[Atoms], n: int, seed: int, chain: tuple[int, ...] = ()) -> list[Atoms]:
    """The first ``n`` of one permutation of the pool (``chain``: ``subset_chain``): n25 ⊂ n50
    ⊂ ... for any sizes within a chain."""
    if n > len(pool):
        raise ValueError(f"subset of {n} asked from a pool of {len(pool)}")
    subset, _ = split(pool, n, seed, SUBSET_STREAM, *chain)
    return subset


def pretraining_subset(structures: list[Atoms], size: int | None, path) -> list[Atoms]:
    """The first ``size`` structures of a synthetic training set (the pre-training-size sweep,
    pretrain.sizes); all of them for None."""
    if size is not None and size > len(structures):
        raise ValueError(f"pretrain.sizes: {size} exceeds {len(structures)} in {path}")
    return structures[:size]
