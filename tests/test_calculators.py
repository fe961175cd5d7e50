import ctypes.util
import json
import subprocess
import sys

import numpy as np
import pytest
from ase.build import bulk

from conftest import ROOT
from synthpt.calculators import OFFLINE_CARBON_TEACHERS as OFFLINE
from synthpt.calculators import CalculatorConfigError, calculator_entry, make_calculator
from synthpt.labelling import label, label_keys


def diamond(rattle=0.05, repeat=2):
    atoms = bulk("C", "diamond", a=3.567, cubic=True).repeat(repeat)
    atoms.rattle(rattle, seed=3)
    return atoms


@pytest.mark.parametrize("name", sorted(OFFLINE))
def test_empirical_and_ml_teachers_match_finite_differences(name):
    atoms = diamond()
    atoms.calc = make_calculator(name, OFFLINE[name], ["C"])
    energy = atoms.get_potential_energy() / len(atoms)
    assert -9.5 < energy < -6.5, f"{name}: {energy} eV/atom for near-diamond"
    forces = atoms.get_forces()
    for i, axis in [(0, 0), (5, 2), (17, 1)]:
        h = 1e-4
        shifted = []
        for sign in (1, -1):
            trial = atoms.copy()
            trial.calc = atoms.calc
            trial.positions[i, axis] += sign * h
            shifted.append(trial.get_potential_energy())
        numeric = -(shifted[0] - shifted[1]) / (2 * h)
        assert forces[i, axis] == pytest.approx(numeric, abs=2e-3)


def test_gfn1_xtb_reference_labels_a_64_atom_cell():
    atoms = diamond(rattle=0.03)
    atoms.calc = make_calculator("gfn1", {"type": "xtb", "method": "GFN1-xTB"}, ["C"])
    energy = atoms.get_potential_energy() / len(atoms)
    forces = atoms.get_forces()
    assert -60 < energy < -50  # xTB's own energy zero, far from the teachers'
    assert np.isfinite(forces).all() and np.abs(forces.sum(axis=0)).max() < 1e-3


XTB_IN_A_FRESH_PROCESS = """
import json, sys
sys.path.insert(0, {workflow!r})
from ase.build import bulk
from synthpt.calculators import make_calculator

atoms = bulk("C", "diamond", a=3.57, cubic=True).repeat(2)
atoms.rattle(0.05, seed=1)
if sys.argv[1] == "registry":
    atoms.calc = make_calculator("gfn1", {{"type": "xtb"}}, ["C"])
else:
    from tblite.ase import TBLite

    atoms.calc = TBLite(method="GFN1-xTB", verbosity=0)
on_openblas = "/libopenblas" in open("/proc/self/maps").read()
print(json.dumps([atoms.get_potential_energy(), atoms.get_forces().tolist(), on_openblas]))
"""


@pytest.mark.skipif(ctypes.util.find_library("openblas") is None, reason="no system OpenBLAS")
def test_xtb_runs_on_the_system_openblas_with_the_labels_of_the_bundled_blas(tmp_path):
    script = tmp_path / "xtb.py"
    script.write_text(XTB_IN_A_FRESH_PROCESS.format(workflow=str(ROOT / "workflow")))
    runs = {
        way: json.loads(
            subprocess.run(
                [sys.executable, str(script), way], capture_output=True, text=True, check=True
            ).stdout.splitlines()[-1]
        )
        for way in ("registry", "tblite alone")
    }
    (energy, forces, on_openblas), (bundled_energy, bundled_forces, on_bundled) = runs.values()
    assert on_openblas and not on_bundled
    assert energy == pytest.approx(bundled_energy, abs=1e-8)
    np.testing.assert_allclose(forces, bundled_forces, atol=1e-8)


def test_label_writes_explicit_keys_and_sets_failures_aside():
    good, crowded = diamond(), diamond()
    crowded.positions[1] = crowded.positions[0] + [0.3, 0, 0]
    calculator = make_calculator("snap", OFFLINE["snap"], ["C"])
    labelled, rejects = label([good, crowded], calculator, "snap", max_force=50.0)
    assert len(labelled) == 1 and len(rejects) == 1
    energy_key, forces_key = label_keys("snap")
    assert energy_key in labelled[0].info and labelled[0].arrays[forces_key].shape == (64, 3)
    assert labelled[0].calc is None and "energy" not in labelled[0].info
    assert "above 50.0" in rejects[0].info["reject_reason"]


