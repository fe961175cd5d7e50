"""Campaign configs by overlay: a config may name a ``base:`` config (a path relative to its
own file) and give only what differs; the chain is resolved before the schema sees it."""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

BASE = "base"
# The config's one statement of every key, its type and its default (the workflow runs from
# the repository: Snakemake validates against the same file).
SCHEMA_FILE = Path(__file__).resolve().parents[2] / "config" / "schema.yaml"


class OverlayError(ValueError):
    """A ``base:`` chain that cannot be resolved: names the file and the problem."""


def _update(base: dict, overlay: dict, inner) -> dict:
    merged = dict(base)
    for key, value in overlay.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = inner(merged.get(key), value)
    return merged


def merge(base: dict, overlay: dict) -> dict:
    """``overlay`` over ``base``, section by section: a section (``structures``, ``real``, ...)
    takes the overlay's keys over the base's (the base's order, new keys after), each value
    whole (``real.test``, ``finetune.lr``, a calculator: the overlay's replaces the base's); a
    ``null`` deletes a key or a section; a top-level value that is not a section replaces."""

    def section(old, new):
        if isinstance(old, dict) and isinstance(new, dict):
            return _update(old, new, lambda _, value: value)
        return new

    return _update(base, overlay, section)


def load_campaign(path, _chain: tuple = ()) -> dict:
    """The config in ``path`` with its ``base:`` chain resolved."""
    path = Path(path).resolve()
    if path in _chain:
        raise OverlayError(f"{_chain[0]}: base: the chain returns to {path}")
    try:
        config = yaml.safe_load(path.read_text()) or {}
    except OSError as error:
        where = _chain[-1] if _chain else path
        raise OverlayError(f"{where}: base: cannot read {path}: {error.strerror}") from None
    if not isinstance(config, dict):
        raise OverlayError(f"{path}: a config is a mapping of keys, not {type(config).__name__}")
    base = config.pop(BASE, None)
    if base is None:
        return config
    return merge(load_campaign(path.parent / base, (*_chain, path)), config)


def resolve(config_files, overrides: dict | None = None) -> dict:
    """What Snakemake's own loading gives (every file merged over the one before, then the
    ``--config`` overrides), with each file's ``base:`` chain resolved first."""
    config: dict = {}
    for path in config_files:
        config = merge(config, load_campaign(path))
    return merge(config, dict(overrides or {}))


class ConfigError(ValueError):
    """A config whose values are valid one by one but do not fit together."""


@functools.cache
def schema() -> dict:
    return yaml.safe_load(SCHEMA_FILE.read_text())


def _alternatives(node: dict):
    """``node`` and every schema it refers to or combines ($ref, allOf, oneOf, anyOf)."""
    yield node
    if "$ref" in node:
        target = schema()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        yield from _alternatives(target)
    for combinator in ("allOf", "oneOf", "anyOf"):
        for member in node.get(combinator, []):
            yield from _alternatives(member)


def schema_default(section: str, *keys: str):
    """The schema's default of ``section``'s key (then keys within it); KeyError where the
    schema states none (a default lives there alone, and the code reads it from there)."""
    nodes = [schema()["properties"][section]]
    for key in keys:
        nodes = [n["properties"][key] for node in nodes for n in _alternatives(node)
                 if key in n.get("properties", {})]  # fmt: skip
    for node in nodes:
        for alternative in _alternatives(node):
            if "default" in alternative:
                return alternative["default"]
    raise KeyError(f"config/schema.yaml: no default for {'.'.join((section, *keys))}")


def setting(settings: dict, section: str, key: str):
    """``settings[key]`` (a config section), else its schema default."""
    return settings[key] if key in settings else schema_default(section, key)
