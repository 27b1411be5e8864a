"""Reference numbers from the families' own calculators, computed in their own environments
(a subprocess into .venv-sevenn / .venv-mace, found through umlip.families.envs)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np


def run_family(family: str, args, **kw):
    from umlip.families.envs import family_python

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
    args = ["-m", "umlip.families.calculate", family, source, str(xyz), str(out),
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
