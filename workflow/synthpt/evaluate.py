"""Batched MACE predictions and test-set metrics."""

from __future__ import annotations

import numpy as np
from ase import Atoms

from synthpt.io import energy_forces


def load_model(path, dtype: str = "float32", device: str = "cpu"):
    import mace  # noqa: F401  (before torch.load: mace sets TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD)
    import torch
    from mace.tools import torch_tools

    torch_tools.set_default_dtype(dtype)
    model = torch.load(f=str(path), map_location=device, weights_only=False)
    for parameter in model.parameters():
        parameter.requires_grad = False
    return model.to(device)


def predict(model, structures: list[Atoms], batch_size: int = 16, device: str = "cpu"):
    """Energies (eV, shape (n,)) and forces (list of (N_i, 3)) of ``model`` on ``structures``."""
    from mace import data
    from mace.tools import torch_geometric, torch_tools, utils

    z_table = utils.AtomicNumberTable([int(z) for z in model.atomic_numbers])
    heads = getattr(model, "heads", None)
    dataset = [
        data.AtomicData.from_config(
            data.config_from_atoms(Atoms(a.numbers, a.positions, cell=a.cell, pbc=a.pbc)),
            z_table=z_table,
            cutoff=float(model.r_max),
            heads=heads,
        )
        for a in structures
    ]
    loader = torch_geometric.dataloader.DataLoader(
        dataset=dataset, batch_size=batch_size, shuffle=False, drop_last=False
    )
    energies, forces = [], []
    for batch in loader:
        output = model(batch.to(device).to_dict(), compute_stress=False, training=False)
        energies.append(torch_tools.to_numpy(output["energy"]))
        forces.extend(
            np.split(torch_tools.to_numpy(output["forces"]), batch.ptr[1:-1].cpu().numpy())
        )
    return np.concatenate(energies), forces


def metrics(structures, energy_key, forces_key, energies, forces) -> dict[str, float]:
    """Energy RMSE/MAE in meV/atom (per-atom energies) and force RMSE/MAE in eV/Å (components)."""
    ref = [energy_forces(a, energy_key, forces_key) for a in structures]
    n_atoms = np.array([len(a) for a in structures])
    de = (np.asarray(energies) - np.array([e for e, _ in ref])) / n_atoms * 1000.0
    df = np.concatenate([(p - f).ravel() for p, (_, f) in zip(forces, ref, strict=True)])
    return {
        "e_rmse": float(np.sqrt(np.mean(de**2))),
        "e_mae": float(np.mean(np.abs(de))),
        "f_rmse": float(np.sqrt(np.mean(df**2))),
        "f_mae": float(np.mean(np.abs(df))),
        "n_test": len(structures),
    }


def with_predictions(structures, energies, forces, prefix: str = "MACE") -> list[Atoms]:
    """Copies of ``structures`` carrying the predictions under ``{prefix}_energy/_forces``."""
    out = []
    for atoms, energy, force in zip(structures, energies, forces, strict=True):
        atoms = atoms.copy()
        atoms.info[f"{prefix}_energy"] = float(energy)
        atoms.arrays[f"{prefix}_forces"] = np.asarray(force)
        out.append(atoms)
    return out
