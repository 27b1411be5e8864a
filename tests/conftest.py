"""Shared fixtures: model files (SevenNet-0 from the sevenn wheel, a small mace-torch MACE) and
reference numbers from the families' own calculators, computed in their own environments."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


def run_family(family: str, args, **kw):
    from umlip.envs import family_python

    proc = subprocess.run([family_python(family), *args], capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        raise RuntimeError(f"{family} environment: {' '.join(map(str, args))} failed:\n"
                           f"{proc.stderr[-3000:]}")
    return proc


def family_reference(family, source, structures, tmp_path, dtype="float64", modal=None):
    """Energy/forces/stress/per-atom energies from the family's own ASE calculator."""
    from ase.io import write

    xyz = Path(tmp_path) / f"ref_{family}.extxyz"
    out = Path(tmp_path) / f"ref_{family}.npz"
    write(xyz, structures)
    args = ["-m", "umlip.testing.family_reference", family, source, str(xyz), str(out),
            "--dtype", dtype]
    if modal:
        args += ["--modal", modal]
    run_family(family, args)
    data = np.load(out)
    refs = []
    for k in range(len(structures)):
        refs.append({key: data[f"{key}_{k}"] for key in ("energy", "forces", "energies", "stress")
                     if f"{key}_{k}" in data})
    return refs


@pytest.fixture(scope="session")
def sevenn_model():
    """SevenNet-0 as a umlip model file (exported once into the cache from the sevenn wheel)."""
    from umlip.models import resolve

    return str(resolve("7net-0"))


@pytest.fixture(scope="session")
def mace_source(tmp_path_factory):
    """A small ScaleShiftMACE (H, C, O, Cu; 2 layers; float64) built by mace-torch itself."""
    path = tmp_path_factory.mktemp("mace") / "small.model"
    run_family("mace", ["-m", "umlip.testing.mace_models", str(path), "--elements", "H", "C",
                        "O", "Cu", "--seed", "7"])
    return str(path)


@pytest.fixture(scope="session")
def mace_model(mace_source, tmp_path_factory):
    """The small MACE exported to a umlip model file."""
    from umlip.export import export

    out = tmp_path_factory.mktemp("mace_pt") / "small.pt"
    export("mace", mace_source, str(out))
    return str(out)
