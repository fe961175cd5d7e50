"""A carbon target that the default's MD grid does not make: crystals (diamond, graphite,
graphene, diamond (100) and (111) slabs), amorphous cells at four densities and liquid; built
offline and labelled by the reference calculator, to compare synthetic structure sources on it.
"""

from __future__ import annotations

import copy
import glob
import re
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from ase import Atoms
from ase.build import bulk, diamond100, diamond111, graphene
from ase.calculators.singlepoint import SinglePointCalculator
from ase.lattice.hexagonal import Graphite
from common import DEFAULT, ROOT, metrics, model_path, reuse_labels, snakemake, table

from synthpt.paths import ZERO_SHOT, metrics_file, pretrained_metrics, pretrained_metrics_file
from synthpt.strategies import FINETUNE, SCRATCH

# Crystal kinds; each copy is rattled (Gaussian, sigma 0.03-0.1 Å) and strained (up to 2%).
CRYSTALS = {
    "diamond": lambda: bulk("C", "diamond", a=3.567, cubic=True).repeat((2, 2, 1)),
    "graphite": lambda: Graphite("C", latticeconstant={"a": 2.46, "c": 6.71}, size=(2, 2, 2)),
    "graphene": lambda: graphene(a=2.46, size=(4, 4, 1), vacuum=5.0),
    "slab100": lambda: diamond100("C", size=(2, 2, 8), a=3.567, vacuum=5.0),
    "slab111": lambda: diamond111("C", size=(2, 2, 6), a=3.567, vacuum=5.0),
}
# Melt-quench-anneal cells (32 atoms) at each density and the anneal temperature; the last
# snapshot of each trajectory is kept (LAMMPS Tersoff, as the default's MD).
DISORDERED = {
    "amorphous": {"densities": [1.5, 2.0, 2.5, 3.0], "temperatures": [1500, 2500]},
    "liquid": {"densities": [2.0, 2.5], "temperatures": [6000]},
}


def crystal_copies(kind: str, count: int, rng: np.random.Generator) -> list[Atoms]:
    out = []
    for _ in range(count):
        atoms = CRYSTALS[kind]()
        atoms.pbc = True  # slabs and graphene: periodic cells with vacuum along z
        strain = np.eye(3) + np.diag(rng.uniform(-0.02, 0.02, 3))
        atoms.set_cell(atoms.cell @ strain, scale_atoms=True)
        atoms.positions += rng.normal(scale=rng.uniform(0.03, 0.1), size=atoms.positions.shape)
        atoms.info["config_type"] = kind
        out.append(atoms)
    return out


def disordered_cells(kind: str, replicas: int, seed: int) -> list[Atoms]:
    from synthpt.sources import STRUCTURE_SOURCES, Shard

    settings = {
        "source": "md", "n_atoms": 32, "min_distance": 1.1, "replicas": replicas,
        "timestep_fs": 1.0, "friction": 0.01, "melt_temperature": 6000, "melt_ps": 1.0,
        "quench_ps": 1.0, "anneal_ps": 1.0, "snapshot_ps": 0.1, "max_force": 100.0,
        **DISORDERED[kind],
    }  # fmt: skip
    n = len(settings["densities"]) * len(settings["temperatures"]) * replicas
    builder = {"name": "tersoff", "spec": {"type": "lammps", "potential": "tersoff"},
               "elements": ["C"]}  # fmt: skip
    cells = STRUCTURE_SOURCES["md"].generate(Shard(range(n), "real", settings, seed, builder, []))
    for atoms in cells:
        atoms.info = {"config_type": kind}
    return cells


def carbon_target(seed: int = 2026, crystals: int = 10, replicas: int = 5) -> list[Atoms]:
    """The target's structures, unlabelled, in a seeded random order: ``crystals`` copies of
    each crystal kind and ``replicas`` trajectories per (density, temperature) of each
    disordered kind (defaults: 50 crystals, 40 amorphous, 10 liquid cells)."""
    rng = np.random.default_rng(seed)
    structures = [a for kind in CRYSTALS for a in crystal_copies(kind, crystals, rng)]
    structures += [a for kind in DISORDERED for a in disordered_cells(kind, replicas, seed)]
    order = rng.permutation(len(structures))
    return [structures[i] for i in order]


