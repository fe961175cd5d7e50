import numpy as np
import pytest
from ase import Atoms

from synthpt.evaluate import metrics, with_predictions


def test_metrics_use_per_atom_energies_in_mev_and_force_components():
    small, large = Atoms("C2", positions=np.zeros((2, 3))), Atoms("C4", positions=np.zeros((4, 3)))
    for atoms, energy in ((small, -10.0), (large, -20.0)):
        atoms.info["ref_energy"] = energy
        atoms.arrays["ref_forces"] = np.zeros((len(atoms), 3))
    predicted_energies = [-10.0 + 0.2, -20.0 - 0.8]  # +0.1 and -0.2 eV/atom
    predicted_forces = [np.full((2, 3), 0.3), np.full((4, 3), -0.3)]
    scores = metrics(
        [small, large], "ref_energy", "ref_forces", predicted_energies, predicted_forces
    )
    assert scores["e_rmse"] == pytest.approx(np.sqrt((100.0**2 + 200.0**2) / 2))
    assert scores["e_mae"] == pytest.approx(150.0)
    assert scores["f_rmse"] == pytest.approx(0.3) and scores["f_mae"] == pytest.approx(0.3)
    assert scores["n_test"] == 2
    assert not any(key.startswith("f_rmse_") for key in scores)  # one element: no split
    tagged = with_predictions([small, large], predicted_energies, predicted_forces)
    assert tagged[1].info["MACE_energy"] == pytest.approx(-20.8)
    assert "MACE_energy" not in large.info


def test_several_elements_get_a_force_error_each():
    water = Atoms("OH2", positions=np.zeros((3, 3)))
    water.info["ref_energy"] = 0.0
    water.arrays["ref_forces"] = np.zeros((3, 3))
    predicted = np.array([[0.6, 0.0, 0.0], [0.0, 0.3, 0.0], [0.0, 0.0, -0.3]])
    scores = metrics([water], "ref_energy", "ref_forces", [0.0], [predicted])
    assert scores["f_rmse_O"] == pytest.approx(0.6 / np.sqrt(3))
    assert scores["f_rmse_H"] == pytest.approx(0.3 / np.sqrt(3))
    assert scores["f_rmse"] == pytest.approx(np.sqrt((0.36 + 0.09 + 0.09) / 9))


def test_compiled_model_predicts_as_mace_does(tiny_model, cells, tmp_path):
    """The torch-only evaluation path (TorchScript model, our graph) matches mace's own."""
    import torch
    from e3nn.util import jit

    from synthpt.evaluate import load_compiled, predict, predict_compiled

    path = tmp_path / "mace_compiled.model"
    torch.jit.save(jit.compile(tiny_model), str(path))
    molecule = Atoms("C3", positions=[[0, 0, 0], [1.3, 0, 0], [0, 1.4, 0.2]])  # no cell, no pbc
    structures = [*cells, molecule]
    expected_energies, expected_forces = predict(tiny_model, structures, batch_size=2)
    energies, forces = predict_compiled(load_compiled(path), structures, batch_size=2)
    np.testing.assert_allclose(energies, expected_energies, rtol=1e-10)
    assert max(np.abs(energies - (-9.0 * np.array([len(a) for a in structures])))) > 1e-3
    for got, expected in zip(forces, expected_forces, strict=True):
        np.testing.assert_allclose(got, expected, atol=1e-10)
    assert np.abs(np.concatenate(forces)).max() > 1e-3
    with pytest.raises(ValueError, match=r"elements \[8\] are not in the model's \[6\]"):
        predict_compiled(load_compiled(path), [Atoms("CO", positions=[[0, 0, 0], [1.2, 0, 0]])])


def test_edges_are_ases_neighbour_list_on_periodic_and_open_structures(cells):
    from ase.neighborlist import neighbor_list

    from synthpt.evaluate import edges

    slab = cells[0].copy()
    slab.pbc = [True, True, False]
    molecule = Atoms("C3", positions=[[0, 0, 0], [1.3, 0, 0], [0, 1.4, 0.2]])

    def pairs(i, j, shifts):
        return set(zip(i.tolist(), j.tolist(), map(tuple, shifts.tolist()), strict=True))

    for atoms in (cells[0], slab, molecule):
        ase = neighbor_list("ijS", atoms, 3.5, self_interaction=False)
        assert pairs(*edges(atoms, 3.5)) == pairs(*ase) and pairs(*ase)


def test_a_mixed_synthetic_set_is_scored_per_source():
    from synthpt.evaluate import metrics_by_source

    cells = [Atoms("C2", positions=np.zeros((2, 3))) for _ in range(3)]
    for atoms, source in zip(cells, ["md", "augment", "augment"], strict=True):
        atoms.info |= {"ref_energy": 0.0, "structure_source": source}
        atoms.arrays["ref_forces"] = np.zeros((2, 3))
    energies = [0.2, 0.0, 0.0]  # md 100 meV/atom off, augment exact
    forces = [np.zeros((2, 3)), np.full((2, 3), 0.5), np.full((2, 3), 0.5)]
    scores = metrics_by_source(cells, "ref_energy", "ref_forces", energies, forces)
    assert scores == pytest.approx(
        {"e_rmse_md": 100.0, "f_rmse_md": 0.0, "e_rmse_augment": 0.0, "f_rmse_augment": 0.5}
    )
    for atoms in cells:
        atoms.info["structure_source"] = "md"
    assert metrics_by_source(cells, "ref_energy", "ref_forces", energies, forces) == {}


def test_the_distance_to_the_teacher_ignores_the_energy_zero_not_the_forces():
    from synthpt.evaluate import teacher_distance

    rng = np.random.default_rng(0)
    structures, energies, forces = [], [], []
    for n in (2, 3, 4):
        atoms = Atoms("C" * n, positions=rng.normal(size=(n, 3)) * 2)
        atoms.info["snap_energy"] = float(rng.normal())
        atoms.arrays["snap_forces"] = rng.normal(size=(n, 3))
        structures.append(atoms)
        energies.append(atoms.info["snap_energy"] - 57.0 * n)  # the reference's energy zero
        forces.append(atoms.arrays["snap_forces"] + 0.1)
    scores = teacher_distance(structures, ("snap_energy", "snap_forces"), energies, forces, ["C"])
    assert scores["synthetic_e_rmse"] == pytest.approx(0.0, abs=1e-9)
    assert scores["synthetic_f_rmse"] == pytest.approx(0.1)


def test_the_barrier_error_is_the_highest_less_the_lowest_whatever_the_energy_zero():
    from synthpt.evaluate import barrier_error

    path = [Atoms("C2", positions=[[0, 0, 0], [1.2 + 0.1 * k, 0, 0]]) for k in range(5)]
    for atoms, energy in zip(path, [0.0, 0.3, 0.5, 0.2, 0.0], strict=True):
        atoms.info["dft_energy"] = energy - 300.0
    # the model's own zero, its highest image elsewhere, its barrier 0.04 eV lower
    predicted = [7.0, 7.1, 7.3, 7.46, 7.05]
    assert barrier_error(path, "dft_energy", predicted) == pytest.approx(-40.0)
    assert barrier_error(path, "dft_energy", [e + 3.0 for e in predicted]) == pytest.approx(-40.0)
