"""Ingest of a user's DFT files: every bad input stops with the file, structure and problem."""

import numpy as np
import pytest
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write
from ase.units import Bohr, Hartree

from synthpt.ingest import fingerprint, ingest, read_structures_to_label
from synthpt.io import InputError
from synthpt.labelling import label_keys


def dft_style(structures, seed=0, config_type="bulk"):
    """Structures as a DFT code writes them: energy/forces/stress in a calculator."""
    rng = np.random.default_rng(seed)
    out = []
    for atoms in structures:
        atoms = atoms.copy()
        atoms.calc = SinglePointCalculator(
            atoms,
            energy=-7.0 * len(atoms) + rng.normal(),
            forces=rng.normal(size=(len(atoms), 3)),
            stress=rng.normal(size=6) * 0.01,
        )
        atoms.info["config_type"] = config_type
        out.append(atoms)
    return out


@pytest.fixture
def files(tmp_path, cells):
    pool, test = tmp_path / "pool.extxyz", tmp_path / "test.extxyz"
    write(pool, dft_style(cells[:2]))
    write(test, dft_style(cells[2:]))
    return pool, test


def section(pool, test, **options):
    return {"pool": str(pool), "test": [str(test)], **options}


def test_user_files_are_relabelled_under_explicit_keys(files):
    pool, tests, report = ingest(section(*files), "dft", ["C"], 2)
    test = tests["test"]
    energy_key, forces_key = label_keys("dft")
    assert len(pool) == 2 and len(test) == 1
    assert report["pool"]["kept"] == 2
    assert [a.info["index"] for a in pool] == [0, 1]
    assert pool[1].info["source"] == "pool.extxyz:1"
    for atoms in pool + test:
        assert atoms.calc is None
        assert np.isfinite(atoms.info[energy_key])
        assert atoms.arrays[forces_key].shape == (len(atoms), 3)
        assert "dft_stress" not in atoms.info and "stress" not in atoms.info


def test_units_are_converted_to_ev_and_angstrom(tmp_path, cells):
    paths = []
    for name, atoms in (("pool", cells[0].copy()), ("test", cells[1].copy())):
        atoms.set_cell(atoms.cell / Bohr, scale_atoms=True)
        atoms.info["E"] = -2.0
        atoms.arrays["F"] = np.full((len(atoms), 3), 0.1)
        paths.append(tmp_path / f"{name}.extxyz")
        write(paths[-1], [atoms])
    options = {"energy_key": "E", "forces_key": "F", "energy_unit": "Hartree"}
    pool, _, _ = ingest(section(*paths, length_unit="Bohr", **options), "dft", ["C"], 1)
    assert pool[0].info["dft_energy"] == pytest.approx(-2.0 * Hartree)
    assert np.allclose(pool[0].arrays["dft_forces"], 0.1 * Hartree / Bohr)
    assert np.allclose(pool[0].cell, cells[0].cell)


def test_md17_style_molecules_in_kcal_per_mol(tmp_path):
    """Molecules as MD17 ships them: no cell, energies and forces in kcal/mol (per Å)."""
    from ase.build import molecule
    from ase.units import kcal, mol

    rng = np.random.default_rng(0)
    frames = []
    for k in range(5):
        atoms = molecule("CH3CH2OH")
        atoms.rattle(0.05, seed=k)
        atoms.info["energy"] = -97000.0 + rng.normal()  # kcal/mol, as in MD17's ethanol
        atoms.arrays["forces"] = rng.normal(size=(len(atoms), 3)) * 30  # kcal/mol/Å
        frames.append(atoms)
    write(tmp_path / "ethanol.extxyz", frames[:4])
    write(tmp_path / "ethanol-test.extxyz", frames[4:])
    section_ = section(tmp_path / "ethanol.extxyz", tmp_path / "ethanol-test.extxyz")
    pool, tests, _ = ingest(section_ | {"energy_unit": "kcal/mol"}, "ccsd", ["C", "H", "O"], 2)
    test = tests["test"]
    assert len(pool) == 4 and len(test) == 1
    to_ev = kcal / mol
    assert pool[0].info["ccsd_energy"] == pytest.approx(frames[0].info["energy"] * to_ev)
    assert np.allclose(pool[0].arrays["ccsd_forces"], frames[0].arrays["forces"] * to_ev)
    assert not pool[0].pbc.any() and pool[0].cell.rank == 0  # kept a molecule: no cell made up
    with pytest.raises(InputError, match=r"elements \['H', 'O'\] are not in"):
        ingest(section_, "ccsd", ["C"], 2)


def test_filters_by_config_type_and_size(tmp_path, cells):
    pool = tmp_path / "pool.extxyz"
    write(pool, dft_style(cells[:1], config_type="liquid") + dft_style(cells[1:2]))
    test = tmp_path / "test.extxyz"
    write(test, dft_style(cells[2:]))
    kept, _, report = ingest(section(pool, test, config_types=["bulk"]), "dft", ["C"], 1)
    assert len(kept) == 1 and report["pool"]["filtered_config_type"] == 1
    with pytest.raises(InputError, match="no structure left after filters"):
        ingest(section(pool, test, n_atoms=[1, 10]), "dft", ["C"], 1)


