import numpy as np
import pytest
from ase import Atoms

from synthpt.e0s import composition_matrix, e0s_argument, fit_e0s, model_e0s, refit_model_e0s
from synthpt.evaluate import predict
from synthpt.structures import generate


def test_fit_recovers_per_element_energies():
    structures = [Atoms("C3H2"), Atoms("C1H4"), Atoms("C5"), Atoms("H2")]
    true = {"C": -9.1, "H": -1.3}
    energies = [sum(true[s] for s in a.get_chemical_symbols()) for a in structures]
    e0s = fit_e0s(structures, energies, ["C", "H"])
    assert e0s == pytest.approx({6: -9.1, 1: -1.3})
    assert composition_matrix(structures, ["C", "H"]).tolist() == [[3, 2], [1, 4], [5, 0], [0, 2]]
    assert e0s_argument({6: -9.1, 1: -1.3}) == "{1: -1.3000000000, 6: -9.1000000000}"


def test_single_element_fit_is_least_squares_on_total_energies():
    structures = [Atoms("C64"), Atoms("C32")]
    expected = -57.0 + 64 * 6.4 / (64**2 + 32**2)
    assert fit_e0s(structures, [-64 * 57.0 + 6.4, -32 * 57.0], ["C"]) == pytest.approx(
        {6: expected}
    )


def test_element_absent_from_training_set_is_an_error():
    with pytest.raises(ValueError, match=r"no structure contains \['H'\]"):
        fit_e0s([Atoms("C4")], [-36.0], ["C", "H"])


def test_refit_moves_model_to_the_new_energy_zero(tiny_model):
    """Teacher zero (-9 eV/atom) to reference zero (-57): mean error on the set becomes 0."""
    structures = generate(range(4), "real", 9, "C", 16, (2.0, 3.0), 1.2)
    before, _ = predict(tiny_model, structures)
    reference = before + np.array([len(a) for a in structures]) * -48.0 + [0.5, -0.2, 0.1, 0.3]
    e0s = refit_model_e0s(tiny_model, structures, reference, before, ["C"])
    after, _ = predict(tiny_model, structures)
    assert e0s[6] == pytest.approx(-9.0 - 48.0 + 0.7 / 64, abs=1e-4)
    assert model_e0s(tiny_model)[6] == pytest.approx(e0s[6])
    assert np.mean(reference - after) == pytest.approx(0.0, abs=1e-3)
