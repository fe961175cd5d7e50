"""Fine-tuning strategies: how a pre-trained model is trained on the real subset. One entry
each; every strategy runs under the same schedule and stopping rule as scratch training
(config ``finetune``), changed only by what its entry says."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from synthpt.replay import replay_files

SCRATCH = "scratch"  # from random weights: the baseline every strategy is compared with
FINETUNE = "finetune"  # the default strategy

# Layer-wise learning-rate factors (Zaverkin et al. 2023: smaller steps for earlier layers).
# mace-torch 0.3.16 has one factor per block type, not per interaction layer.
DISCRIMINATIVE_FACTORS = {
    "embedding_lr_factor": 0.1,
    "interactions_lr_factor": 0.3,
    "products_lr_factor": 1.0,
    "readouts_lr_factor": 1.0,
}


@dataclass(frozen=True)
class StrategyRun:
    """A fine-tuning run as train.py has set it up: what a strategy's ``work_files`` reads."""

    work_dir: Path
    seed: int
    keys: tuple[str, str]  # the run's energy and forces keys (its reference's)
    teacher_keys: tuple[str, str]  # the energy and forces keys of its pre-training labels
    pretrained_e0s: dict  # its own E0s: its teacher's energy zero
    e0s: dict  # the E0s re-centred on the real subset, which the run starts from
    replay: int  # pre-training structures the plan replays (TrainingPlan.replay)
    pretraining_pool: list | None  # the pre-trained model's structures (the rule's `replay`)
    inputs: Any  # the rule's named inputs


@dataclass(frozen=True)
class Strategy:
    """``arguments``: extra mace_run_train flags; ``schedule``: changes to the shared schedule;
    ``work_files``: the strategy's hook (StrategyRun -> {mace flag: (path, structures)}): its own
    data, written into the work dir before mace starts."""

    description: str
    arguments: dict = field(default_factory=dict)
    schedule: dict = field(default_factory=dict)
    replay: float = 0.0  # pre-training structures replayed per real one (a second mace head)
    work_files: Callable[[StrategyRun], dict] | None = field(default=None, repr=False)

    def identity(self) -> dict:
        """What its models' reruns depend on (the training rules' params): all but the hook."""
        return {k: v for k, v in asdict(self).items() if k != "work_files"}


STRATEGIES = {
    "finetune": Strategy("naive: every weight at the fine-tuning learning rate"),
    "discriminative": Strategy(
        "layer-wise learning rates: embedding x0.1, interactions x0.3, products and readouts x1",
        arguments={"lr_params_factors": json.dumps(DISCRIMINATIVE_FACTORS)},
    ),
    # mace 0.3.16's --freeze: 1-4 freeze the embedding only, 5 adds every interaction block,
    # 6 the products, 7 the readouts; negative values (promised by its help) freeze nothing.
    "frozen": Strategy(
        "embedding and interaction blocks frozen (--freeze 5): products and readouts train",
        arguments={"freeze": 5},
    ),
    "lora": Strategy(
        "low-rank adapters (rank 4) on every linear layer, merged into the weights when saved",
        arguments={"lora": True, "lora_rank": 4, "lora_alpha": 1.0},
    ),
    # mace's multihead fine-tuning: the pre-training set (teacher labels) as a replay head
    # beside the real one; our rate, not mace's silent 1e-4 (force_mh_ft_lr), and our EMA
    "replay": Strategy(
        "replay: mace multihead fine-tuning, as many teacher-labelled pre-training structures"
        " as real ones in a second head (loss weight 1); validated, selected and published on"
        " the real head",
        arguments={"multiheads_finetuning": True, "force_mh_ft_lr": True, "weight_pt_head": 1.0},
        replay=1.0,
        work_files=replay_files,
    ),
    "energy_only": Strategy(
        "energies only: forces weight 0 (forces still scored)",
        schedule={"forces_weight": 0.0},
    ),
}