def test_fingerprint_ignores_atom_order_and_periodic_images(cells):
    atoms = cells[0]
    shuffled = atoms[np.random.default_rng(1).permutation(len(atoms))]
    shifted = atoms.copy()
    shifted.positions[5] += atoms.cell[0]
    assert fingerprint(shuffled) == fingerprint(atoms) == fingerprint(shifted)
    assert fingerprint(cells[1]) != fingerprint(atoms)


def _bad(kind, tmp_path, cells):
    """Write the pool file for one kind of bad input; return (path, expected message)."""
    path = tmp_path / "bad.extxyz"
    structures = dft_style(cells[:2])
    atoms = structures[1]
    results = atoms.calc.results
    if kind == "malformed":
        path.write_text("3\nnot an extxyz header\nC 0 0\n")
        return path, "bad.extxyz: cannot be read as a structure file"
    if kind == "empty":
        path.write_text("")
        return path, "bad.extxyz: file is empty"
    if kind == "missing forces":
        del results["forces"]
    elif kind == "NaN energy":
        results["energy"] = float("nan")
    elif kind == "unknown element":
        atoms.symbols[0] = "Si"
    elif kind == "degenerate cell":
        atoms.cell[2] = atoms.cell[0]
    write(path, structures)
    if kind == "wrong forces shape":
        text = path.read_text().splitlines()
        header = 64 + 2  # second structure starts after the first's atoms and comment line
        text[header + 1] = text[header + 1].replace("forces:R:3", "forces:R:2")
        text[header + 2 :] = [" ".join(line.split()[:-1]) for line in text[header + 2 :]]
        path.write_text("\n".join(text) + "\n")
    return path, {
        "missing forces": "bad.extxyz: structure 1: no forces under key 'forces'",
        "NaN energy": "bad.extxyz: structure 1: energy 'energy' is not finite",
        "unknown element": "bad.extxyz: structure 1: elements ['Si'] are not in the config's",
        "degenerate cell": "bad.extxyz: structure 1: periodic cell volume",
        "wrong forces shape": "bad.extxyz: structure 1: forces 'forces' have shape (64, 2)",
    }[kind]


@pytest.mark.parametrize(
    "kind",
    [
        "malformed",
        "empty",
        "missing forces",
        "NaN energy",
        "unknown element",
        "wrong forces shape",
        "degenerate cell",
    ],
)
def test_bad_input_names_file_structure_and_problem(kind, tmp_path, cells, files):
    path, message = _bad(kind, tmp_path, cells)
    with pytest.raises(InputError) as error:
        ingest(section(path, files[1]), "dft", ["C"], 1)
    assert message in str(error.value)


def test_test_structure_in_the_pool_is_refused(tmp_path, cells, files):
    pool, _ = files
    test = tmp_path / "leaky.extxyz"
    copy = cells[1].copy()
    copy.translate(copy.cell[1])  # the same structure, one periodic image away
    write(test, dft_style([copy]))
    with pytest.raises(InputError, match=r"test structure leaky.extxyz:0 is also in the pool"):
        ingest(section(pool, test), "dft", ["C"], 1)


def test_subset_larger_than_the_pool_is_refused(files):
    with pytest.raises(
        InputError,
        match=r"subsets: the largest size plus the validation set \(5\) exceeds the pool of 2",
    ):
        ingest(section(*files), "dft", ["C"], 5)


def test_a_structure_twice_in_the_pool_is_refused(tmp_path, cells):
    pool, test = tmp_path / "pool.extxyz", tmp_path / "test.extxyz"
    shifted = cells[0].copy()
    shifted.translate(shifted.cell[0])  # one periodic image away: the same structure
    write(pool, dft_style([cells[0], cells[1], shifted]))
    write(test, dft_style(cells[2:]))
    with pytest.raises(InputError, match=r"pool structure pool.extxyz:2 repeats pool.extxyz:0"):
        ingest(section(pool, test), "dft", ["C"], 1)


def test_a_slab_moved_along_its_open_axis_is_another_structure(cells):
    slab = cells[0].copy()
    slab.pbc = (True, True, False)
    moved = slab.copy()
    moved.positions[0, 2] += 10.0  # out of the slab: not a periodic image along z
    assert fingerprint(slab) != fingerprint(moved)
    image = slab.copy()
    image.positions[0] += slab.cell[0]  # along a periodic axis: the same structure
    assert fingerprint(slab) == fingerprint(image)


def test_repeats_in_the_pool_can_be_dropped_keeping_the_first(tmp_path, cells):
    pool, test = tmp_path / "pool.extxyz", tmp_path / "test.extxyz"
    write(pool, dft_style([cells[0], cells[1], cells[0]]))  # an exact duplicate, labels too
    write(test, dft_style(cells[2:]))
    kept, _, report = ingest(section(pool, test, duplicates="drop"), "dft", ["C"], 1)
    assert [a.info["source"] for a in kept] == ["pool.extxyz:0", "pool.extxyz:1"]
    assert [a.info["index"] for a in kept] == [0, 1]
    assert report["pool"]["dropped_duplicates"] == 1 and report["pool"]["kept"] == 2
    assert report["pool"]["duplicates"] == ["pool.extxyz:2 (repeats pool.extxyz:0)"]
    with pytest.raises(InputError, match="or set real.duplicates: drop"):
        ingest(section(pool, test), "dft", ["C"], 1)


