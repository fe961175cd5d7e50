"""The model-path grammar (synthpt.paths): the rules' templates are the paths ModelId and
TuningRun build, and every path they build parses back to what built it."""

import re
from pathlib import Path

import pytest

from synthpt.paths import (
    FINETUNE_TUNING_PATH,
    FINETUNED_PATH,
    SCRATCH_PATH,
    SCRATCH_TUNING_PATH,
    ZERO_SHOT_PATH,
    ModelId,
    TuningRun,
    path_wildcards,
    pretrained_name,
    pretrained_parts,
)

ROOT = Path(__file__).resolve().parents[1]


def test_rule_templates_filled_in_are_the_paths_model_ids_build():
    fill = {"strategy": "frozen", "pretrained": "snap-s100", "n": 25, "seed": 3, "lr": "0.001"}
    assert FINETUNED_PATH.format(**fill) == "frozen/snap-s100/n25/seed3"
    assert ModelId.from_path(FINETUNED_PATH.format(**fill)) == ModelId("frozen", "snap-s100", 25, 3)
    assert SCRATCH_PATH.format(**fill) == "scratch/n25/seed3"
    assert ModelId.from_path(SCRATCH_PATH.format(**fill)) == ModelId("scratch", "none", 25, 3)
    assert ZERO_SHOT_PATH.format(**fill) == "zero-shot/snap-s100/n25/seed0"
    assert TuningRun.from_path(FINETUNE_TUNING_PATH.format(**fill)) == TuningRun(
        "frozen", "snap-s100", "0.001"
    )
    assert TuningRun.from_path(SCRATCH_TUNING_PATH.format(**fill)).path == "scratch/lr0.001"
    assert TuningRun.from_group("replay/gfn2-p2") == TuningRun("replay", "gfn2-p2", "")


def test_wildcards_match_what_the_grammar_builds_and_nothing_else():
    wildcards = path_wildcards(["finetune", "replay"])
    model, group = wildcards["model"], wildcards["group"]
    assert re.fullmatch(model, "replay/snap-p2/n10/seed1")
    assert re.fullmatch(model, "scratch/n10/seed1")
    assert not re.fullmatch(model, "frozen/snap/n10/seed1")  # not a strategy of this campaign
    assert not re.fullmatch(model, "zero-shot/snap/n10/seed0")  # scored, never trained
    assert not re.fullmatch(model, "finetune/snap/n10/seed1/work")
    assert re.fullmatch(group, "finetune/snap-s300") and not re.fullmatch(group, "finetune")
    assert re.fullmatch(wildcards["pretrained"], "snap-s300-p2")
    assert not re.fullmatch(wildcards["pretrained"], "snap/n10")


def test_pretrained_names_round_trip_and_bad_paths_are_refused():
    assert pretrained_name("gfn2", size=300, replica=2) == "gfn2-s300-p2"
    assert pretrained_parts("gfn2-s300-p2") == ("gfn2", "300", "2")
    assert pretrained_parts("snap") == ("snap", None, None)
    with pytest.raises(ValueError, match="not a pre-trained model name"):
        pretrained_parts("snap_x")
    with pytest.raises(ValueError, match="not a model path"):
        ModelId.from_path("finetune/snap/n10")
    with pytest.raises(ValueError, match="not a tuning run path"):
        TuningRun.from_path("finetune/snap/lrfast")
    assert ModelId("finetune", "snap", 10, 1).columns() == {
        "mode": "finetune", "teacher": "snap", "n_real": 10, "seed": 1,
    }  # fmt: skip


def test_no_rule_or_module_but_paths_spells_a_model_path():
    """The grammar's pieces (``n{n}/seed{seed}``, ``/lr{lr}``, ``models/pretrain/``) appear in
    synthpt/paths.py alone."""
    spelled = re.compile(
        r"/n\{+n\}+/seed|/seed\{+seed\}+\.|/lr\{+lr\}+|models/pretrain/|metrics/pretrain/"
    )
    files = [*(ROOT / "workflow").rglob("*.py"), *(ROOT / "workflow").rglob("*.smk"),
             *(ROOT / "bench").glob("*.py")]  # fmt: skip
    found = [str(f.relative_to(ROOT)) for f in files if spelled.search(f.read_text())]
    assert found == ["workflow/synthpt/paths.py"]
