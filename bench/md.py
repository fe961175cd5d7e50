"""The MD driver trade-off: teacher-driven against Tersoff-driven trajectories."""

from __future__ import annotations

import time

from common import DEFAULT, table


def bench_md(trajectories=6, snapshots=4, overrides=None):
    """The MD driver trade-off: the default's trajectories driven by the teacher (SNAP, as in
    the paper) or by the cheap Tersoff, both inside LAMMPS; cost per step and how well the
    teacher's labels track the reference's on the snapshots each driver makes."""
    from synthpt.aggregate import agreement
    from synthpt.calculators import calculator_entry, make_calculator
    from synthpt.labelling import label
    from synthpt.md import run_trajectories

    settings = dict(DEFAULT["structures"]) | (overrides or {})
    teacher, reference = DEFAULT["teachers"][0], DEFAULT["reference"]
    calculators = DEFAULT["calculators"]
    steps = sum(settings[k] for k in ("melt_ps", "quench_ps", "anneal_ps")) * 1000
    grid = len(settings["densities"]) * len(settings["temperatures"])
    chosen = range(0, grid, grid // trajectories)[:trajectories]  # across the density grid
    rows = []
    for driver in (settings["driver"], teacher):
        start = time.perf_counter()
        structures = []
        for k in chosen:
            entry = calculator_entry(driver, calculators[driver], ["C"])
            snaps = run_trajectories(range(k, k + 1), settings, "C", DEFAULT["seed"], entry)
            structures += snaps[-snapshots:]
        ms_per_step = 1000 * (time.perf_counter() - start) / (len(chosen) * steps)
        for name in (teacher, reference):
            structures, _ = label(structures, make_calculator(name, calculators[name], ["C"]),
                                  name, DEFAULT["structures"]["max_force"])  # fmt: skip
        row = agreement(structures, teacher, reference)
        rows.append((driver, ms_per_step, len(structures), row["energy_r"],
                     row["energy_rmse_centred"], row["energy_spread"], row["forces_r"],
                     row["forces_rmse"], row["forces_rms"]))  # fmt: skip
        print(f"md: {rows[-1]}", flush=True)
    return table(
        f"MD driver trade-off ({teacher} vs {reference} on the snapshots each driver makes)",
        ["driver", "ms per step", "snapshots", "energy r", "energy RMSE meV/atom (centred)",
         "reference spread", "forces r", "forces RMSE eV/Å", "reference rms"],
        rows,
    )  # fmt: skip