def test_calculator_exceptions_become_reject_reasons():
    atoms = diamond(repeat=1)
    atoms.calc = None
    xtb = make_calculator("gfn1", {"type": "xtb", "max_iterations": 1}, ["C"])
    labelled, rejects = label([atoms], xtb, "gfn1", max_force=100.0)
    assert not labelled
    assert rejects[0].info["rejected_by"] == "gfn1" and rejects[0].info["reject_reason"]


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"type": "dft"}, "unknown type 'dft'"),
        ({"type": "lammps", "potential": "nope"}, "unknown LAMMPS potential 'nope'"),
        ({"type": "lammps"}, "needs 'potential' or 'pair_style' and 'pair_coeff'"),
        ({"type": "tersoff", "parameters": "Nope"}, "no Tersoff/Brenner parameter set 'Nope'"),
        ({"type": "mace", "model": "missing.model"}, "model file 'missing.model' not found"),
    ],
)
def test_bad_calculator_entries_are_explained(spec, message):
    with pytest.raises(CalculatorConfigError, match=message):
        make_calculator("bad", spec, ["C"])


def test_gfn2_xtb_is_a_registry_entry_too():
    atoms = diamond(rattle=0.03)
    atoms.calc = make_calculator("gfn2", {"type": "xtb", "method": "GFN2-xTB"}, ["C"])
    gfn2 = atoms.get_potential_energy() / len(atoms)
    atoms.calc = make_calculator("gfn1", {"type": "xtb", "method": "GFN1-xTB"}, ["C"])
    gfn1 = atoms.get_potential_energy() / len(atoms)
    assert -60 < gfn2 < -40 and abs(gfn2 - gfn1) > 0.1  # a different Hamiltonian


def test_mace_file_teacher_labels_in_batches_as_the_ase_calculator_does(tiny_model, tmp_path):
    import torch

    path = tmp_path / "teacher.model"
    torch.save(tiny_model, path)
    spec = {"type": "mace", "model": str(path), "dtype": "float64", "batch_size": 2}
    structures = [diamond(rattle=0.05 * k) for k in range(1, 4)]
    batched, _ = label(
        structures, None, "mace", 1e6, calculator_entry("mace", spec, ["C"]).predict_batch, 2
    )
    one_by_one, _ = label(structures, make_calculator("mace", spec, ["C"]), "mace", 1e6)
    assert len(batched) == 3
    for a, b in zip(batched, one_by_one, strict=True):
        assert a.info["mace_energy"] == pytest.approx(b.info["mace_energy"], abs=1e-6)
        assert np.allclose(a.arrays["mace_forces"], b.arrays["mace_forces"], atol=1e-6)


def test_each_entry_declares_what_it_can_do_beyond_its_calculator():
    snap = calculator_entry("snap", OFFLINE["snap"], ["C"])
    assert snap.predict_batch is None and snap.lammps_pair[0] == "snap"
    tersoff = calculator_entry("tersoff", OFFLINE["tersoff"], ["C"])
    assert tersoff.predict_batch is None and tersoff.lammps_pair is None
    assert type(tersoff.calculator).__name__ == "Manybody" and "calculator" in vars(tersoff)


@pytest.mark.parametrize(
    "spec, package",
    [
        ({"type": "gap", "xml": "__file__"}, "quippy-ase"),
        ({"type": "ace", "potential": "__file__"}, "python-ace"),
        ({"type": "chgnet"}, "chgnet"),
    ],
)
def test_optional_teachers_say_which_package_is_missing(spec, package, tmp_path):
    module = {"quippy-ase": "quippy", "python-ace": "pyace", "chgnet": "chgnet"}[package]
    try:
        __import__(module)
    except ImportError:
        pass
    else:
        pytest.skip(f"{package} is installed here")
    user_file = tmp_path / "potential.xml"
    user_file.write_text("<GAP_params/>")
    spec = {k: str(user_file) if v == "__file__" else v for k, v in spec.items()}
    with pytest.raises(CalculatorConfigError, match=f"needs the optional package '{package}'"):
        make_calculator("teacher", spec, ["C"])


