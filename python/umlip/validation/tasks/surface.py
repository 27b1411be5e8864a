"""Pieces shared by the Cu(111) tasks: model bulk Cu, relaxations started from the DFT
geometries (plus single points at the DFT geometries), and NEBs; every piece cached.

Energies eV, lengths Å.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np
from ase import Atoms
from ase.build import bulk

from umlip.io import atoms_from_record
from umlip.validation.cache import Cache
from umlip.validation.optimize import relax, single_point
from umlip.validation.systems import CU_A0_PBE


def dft_lattice_constant(ref) -> Tuple[float, str]:
    """(a0 [Å], source) of the slabs: the recipe's rounded PBE a0, else a fallback."""
    if ref is not None and ref.has("bulk_cu.a0_used_rounded"):
        return float(ref.get("bulk_cu.a0_used_rounded")), "h_cu111.json bulk_cu.a0_used_rounded"
    if ref is not None and ref.has("lattice_constant_a0"):
        return float(ref.get("lattice_constant_a0")), f"{ref.name}.json lattice_constant_a0"
    return CU_A0_PBE, "fallback constant (no DFT bulk data)"


def model_bulk(cache: Cache, calc, a0_ref: float, n_points: int = 9,
               span: float = 0.03) -> Dict[str, Any]:
    """Model fcc Cu: energy per atom at ``a0_ref`` and the model's own a0 and bulk modulus
    from a Birch-Murnaghan fit (ase.eos) on a +-``span`` grid of lattice constants."""
    from ase.eos import EquationOfState
    from ase.units import GPa

    def work():
        grid = a0_ref * np.linspace(1 - span, 1 + span, n_points)
        es, vs = [], []
        for a in list(grid) + [a0_ref]:
            at = bulk("Cu", "fcc", a=a)
            at.calc = calc
            es.append(float(at.get_potential_energy()))
            vs.append(at.get_volume())
        v0, e0, b = EquationOfState(vs[:-1], es[:-1], eos="birchmurnaghan").fit()
        return {"grid_a": grid, "energies_per_atom": es[:-1], "a0": (4 * v0) ** (1 / 3),
                "bulk_modulus_GPa": b / GPa, "e_min_per_atom": e0,
                "energy_per_atom_at_a0_ref": es[-1], "a0_ref": a0_ref}

    return cache.compute("bulk_cu", work)


def relax_pair(cache: Cache, calc, key: str, start: Atoms, dft: Optional[Dict[str, Any]],
               fmax: float, steps: int) -> Tuple[Dict[str, Any], Optional[Dict[str, Any]]]:
    """(model-relaxed record, model single point at the DFT geometry or None).

    ``start`` is the DFT geometry when there is one (same fixed atoms and constraints)."""
    rel = cache.compute(f"relax_{key}", lambda: relax(start, calc, fmax=fmax, steps=steps))
    sp = None
    if dft is not None:
        sp = cache.compute(f"sp_{key}", lambda: single_point(atoms_from_record(dft), calc))
    return rel, sp


def height_above_surface(rec: Dict[str, Any], n_ads: int = 1) -> float:
    """Mean height [Å] of the last ``n_ads`` atoms above the highest substrate atom."""
    p = np.array(rec["positions"])
    return float(p[-n_ads:, 2].mean() - p[:-n_ads, 2].max())


def hh_distance(rec: Dict[str, Any]) -> float:
    p = np.array(rec["positions"])
    return float(np.linalg.norm(p[-1] - p[-2]))