def label(structures: list[Atoms], name: str, spec: dict) -> list[Atoms]:
    """Reference energies and forces as a calculator's results (ASE writes energy, forces)."""
    from synthpt.calculators import make_calculator

    calculator = make_calculator(name, spec, ["C"])
    labelled = []
    for atoms in structures:
        atoms = atoms.copy()
        atoms.calc = calculator
        energy, forces = atoms.get_potential_energy(), atoms.get_forces()
        atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces)
        labelled.append(atoms)
    return labelled


def source_configs(
    base: dict, md_settings: dict, pool: str, test: str, n_synthetic: int
) -> dict[str, dict]:
    """Campaign ``base`` on the target's files, one config per synthetic structure source at
    about the same number of synthetic labels: the MD grid (``md_settings``, the default's,
    its replicas cut to the budget, 32-atom cells like the target's) and augmentation of the
    pool's positions (chains of 4: Gaussian displacements of 0.05, 0.1, 0.15 Å in turn, strain
    up to 3%, 2 FIRE steps with the teacher)."""
    from synthpt.trajectories import snapshots_per_trajectory, trajectory_grid

    real = {"pool": pool, "test": test, "energy_key": "energy", "forces_key": "forces"}
    md = copy.deepcopy(md_settings) | {"source": "md", "n_atoms": 32}
    per_replica = len(trajectory_grid(md | {"replicas": 1})) * snapshots_per_trajectory(md)
    md["replicas"] = max(1, round(n_synthetic / per_replica))
    chain_length = 4
    augment = {
        "source": "augment", "seeds": "pool", "n_chains": max(1, n_synthetic // chain_length),
        "chain_length": chain_length, "widths": [0.05, 0.1, 0.15], "strain": 0.03,
        "relax_steps": 2, "min_distance": 1.0, "max_force": md["max_force"],
    }  # fmt: skip
    configs = {}
    for name, structures in (("md", md), ("augment", augment)):
        config = copy.deepcopy(base)
        config.update(campaign=f"target-{name}", structures=structures, real=copy.deepcopy(real))
        config["synthetic"].pop("n_structures", None)
        if "tersoff" not in config["calculators"]:
            config["calculators"]["tersoff"] = {"type": "lammps", "potential": "tersoff"}
        configs[name] = config
    return configs


def target_table(results: Path, config: dict, scratch: Path) -> list[tuple]:
    """Per n: zero-shot, fine-tuned and scratch test errors (mean ± std over seeds) and the
    fine-tuned/scratch ratios of one source's campaign; scratch from ``scratch`` (the same real
    data, subsets and seeds in every source's campaign: the same models)."""
    import numpy as np

    teacher, seeds, rows = config["teachers"][0], config["subsets"]["seeds"], []

    for n in config["subsets"]["sizes"]:
        zero = metrics(results, model_path(ZERO_SHOT, n, teacher=teacher))
        tuned = [metrics(results, model_path(FINETUNE, n, s, teacher)) for s in seeds]
        base = [metrics(scratch, model_path(SCRATCH, n, s)) for s in seeds]
        row = [n, zero["e_rmse"], zero["f_rmse"]]
        for key in ("e_rmse", "f_rmse"):
            ft, sc = np.array([m[key] for m in tuned]), np.array([m[key] for m in base])
            spread = [x.std(ddof=1) if len(x) > 1 else 0.0 for x in (ft, sc)]
            row += [f"{ft.mean():.3f} ± {spread[0]:.3f}", f"{sc.mean():.3f} ± {spread[1]:.3f}",
                    ft.mean() / sc.mean(), max(spread) / sc.mean()]  # fmt: skip
        row.append(sum(m["kept"] == "start" for m in tuned))
        rows.append(tuple(row))
    return rows


def coverage_figures(results: Path) -> tuple[float, float, float]:
    """Median over test structures of their atoms' median distance to the nearest synthetic
    and to the nearest pool environment, and the share of test structures nearer the pool."""
    import pandas as pd

    cov = pd.read_csv(results / "coverage.csv")
    nearer_pool = float((cov["pool_median"] < cov["synthetic_median"]).mean())
    return float(cov["synthetic_median"].median()), float(cov["pool_median"].median()), nearer_pool


def target_data(base: dict, workdir, crystals: int, replicas: int) -> tuple[Path, Path]:
    """The target's pool and test files (3:2), labelled by ``base``'s reference once and kept
    under results/target-data."""
    from ase.io import write

    data = Path(workdir) / "results" / "target-data"
    pool, test = data / "pool.extxyz", data / "test.extxyz"
    if not pool.exists():
        data.mkdir(parents=True, exist_ok=True)
        reference = base["reference"]
        start = time.perf_counter()
        structures = label(
            carbon_target(base["seed"], crystals, replicas),
            reference,
            base["calculators"][reference],
        )
        n_test = len(structures) * 2 // 5
        write(test, structures[:n_test])
        write(pool, structures[n_test:])
        print(f"target: {len(structures)} structures labelled by {reference} in"
              f" {time.perf_counter() - start:.0f} s ({n_test} test)", flush=True)  # fmt: skip
    return pool, test


# Students of the target's capacity sweep (model keys over the base's): the own-data
# template's (config/own_data.yaml), and the same with the default's cutoff.
TEMPLATE = {"num_channels": 32, "max_L": 0, "max_ell": 2, "correlation": 3, "r_max": 5.0,
            "num_interactions": 2, "radial_mlp": [32, 32, 32]}  # fmt: skip
TARGET_STUDENTS = {
    "default": {},
    "template": TEMPLATE,
    "template, r_max 3.5": TEMPLATE | {"r_max": 3.5},
}


def bench_target_student(
    base=None, workdir=ROOT, cores=2, n_synthetic=(1000,), students=None, pretrain=None,
    crystals=10, replicas=5,
):  # fmt: skip
    """Does a student learn a good teacher where the data are varied? Each of ``students``
    (model keys) pre-trained on ``n_synthetic`` augmented labels of the carbon target's pool
    (``pretrain``: keys over the base's schedule, e.g. an epoch cap), scored against the
    teacher on the target's test cells beside the teacher against the reference; CPU seconds
    per epoch from the training record."""
    import json

    base = copy.deepcopy(base or DEFAULT)
    pool, test = target_data(base, workdir, crystals, replicas)
    base["subsets"].update(sizes=[min(base["subsets"]["sizes"])])  # pre-training needs none
    teacher, rows = base["teachers"][0], []
    for n in n_synthetic:
        augment = source_configs(base, DEFAULT["structures"], str(pool), str(test), n)["augment"]
        source = None  # the first student's campaign: the others copy its labels
        for name, model in (students or TARGET_STUDENTS).items():
            config = copy.deepcopy(augment)
            config["model"].update(model)
            config["pretrain"].update(pretrain or {})
            config["campaign"] = f"target-student-{n}-" + re.sub(r"[^a-z0-9.]+", "-", name)
            results = Path(workdir) / "results" / config["campaign"]
            if source is None:
                source = results
            else:
                reuse_labels(source, results)
            target = pretrained_metrics_file(config["campaign"], teacher)
            with tempfile.TemporaryDirectory() as tmp:
                configfile = Path(tmp) / "target-student.yaml"
                configfile.write_text(yaml.safe_dump(config))
                snakemake(workdir, configfile, "--cores", str(cores), target)
            m = json.loads((Path(workdir) / target).read_text())
            rows.append((name, n, m["student_e_rmse"], m["student_f_rmse"], m["teacher_e_rmse"],
                         m["teacher_f_rmse"], m["f_rmse"], m["epochs"], m["stopped_by"],
                         m["train_s"] / max(m["epochs"], 1)))  # fmt: skip
            print(f"target student: {rows[-1]}", flush=True)
    table(
        f"Carbon target: students pre-trained on augmented {teacher} labels, scored against the"
        " teacher on the target's test cells (E meV/atom centred, F eV/Å)",
        ["student", "synthetic labels", "E vs teacher", "F vs teacher", "teacher E vs reference",
         "teacher F vs reference", "F vs teacher (held-out synthetic)", "epochs", "stopped by",
         "s per epoch"],
        rows,
    )  # fmt: skip
    return rows


def bench_target(
    base=None, workdir=ROOT, cores=2, n_synthetic=360, sizes=(10, 40), seeds=(1, 2, 3),
    lr=0.001, crystals=10, replicas=5, md_overrides=None,
):  # fmt: skip
    """Synthetic structure sources on a carbon target the MD grid does not make (bench/target.py:
    crystals, slabs, amorphous cells at four densities, liquid; reference labels): the MD grid,
    augmentation of the pool and a half-and-half mix at the same number of synthetic labels;
    zero-shot, fine-tuned and scratch at each n, ratios, and coverage. ``lr`` pins every mode's
    rate (the default chose 0.001 for scratch and fine-tuning; "auto" tunes each campaign)."""
    from ase.io import read, write

    base = copy.deepcopy(base or DEFAULT)
    data = Path(workdir) / "results" / "target-data"
    pool, test = target_data(base, workdir, crystals, replicas)
    base["subsets"].update(sizes=list(sizes), seeds=list(seeds))
    base["finetune"].update(strategies=["finetune"], lr=lr)
    md_settings = DEFAULT["structures"] | (md_overrides or {})
    configs = source_configs(base, md_settings, str(pool), str(test), n_synthetic)
    teacher = base["teachers"][0]

    def run(config, with_scratch):
        results = Path(workdir) / "results" / config["campaign"]
        models = [model_path(ZERO_SHOT, n, teacher=teacher) for n in sizes]
        models += [model_path(FINETUNE, n, s, teacher) for n in sizes for s in seeds]
        models += [model_path(SCRATCH, n, s) for n in sizes for s in seeds] if with_scratch else []
        targets = [metrics_file(config["campaign"], m) for m in models]
        targets += [f"results/{config['campaign']}/{t}" for t in
                    ("coverage.csv", f"{pretrained_metrics(teacher)}/metrics.json")]  # fmt: skip
        with tempfile.TemporaryDirectory() as tmp:
            configfile = Path(tmp) / "target.yaml"
            configfile.write_text(yaml.safe_dump(config))
            start = time.perf_counter()
            snakemake(workdir, configfile, "--cores", str(cores), *targets)
        print(f"target: {config['campaign']} in {time.perf_counter() - start:.0f} s", flush=True)
        return results

    results = {"md": run(configs["md"], True), "augment": run(configs["augment"], False)}
    shards = [sorted(glob.glob(str(results[name] / "structures/synthetic/shard-*.extxyz")))
              for name in ("md", "augment")]  # fmt: skip
    halves = [read(path, ":")[::2] for paths in shards for path in paths]
    mixed, draft = data / "mix-synthetic.extxyz", data / ".mix-synthetic.extxyz"
    write(draft, [a for part in halves for a in part])
    if mixed.exists() and mixed.read_bytes() == draft.read_bytes():
        draft.unlink()  # the same set: keep its time, so the mix campaign is not rerun
    else:
        draft.replace(mixed)
    mix = copy.deepcopy(configs["md"])
    mix["campaign"] = "target-mix"
    mix["structures"] = {"source": "files", "files": str(mixed),
                         "max_force": configs["md"]["structures"]["max_force"]}  # fmt: skip
    results["mix"] = run(mix, False)
    rows, configs["mix"] = [], mix
    for name, root in results.items():
        import json

        pretrain = json.loads((root / pretrained_metrics(teacher) / "metrics.json").read_text())
        for row in target_table(root, configs[name], results["md"]):
            rows.append((name, *row, pretrain["student_f_rmse"], *coverage_figures(root)))
    table(
        f"Synthetic sources on the carbon target ({n_synthetic} synthetic labels each, teacher"
        f" {teacher}); test errors, mean ± std over seeds {seeds}, lr {lr}",
        ["source", "n", "zero-shot E", "zero-shot F", "fine-tuned E", "scratch E", "E ratio",
         "E spread/scratch", "fine-tuned F", "scratch F", "F ratio", "F spread/scratch",
         "kept start", "student F vs teacher (test)", "synthetic distance", "pool distance",
         "test nearer pool"],
        rows,
    )  # fmt: skip
    return rows