@pytest.mark.parametrize("kind, key", [("gap", "xml"), ("ace", "potential")])
def test_user_potential_files_must_exist(kind, key):
    with pytest.raises(CalculatorConfigError, match=f"{key} file 'nope' not found"):
        make_calculator("teacher", {"type": kind, key: "nope"}, ["C"])


def test_a_user_pair_coeff_is_passed_as_written():
    from synthpt.calculators import lammps_pair

    spec = {"type": "lammps", "pair_style": "table linear 100", "pair_coeff": "* * {odd}.table C"}
    assert lammps_pair("mine", spec) == ("table linear 100", "* * {odd}.table C")
    style, coeff = lammps_pair("snap", {"type": "lammps", "potential": "carbon_snap"})
    assert style == "snap" and "{" not in coeff and coeff.endswith(".snapparam C")


def test_a_calculator_that_rejects_most_structures_fails_the_job():
    from synthpt.labelling import check_rejects

    check_rejects(5, 10, "snap", 0.5)  # half: the job goes on
    with pytest.raises(RuntimeError, match="'gfn1' rejected 6 of 10 structures"):
        check_rejects(6, 10, "gfn1", 0.5)
    check_rejects(0, 0, "gfn1", 0.0)


def test_the_schema_offers_every_calculator_type_and_each_has_a_cost(root):
    import yaml

    from synthpt.calculators import CALCULATOR_TYPES, seconds_per_call

    schema = yaml.safe_load((root / "config" / "schema.yaml").read_text())
    types = schema["properties"]["calculators"]["additionalProperties"]["properties"]["type"]
    assert sorted(types["enum"]) == sorted(CALCULATOR_TYPES)
    for name in CALCULATOR_TYPES:
        assert seconds_per_call({"type": name}, 64) > 0
    # xTB and DFT grow with the cube of the size, the potentials linearly
    assert seconds_per_call({"type": "xtb"}, 128) == 8 * seconds_per_call({"type": "xtb"}, 64)
    assert seconds_per_call({"type": "lammps", "potential": "tersoff"}, 128) == 0.02


def central_difference_forces(atoms, calculator, moves, step=1e-4):
    forces = []
    for atom, axis in moves:
        energies = []
        for sign in (1, -1):
            moved = atoms.copy()
            moved.positions[atom, axis] += sign * step
            moved.calc = calculator
            energies.append(moved.get_potential_energy())
        forces.append(-(energies[0] - energies[1]) / (2 * step))
    return np.array(forces)


def test_pyscf_forces_are_the_gradient_of_its_energy():
    """A water molecule at PBE/STO-3G: forces against central differences of the energy."""
    from ase import Atoms

    calculator = make_calculator(
        "dft", {"type": "pyscf", "xc": "PBE", "basis": "sto-3g"}, ["H", "O"]
    )
    water = Atoms("OH2", positions=[[0, 0, 0.12], [0, 0.76, -0.47], [0, -0.76, -0.47]])
    water.calc = calculator
    forces = water.get_forces()
    assert np.abs(forces).max() > 0.1  # not at the minimum
    moves = [(0, 2), (1, 1), (2, 2)]
    numeric = central_difference_forces(water, calculator, moves, step=1e-3)
    assert forces[[m[0] for m in moves], [m[1] for m in moves]] == pytest.approx(numeric, abs=2e-3)
    assert -2100 < water.get_potential_energy() < -2000  # ~ -75 Hartree, in eV
    with pytest.raises(ValueError, match="periodic"):
        periodic = water.copy()
        periodic.cell, periodic.pbc = [5, 5, 5], True
        periodic.calc = calculator
        periodic.get_potential_energy()


