"""Atoms <-> JSON records, and the structures of the benchmark.

Records use the layout of the DFT reference files (see reference/_meta.py ``atoms_to_dict``):
``numbers, positions [Å], cell [Å], pbc, fixed_atoms, other_constraints`` (+ ``energy`` [eV],
``forces`` [eV/Å], ``velocities`` [Å/(ASE time)] when known), so a reference geometry and a
model geometry load the same way.

The builders repeat the constructions of the recipes (reference/h_cu111.py, cu_adatom.py) so
that the model workflow also runs when a DFT stage is not available yet (then there is simply
no DFT number to compare with).
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

import numpy as np
from ase import Atoms
from ase.build import add_adsorbate, fcc111
from ase.constraints import FixAtoms, FixCartesian, dict2constraint

from umlip.validation.jsonio import to_jsonable

#: recipe constants (reference/h_cu111.py): p(2x2), 3 layers, bottom two fixed, 7.5 Å vacuum
SLAB_SIZE = (2, 2, 3)
SLAB_VACUUM = 7.5
SLAB_FIXED_LAYERS = 2
H_SITE_HEIGHT = {"fcc": 0.95, "hcp": 0.95, "ontop": 1.55}   # Å above the top layer
H2_FAR_HEIGHT = 3.7                                          # Å above the top layer
H2_BOX = 12.0                                                # Å, cubic box for H2 / H
ADATOM_HEIGHT = 2.0                                          # Å (reference/cu_adatom.py)
CU_A0_FALLBACK = 3.6423   # Å; used only if no reference gives the PBE lattice constant


def atoms_from_record(rec: Dict[str, Any]) -> Atoms:
    """Atoms (with FixAtoms / other ASE constraints and velocities) from a record."""
    a = Atoms(numbers=rec["numbers"], positions=rec["positions"], cell=rec["cell"],
              pbc=rec["pbc"])
    cons = []
    if rec.get("fixed_atoms"):
        cons.append(FixAtoms(indices=rec["fixed_atoms"]))
    for c in rec.get("other_constraints", []):
        kw = dict(c.get("kwargs", {}))
        if c.get("name") == "FixCartesian":     # ase 3.22 wrote a scalar index "a"
            idx = kw.pop("a", kw.pop("indices", None))
            cons.append(FixCartesian(np.atleast_1d(idx).tolist(), mask=kw.get("mask")))
        else:
            cons.append(dict2constraint(c))
    if cons:
        a.set_constraint(cons)
    if rec.get("initial_magmoms") is not None:
        a.set_initial_magnetic_moments(rec["initial_magmoms"])
    if rec.get("velocities") is not None:
        a.set_velocities(rec["velocities"])
    return a


def atoms_to_record(atoms: Atoms, energy: Optional[float] = None, forces=None,
                    velocities: bool = False, **extra: Any) -> Dict[str, Any]:
    """JSON record of a geometry (the inverse of :func:`atoms_from_record`)."""
    d: Dict[str, Any] = {
        "numbers": atoms.numbers.tolist(), "positions": atoms.positions.tolist(),
        "cell": np.array(atoms.cell).tolist(), "pbc": atoms.pbc.tolist(),
        "fixed_atoms": [], "other_constraints": [],
    }
    for c in atoms.constraints:
        if isinstance(c, FixAtoms):
            d["fixed_atoms"] = sorted(int(i) for i in c.get_indices())
        else:
            d["other_constraints"].append(c.todict())
    if energy is not None:
        d["energy"] = float(energy)
    if forces is not None:
        d["forces"] = np.asarray(forces).tolist()
    if velocities:
        d["velocities"] = atoms.get_velocities().tolist()
    d.update(extra)
    return to_jsonable(d)


def fixed_indices(atoms: Atoms) -> list:
    out: list = []
    for c in atoms.constraints:
        if isinstance(c, FixAtoms):
            out += [int(i) for i in c.get_indices()]
    return sorted(out)


def cu111_slab(a0: float, size: Sequence[int] = SLAB_SIZE, vacuum: float = SLAB_VACUUM,
               fixed_layers: int = SLAB_FIXED_LAYERS) -> Atoms:
    """fcc(111) Cu slab, bottom ``fixed_layers`` layers fixed (as reference/h_cu111.py)."""
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


def pair_site_positions(clean: Atoms) -> Dict[str, tuple]:
    """x, y [Å] of the two H of each dissociated-pair candidate (as reference/h_cu111.py,
    for any p(n x n) cell)."""
    cell = np.array(clean.cell)
    n = surface_repeat(clean)
    a1, a2 = cell[0] / n, cell[1] / n
    fcc = (a1 + a2) / 3
    hcp = 2 * (a1 + a2) / 3
    return {"fcc+fcc": (fcc, fcc + a1), "hcp+hcp": (hcp, hcp + a1),
            "fcc+hcp": (fcc, hcp - a1 - a2)}


def with_h_pair(clean: Atoms, pair: str, height: float = 1.0) -> Atoms:
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
    pair, H z fixed (FixCartesian), as the ``H2_far`` state of reference/h_cu111.py."""
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


def h2_in_box(bond: float = 0.75, box: float = H2_BOX) -> Atoms:
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
