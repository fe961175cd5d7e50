"""The replay strategy's data: pre-training structures with the teacher's labels, moved onto
the energy zero of the head that replays them, and the foundation model mace's multihead
set-up can read."""

from __future__ import annotations

from pathlib import Path

from synthpt.io import atomic_path, read_structures

REPLAY_VALID = 10  # pre-training structures the replay head validates on (mace needs some)


def replay_structures(
    pool, count, seed: int, labels: tuple[str, str], keys: tuple[str, str], shift=None
):
    """``count`` structures of ``pool`` (all, if fewer) drawn with ``seed``, their ``labels``
    (energy, forces keys: the teacher's) copied under ``keys`` (the run's own). ``shift``
    (per atomic number, eV; ``replay_zero_shift``) moves the teacher's energies onto the energy
    zero of the head that replays them."""
    import numpy as np

    if count < len(pool):
        pool = [pool[k] for k in sorted(np.random.default_rng(seed).permutation(len(pool))[:count])]
    out = []
    for atoms in pool:
        atoms = atoms.copy()
        offset = sum(shift.get(int(z), 0.0) for z in atoms.numbers) if shift else 0.0
        atoms.info[keys[0]] = atoms.info[labels[0]] + offset
        atoms.arrays[keys[1]] = atoms.arrays[labels[1]]
        out.append(atoms)
    return out


def replay_zero_shift(pretrained_e0s: dict, refitted_e0s: dict) -> dict[int, float]:
    """Per element, how far the foundation's E0s moved from the pre-trained model's own (the
    teacher's zero) when re-centred on the real subset: mace gives the replay head the
    foundation's E0s, so the teacher's replayed labels must move by as much (else that head
    starts ~48 eV/atom off on carbon: GFN1-xTB's zero against SNAP's)."""
    return {z: refitted_e0s[z] - pretrained_e0s[z] for z in refitted_e0s}


def replay_files(run) -> dict:
    """The replay strategy's hook (synthpt.strategies): its head's training and validation
    structures (mace's pt_train_file, pt_valid_file), drawn with the run's seed from its
    pre-trained model's sets, with the teacher's labels on the run's keys and energy zero."""
    shift = replay_zero_shift(run.pretrained_e0s, run.e0s)
    sets = (
        ("pt_train_file", "replay.extxyz", run.pretraining_pool, run.replay),
        ("pt_valid_file", "replay_valid.extxyz", read_structures(run.inputs.replay_valid),
         REPLAY_VALID),
    )  # fmt: skip
    return {
        flag: (
            Path(run.work_dir) / name,
            replay_structures(pool, count, run.seed, run.teacher_keys, run.keys, shift),
        )
        for flag, name, pool, count in sets
    }


def write_replay_foundation(source, target) -> None:
    """The pre-trained model with its E0s as a flat vector: mace 0.3.16's multihead set-up
    squeezes a (1, n) E0 table and cannot index the scalar that one element leaves."""
    import torch

    model = torch.load(source, weights_only=False)
    block = model.atomic_energies_fn
    block.atomic_energies = block.atomic_energies.reshape(-1)
    with atomic_path(target) as tmp:
        torch.save(model, tmp)


def replay_count(strategy, n_train: int, pool: int | None = None) -> int:
    """Pre-training structures a strategy replays beside ``n_train`` real ones (at most the
    ``pool`` there are)."""
    wanted = round(strategy.replay * n_train) if strategy is not None else 0
    return min(wanted, pool) if pool is not None else wanted