@pytest.mark.parametrize("zbl", [None, (1.0, 2.0)])
def test_nep_teacher_gives_gradient_forces_in_cells_and_for_molecules(tmp_path, zbl):
    """A NEP4 file through calorine: forces are the energy's gradient, in a periodic cell and
    for a molecule with no cell, whose energy does not depend on the vacuum around it (also
    for a nep4_zbl file, whose ZBL cutoffs come before the model's)."""
    from ase.build import molecule

    from conftest import write_nep4

    path = write_nep4(tmp_path / "nep.txt", ["C", "H", "O"], zbl=zbl)
    spec = {"type": "nep", "potential": path}
    calculator = make_calculator("nep", spec, ["C", "H", "O"])
    moves = [(0, 0), (5, 2), (8, 1)]
    ethanol = molecule("CH3CH2OH")
    assert ethanol.cell.rank == 0 and not ethanol.pbc.any()
    ethanol.calc = calculator
    forces = ethanol.get_forces()[[m[0] for m in moves], [m[1] for m in moves]]
    assert np.abs(forces).max() > 1e-2
    assert forces == pytest.approx(central_difference_forces(ethanol, calculator, moves), abs=1e-5)
    boxed = ethanol.copy()
    boxed.cell, boxed.pbc = [40, 40, 40], True
    boxed.center()
    boxed.calc = calculator
    assert boxed.get_potential_energy() == pytest.approx(ethanol.get_potential_energy(), abs=1e-8)
    (labelled,), rejects = label([ethanol], calculator, "nep", 1e6)
    assert not rejects and np.allclose(labelled.arrays["nep_forces"], ethanol.get_forces())
    split = labelled.arrays["nep_energies"]  # NEP's per-atom energies, stored beside
    assert split.shape == (9,) and split.sum() == pytest.approx(labelled.info["nep_energy"])
    cell = diamond()
    cell.calc = make_calculator("nep", spec, ["C"])
    forces = cell.get_forces()[[m[0] for m in moves], [m[1] for m in moves]]
    assert forces == pytest.approx(central_difference_forces(cell, cell.calc, moves), abs=1e-5)


@pytest.mark.parametrize(
    "first_line, elements, problem",
    [
        ("nep3 1 C", ["C"], "a NEP3 model; calorine 4.1, which synthpt uses, reads NEP4 only"),
        ("nep4_dipole 1 C", ["C"], r"a NEP4 'dipole' model; synthpt labels with plain energy"),
        ("nep4 2 C H", ["C", "H", "O"], r"has no parameters for O \(its elements: C H\)"),
        ("ANN 30 0", ["C"], "not a NEP model file"),
    ],
)
def test_a_nep_file_that_cannot_label_the_campaign_is_refused_before_any_job(
    tmp_path, first_line, elements, problem
):
    import yaml

    from conftest import ROOT
    from synthpt.checks import ConfigError, check_config

    path = tmp_path / "nep.txt"
    path.write_text(first_line + "\ncutoff 5 4\n")
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["elements"] = elements
    config["calculators"]["nep"] = {"type": "nep", "potential": str(path)}
    with pytest.raises(ConfigError, match=f"calculators.nep.potential: file '{path}': {problem}"):
        check_config(config)
    with pytest.raises(CalculatorConfigError, match=problem):
        make_calculator("nep", config["calculators"]["nep"], elements)


def test_lammps_and_matscipy_teachers_store_their_per_atom_energies(cells):
    """LAMMPS's compute pe/atom through ASE's LAMMPSlib, and matscipy's own split: each sums
    to the energy."""
    from synthpt.calculators import make_calculator
    from synthpt.labelling import label, per_atom_key

    snap = make_calculator("snap", {"type": "lammps", "potential": "carbon_snap"}, ["C"])
    labelled, rejects = label(list(cells[:2]), snap, "snap", 1e6)
    assert not rejects
    for atoms in labelled:
        split = atoms.arrays[per_atom_key("snap")]
        assert split.shape == (len(atoms),) and np.ptp(split) > 0
        assert split.sum() == pytest.approx(atoms.info["snap_energy"], abs=1e-6)
    tersoff = make_calculator("tersoff", {"type": "tersoff"}, ["C"])
    (one,), _ = label(list(cells[:1]), tersoff, "tersoff", 1e6)
    assert one.arrays[per_atom_key("tersoff")].sum() == pytest.approx(one.info["tersoff_energy"])


def test_student_node_energies_are_compared_centred_per_element(cells):
    from synthpt.evaluate import per_atom_agreement

    structures = [a.copy() for a in cells[:2]]
    rng = np.random.default_rng(0)
    for atoms in structures:
        atoms.arrays["t_energies"] = rng.normal(-7.0, 0.2, len(atoms))
    shifted = [a.arrays["t_energies"] + 3.0 for a in structures]  # another zero: no error
    same = per_atom_agreement(structures, shifted, "t_energies")
    assert same["node_energy_r"] == pytest.approx(1.0) and same["node_energy_rmse"] < 1e-9
    noisy = [a.arrays["t_energies"] + rng.normal(0, 0.1, len(a)) for a in structures]
    rough = per_atom_agreement(structures, noisy, "t_energies")
    assert 0.5 < rough["node_energy_r"] < 1 and rough["node_energy_rmse"] == pytest.approx(
        100, rel=0.2
    )


