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


def load_compiled(path, device: str = "cpu"):
    """A TorchScript MACE model (mace_run_train's ``*_compiled.model``): loads with torch alone,
    without importing mace (saves ~4 s per evaluation job)."""
    import torch

    return torch.jit.load(str(path), map_location=device)


def edges(atoms: Atoms, cutoff: float):
    """(i, j, unit cell shifts) of every pair within ``cutoff`` over periodic images, no
    self-pair: matscipy's list (15x faster than ASE's) where the cell spans space, else ASE's."""
    if atoms.cell.rank == 3:
        from matscipy.neighbours import neighbour_list

        return neighbour_list("ijS", atoms, cutoff)
    from ase.neighborlist import neighbor_list

    return neighbor_list("ijS", atoms, cutoff, self_interaction=False)


def mace_graph(structures: list[Atoms], atomic_numbers, r_max: float, dtype, device="cpu"):
    """MACE's input dict for a batch of ``structures``, as mace.data builds it: one-hot species,
    edges within ``r_max`` over periodic images (no self-edge), unit and Cartesian shifts."""
    import torch

    species = {int(z): k for k, z in enumerate(atomic_numbers)}
    parts = {key: [] for key in ("positions", "node_attrs", "shifts", "unit_shifts", "cell")}
    senders, receivers, batch, ptr = [], [], [], [0]
    for graph, atoms in enumerate(structures):
        unknown = set(atoms.numbers.tolist()) - set(species)
        if unknown:
            raise ValueError(f"elements {sorted(unknown)} are not in the model's {list(species)}")
        i, j, unit_shifts = edges(atoms, r_max)
        senders.append(i + ptr[-1])
        receivers.append(j + ptr[-1])
        one_hot = np.zeros((len(atoms), len(species)))
        one_hot[np.arange(len(atoms)), [species[z] for z in atoms.numbers]] = 1.0
        parts["positions"].append(atoms.positions)
        parts["node_attrs"].append(one_hot)
        parts["unit_shifts"].append(unit_shifts)
        parts["shifts"].append(unit_shifts @ atoms.cell.array)
        parts["cell"].append(atoms.cell.array)
        batch.append(np.full(len(atoms), graph))
        ptr.append(ptr[-1] + len(atoms))
    data = {
        key: torch.tensor(np.concatenate(arrays), dtype=dtype, device=device)
        for key, arrays in parts.items()
    }
    index = {
        "edge_index": np.stack([np.concatenate(senders), np.concatenate(receivers)]),
        "batch": np.concatenate(batch),
        "ptr": np.array(ptr),
        "head": np.zeros(len(structures)),
    }
    data.update(
        {key: torch.tensor(value, dtype=torch.long, device=device) for key, value in index.items()}
    )
    return data


def predict_compiled(
    model, structures: list[Atoms], batch_size: int = 16, device: str = "cpu", nodes=None
):
    """``predict`` for a TorchScript model from ``load_compiled``; ``nodes``, a list, also
    receives each structure's per-atom (node) energies."""
    import torch

    dtype = next(model.parameters()).dtype
    atomic_numbers, r_max = model.atomic_numbers.tolist(), float(model.r_max)
    energies, forces = [], []
    for start in range(0, len(structures), batch_size):
        chunk = structures[start : start + batch_size]
        data = mace_graph(chunk, atomic_numbers, r_max, dtype, device)
        with torch.jit.optimized_execution(False):  # no profiling runs for a few batches
            output = model(data, training=False, compute_force=True)
        energies.append(output["energy"].detach().cpu().numpy())
        split = data["ptr"][1:-1].cpu()
        forces.extend(np.split(output["forces"].detach().cpu().numpy(), split))
        if nodes is not None:
            nodes.extend(np.split(output["node_energy"].detach().cpu().numpy(), split))
    return np.concatenate(energies), forces


def centre_per_element(values, symbols) -> np.ndarray:
    """Per-atom ``values`` less the mean of their element's."""
    values = np.asarray(values, dtype=float).copy()
    for element in set(symbols):
        values[symbols == element] -= values[symbols == element].mean()
    return values


def per_atom_agreement(structures, predicted: list, key: str) -> dict[str, float]:
    """A student's node energies against a teacher's per-atom energies (``arrays[key]``):
    Pearson r and RMSE (meV/atom), each level centred on its own mean per element (the split
    of an energy into atoms has a free zero per element)."""
    symbols = np.concatenate([a.get_chemical_symbols() for a in structures])
    own = centre_per_element(np.concatenate([np.asarray(p) for p in predicted]), symbols)
    teacher = centre_per_element(np.concatenate([a.arrays[key] for a in structures]), symbols)
    return {
        "node_energy_r": float(np.corrcoef(own, teacher)[0, 1]),
        "node_energy_rmse": float(np.sqrt(np.mean((own - teacher) ** 2)) * 1000),
    }


