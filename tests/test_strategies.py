"""Fine-tuning strategies: each entry of the table reaches mace_run_train and does what it says.
A new strategy is one entry in synthpt.strategies and a case here."""

import json
import re
from types import SimpleNamespace

import pytest

from synthpt.strategies import STRATEGIES
from synthpt.training import train_model, training_plan

TINY_ARCH = {
    "num_channels": 4,
    "max_L": 0,
    "max_ell": 1,
    "correlation": 2,
    "r_max": 3.5,
    "num_interactions": 2,
    "radial_mlp": [8],
}
SCHEDULE = {
    "batch_size": 1,
    "lr": {"scratch": 0.01, "finetune": 0.01},
    "energy_weight": 30,
    "forces_weight": 100,
    "max_steps": 4,
    "eval_steps": 2,
    "patience": 10,
}
BLOCKS = ("node_embedding", "interactions", "products", "readouts")


def train(tmp_path, mode, name, foundation=None):
    from synthpt.io import read_structures, write_structures
    from synthpt.strategies import STRATEGIES, StrategyRun

    plan = training_plan(mode, {"reference": "ref", "schedule": SCHEDULE}, 2)
    outputs = SimpleNamespace(
        **{k: tmp_path / f"{name}.{k}" for k in ("model", "compiled", "record")}
    )
    files = {}
    hook = STRATEGIES[mode].work_files if mode in STRATEGIES else None
    if hook:  # replay's: the foundation's own structures (labels "ref") as the replay head
        pool = read_structures(tmp_path / "train.extxyz")
        run = StrategyRun(
            tmp_path / name, 1, ("ref_energy", "ref_forces"), ("ref_energy", "ref_forces"),
            {6: -7.0}, {6: -7.0},
            plan.replay, pool, SimpleNamespace(replay_valid=tmp_path / "train.extxyz"),
        )  # fmt: skip
        files = hook(run)
    record = train_model(
        plan, work_dir=tmp_path / name, train_file=tmp_path / "train.extxyz",
        valid_file=tmp_path / "valid.extxyz", keys=("ref_energy", "ref_forces"),
        e0s="{6: -7.0}", architecture=TINY_ARCH, seed=1, dtype="float64", outputs=outputs,
        log_file=tmp_path / f"{name}.log", foundation_model=foundation,
        extra={flag: path for flag, (path, _) in files.items()},
        before=lambda: [write_structures(path, s) for path, s in files.values()],
    )  # fmt: skip
    arguments = json.loads((tmp_path / name / "command.json").read_text())["command"]
    assert record["kept"] == "trained"  # a pass beat the start: the blocks below moved
    assert bool(files) == (mode == "replay")
    if files:  # what mace read for the replay head: its structures, on the teacher's labels
        from synthpt.replay import REPLAY_VALID

        wanted = {"pt_train_file": plan.replay, "pt_valid_file": REPLAY_VALID}
        for flag, (path, _) in files.items():
            assert len(read_structures(path)) == min(wanted[flag], len(pool))
    return plan, arguments, outputs.model


@pytest.fixture(scope="module")
def foundation(tmp_path_factory, cells):
    """A pre-trained model (a few steps from scratch on made-up labels) and its data; it
    validates on its own training structures, so that a fine-tune can beat its start."""
    from conftest import labelled
    from synthpt.io import write_structures

    tmp_path = tmp_path_factory.mktemp("strategies")
    structures = labelled(cells, "ref")
    write_structures(tmp_path / "train.extxyz", structures[:2])
    write_structures(tmp_path / "valid.extxyz", structures[:2])
    return tmp_path, train(tmp_path, "scratch", "pretrained")[2]


def blocks_changed(before, after) -> dict:
    import torch

    return {
        block: any(
            not torch.equal(p, q)
            for p, q in zip(
                getattr(before, block).parameters(), getattr(after, block).parameters(), strict=True
            )
        )
        for block in BLOCKS
    }


def learning_rates(arguments, model) -> dict:
    """The learning rate of each parameter group, as mace's own optimizer set-up gives it."""
    from mace.tools import build_default_arg_parser
    from mace.tools.scripts_utils import get_params_options

    args = build_default_arg_parser().parse_args(arguments)
    return {group["name"]: group["lr"] for group in get_params_options(args, model)["params"]}


EXPECTED = {
    # strategy: (blocks that train, lr factor per group, forces weight)
    "finetune": (set(BLOCKS), {"embedding": 1, "interactions_decay": 1, "readouts": 1}, 100),
    "discriminative": (
        set(BLOCKS),
        {"embedding": 0.1, "interactions_decay": 0.3, "products": 1, "readouts": 1},
        100,
    ),
    "frozen": ({"products", "readouts"}, {"embedding": 0, "interactions_decay": 0}, 100),
    "energy_only": (set(BLOCKS), {"embedding": 1, "readouts": 1}, 0),
    "lora": (set(BLOCKS), {"embedding": 1, "readouts": 1}, 100),
    "replay": (set(BLOCKS), {"embedding": 1, "readouts": 1}, 100),
}