@pytest.mark.parametrize(
    "name, change, message",
    [
        ("gfn1", {"methd": "GFN2-xTB"}, "calculators.gfn1.methd: not a setting of a xtb entry;"
         " its settings: ['accuracy', 'electronic_temperature', 'max_iterations', 'method']"),
        ("gfn1", {"method": "GFN3-xTB"}, "calculators.gfn1.method: 'GFN3-xTB' is not one of"
         " ['GFN1-xTB', 'GFN2-xTB', 'IPEA1-xTB']"),
        ("gfn1", {"accuracy": "high"}, "calculators.gfn1.accuracy: 'high' is not a int or float"),
        ("snap", {"potential": "carbon_snapp"}, "calculators.snap.potential: 'carbon_snapp' is"
         " not one of ['carbon_snap', 'rebo', 'lcbop', 'tersoff']"),
        ("snap", {"potential": None, "pair_style": "tersoff"}, "calculators.snap: a lammps entry"
         " needs 'potential' or 'pair_style' and 'pair_coeff'"),
        ("tersoff", {"parameters": "Tersoff_Si"}, "calculators.tersoff.parameters: matscipy has"
         " no parameter set 'Tersoff_Si'; known: ["),
        ("dft", {"xc": "B3LYPP"}, "calculators.dft.xc: PySCF (libxc) knows no functional 'B3LYPP'"),
        ("dft", {"basis": "6-31G**x"},
         "calculators.dft.basis: PySCF knows no basis set '6-31G**x'"),
        ("dft", {"density_fit": "yes"}, "calculators.dft.density_fit: 'yes' is not a bool"),
        ("dft", {"charge": True}, "calculators.dft.charge: True is not a int"),
    ],
)  # fmt: skip
def test_calculator_settings_are_checked_before_any_job(root, name, change, message):
    import yaml

    from synthpt.checks import ConfigError, check_config

    config = yaml.safe_load((root / "config" / "config.yaml").read_text())
    config["calculators"]["tersoff"] = {"type": "tersoff"}
    config["calculators"]["dft"] = {"type": "pyscf", "xc": "PBE", "basis": "def2-SVP"}
    config["calculators"][name].update(change)
    config["calculators"][name] = {k: v for k, v in config["calculators"][name].items() if v}
    with pytest.raises(ConfigError) as raised:
        check_config(config)
    assert str(raised.value).startswith(message)


def test_every_calculator_setting_the_builders_read_is_declared():
    """The builders read settings through spec.get("KEY"): each such key is in the type's table
    (else a valid setting would be refused), and the xTB methods are those tblite loads."""
    import inspect
    import re

    from tblite.interface import Calculator as TBLiteCalculator

    from synthpt import calculators

    for kind, entry in calculators.CALCULATOR_TYPES.items():
        builders = [entry.build, entry.batch_predictor or entry.build]
        read = {
            k for b in builders for k in re.findall(r'spec\.get\("(\w+)"', inspect.getsource(b))
        }
        read |= set(entry.file_keys)
        assert read <= set(entry.settings), (kind, read - set(entry.settings))
    assert set(calculators.XTB_METHODS) == set(TBLiteCalculator._loader)


def test_a_nep_model_beyond_calorines_descriptor_limit_is_refused_before_any_job(tmp_path):
    from conftest import write_nep4
    from synthpt.wrappers import nep_file_problem

    fits = write_nep4(tmp_path / "fits.txt", ["C"], n_max=(16, 14), l_max=(4, 2, 0))
    assert nep_file_problem(fits, ["C"]) is None  # 17 + 15 * 5 = 92 components
    too_big = write_nep4(tmp_path / "big.txt", ["C"], n_max=(16, 14), l_max=(4, 2, 1))
    assert nep_file_problem(too_big, ["C"]) == (
        "its descriptor has 107 components (90 angular; n_max 16 14, l_max 4 2 1);"
        " calorine 4.1 computes at most 103 (90 angular): train it with a smaller n_max or l_max"
    )
