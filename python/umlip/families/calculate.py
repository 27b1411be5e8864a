"""Energies and forces from a family's own ASE calculator (SevenNetCalculator, MACECalculator),
the independent numbers parity tests and speed comparisons check umlip against. Runs in the
family's environment:

    python -m umlip.families.calculate sevenn 7net-0 structures.extxyz out.npz [--dtype float64]
    python -m umlip.families.calculate mace model.model structures.extxyz out.npz

Writes, per structure k: energy_k [eV], forces_k [eV/Å], energies_k [eV] (per atom) and, for
cells with volume, stress_k [eV/Å^3, ASE Voigt].
"""
from __future__ import annotations

import argparse
import warnings

import numpy as np


def family_calculator(family: str, source: str, dtype: str, modal=None):
    """The family's own ASE calculator for ``source`` (a checkpoint or model file)."""
    if family == "sevenn":
        from umlip.families import sevenn

        return sevenn.family_calculator(source, modal=modal, dtype=dtype)
    if family == "mace":
        from umlip.families import mace

        return mace.family_calculator(source, dtype=dtype)
    raise ValueError(f"unknown family {family}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("family", choices=["sevenn", "mace"])
    p.add_argument("source")
    p.add_argument("structures")
    p.add_argument("output")
    p.add_argument("--dtype", default="float64")
    p.add_argument("--modal")
    args = p.parse_args(argv)
    if args.family == "mace":
        import mace  # noqa: F401
    from ase.io import read

    calc = family_calculator(args.family, args.source, args.dtype, args.modal)
    out = {}
    for k, atoms in enumerate(read(args.structures, index=":")):
        atoms.calc = calc
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out[f"energy_{k}"] = np.array(atoms.get_potential_energy())
            out[f"forces_{k}"] = atoms.get_forces()
            try:
                out[f"energies_{k}"] = atoms.get_potential_energies()
            except Exception:
                pass
            if abs(atoms.cell.volume) > 1e-10:
                out[f"stress_{k}"] = atoms.get_stress()
    np.savez(args.output, **out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
