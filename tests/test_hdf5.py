"""Pre-training from mace's HDF5 files (synthpt.hdf5): chosen by the set's size, and the same
model as from extxyz."""

import shutil

import pytest
import yaml

from conftest import TINY, snakemake
from synthpt.campaign import reads_hdf5


@pytest.fixture
def paper(root):
    return yaml.safe_load((root / "config" / "paper.yaml").read_text())


def test_large_pre_training_sets_read_hdf5_and_small_ones_extxyz(root, paper):
    default = yaml.safe_load((root / "config" / "config.yaml").read_text())
    paper["pretrain"]["hdf5_min_atoms"] = 1_000_000  # the schema's default
    assert not reads_hdf5(default | {"pretrain": paper["pretrain"]}, "snap")  # 720 x 64 atoms
    teacher = paper["teachers"][0]
    assert reads_hdf5(paper, teacher)  # 11,000 cells of 200 atoms
    small, large = min(paper["pretrain"]["sizes"]), max(paper["pretrain"]["sizes"])
    assert reads_hdf5(paper, f"{teacher}-s{large}") == (large * 200 >= 1_000_000)
    assert not reads_hdf5(paper, f"{teacher}-s{small}")
    for threshold, expected in ((None, False), (0, True)):
        settings = paper | {"pretrain": paper["pretrain"] | {"hdf5_min_atoms": threshold}}
        assert reads_hdf5(settings, f"{teacher}-s{small}") is expected


def test_hdf5_pre_training_is_the_extxyz_model_bit_for_bit(root, campaign, tmp_path):
    """The tiny campaign's synthetic set through rule preprocess_synthetic and pre-training on
    its HDF5 files, read by a worker process: the model equals the campaign's own (extxyz)
    pre-trained model."""
    import torch

    _, _, results = campaign
    workdir = tmp_path / "hdf5"
    shutil.copytree(results / "synthetic", workdir / "results" / "tiny" / "synthetic")
    overlay = tmp_path / "hdf5.yaml"
    config = yaml.safe_load(TINY.read_text())
    config["pretrain"] |= {"hdf5_min_atoms": 0, "hdf5_workers": 1}  # a reader process too
    overlay.write_text(yaml.safe_dump(config))
    target = "results/tiny/models/pretrain/snap/mace.model"
    run = snakemake(root, workdir, "--cores", "1", "--", target, configfile=overlay)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    ran = workdir / "results" / "tiny" / "logs"
    assert "as HDF5" in (ran / "preprocess_synthetic" / "snap" / "all.log").read_text()
    log = (ran / "pretrain" / "snap.log").read_text()
    assert "Loading single HDF5 file" in log and "hdf5/all/train.h5" in log
    assert "--num_workers=1" in log
    ours = torch.load(workdir / target, weights_only=False).state_dict()
    theirs = torch.load(results / "models" / "pretrain" / "snap" / "mace.model", weights_only=False)
    theirs = theirs.state_dict()
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[key], theirs[key]) for key in ours)