def test_atoms_too_close_stop_at_ingest_or_are_dropped(tmp_path, cells):
    pool, test = tmp_path / "pool.extxyz", tmp_path / "test.extxyz"
    crowded = cells[1].copy()
    crowded.positions[1] = crowded.positions[0] + [0.1, 0.0, 0.0]
    write(pool, dft_style([cells[0], crowded]))
    write(test, dft_style(cells[2:]))
    message = r"pool.extxyz: structure 1: two atoms 0.100 Å apart \(real.min_distance 0.5 Å\)"
    with pytest.raises(InputError, match=message):
        ingest(section(pool, test), "dft", ["C"], 1)
    kept, _, report = ingest(section(pool, test, implausible="drop"), "dft", ["C"], 1)
    assert len(kept) == 1 and report["pool"]["dropped_implausible"][0].startswith("pool.extxyz:1:")


def test_forces_beyond_any_physical_scale_name_the_unit_that_would_fit(tmp_path, cells):
    pool, test = tmp_path / "pool.extxyz", tmp_path / "test.extxyz"
    structures = dft_style(cells[:2])
    for atoms in structures:  # eV and eV/Å of a real code, typical forces of ~1-3 eV/Å
        atoms.calc.results["forces"] *= 2.0
    write(pool, structures)
    write(test, dft_style(cells[2:]))
    with pytest.raises(
        InputError,
        match=r"pool files .*median force component is \d+\.\d eV/Å after converting from"
        r" energy_unit Hartree.*\['eV', ",
    ):
        ingest(section(pool, test, energy_unit="Hartree"), "dft", ["C"], 1)
    ingest(section(pool, test, energy_unit="eV"), "dft", ["C"], 1)


def test_atoms_too_close_in_the_users_structure_files_stop_the_split(tmp_path, cells):
    path = tmp_path / "mine.extxyz"
    crowded = cells[1].copy()
    crowded.positions[1] = crowded.positions[0] + [0.1, 0.0, 0.0]
    write(path, [cells[0], crowded])
    message = r"mine.extxyz: structure 1: two atoms 0.100 Å apart \(structures.min_distance 0.5 Å\)"
    with pytest.raises(InputError, match=message):
        read_structures_to_label([str(path)], ["C"])
    assert len(read_structures_to_label([str(path)], ["C"], min_distance=0.05)) == 2


def test_named_test_sets_are_read_in_order_and_held_out_of_the_pool(tmp_path, cells):
    pool, md, scan = (tmp_path / f"{name}.extxyz" for name in ("pool", "md", "scan"))
    write(pool, dft_style(cells[:1]))
    write(md, dft_style(cells[1:2]))
    write(scan, dft_style(cells[2:]))
    real = {"pool": str(pool), "test": {"md": str(md), "scan": [str(scan)]}}
    _, tests, report = ingest(real, "dft", ["C"], 1)
    assert list(tests) == ["md", "scan"] and [len(t) for t in tests.values()] == [1, 1]
    assert tests["scan"][0].info["source"] == "scan.extxyz:0"
    assert list(report["test_sets"]) == ["md", "scan"]
    with pytest.raises(InputError, match="test structure scan.extxyz:0 is also in the pool"):
        ingest(real | {"pool": [str(pool), str(scan)]}, "dft", ["C"], 1)


def test_a_named_test_set_without_forces_is_energy_only_but_the_headline_needs_them(
    tmp_path, cells
):
    """Like acac's NEB path and dihedral scan: energies alone, scored on energies alone."""
    pool, md, scan = (tmp_path / f"{name}.extxyz" for name in ("pool", "md", "scan"))
    write(pool, dft_style(cells[:1]))
    write(md, dft_style(cells[1:2]))
    energy_only = [a.copy() for a in cells[2:]]
    for atoms in energy_only:
        atoms.info["energy"] = -7.0 * len(atoms)
    write(scan, energy_only)
    real = {"pool": str(pool), "test": {"md": str(md), "scan": str(scan)}}
    _, tests, report = ingest(real, "dft", ["C"], 1)
    assert report["test_sets"]["scan"]["energy_only"] and not report["test"]["energy_only"]
    assert "dft_forces" not in tests["scan"][0].arrays and "dft_energy" in tests["scan"][0].info
    with pytest.raises(InputError, match=r"scan.extxyz: structure 0: no forces under key 'forces'"):
        ingest(real | {"test": {"scan": str(scan), "md": str(md)}}, "dft", ["C"], 1)
    mixed = tmp_path / "mixed.extxyz"
    write(mixed, dft_style(cells[1:2]) + energy_only)
    with pytest.raises(InputError, match=r"mixed.extxyz: structure 1: no forces under key"):
        ingest(real | {"test": {"md": str(md), "mixed": str(mixed)}}, "dft", ["C"], 1)
