"""synthpt: synthetic pre-training campaigns for MACE interatomic potentials."""

__version__ = "0.1.0"
