"""umlip: run universal machine-learned interatomic potentials in LAMMPS and ASE from one
engine, and benchmark them on reactive chemistry.

    >>> from umlip import UMLIPCalculator
    >>> atoms.calc = UMLIPCalculator("7net-0")          # or a model file exported by umlip

Units everywhere: eV, Å, eV/Å, eV/Å^3 (ASE conventions).
"""
from __future__ import annotations

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("umlip")
except _metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+local"

__all__ = ["UMLIPCalculator", "load_model", "__version__"]


def __getattr__(name):
    # lazy: `import umlip` must not load libtorch (the exporters run in family environments and
    # import umlip before mace/sevenn)
    if name == "UMLIPCalculator":
        from umlip.calculator import UMLIPCalculator

        return UMLIPCalculator
    if name == "load_model":
        from umlip.models import load_model

        return load_model
    raise AttributeError(f"module 'umlip' has no attribute {name!r}")
