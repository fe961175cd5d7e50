import numpy as np
import pytest

from synthpt.calculators import make_calculator
from synthpt.structures import (
    generate,
    min_distance,
    shard_groups,
    shard_indices,
    shards_per_job,
)


@pytest.mark.parametrize("n, shards", [(10, 3), (7, 7), (1000, 64), (5, 1)])
def test_shards_partition_all_indices(n, shards):
    parts = [shard_indices(n, shards, k) for k in range(shards)]
    assert [i for part in parts for i in part] == list(range(n))
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1


def test_shard_bounds_are_those_of_existing_campaigns():
    """Shard files of campaigns sharded before keep their structures (np.linspace bounds)."""
    for n in (1, 7, 100, 999, 1000, 12345):
        for shards in range(1, min(n, 256) + 1):
            bounds = np.linspace(0, n, shards + 1).round().astype(int)
            got = [shard_indices(n, shards, k) for k in range(shards)]
            assert [(r.start, r.stop) for r in got] == list(zip(bounds, bounds[1:], strict=False))


def test_labelling_jobs_take_consecutive_shards_up_to_the_work_target():
    assert shards_per_job(seconds_per_shard=25.0, n_shards=4, job_seconds=120) == 4
    assert shards_per_job(seconds_per_shard=25.0, n_shards=100, job_seconds=120) == 4
    assert shards_per_job(seconds_per_shard=300.0, n_shards=100, job_seconds=120) == 1
    assert shards_per_job(seconds_per_shard=0.0, n_shards=100, job_seconds=120) == 1  # unknown
    groups = shard_groups(n_shards=10, per_job=4)
    assert [list(g) for g in groups] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [list(g) for g in shard_groups(3, 1)] == [[0], [1], [2]]


def test_structures_do_not_depend_on_sharding():
    whole = generate(range(6), "synthetic", 3, "C", 64, (1.5, 3.5), 1.1)
    halves = generate(range(0, 2), "synthetic", 3, "C", 64, (1.5, 3.5), 1.1) + generate(
        range(2, 6), "synthetic", 3, "C", 64, (1.5, 3.5), 1.1
    )
    for a, b in zip(whole, halves, strict=True):
        assert np.array_equal(a.positions, b.positions)
    other_stream = generate(range(1), "real", 3, "C", 64, (1.5, 3.5), 1.1)
    assert not np.allclose(other_stream[0].positions, whole[0].positions)


def test_cells_have_requested_density_and_spacing():
    for atoms in generate(range(5), "real", 1, "C", 64, (1.5, 3.5), 1.1):
        assert len(atoms) == 64 and atoms.pbc.all()
        density = atoms.get_masses().sum() * 1.66053906660 / atoms.get_volume()
        assert density == pytest.approx(atoms.info["density"], abs=1e-3)
        assert 1.5 <= density <= 3.5
        assert min_distance(atoms) >= 1.1


def test_relaxation_with_teacher_lowers_forces():
    snap = make_calculator("snap", {"type": "lammps", "potential": "carbon_snap"}, ["C"])
    raw = generate(range(2), "real", 5, "C", 64, (2.0, 3.0), 1.1)
    relaxed = generate(range(2), "real", 5, "C", 64, (2.0, 3.0), 1.1, 8, snap)
    for before, after in zip(raw, relaxed, strict=True):
        before.calc, after.calc = snap, snap
        assert np.abs(after.get_forces()).max() < np.abs(before.get_forces()).max()
        assert min_distance(after) >= 1.1


@pytest.mark.parametrize(
    "composition, n_atoms, counts",
    [
        ("C", 4, {"C": 4}),
        ({"Si": 1, "C": 1}, 64, {"Si": 32, "C": 32}),
        ({"C": 1, "H": 1, "O": 1}, 10, {"C": 4, "H": 3, "O": 3}),  # remainders: first wins
        ({"Ti": 0.2, "O": 0.8}, 6, {"Ti": 1, "O": 5}),  # 1.2 and 4.8: the larger remainder
    ],
)
def test_cell_symbols_follow_the_composition(composition, n_atoms, counts):
    from collections import Counter

    from synthpt.structures import cell_symbols

    symbols = cell_symbols(composition, n_atoms)
    assert len(symbols) == n_atoms and Counter(symbols) == counts
    assert list(dict.fromkeys(symbols)) == list(counts)  # in the composition's order


