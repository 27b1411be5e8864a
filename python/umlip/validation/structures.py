"""The structures of the validation suite, built as the DFT recipes build them.

The constants (slab size, heights, boxes) are in :mod:`umlip.validation.systems`, shared
with the recipes in ``dft/``; the tasks build a structure here when a DFT stage is missing
(then there is no DFT number to compare with). Geometry records (JSON) are
:func:`umlip.io.atoms_to_record` / :func:`umlip.io.atoms_from_record`.
"""
from __future__ import annotations

from typing import Dict, Sequence

import numpy as np
from ase import Atoms
from ase.build import add_adsorbate, fcc111
from ase.constraints import FixAtoms, FixCartesian

from umlip.validation.systems import (H2_BOX, H2_FAR_HEIGHT, H2_START_BOND, H_PAIR_HEIGHT,
                                      SLAB_FIXED_LAYERS, SLAB_SIZE, SLAB_VACUUM)


def fixed_indices(atoms: Atoms) -> list:
    out: list = []
    for c in atoms.constraints:
        if isinstance(c, FixAtoms):
            out += [int(i) for i in c.get_indices()]
    return sorted(out)


def cu111_slab(a0: float, size: Sequence[int] = SLAB_SIZE, vacuum: float = SLAB_VACUUM,
               fixed_layers: int = SLAB_FIXED_LAYERS) -> Atoms:
    """fcc(111) Cu slab, bottom ``fixed_layers`` layers fixed (as dft/h_cu111.py)."""
    slab = fcc111("Cu", tuple(size), a=a0, vacuum=vacuum)
    nl = size[2]
    slab.set_constraint(FixAtoms(indices=[at.index for at in slab
                                          if at.tag > nl - fixed_layers]))
    return slab


def top_layer_z(atoms: Atoms, symbol: str = "Cu") -> float:
    """Highest z [Å] of the substrate atoms."""
    return float(atoms.positions[atoms.symbols == symbol, 2].max())


def with_adsorbate(slab: Atoms, symbol: str, height: float, site: str, a0: float) -> Atoms:
    """Copy of ``slab`` with one adsorbate ``height`` Å above the highest atom on a named
    fcc(111) site (fcc, hcp, ontop, bridge) of the p(n x n) cell made with lattice constant
    ``a0`` [Å] (as ``add_adsorbate`` on an ``fcc111`` slab in the recipes)."""
    s = slab.copy()
    s.info["adsorbate_info"] = fcc111("Cu", (1, 1, 3), a=a0).info["adsorbate_info"]
    add_adsorbate(s, symbol, height, site)
    s.set_constraint(slab.constraints)
    s.info.pop("adsorbate_info")
    return s


def surface_repeat(slab: Atoms) -> int:
    """n of a p(n x n) fcc(111) slab (from the number of atoms in its top layer)."""
    z = slab.positions[slab.symbols == "Cu", 2]
    return int(round(np.sqrt(np.sum(z > z.max() - 0.5))))


#: the fcc and the hcp hollow on the two sides of one bridge (a0 / sqrt(6) apart, 1.49 Å for
#: Cu): where H2 dissociating over a bridge, axis across the Cu-Cu bond, sends its atoms
#: (the bridge-to-hollow route)
BRIDGE_PAIR = "fcc+hcp-adjacent"


def pair_site_positions(clean: Atoms) -> Dict[str, tuple]:
    """x, y [Å] of the two H of each dissociated-pair candidate (for any p(n x n) cell, top
    layer atom at the origin): fcc+fcc and hcp+hcp one surface vector apart, fcc+hcp across
    a top site, and :data:`BRIDGE_PAIR` around the bridge at a1 / 2."""
    cell = np.array(clean.cell)
    n = surface_repeat(clean)
    a1, a2 = cell[0] / n, cell[1] / n
    fcc = (a1 + a2) / 3
    hcp = 2 * (a1 + a2) / 3
    return {"fcc+fcc": (fcc, fcc + a1), "hcp+hcp": (hcp, hcp + a1),
            "fcc+hcp": (fcc, hcp - a1 - a2), BRIDGE_PAIR: (fcc, hcp - a2)}


def with_h_pair(clean: Atoms, pair: str, height: float = H_PAIR_HEIGHT) -> Atoms:
    """Clean slab + two H at ``height`` Å above the top layer on a pair of hollow sites."""
    p1, p2 = pair_site_positions(clean)[pair]
    zt = top_layer_z(clean)
    s = clean.copy()
    s += Atoms("H2", positions=[[p1[0], p1[1], zt + height], [p2[0], p2[1], zt + height]])
    s.set_constraint(clean.constraints)
    return s


