"""How well the synthetic structures cover the real ones, read through the pre-trained MACE
model's own per-atom descriptors (mace's ``MACECalculator.get_descriptors``: the invariant
node features of every interaction layer)."""

from __future__ import annotations

import numpy as np
import pandas as pd

SETS = ("synthetic", "pool", "valid", "test")  # what the map shows, in this order


def descriptors(model_path, structures, dtype: str = "float32") -> list[np.ndarray]:
    """Per structure, an (atoms, features) array of the model's invariant descriptors."""
    from mace.calculators import MACECalculator

    calculator = MACECalculator(model_paths=str(model_path), device="cpu", default_dtype=dtype)
    return [np.asarray(calculator.get_descriptors(atoms), dtype=float) for atoms in structures]


def evenly(items: list, at_most: int) -> list:
    """At most ``at_most`` of ``items``, evenly spaced and always the same."""
    if len(items) <= at_most:
        return list(items)
    return [items[i] for i in np.linspace(0, len(items) - 1, at_most).round().astype(int)]


def nearest_distances(query: np.ndarray, reference: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """Euclidean distance of each row of ``query`` to its nearest row of ``reference``."""
    squared = (reference**2).sum(axis=1)
    out = np.empty(len(query))
    for start in range(0, len(query), chunk):
        part = query[start : start + chunk]
        d2 = (part**2).sum(axis=1)[:, None] - 2 * part @ reference.T + squared[None, :]
        out[start : start + chunk] = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
    return out


def centred_per_element(structures, key: str) -> np.ndarray | None:
    """Every atom's ``arrays[key]`` less its element's mean (None when a structure lacks it)."""
    if not structures or any(key not in a.arrays for a in structures):
        return None
    from synthpt.evaluate import centre_per_element

    symbols = np.concatenate([a.get_chemical_symbols() for a in structures])
    return centre_per_element(np.concatenate([a.arrays[key] for a in structures]), symbols)


def per_atom_force_errors(predictions, forces_key: str, predicted_key: str = "MACE_forces"):
    """Per structure, the norm of each atom's force error (eV/Å)."""
    return [
        np.linalg.norm(a.arrays[predicted_key] - a.arrays[forces_key], axis=1) for a in predictions
    ]


def coverage_table(
    test_descriptors, synthetic, pool, force_errors, sources, synthetic_parts=None
) -> pd.DataFrame:
    """coverage.csv: per test structure, the median and worst distance of its atoms to their
    nearest synthetic environment and to their nearest pool environment, and the fine-tuned
    model's force error on it; for a mixed synthetic set (``synthetic_parts``: source ->
    descriptors), the median distance to each part's nearest environment too."""
    rows = []
    for index, (atoms, errors, source) in enumerate(
        zip(test_descriptors, force_errors, sources, strict=True)
    ):
        to_synthetic, to_pool = nearest_distances(atoms, synthetic), nearest_distances(atoms, pool)
        rows.append(
            {
                "test_index": index,
                "source": source,
                "n_atoms": len(atoms),
                "synthetic_median": float(np.median(to_synthetic)),
                "synthetic_max": float(to_synthetic.max()),
                "pool_median": float(np.median(to_pool)),
                "pool_max": float(to_pool.max()),
                "f_rmse": float(np.sqrt(np.mean(errors**2) / 3)),
            }
        )
        for part, features in (synthetic_parts or {}).items():
            rows[-1][f"synthetic_median_{part}"] = float(
                np.median(nearest_distances(atoms, features))
            )
    return pd.DataFrame(rows)


def projection(arrays: dict[str, np.ndarray]):
    """A principal-component projection (numpy's SVD) fitted on every set together; returns
    {set: (atoms, 2) coordinates} and the variance share of the two components."""
    stacked = np.concatenate(list(arrays.values()))
    mean = stacked.mean(axis=0)
    _, singular, vt = np.linalg.svd(stacked - mean, full_matrices=False)
    share = float((singular[:2] ** 2).sum() / (singular**2).sum())
    return {name: (x - mean) @ vt[:2].T for name, x in arrays.items()}, share


def plot_coverage(
    arrays: dict[str, np.ndarray], test_errors: np.ndarray, title: str, path, teacher_energies=None
):
    """Every set's atoms on the first two principal components; the test atoms coloured by the
    fine-tuned model's per-atom force error; with ``teacher_energies`` (per synthetic atom,
    eV, centred), a third panel colours the synthetic atoms by them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points, share = projection(arrays)
    panels = 2 if teacher_energies is None else 3
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4.5), constrained_layout=True)
    left, right = axes[0], axes[1]
    for name in SETS:
        if name in points:
            xy = points[name]
            left.scatter(xy[:, 0], xy[:, 1], s=3, alpha=0.4, label=f"{name} ({len(xy)} atoms)")
    left.legend(markerscale=4, fontsize=8)
    left.set_title(f"per-atom descriptors, PCA ({share:.1%} of the variance)", fontsize=9)
    synthetic = points.get("synthetic")
    if synthetic is not None:
        right.scatter(synthetic[:, 0], synthetic[:, 1], s=2, c="0.85", label="synthetic")
    test = points["test"]
    shown = right.scatter(test[:, 0], test[:, 1], s=5, c=test_errors, cmap="viridis")
    fig.colorbar(shown, ax=right, label="force error |ΔF| (eV/Å)")
    right.set_title(title, fontsize=9)
    if teacher_energies is not None:
        shown = axes[2].scatter(
            synthetic[:, 0], synthetic[:, 1], s=3, c=teacher_energies * 1000, cmap="coolwarm"
        )
        fig.colorbar(shown, ax=axes[2], label="teacher's per-atom energy, centred (meV)")
        axes[2].set_title("synthetic atoms: the teacher's per-atom energies", fontsize=9)
    for ax in axes:
        ax.set_xlabel("PC 1")
        ax.set_ylabel("PC 2")
    fig.savefig(path, dpi=150)
    plt.close(fig)
