"""Isolated-atom energies (E0s): fitted the same way for pre-training, fine-tuning and scratch.

Teacher and reference energies have different zeros (SNAP ~ -9 eV/atom, GFN1-xTB ~ -57), and
mace-torch keeps a foundation model's E0s when fine-tuning. So every model's E0s are a
least-squares fit, over its own training set, of the energy its interaction part should not
have to learn: the labels themselves for a model trained from scratch, and the residual of the
pre-trained model for fine-tuning (``refit_model_e0s``).
"""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers


def composition_matrix(structures: list[Atoms], elements: list[str]) -> np.ndarray:
    """Counts of each element per structure, shape (n_structures, n_elements)."""
    numbers = [atomic_numbers[e] for e in elements]
    return np.array([[np.count_nonzero(a.numbers == z) for z in numbers] for a in structures])


def fit_e0s(structures: list[Atoms], energies, elements: list[str]) -> dict[int, float]:
    """Least-squares E0 per element (keyed by atomic number) from total ``energies``."""
    counts = composition_matrix(structures, elements)
    missing = [e for e, column in zip(elements, counts.T, strict=True) if not column.any()]
    if missing:
        raise ValueError(f"no structure contains {missing}: cannot fit their E0s")
    e0, *_ = np.linalg.lstsq(counts.astype(float), np.asarray(energies, float), rcond=None)
    return {atomic_numbers[e]: float(v) for e, v in zip(elements, e0, strict=True)}


def given_e0s(e0s: dict[str, float]) -> dict[int, float]:
    """E0s given per element symbol in the config, keyed by atomic number."""
    return {atomic_numbers[symbol]: float(value) for symbol, value in e0s.items()}


def e0s_argument(e0s: dict[int, float]) -> str:
    """The ``--E0s`` value of mace_run_train."""
    return "{" + ", ".join(f"{z}: {e:.10f}" for z, e in sorted(e0s.items())) + "}"


def model_e0s(model) -> dict[int, float]:
    energies = model.atomic_energies_fn.atomic_energies.detach().reshape(-1).cpu().numpy()
    return {int(z): float(e) for z, e in zip(model.atomic_numbers.tolist(), energies, strict=True)}


def set_model_e0s(model, e0s: dict[int, float]) -> None:
    """Overwrite the model's E0 buffer in place (single-head models)."""
    buffer = model.atomic_energies_fn.atomic_energies
    values = [e0s[int(z)] for z in model.atomic_numbers.tolist()]
    buffer.copy_(buffer.new_tensor(values).reshape(buffer.shape))


def recentred(structures, predicted, shift: dict[int, float], elements) -> np.ndarray:
    """``predicted`` total energies plus the per-element ``shift`` (from ``fit_e0s``)."""
    counts = composition_matrix(structures, elements)
    shifts = np.array([shift[atomic_numbers[e]] for e in elements])
    return np.asarray(predicted, float) + counts @ shifts


def residual_shift(structures, energies, predictions, elements) -> dict[int, float]:
    """Per-element energy shift that zeroes a model's mean per-composition error."""
    return fit_e0s(structures, np.asarray(energies) - np.asarray(predictions), elements)


def refit_model_e0s(model, structures, energies, predictions, elements) -> dict[int, float]:
    """Shift the model's E0s so its mean per-composition error on ``structures`` is zero."""
    shift = residual_shift(structures, energies, predictions, elements)
    old = model_e0s(model)
    new = {z: old[z] + shift.get(z, 0.0) for z in old}
    set_model_e0s(model, new)
    return new
