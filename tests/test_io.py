import numpy as np
import pytest

from conftest import labelled
from synthpt.io import InputError, atomic_path, read_structures, validate_labels, write_structures


def test_round_trip_keeps_explicit_label_keys(tmp_path, cells):
    path = tmp_path / "a.extxyz"
    write_structures(path, labelled(cells))
    back = read_structures(path)
    assert len(back) == len(cells)
    assert np.allclose(back[1].arrays["ref_forces"], labelled(cells)[1].arrays["ref_forces"])
    validate_labels(back, path, "ref_energy", "ref_forces", ["C"])


def test_failed_write_leaves_previous_file_untouched(tmp_path, cells):
    path = tmp_path / "a.extxyz"
    write_structures(path, cells[:1])
    before = path.read_text()
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("killed mid-write")
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.extxyz"]


def _break(atoms, problem):
    if problem == "missing energy":
        del atoms.info["ref_energy"]
    elif problem == "missing forces":
        del atoms.arrays["ref_forces"]
    elif problem == "NaN energy":
        atoms.info["ref_energy"] = float("nan")
    elif problem == "infinite force":
        atoms.arrays["ref_forces"][3, 1] = np.inf
    elif problem == "unknown element":
        atoms.symbols[0] = "Si"


@pytest.mark.parametrize(
    "problem, message",
    [
        ("missing energy", "structure 1: no energy under key 'ref_energy'"),
        ("missing forces", "structure 1: no forces under key 'ref_forces'"),
        ("NaN energy", "structure 1: energy 'ref_energy' is not finite"),
        ("infinite force", "structure 1: forces 'ref_forces' hold non-finite values"),
        ("unknown element", "structure 1: elements ['Si'] are not in the config's elements"),
    ],
)
def test_bad_labels_name_file_structure_and_problem(tmp_path, cells, problem, message):
    structures = labelled(cells)
    _break(structures[1], problem)
    path = tmp_path / "bad.extxyz"
    write_structures(path, structures)
    with pytest.raises(InputError) as err:
        validate_labels(read_structures(path), path, "ref_energy", "ref_forces", ["C"])
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)


def test_wrong_forces_shape_is_reported(cells):
    structures = labelled(cells)
    structures[0].info["ref_forces"] = None
    structures[0].arrays["ref_forces"] = np.zeros((64, 3))
    structures[2].arrays.pop("ref_forces")
    structures[2].new_array("ref_forces", np.zeros((64, 2)))
    with pytest.raises(InputError, match=r"structure 2: forces 'ref_forces' have shape \(64, 2\)"):
        validate_labels(structures, "f.xyz", "ref_energy", "ref_forces")


@pytest.mark.parametrize(
    "content, message",
    [("", "file is empty"), ("64\nnot an extxyz comment\nC 0 0\n", "cannot be read")],
)
def test_unreadable_files_are_named(tmp_path, content, message):
    path = tmp_path / "broken.extxyz"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as err:
        read_structures(path)
    assert str(path) in str(err.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_structures(tmp_path / "nowhere.extxyz")


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_outputs_honour_the_umask(tmp_path, cells, umask, mode):
    import os

    old = os.umask(umask)
    try:
        write_structures(tmp_path / "a.extxyz", cells[:1])
    finally:
        os.umask(old)
    assert (tmp_path / "a.extxyz").stat().st_mode & 0o777 == mode
