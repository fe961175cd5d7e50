"""Where a campaign's models lie: the one grammar of a model's, a tuning run's and an exported
model's path under ``results/CAMPAIGN/``, built and parsed here. Rules take their templates
(Snakemake wildcards in braces) and wildcard constraints from this module, the package and the
benches their paths; nothing else spells a model path."""

from __future__ import annotations

import re
from dataclasses import dataclass

from synthpt.strategies import SCRATCH, STRATEGIES

RESULTS = "results"
ZERO_SHOT = "zero-shot"  # a pre-trained model scored as it is, its E0s re-centred on the subset
NO_TEACHER = "none"  # what a scratch model starts from
ZERO_SHOT_SEED = 0  # no training: one model per (pre-trained model, n), whatever the seeds
EXPORT = "export"

# A pre-trained model's name: TEACHER, TEACHER-sN (its first N synthetic structures) and/or
# TEACHER-pK (its K-th pre-training seed).
PRETRAINED = r"[A-Za-z0-9]+(?:-s\d+)?(?:-p\d+)?"
_PRETRAINED_PARTS = r"([A-Za-z0-9]+)(?:-s(\d+))?(?:-p(\d+))?"
LR = r"[0-9.e+-]+"


def results_dir(campaign: str) -> str:
    return f"{RESULTS}/{campaign}"


def pretrained_name(teacher: str, size: int | None = None, replica: int | None = None) -> str:
    """``TEACHER``, ``TEACHER-sN`` (pretrain.sizes) or ``TEACHER-pK`` (pretrain.seeds)."""
    return teacher + (f"-s{size}" if size else "") + (f"-p{replica}" if replica else "")


def pretrained_parts(pretrained: str) -> tuple[str, str | None, str | None]:
    """(teacher, size, replica) of a pre-trained model's name; size and replica None if absent."""
    match = re.fullmatch(_PRETRAINED_PARTS, pretrained)
    if not match:
        raise ValueError(f"not a pre-trained model name: {pretrained!r}")
    return match.groups()


def mode_group(mode: str, pretrained: str) -> str:
    """The folder of a mode's models (or its tuning runs) without size and seed: ``scratch``,
    or ``MODE/PRETRAINED``."""
    return SCRATCH if mode == SCRATCH else f"{mode}/{pretrained}"


def group_pattern(strategies: list[str]) -> str:
    """The regex of a mode's folder (``mode_group``) in a campaign of ``strategies``."""
    return rf"{SCRATCH}|({'|'.join(strategies)})/{PRETRAINED}"


def model_pattern(strategies: list[str]) -> str:
    """The regex of a trained model's path (``ModelId.path``): the ``model`` wildcard."""
    return rf"({group_pattern(strategies)})/n\d+/seed\d+"


# scratch, or STRATEGY/PRETRAINED (zero-shot too), captured
_GROUP = rf"(?:({SCRATCH})|({'|'.join([*STRATEGIES, ZERO_SHOT])})/([^/]+))"


def _group_parts(match) -> tuple[str, str]:
    scratch, mode, pretrained = match.groups()[:3]
    return scratch or mode, pretrained or NO_TEACHER


@dataclass(frozen=True)
class ModelId:
    """One scored model of the sweep: its place under models/ and metrics/."""

    mode: str
    pretrained: str  # the pre-trained model it starts from (NO_TEACHER for scratch)
    n_real: int
    seed: int

    @property
    def group(self) -> str:
        """Its mode's folder, without size and seed (``mode_group``)."""
        return mode_group(self.mode, self.pretrained)

    @property
    def path(self) -> str:
        return f"{self.group}/n{self.n_real}/seed{self.seed}"

    @classmethod
    def from_path(cls, path: str) -> ModelId:
        match = re.fullmatch(rf"{_GROUP}/n(\d+)/seed(\d+)", path)
        if not match:
            raise ValueError(f"not a model path: {path!r}")
        return cls(*_group_parts(match), int(match[4]), int(match[5]))

    def columns(self) -> dict:
        """Its identity as the tables' columns (``teacher``: the pre-trained model's name)."""
        return {"mode": self.mode, "teacher": self.pretrained, "n_real": self.n_real,
                "seed": self.seed}  # fmt: skip


