import re

import yaml


def pins(lines):
    found = {}
    for line in lines:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)(\[[^\]]+\])?==([^\s#]+)\s*(#.*)?", line)
        if match:
            found[match.group(1).lower()] = match.group(3)
    return found


def test_conda_environment_pins_what_requirements_pin(root):
    requirements = pins((root / "requirements.txt").read_text().splitlines())
    env = yaml.safe_load((root / "envs" / "synthpt.yaml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda_pins = pins(pip_section)
    snakemake_only = {"snakemake", "snakemake-executor-plugin-slurm", "pygments"}
    assert conda_pins == {k: v for k, v in requirements.items() if k not in snakemake_only}
    assert requirements["torch"] == "2.13.0"


def test_installed_versions_are_the_pinned_ones(root):
    from importlib.metadata import version

    for name, pinned in pins((root / "requirements.txt").read_text().splitlines()).items():
        installed = version(name)
        assert installed.split("+")[0] == pinned, f"{name}: installed {installed}, pinned {pinned}"


def test_the_cluster_install_keeps_every_pin_and_adds_only_cuequivariance(root):
    lines = (root / "requirements-cuda.txt").read_text().splitlines()
    assert "-r requirements.txt" in lines  # torch==2.13.0 and the rest, the same pins
    added = pins(lines)
    assert set(added) == {"cuequivariance", "cuequivariance-torch", "cuequivariance-ops-torch-cu12"}
    assert len(set(added.values())) == 1  # one cuequivariance release
