"""Structures (Cu and H) for the tests on the analytic model
(umlip.families.analytic: cutoff 4 Å, 2 layers, so the interaction range is 8 Å).

Cells are lower triangular (LAMMPS's convention) and periodic positions are wrapped, so every
structure can go to LAMMPS as it is."""
from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.build import bulk, fcc111

CUTOFF = 4.0
LAYERS = 2


def _random_atoms(symbols, cell, pbc, min_dist, seed, box=None):
    """Atoms at random positions in ``box`` (default: the cell), pairwise >= min_dist apart
    (minimum image along periodic directions)."""
    rng = np.random.default_rng(seed)
    cell = np.asarray(cell, dtype=float)
    box = cell if box is None else np.asarray(box, dtype=float)
    inv = np.linalg.inv(cell)
    pos = []
    while len(pos) < len(symbols):
        p = rng.random(3) @ box
        ok = True
        for q in pos:
            d = (p - q) @ inv
            d = np.where(pbc, d - np.round(d), d)
            if np.linalg.norm(d @ cell) < min_dist:
                ok = False
                break
        if ok:
            pos.append(p)
    return Atoms(symbols, positions=pos, cell=cell, pbc=pbc)


def cubic():
    """Cu fcc, 2x2x2 cubic cells (7.2 Å), with two H in octahedral sites; rattled; 34 atoms."""
    a = bulk("Cu", "fcc", a=3.6, cubic=True) * (2, 2, 2)
    a += Atoms("H2", positions=[[1.8, 0.0, 0.0], [5.4, 5.4, 5.4]])
    a.rattle(0.05, seed=11)
    a.wrap()
    return a


def triclinic():
    """14 atoms (10 Cu, 4 H) at random in a triclinic cell, all pairs >= 2.2 Å apart."""
    cell = [[6.6, 0.0, 0.0], [2.1, 6.2, 0.0], [-1.3, 1.7, 6.4]]
    return _random_atoms(["Cu"] * 10 + ["H"] * 4, cell, [True] * 3, 2.2, seed=12)


def slab():
    """Cu(111) 2x2x3 slab with an H2 molecule and an H adatom above it; periodic in x, y."""
    a = fcc111("Cu", (2, 2, 3), a=3.6, vacuum=6.0)
    top = a.positions[:, 2].max()
    a += Atoms("H3", positions=[[1.0, 1.1, top + 2.0], [1.75, 1.1, top + 2.05],
                                [3.6, 2.6, top + 1.4]])
    a.pbc = (True, True, False)
    a.rattle(0.03, seed=13)
    a.wrap()
    return a


def small_cell():
    """A periodic triclinic cell of about 3.5 Å (less than one cutoff, so much less than
    2 cutoffs) with 3 atoms: every atom sees many images of itself and of the others."""
    cell = [[3.5, 0.0, 0.0], [1.2, 3.3, 0.0], [0.7, -0.9, 3.6]]
    frac = np.array([[0.05, 0.1, 0.0], [0.5, 0.55, 0.45], [0.3, 0.85, 0.7]])
    a = Atoms("Cu2H", scaled_positions=frac, cell=cell, pbc=True)
    return a


def cluster():
    """An isolated Cu/H cluster (no periodicity, zero cell), 9 atoms."""
    a = _random_atoms(["Cu"] * 6 + ["H"] * 3, np.eye(3) * 5.5, [False] * 3, 2.0, seed=14)
    a.cell = np.zeros((3, 3))
    return a


def empty_rank():
    """A 15-atom Cu/H cluster in one corner of a long periodic box (40 x 14 x 14 Å): with
    ``processors * 1 1`` on 2 or 3 ranks, the ranks covering x > 14 Å own no atom."""
    box = np.diag([7.0, 7.0, 7.0])
    a = _random_atoms(["Cu"] * 11 + ["H"] * 4, np.diag([40.0, 14.0, 14.0]), [True] * 3, 2.0,
                      seed=15, box=box)
    a.positions += [2.5, 3.5, 3.5]
    return a


def chain():
    """Five atoms on a line 2.5 Å apart (k, a, b, c, d at x = 0, 2.5, 5, 7.5, 10) plus one atom
    9 Å from k, isolated: with cutoff 4 Å, a is k's neighbour, b two hops and c three hops
    away (c is closer than 2 x cutoff, but 2 layers cannot reach it)."""
    pos = [[0, 0, 0], [2.5, 0, 0], [5.0, 0, 0], [7.5, 0, 0], [10.0, 0, 0], [0.0, 9.0, 0.0]]
    return Atoms("CuCuHCuCuH", positions=pos, pbc=False)