@dataclass(frozen=True)
class TuningRun:
    """One run of the learning-rate grid: a mode (scratch or a strategy) from a pre-trained
    model (``NO_TEACHER`` for scratch) at one rate (``lr``: its label; empty for a group)."""

    mode: str
    pretrained: str
    lr: str

    @property
    def group(self) -> str:
        """The folder of every rate of one (mode, pre-trained model)."""
        return mode_group(self.mode, self.pretrained)

    @property
    def path(self) -> str:
        return f"{self.group}/lr{self.lr}"

    @classmethod
    def from_path(cls, path: str) -> TuningRun:
        match = re.fullmatch(rf"{_GROUP}/lr({LR})", path)
        if not match:
            raise ValueError(f"not a tuning run path: {path!r}")
        return cls(*_group_parts(match), match[4])

    @classmethod
    def from_group(cls, group: str) -> TuningRun:
        """The (mode, pre-trained model) of a group folder; ``lr`` left empty."""
        match = re.fullmatch(_GROUP, group)
        if not match:
            raise ValueError(f"not a tuning group: {group!r}")
        return cls(*_group_parts(match), "")


def model_dir(path: str) -> str:
    """A trained model's folder (``path``: ``ModelId.path`` or a template of one)."""
    return f"models/{path}"


def metrics_dir(path: str) -> str:
    """A scored model's folder: its metrics and predictions."""
    return f"metrics/{path}"


def tuning_dir(path: str) -> str:
    """A tuning run's folder (``TuningRun.path``), or a group's."""
    return f"tuning/{path}"


def export_dir(group: str) -> str:
    """The folder of a mode's exported model (``mode_group``)."""
    return f"{EXPORT}/{group}"


# Templates, relative to results/CAMPAIGN, of the models the rules make.
SCRATCH_PATH = ModelId(SCRATCH, NO_TEACHER, "{n}", "{seed}").path
FINETUNED_PATH = ModelId("{strategy}", "{pretrained}", "{n}", "{seed}").path
ZERO_SHOT_PATH = ModelId(ZERO_SHOT, "{pretrained}", "{n}", ZERO_SHOT_SEED).path
SCRATCH_TUNING_PATH = TuningRun(SCRATCH, NO_TEACHER, "{lr}").path
FINETUNE_TUNING_PATH = TuningRun("{strategy}", "{pretrained}", "{lr}").path
PRETRAINED_DIR = "models/pretrain/{pretrained}"
PRETRAINED_METRICS = "metrics/pretrain/{pretrained}"


def pretrained_dir(pretrained: str) -> str:
    return PRETRAINED_DIR.format(pretrained=pretrained)


def pretrained_metrics(pretrained: str) -> str:
    return PRETRAINED_METRICS.format(pretrained=pretrained)


def training_outputs(folder: str) -> dict[str, str]:
    """What a training job leaves in its folder: mace's model, its TorchScript twin and the
    training record."""
    return {
        "model": f"{folder}/mace.model",
        "compiled": f"{folder}/mace_compiled.model",
        "record": f"{folder}/training.json",
    }


def path_wildcards(strategies: list[str]) -> dict[str, str]:
    """The wildcards of a campaign of ``strategies`` and what each may match."""
    return {
        "pretrained": PRETRAINED,
        "strategy": "|".join(strategies),
        "model": model_pattern(strategies),
        "lr": LR,
        "group": group_pattern(strategies),
    }


# Files of a campaign, from the repository root (the benches' targets).
def model_file(campaign: str, path: str, name: str = "training.json") -> str:
    return f"{results_dir(campaign)}/{model_dir(path)}/{name}"


def metrics_file(campaign: str, path: str) -> str:
    return f"{results_dir(campaign)}/{metrics_dir(path)}/metrics.json"


def pretrained_model_file(campaign: str, pretrained: str) -> str:
    return f"{results_dir(campaign)}/{pretrained_dir(pretrained)}/mace.model"


def pretrained_metrics_file(campaign: str, pretrained: str) -> str:
    return f"{results_dir(campaign)}/{pretrained_metrics(pretrained)}/metrics.json"
