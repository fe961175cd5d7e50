"""The structure-source table: what the schema allows, the rules request and the script runs."""

import copy

import pytest
import yaml

from synthpt.campaign import atoms_per_structure, synthetic_count, synthetic_units
from synthpt.sources import STRUCTURE_SOURCES, Shard, source_of


@pytest.fixture
def schema(root):
    return yaml.safe_load((root / "config" / "schema.yaml").read_text())


def test_the_schema_allows_exactly_the_tables_sources_and_their_builder_keys(schema):
    structures = schema["properties"]["structures"]["properties"]
    assert set(structures["source"]["anyOf"][0]["enum"]) == set(STRUCTURE_SOURCES)
    for name, source in STRUCTURE_SOURCES.items():
        assert source.builder_key is None or source.builder_key in structures, name
        assert (source.generate is None) == (source.builder_key is None), name


@pytest.mark.parametrize("path", ["config/config.yaml", "config/molecules.yaml"])
def test_embedded_campaigns_count_their_structures_from_the_table(root, path):
    config = yaml.safe_load((root / path).read_text())
    settings = config["structures"]
    trajectories = (
        len(settings.get("densities", settings.get("molecules")))
        * len(settings["temperatures"])
        * settings["replicas"]
    )
    assert synthetic_units(config) == trajectories
    snapshots = round(settings["anneal_ps"] / settings["snapshot_ps"])
    assert synthetic_count(config) == trajectories * snapshots
    assert atoms_per_structure(config) == settings.get("n_atoms", 9)  # ethanol, acetic acid: 9


def test_augment_counts_chains_and_their_links(root):
    config = yaml.safe_load((root / "config" / "config.yaml").read_text())
    config["structures"] = {"source": "augment", "n_chains": 7, "chain_length": 4,
                            "widths": [0.1], "min_distance": 1.0, "max_force": 20.0}  # fmt: skip
    assert source_of(config).unit == "chains"
    assert (synthetic_units(config), synthetic_count(config)) == (7, 28)


def test_the_tables_random_source_makes_the_shard_it_is_given(root):
    """The generation script's one call: a Shard through the table's generator."""
    config = yaml.safe_load((root / "tests" / "configs" / "tiny.yaml").read_text())
    settings = copy.deepcopy(config["structures"]) | {
        "source": "random", "n_atoms": 8, "density_range": [2.0, 2.4], "min_distance": 1.2,
        "relax_steps": 0,
    }  # fmt: skip
    builder = {"name": "tersoff", "spec": {"type": "tersoff"}, "elements": ["C"]}
    shard = Shard(range(2, 4), "synthetic", settings, 5, builder, [])
    structures = STRUCTURE_SOURCES["random"].generate(shard)
    assert [a.info["index"] for a in structures] == [2, 3]
    assert all(len(a) == 8 and a.pbc.all() for a in structures)
    again = STRUCTURE_SOURCES["random"].generate(
        Shard(range(3, 4), *list(vars(shard).values())[1:])
    )
    assert (again[0].positions == structures[1].positions).all()  # per structure, not per shard


def test_augment_seeds_may_be_said_to_be_the_pool_or_files(root, tmp_path):
    from snakemake.utils import validate

    config = yaml.safe_load((root / "config" / "config.yaml").read_text())
    config["real"] = {"pool": "p.xyz", "test": "t.xyz"}
    for seeds in ("pool", "my_seeds.extxyz", ["a.xyz", "b.xyz"]):
        config["structures"] = {"source": "augment", "seeds": seeds, "n_chains": 2,
                                "chain_length": 2, "widths": [0.1], "min_distance": 1.0,
                                "max_force": 20.0}  # fmt: skip
        validate(copy.deepcopy(config), schema=str(root / "config" / "schema.yaml"))


MIX = {
    "source": ["random", "md"], "n_atoms": 8, "min_distance": 1.1, "density_range": [2.0, 2.4],
    "relax_with": "tersoff", "relax_steps": 0, "driver": "tersoff", "densities": [2.2],
    "temperatures": [3000], "replicas": 2, "melt_temperature": 6000, "melt_ps": 0.02,
    "quench_ps": 0.02, "anneal_ps": 0.03, "snapshot_ps": 0.01, "max_force": 100.0,
    "friction": 0.01, "timestep_fs": 1.0,
}  # fmt: skip


def mixed_config(root):
    config = yaml.safe_load((root / "config" / "config.yaml").read_text())
    config["structures"] = copy.deepcopy(MIX)
    config["synthetic"].update(n_structures=3, n_shards=2)
    config["pretrain"]["batch_size"] = 4
    return config


def test_a_mix_makes_each_part_with_its_own_generator_whatever_the_sharding(root):
    from synthpt.campaign import structure_builders
    from synthpt.sources import mix_parts

    config = mixed_config(root)
    assert mix_parts(config) == (("random", 3), ("md", 2))  # 3 cells, then 2 trajectories
    assert synthetic_units(config) == 5 and synthetic_count(config) == 3 + 2 * 3
    assert structure_builders(config) == {"random": "tersoff", "md": "tersoff"}
    tersoff = {"name": "tersoff", "spec": config["calculators"]["tersoff"], "elements": ["C"]}
    builders = {"random": tersoff, "md": tersoff}
    source = source_of(config)

    def make(units):
        shard = Shard(units, "synthetic", config["structures"], 5, builders, [], mix_parts(config))
        return source.generate(shard)

    whole = make(range(0, 5))
    assert [a.info["structure_source"] for a in whole] == ["random"] * 3 + ["md"] * 6
    assert [a.info["index"] for a in whole] == list(range(9))  # one numbering, parts in turn
    split = make(range(0, 2)) + make(range(2, 5))  # the second shard spans both parts
    assert [a.info["index"] for a in split] == list(range(9))
    assert all((a.positions == b.positions).all() for a, b in zip(whole, split, strict=True))
    alone = STRUCTURE_SOURCES["md"].generate(
        Shard(range(0, 2), "synthetic", config["structures"], 5, tersoff, [])
    )
    assert all((a.positions == b.positions).all() for a, b in zip(alone, whole[3:], strict=True))


def test_a_mix_is_checked_and_builds_its_dag(root, tmp_path):
    from conftest import snakemake
    from synthpt.checks import ConfigError, check_config

    config = mixed_config(root)
    check_config(config)
    config["structures"]["source"] = ["files", "md"]
    with pytest.raises(ConfigError, match="structures.source: files cannot be mixed"):
        check_config(config)
    config = mixed_config(root)
    config["structures"].pop("densities")
    path = tmp_path / "mix.yaml"
    path.write_text(yaml.safe_dump(config))
    run = snakemake(root, tmp_path, "--dry-run", configfile=path)
    assert run.returncode != 0 and "densities" in run.stdout + run.stderr  # md's keys required
    path.write_text(yaml.safe_dump(mixed_config(root)))
    run = snakemake(root, tmp_path, "--dry-run", configfile=path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "generate_synthetic_structures        2" in run.stdout