def test_every_strategy_is_tested():
    assert set(EXPECTED) == set(STRATEGIES)


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_strategy_trains_the_blocks_it_says_at_the_rates_it_says(foundation, strategy):
    from synthpt.evaluate import load_model

    tmp_path, pretrained = foundation
    plan, arguments, trained = train(tmp_path, strategy, strategy, foundation=pretrained)
    assert plan.from_pretrained and plan.e0s == "refit"
    trains, factors, forces_weight = EXPECTED[strategy]
    assert plan.schedule["forces_weight"] == forces_weight
    before, after = load_model(pretrained, "float64"), load_model(trained, "float64")
    changed = blocks_changed(before, after)
    assert {block for block, moved in changed.items() if moved} == trains
    rates = learning_rates(arguments, load_model(pretrained, "float64"))
    assert rates == pytest.approx(rates | {g: f * 0.01 for g, f in factors.items()})
    log = (tmp_path / f"{strategy}.log").read_text()
    counts = [int(c) for c in re.findall(r"has (\d+) trainable parameters", log)]
    if strategy == "lora":  # adapters train instead; the saved model is plain MACE again
        assert "Injecting LoRA layers with rank=4" in log and len(set(counts)) == 2
        assert not any("LoRA" in type(m).__name__ for m in after.modules())
    else:
        assert not counts
    if strategy == "replay":  # two heads in training, ours at our rate; one head published
        assert "Using heads: ['Default', 'pt_head']" in log
        assert "Learning rate: 0.01," in log and "0.99999" not in log
        assert "WeightedEnergyForcesLoss(energy_weight=30.000" in log  # not mace's Huber loss
        assert list(after.heads) == ["Default"] and plan.replay == 2
        record = json.loads((tmp_path / "replay.record").read_text())
        assert len(record["validation"]) == 1 + record["epochs"]  # the real head's passes only


def test_the_config_schema_offers_every_strategy(root):
    import yaml

    schema = yaml.safe_load((root / "config" / "schema.yaml").read_text())
    finetune = schema["properties"]["finetune"]["allOf"][1]["properties"]
    assert sorted(finetune["strategies"]["items"]["enum"]) == sorted(STRATEGIES)


def test_a_fine_tune_that_never_beats_its_start_publishes_the_start(foundation):
    """At a rate that wrecks the model in one step, no trained pass beats the pre-trained
    start: mace_run_train publishes the starting weights (its final model and TorchScript),
    and the record says so."""
    import json

    import numpy as np

    from synthpt.evaluate import load_compiled, load_model, predict, predict_compiled
    from synthpt.io import read_structures

    tmp_path, pretrained = foundation
    wrecking = SCHEDULE | {"lr": 50.0}
    plan = training_plan("finetune", {"reference": "ref", "schedule": wrecking}, 2)
    outputs = SimpleNamespace(
        **{k: tmp_path / f"wrecked.{k}" for k in ("model", "compiled", "record")}
    )
    record = train_model(
        plan, work_dir=tmp_path / "wrecked", train_file=tmp_path / "train.extxyz",
        valid_file=tmp_path / "valid.extxyz", keys=("ref_energy", "ref_forces"),
        e0s="{6: -7.0}", architecture=TINY_ARCH, seed=1, dtype="float64", outputs=outputs,
        log_file=tmp_path / "wrecked.log", foundation_model=pretrained,
    )  # fmt: skip
    assert record["kept"] == "start" and record["best_step"] == 0 and record["steps"] > 0
    trained = [p["loss"] for p in record["validation"] if p["epoch"] is not None]
    assert min(trained) > record["start_valid_loss"] == record["best_valid_loss"]
    assert json.loads(outputs.record.read_text())["kept"] == "start"
    assert "no trained pass beats the start" in (tmp_path / "wrecked.log").read_text()
    valid = read_structures(tmp_path / "valid.extxyz")
    start_e, start_f = predict(load_model(pretrained, "float64"), valid)
    for energies, forces in (
        predict(load_model(outputs.model, "float64"), valid),
        predict_compiled(load_compiled(outputs.compiled), valid),
    ):
        np.testing.assert_allclose(energies, start_e, rtol=1e-10)
        np.testing.assert_allclose(np.concatenate(forces), np.concatenate(start_f), atol=1e-10)


def test_replayed_teacher_labels_sit_on_the_replay_heads_energy_zero(tiny_model, cells):
    """The two heads of a replay run have different energy zeros: the real head's (the
    reference's, to which fine-tuning re-centres the foundation's E0s) and the teacher's. mace
    gives the replay head the foundation's E0s, so the teacher's replayed energies are moved by
    the E0s' shift: the refitted model then starts near them, not tens of eV/atom off."""
    import numpy as np

    from synthpt.e0s import model_e0s, refit_model_e0s
    from synthpt.evaluate import predict
    from synthpt.replay import replay_structures, replay_zero_shift

    teacher_energies, _ = predict(tiny_model, cells)  # the student's own teacher-like labels
    synthetic = []
    for atoms, energy in zip(cells, teacher_energies, strict=True):
        atoms = atoms.copy()
        atoms.info["snap_energy"] = float(energy)
        atoms.arrays["snap_forces"] = np.zeros((len(atoms), 3))
        synthetic.append(atoms)
    reference = [float(e) - 48.0 * len(a) for e, a in zip(teacher_energies, cells, strict=True)]
    own = model_e0s(tiny_model)
    refitted = refit_model_e0s(tiny_model, cells, reference, teacher_energies, ["C"])
    assert refitted[6] == pytest.approx(own[6] - 48.0)
    keys = ("gfn1_energy", "gfn1_forces")
    replayed = replay_structures(
        synthetic, 3, 1, ("snap_energy", "snap_forces"), keys, replay_zero_shift(own, refitted)
    )
    start, _ = predict(tiny_model, replayed)  # the replay head's start: the refitted model
    errors = [(e - a.info[keys[0]]) / len(a) for e, a in zip(start, replayed, strict=True)]
    assert np.abs(errors).max() < 1e-6  # eV/atom; unshifted labels: 48 eV/atom off
    unshifted = replay_structures(synthetic, 3, 1, ("snap_energy", "snap_forces"), keys)
    assert unshifted[0].info[keys[0]] - replayed[0].info[keys[0]] == pytest.approx(48.0 * 64)