def with_h2_far(clean: Atoms, pair_state: Atoms, bond: float,
                height: float = H2_FAR_HEIGHT) -> Atoms:
    """H2 parallel to the surface above the midpoint of a dissociated pair, axis along the
    pair, H z fixed (FixCartesian), as the ``H2_far`` state of dft/h_cu111.py."""
    p1, p2 = pair_state.positions[-2:]
    mid = (p1 + p2) / 2
    u = p2 - p1
    u[2] = 0.0
    u /= np.linalg.norm(u)
    zt = top_layer_z(clean)
    s = clean.copy()
    n = len(s)
    s += Atoms("H2", positions=[[*(mid[:2] - u[:2] * bond / 2), zt + height],
                                [*(mid[:2] + u[:2] * bond / 2), zt + height]])
    s.set_constraint([FixAtoms(indices=fixed_indices(clean)),
                      FixCartesian(n, mask=(False, False, True)),
                      FixCartesian(n + 1, mask=(False, False, True))])
    return s


def h2_shot(slab: Atoms, bond: float, e_in: float, height: float, rng,
            surface_K: float = 0.0) -> Atoms:
    """``slab`` + an H2 (bond ``bond`` Å, random orientation) with its centre of mass
    ``height`` Å above the top layer at a random lateral position, moving along -z with
    ``e_in`` eV of translation, no vibration or rotation; the slab at rest or Maxwell-Boltzmann
    at ``surface_K``. Random numbers drawn from ``rng`` in this order: orientation (3 normal),
    lateral position (2 uniform), slab momenta."""
    from umlip.validation.md import thermalize

    u = rng.normal(size=3)
    u /= np.linalg.norm(u)
    frac = rng.random(2)
    xy = frac[0] * slab.cell[0, :2] + frac[1] * slab.cell[1, :2]
    com = np.array([xy[0], xy[1], top_layer_z(slab) + height])
    atoms = slab + Atoms("H2", positions=[com - u * bond / 2, com + u * bond / 2])
    atoms.set_constraint(slab.constraints)
    if surface_K > 0:
        thermalize(atoms, surface_K, rng)
    n_cu = len(slab)
    v = atoms.get_velocities()
    v[n_cu:] = [0.0, 0.0, -np.sqrt(2 * e_in / atoms.get_masses()[n_cu:].sum())]
    atoms.set_velocities(v)
    atoms.set_constraint(slab.constraints)
    atoms.info["orientation"], atoms.info["lateral_fraction"] = u, frac
    return atoms


def h2_in_box(bond: float = H2_START_BOND, box: float = H2_BOX) -> Atoms:
    c = box / 2
    return Atoms("H2", positions=[[c, c, c - bond / 2], [c, c, c + bond / 2]],
                 cell=[box] * 3, pbc=True)


def atom_in_box(symbol: str, box: float = H2_BOX) -> Atoms:
    return Atoms(symbol, positions=[[box / 2] * 3], cell=[box] * 3, pbc=True)


MOLECULE_VACUUM = 10.0   # Å on each side: beyond the cutoff of every model we compare


def molecule(symbols, positions, vacuum: float = MOLECULE_VACUUM) -> Atoms:
    """An isolated molecule (or atom): no periodicity, centred in a box with ``vacuum`` Å on
    each side. The box changes nothing for a non-periodic calculation; it is there for
    calculators that always build a periodic structure (CHGNet through pymatgen fails with
    a singular lattice on a cell-less Atoms)."""
    a = Atoms(symbols, positions=positions, pbc=False)
    a.center(vacuum=vacuum)
    return a


def isolated_atom(symbol: str) -> Atoms:
    """One atom, no periodicity (the model's isolated-atom energy), see ``molecule``."""
    return molecule(symbol, [[0.0, 0.0, 0.0]])


def nearest_image(pos: np.ndarray, target: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """The periodic image (in the surface plane) of ``pos`` closest to ``target``."""
    best = pos
    for i in (-1, 0, 1):
        for j in (-1, 0, 1):
            q = pos + i * cell[0] + j * cell[1]
            if np.linalg.norm(q - target) < np.linalg.norm(best - target):
                best = q
    return best