AUGMENT = {
    "chain_length": 3, "widths": [0.05, 0.1, 0.15], "strain": 0.03, "relax_steps": 2,
    "min_distance": 1.1, "max_force": 100.0,
}  # fmt: skip


@pytest.fixture(scope="module")
def crystal_and_molecule():
    from ase.build import bulk, molecule

    diamond = bulk("C", "diamond", a=3.567, cubic=True).repeat((2, 2, 2))  # 64 atoms
    diamond.info.update(tersoff_energy=-1.0)  # a label, never carried over
    return diamond, molecule("CH3CH2OH")


def test_augmented_chains_grow_link_by_link_and_are_the_same_whatever_the_sharding(
    crystal_and_molecule,
):
    from synthpt.structures import augment

    diamond, _ = crystal_and_molecule
    tersoff = make_calculator("tersoff", {"type": "tersoff"}, ["C"])
    chains = augment(range(0, 3), [diamond], AUGMENT, 5, tersoff)
    alone = augment(range(2, 3), [diamond], AUGMENT, 5, tersoff)
    assert len(chains) == 9 and [a.info["link"] for a in chains[:3]] == [0, 1, 2]
    assert [a.info["index"] for a in chains] == list(range(9))
    np.testing.assert_array_equal(alone[0].positions, chains[6].positions)
    for atoms in chains:
        assert atoms.info["source"] == "augment" and atoms.info["seed_index"] == 0
        assert "tersoff_energy" not in atoms.info and atoms.calc is None
        assert min_distance(atoms) >= 1.1 and len(atoms) == 64
    volumes = [a.get_volume() / diamond.get_volume() for a in chains]
    assert all(0.9 < v < 1.1 for v in volumes) and np.std(volumes) > 1e-3  # strained
    assert [a.info["width"] for a in chains[:3]] == AUGMENT["widths"]
    # each link grows from the one before: unstrained and unrelaxed, the displacements from
    # the seed add up (rms sqrt(0.05^2 + 0.1^2) after two links, 0.05 after one)
    from ase.geometry import find_mic

    free = {"strain": 0.0, "relax_steps": 0, "min_distance": 0.7}
    walk = augment(range(1), [diamond], AUGMENT | free, 5, tersoff)
    drift = [
        np.sqrt((find_mic(a.positions - diamond.positions, diamond.cell)[0] ** 2).mean() / 1)
        for a in walk
    ]
    assert drift == pytest.approx(np.sqrt(np.cumsum(np.square(AUGMENT["widths"]))), rel=0.25)


def test_a_molecule_is_augmented_without_a_cell_and_a_force_limit_rejects(crystal_and_molecule):
    from synthpt.structures import augment

    _, ethanol = crystal_and_molecule
    xtb = make_calculator("gfn2", {"type": "xtb", "method": "GFN2-xTB"}, ["C", "H", "O"])
    settings = AUGMENT | {"min_distance": 0.7, "widths": [0.05]}
    links = augment(range(1), [ethanol], settings, 3, xtb)
    assert [a.get_chemical_formula() for a in links] == ["C2H6O"] * 3
    assert not any(a.pbc.any() or a.cell.volume for a in links)
    failed = r"no acceptable structure in 20 attempts \(the last: a force above max_force 0.001"
    with pytest.raises(RuntimeError, match=failed):
        augment(range(1), [ethanol], settings | {"max_force": 1e-3}, 3, xtb)