ELEMENT_FORCES = "f_rmse_"  # + element: force RMSE on that element's atoms


def metrics(structures, energy_key, forces_key, energies, forces) -> dict[str, float]:
    """Energy RMSE/MAE in meV/atom (per-atom energies) and force RMSE/MAE in eV/Å (components);
    with several elements, the force RMSE on each element's atoms too. A set without force
    labels (an energy-only test set) scores NaN in forces."""
    n_atoms = np.array([len(a) for a in structures])
    de = (np.asarray(energies) - np.array([a.info[energy_key] for a in structures])) / n_atoms
    de = de * 1000.0
    scores = {
        "e_rmse": float(np.sqrt(np.mean(de**2))),
        "e_mae": float(np.mean(np.abs(de))),
        "f_rmse": float("nan"),
        "f_mae": float("nan"),
        "n_test": len(structures),
    }
    if forces_key not in structures[0].arrays:
        return scores
    ref = [energy_forces(a, energy_key, forces_key) for a in structures]
    df = np.concatenate([p - f for p, (_, f) in zip(forces, ref, strict=True)])
    scores |= {"f_rmse": float(np.sqrt(np.mean(df**2))), "f_mae": float(np.mean(np.abs(df)))}
    symbols = np.concatenate([a.get_chemical_symbols() for a in structures])
    if len(set(symbols)) > 1:
        for element in sorted(set(symbols)):
            scores[f"{ELEMENT_FORCES}{element}"] = float(
                np.sqrt(np.mean(df[symbols == element] ** 2))
            )
    return scores


def barrier_error(structures, energy_key, energies) -> float:
    """Predicted less reference barrier (meV) along an ordered path: each the path's highest
    energy less its lowest, so neither energy zero matters."""
    reference = np.array([a.info[energy_key] for a in structures])
    predicted = np.asarray(energies, dtype=float)
    return float((np.ptp(predicted) - np.ptp(reference)) * 1000.0)


def metrics_by_source(structures, energy_key, forces_key, energies, forces) -> dict[str, float]:
    """``e_rmse_SOURCE`` and ``f_rmse_SOURCE`` per structure source (``info["structure_source"]``)
    of a mixed synthetic set; nothing for one source."""
    sources = [a.info.get("structure_source") for a in structures]
    if len(set(sources) - {None}) < 2:
        return {}
    scores = {}
    for source in sorted(set(sources) - {None}):
        keep = [i for i, s in enumerate(sources) if s == source]
        part = metrics([structures[i] for i in keep], energy_key, forces_key,
                       [energies[i] for i in keep], [forces[i] for i in keep])  # fmt: skip
        scores |= {f"e_rmse_{source}": part["e_rmse"], f"f_rmse_{source}": part["f_rmse"]}
    return scores


def with_predictions(structures, energies, forces, prefix: str = "MACE") -> list[Atoms]:
    """Copies of ``structures`` carrying the predictions under ``{prefix}_energy/_forces``."""
    out = []
    for atoms, energy, force in zip(structures, energies, forces, strict=True):
        atoms = atoms.copy()
        atoms.info[f"{prefix}_energy"] = float(energy)
        atoms.arrays[f"{prefix}_forces"] = np.asarray(force)
        out.append(atoms)
    return out


COST = ("steps", "best_step", "epochs", "stopped_by", "kept")  # what a rerun reproduces
WALL_TIME = "train_s"  # what it does not


def cost(record: dict | None) -> dict:
    """A model's training cost from its training record (None: scored without training)."""
    if record is None:
        untrained = {"steps": 0, "best_step": 0, "epochs": 0, "stopped_by": "none", "kept": "start"}
        return untrained | {WALL_TIME: 0.0}
    return {key: record.get(key, "trained") for key in COST} | {WALL_TIME: record["wall_s"]}


def teacher_distance(structures, teacher_keys, energies, forces, elements) -> dict:
    """A model's errors against its teacher's labels on held-out synthetic ``structures``
    (``TEACHER_DISTANCE``): energies after a per-element shift (a fine-tuned model's energy
    zero is the reference's, not the teacher's), forces as they are."""
    from synthpt.e0s import recentred, residual_shift

    energy_key, forces_key = teacher_keys
    labels = [energy_forces(a, energy_key, forces_key) for a in structures]
    reference = [e for e, _ in labels]
    shift = residual_shift(structures, reference, energies, elements)
    scores = metrics(
        structures, energy_key, forces_key, recentred(structures, energies, shift, elements), forces
    )
    return {"synthetic_e_rmse": scores["e_rmse"], "synthetic_f_rmse": scores["f_rmse"]}
