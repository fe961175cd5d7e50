"""Campaign configs by overlay: a config may name a ``base:`` config (a path relative to its
own file) and give only what differs; the chain is resolved before the schema sees it."""

from __future__ import annotations

from pathlib import Path

import yaml

BASE = "base"


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
