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
    tagged = with_predictions([small, large], predicted_energies, predicted_forces)
    assert tagged[1].info["MACE_energy"] == pytest.approx(-20.8)
    assert "MACE_energy" not in large.info
