"""The coverage table and map: nearest environments in a MACE model's descriptor space."""

import numpy as np
import pytest

from synthpt.coverage import coverage_table, descriptors, evenly, nearest_distances, projection


def test_nearest_distances_equal_the_brute_force_ones():
    rng = np.random.default_rng(0)
    query, reference = rng.normal(size=(50, 6)), rng.normal(size=(300, 6))
    brute = np.linalg.norm(query[:, None] - reference[None], axis=2).min(axis=1)
    np.testing.assert_allclose(nearest_distances(query, reference, chunk=7), brute, atol=1e-9)
    assert nearest_distances(reference[:5], reference) == pytest.approx(np.zeros(5), abs=1e-6)


def test_subsampling_is_even_and_always_the_same():
    items = list(range(1000))
    chosen = evenly(items, 5)
    assert chosen == [0, 250, 500, 749, 999] and chosen == evenly(items, 5)
    assert evenly(items[:3], 5) == [0, 1, 2]


def test_a_test_structure_made_of_synthetic_environments_is_covered():
    rng = np.random.default_rng(1)
    synthetic, pool = rng.normal(size=(200, 4)), rng.normal(size=(100, 4)) + 5.0
    inside, outside = synthetic[:8], rng.normal(size=(8, 4)) + 10.0
    errors = [np.full(8, 0.3), np.full(8, 3.0)]
    table = coverage_table([inside, outside], synthetic, pool, errors, ["a", "b"])
    assert list(table["test_index"]) == [0, 1] and list(table["source"]) == ["a", "b"]
    assert table.loc[0, "synthetic_max"] == pytest.approx(0.0, abs=1e-6)
    assert table.loc[1, "synthetic_median"] > 5 and table.loc[1, "pool_median"] > 2
    assert table["f_rmse"].tolist() == pytest.approx([0.3 / np.sqrt(3), 3.0 / np.sqrt(3)])
    parts = {"md": synthetic[:100], "augment": synthetic[100:]}  # a mixed set, split by source
    split = coverage_table([inside, outside], synthetic, pool, errors, ["a", "b"], parts)
    assert split.loc[0, "synthetic_median_md"] == pytest.approx(0.0, abs=1e-6)
    assert split.loc[0, "synthetic_median_augment"] > 0.1  # inside is made of md's first 8
    assert "synthetic_median_md" not in table


def test_projection_keeps_each_sets_atoms():
    rng = np.random.default_rng(2)
    sets = {"synthetic": rng.normal(size=(30, 5)), "test": rng.normal(size=(10, 5))}
    points, share = projection(sets)
    assert {k: v.shape for k, v in points.items()} == {"synthetic": (30, 2), "test": (10, 2)}
    assert 0 < share <= 1


def test_descriptors_come_from_the_model_and_follow_the_environment(tmp_path, tiny_model, cells):
    import torch

    path = tmp_path / "tiny.model"
    torch.save(tiny_model, path)
    atoms = cells[0]
    moved = atoms.copy()
    moved.translate([0.3, -1.1, 2.0])  # the same environments
    moved.wrap()
    rattled = atoms.copy()
    rattled.positions[0] += [0.4, 0.0, 0.0]
    first, same, other = descriptors(path, [atoms, moved, rattled], dtype="float64")
    assert first.shape == (len(atoms), 4)  # 4 invariant channels, one interaction layer
    np.testing.assert_allclose(same, first, atol=1e-8)
    assert np.abs(other - first).max() > 1e-4


def test_the_map_shows_the_teachers_per_atom_energies_where_it_has_them(tmp_path, cells):
    from synthpt.coverage import centred_per_element, plot_coverage

    structures = [a.copy() for a in cells[:2]]
    assert centred_per_element(structures, "snap_energies") is None
    for atoms in structures:
        atoms.arrays["snap_energies"] = np.linspace(-8, -7, len(atoms))
    centred = centred_per_element(structures, "snap_energies")
    assert centred.shape == (128,) and abs(centred.mean()) < 1e-12
    rng = np.random.default_rng(3)
    sets = {"synthetic": rng.normal(size=(128, 4)), "test": rng.normal(size=(64, 4))}
    for energies, path in ((None, tmp_path / "two.png"), (centred, tmp_path / "three.png")):
        plot_coverage(sets, rng.random(64), "errors", path, energies)
        assert path.read_bytes()[:4] == b"\x89PNG"
    from matplotlib.image import imread

    assert imread(tmp_path / "three.png").shape[1] > 1.4 * imread(tmp_path / "two.png").shape[1]