def test_a_seed_closer_than_min_distance_lowers_its_own_chain_floor(crystal_and_molecule):
    """Real cells can hold contacts below min_distance (5 of 349 carbon cells at 1.1 Å): their
    chains accept just below the seed's own contact instead of stopping the campaign."""
    from synthpt.structures import SEED_CONTACT_MARGIN, augment

    diamond, _ = crystal_and_molecule
    squeezed = diamond.copy()
    squeezed.positions[1] = (
        squeezed.positions[0] + (squeezed.positions[1] - squeezed.positions[0]) * 0.68
    )
    own = min_distance(squeezed)
    assert own < 1.1
    tersoff = make_calculator("tersoff", {"type": "tersoff"}, ["C"])
    settings = AUGMENT | {"relax_steps": 0, "widths": [0.02], "max_force": 1e4}
    chains = augment(range(2), [diamond, squeezed], settings, 5, tersoff)
    assert [a.info["seed_index"] for a in chains] == [0] * 3 + [1] * 3
    assert min(min_distance(a) for a in chains[:3]) >= 1.1  # an ordinary seed keeps the floor
    assert min(min_distance(a) for a in chains[3:]) >= SEED_CONTACT_MARGIN * own
    with pytest.raises(RuntimeError, match=r"the last: atoms closer than min_distance 1.1 Å"):
        augment(range(1), [diamond], settings | {"widths": [1.0]}, 5, tersoff)


def test_a_torsion_turns_one_rotatable_bond_of_a_molecule_rigidly(crystal_and_molecule):
    from ase.build import molecule

    from synthpt.structures import rotatable_bonds, turn_torsion

    _, ethanol = crystal_and_molecule
    bonds = rotatable_bonds(ethanol)  # C-C and C-O; no C-H or O-H (a hydrogen ends there)
    assert sorted(ethanol.get_chemical_symbols()[k] for i, j, _ in bonds for k in (i, j)) == [
        "C", "C", "C", "O"
    ]  # fmt: skip
    assert rotatable_bonds(molecule("C6H6")) == []  # every C-C in the ring
    for i, j, moving in bonds:
        assert (i in moving) != (j in moving) and len(moving) <= len(ethanol) / 2
    rng = np.random.default_rng(0)
    turned, what = turn_torsion(ethanol, rng)
    i, j = (int(k) for k in what.split()[0].split("-"))
    angle = float(what.split()[1])
    moving = next(m for a, b, m in bonds if (a, b) == (i, j))
    fixed = [k for k in range(len(ethanol)) if k not in moving]
    d0, d1 = ethanol.get_all_distances(), turned.get_all_distances()
    np.testing.assert_allclose(d1[np.ix_(moving, moving)], d0[np.ix_(moving, moving)], atol=1e-9)
    np.testing.assert_allclose(d1[np.ix_(fixed, fixed)], d0[np.ix_(fixed, fixed)], atol=1e-9)
    p, q = (j, i) if j in moving else (i, j)  # p turns with its side, q stays
    a = next(k for k in fixed if k != q and d0[q, k] < 1.6)
    b = next(k for k in moving if k != p and d0[p, k] < 1.6)
    change = turned.get_dihedral(a, q, p, b) - ethanol.get_dihedral(a, q, p, b)
    assert (
        min(abs((change - s * angle + 180) % 360 - 180) for s in (1, -1)) <= 0.05
    )  # as recorded, to 0.1°
    assert abs(angle) > 1e-3


def test_a_share_of_molecule_chains_start_from_a_turned_torsion_and_others_are_unchanged(
    crystal_and_molecule,
):
    from synthpt.structures import augment

    diamond, ethanol = crystal_and_molecule
    settings = AUGMENT | {"min_distance": 0.7, "widths": [0.05], "relax_steps": 0}
    plain = augment(range(8), [ethanol], settings, 3, None)
    some = augment(range(8), [ethanol], settings | {"torsions": 0.5}, 3, None)
    turned = {a.info["chain"] for a in some if "torsion" in a.info}
    assert 0 < len(turned) < 8 and all(a.info["link"] == 0 for a in some if "torsion" in a.info)
    for before, after in zip(
        plain, some, strict=True
    ):  # a chain not turned is the chain it always was
        same = np.array_equal(before.positions, after.positions)
        assert same == (after.info["chain"] not in turned)
    tersoff = make_calculator("tersoff", {"type": "tersoff"}, ["C"])
    cells = augment(range(2), [diamond], AUGMENT | {"torsions": 1.0}, 5, tersoff)
    unturned = augment(range(2), [diamond], AUGMENT, 5, tersoff)
    assert all(
        np.array_equal(a.positions, b.positions) for a, b in zip(cells, unturned, strict=True)
    )
