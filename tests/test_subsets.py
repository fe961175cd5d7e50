from itertools import pairwise

import pytest

from synthpt.structures import generate
from synthpt.subsets import FIXED, PER_SEED, nested_subset, split_pool_test, subset_chain


@pytest.fixture(scope="module")
def pool_source():
    return generate(range(30), "real", 2, "C", 8, (2.0, 3.0), 1.1)


def ids(structures):
    return [a.info["index"] for a in structures]


def test_pool_and_test_are_disjoint_and_order_free(pool_source):
    pool, test = split_pool_test(pool_source, 20, 8, seed=1)
    assert len(pool) == 20 and len(test) == 8
    assert not set(ids(pool)) & set(ids(test))
    pool2, test2 = split_pool_test(pool_source[::-1], 20, 8, seed=1)
    assert ids(pool2) == ids(pool) and ids(test2) == ids(test)


def test_subsets_are_nested_and_deterministic(pool_source):
    pool, _ = split_pool_test(pool_source, 20, 8, seed=1)
    subsets = [ids(nested_subset(pool, n, seed=1)) for n in (3, 5, 10, 20)]
    for small, large in pairwise(subsets):
        assert large[: len(small)] == small
    assert sorted(subsets[-1]) == sorted(ids(pool))
    assert ids(nested_subset(pool[::-1], 5, seed=1)) == subsets[1]
    assert ids(nested_subset(pool, 5, seed=2)) != subsets[1]


def test_each_training_seed_draws_its_own_nested_chain_unless_fixed(pool_source):
    pool, _ = split_pool_test(pool_source, 20, 8, seed=1)

    def chain(draw, seed):
        return [ids(nested_subset(pool, n, 1, subset_chain(draw, seed))) for n in (3, 5, 10)]

    for seed in (1, 2, 3):
        small, medium, large = chain(PER_SEED, seed)
        assert large[:5] == medium and medium[:3] == small  # nested within a seed
    firsts = [tuple(chain(PER_SEED, seed)[1]) for seed in (1, 2, 3)]
    assert len(set(firsts)) == 3  # seeds draw different structures
    # fixed: one chain for every seed, the draw before per-seed subsets existed
    assert (
        chain(FIXED, 1) == chain(FIXED, 2) == [ids(nested_subset(pool, n, 1)) for n in (3, 5, 10)]
    )
    with pytest.raises(ValueError, match="subsets.draw: 'each'"):
        subset_chain("each", 1)


def test_too_few_structures_is_an_error(pool_source):
    with pytest.raises(ValueError, match="only 30 labelled real structures: need a pool of 30"):
        split_pool_test(pool_source, 30, 5, seed=1)
    with pytest.raises(ValueError, match="subset of 40 asked from a pool of 30"):
        nested_subset(pool_source, 40, seed=1)


def test_a_subset_without_an_element_is_named():
    from ase import Atoms

    from synthpt.subsets import missing_elements

    water, methane = Atoms("OH2"), Atoms("CH4")
    assert missing_elements([water, water], ["C", "H", "O"]) == ["C"]
    assert missing_elements([water, methane], ["C", "H", "O"]) == []
