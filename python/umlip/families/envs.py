"""Where the family environments live.

mace-torch pins e3nn==0.4.4 and sevenn needs e3nn>=0.5, so they cannot share one Python
environment. The runtime (engine, ASE, LAMMPS) needs neither: a family package is only needed to
*export* a model (and to produce reference numbers in tests). Each family gets its own
environment with umlip installed in it; the runtime finds its Python interpreter by, in order:

1. the environment variable ``UMLIP_<FAMILY>_PYTHON`` (e.g. ``UMLIP_SEVENN_PYTHON``);
2. ``<sys.prefix>/etc/umlip/envs.json`` (written by ``make``), mapping family -> interpreter;
3. the current interpreter, if the family package is importable here.
"""
from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

FAMILY_PACKAGES = {"sevenn": "sevenn", "mace": "mace"}


def config_file() -> Path:
    return Path(sys.prefix) / "etc" / "umlip" / "envs.json"


def importable_here(family: str) -> bool:
    return importlib.util.find_spec(FAMILY_PACKAGES[family]) is not None


def family_python(family: str) -> str:
    """Interpreter that can import the family package; raises RuntimeError saying how to fix it."""
    if family not in FAMILY_PACKAGES:
        raise ValueError(f"unknown model family {family!r}; known: {sorted(FAMILY_PACKAGES)}")
    var = f"UMLIP_{family.upper()}_PYTHON"
    env = os.environ.get(var)
    if env:
        if not (Path(env).is_file() and os.access(env, os.X_OK)):
            raise RuntimeError(
                f"cannot export a {family} model: its Python interpreter {env} does not exist "
                f"or is not executable; set {var} to an interpreter that has "
                f"{FAMILY_PACKAGES[family]} and umlip installed (or run `make envs` in the umlip "
                f"source tree)")
        return env
    cfg = config_file()
    if cfg.is_file():
        path = json.loads(cfg.read_text()).get(family)
        if path and Path(path).exists():
            return path
    if importable_here(family):
        return sys.executable
    raise RuntimeError(
        f"no Python environment with the {family!r} package was found. Run `make envs` in the "
        f"umlip source tree, or set UMLIP_{family.upper()}_PYTHON to an interpreter that has "
        f"{FAMILY_PACKAGES[family]} and umlip installed."
    )
