"""Test structures, deterministic."""
from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.build import bulk, fcc111, molecule


def bulk_cu():
    a = bulk("Cu", "fcc", a=3.62, cubic=True) * (2, 2, 2)
    a.rattle(0.05, seed=1)
    return a


def triclinic():
    cell = np.array([[6.1, 0.0, 0.0], [1.7, 5.6, 0.0], [-1.2, 1.4, 6.3]])
    rng = np.random.default_rng(3)
    frac = []
    while len(frac) < 14:
        p = rng.random(3)
        if all(np.linalg.norm(((p - q + 0.5) % 1 - 0.5) @ cell) > 2.0 for q in frac):
            frac.append(p)
    nums = [29] * 10 + [1] * 2 + [8, 6]
    return Atoms(numbers=nums, scaled_positions=frac, cell=cell, pbc=True)


def slab_h2():
    a = fcc111("Cu", (2, 2, 3), a=3.62, vacuum=6.0)
    top = a.positions[:, 2].max()
    h2 = Atoms("H2", positions=[[1.0, 1.2, top + 2.0], [1.74, 1.2, top + 2.05]])
    a += h2
    a.pbc = (True, True, False)
    a.rattle(0.02, seed=4)
    return a


def molecule_in_box():
    a = molecule("CH3OH")
    a.center(vacuum=4.0)
    a.pbc = False
    a.rattle(0.02, seed=5)
    return a


def small_cell():
    """Periodic cell thinner than the cutoff (5 Å) in every direction: many images."""
    cell = np.array([[2.6, 0.0, 0.0], [0.9, 2.5, 0.0], [0.4, 0.7, 3.1]])
    return Atoms("CuH", scaled_positions=[[0.1, 0.2, 0.1], [0.55, 0.6, 0.5]], cell=cell, pbc=True)


def isolated_atom():
    a = Atoms("Cu", positions=[[5.0, 5.0, 5.0]], cell=[10.0, 10.0, 10.0], pbc=False)
    return a


def two_atom_cell():
    a = bulk("Cu", "bcc", a=2.95, cubic=True)
    a.positions[1] += [0.05, -0.03, 0.02]
    return a


PARITY = {
    "bulk_cu": bulk_cu,
    "triclinic": triclinic,
    "slab_h2": slab_h2,
    "molecule_in_box": molecule_in_box,
    "small_cell": small_cell,
    "isolated_atom": isolated_atom,
    "two_atom_cell": two_atom_cell,
}
