"""Cheap calculators with known answers, for tests and smoke runs of the benchmark.

- :class:`PairCalculator` with :func:`morse` or :func:`harmonic_spring` pair terms:
  E = sum_{i<j} V(r_ij) * S(r_ij), S a cosine switch from ``r_on`` to ``cutoff`` (S = 1 below
  ``r_on``, so short-range values are exact Morse / spring values).
- :class:`DoubleWellCalculator`: one particle on a 2-D surface with two minima and an
  analytically known saddle (NEB tests).
- :func:`toy_calculator`: Morse pairs for every element pair (``--calculator
  umlip.validation.analytic:toy_calculator`` for a smoke run of all tasks in seconds).

Units: eV, Å, eV/Å (ASE).
"""
from __future__ import annotations

from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np
from ase.calculators.calculator import Calculator, all_changes
from ase.data import atomic_numbers, covalent_radii

def pair_list(atoms, cutoff: float):
    """All ordered pairs (i, j, image) with 0 < |D| < cutoff, D = r_j + image - r_i [Å].

    Brute force over the periodic images that can lie within the cutoff: for the small
    cells of tests it is faster and more predictable than a cell-list search.
    Returns i, j, distances d, vectors D."""
    pos = atoms.positions
    cell = np.array(atoms.cell)
    reps = []
    for k in range(3):
        if atoms.pbc[k]:
            cross = np.cross(cell[(k + 1) % 3], cell[(k + 2) % 3])
            spacing = abs(np.linalg.det(cell)) / np.linalg.norm(cross)
            reps.append(int(np.ceil(cutoff / spacing)))
        else:
            reps.append(0)
    grid = np.array(np.meshgrid(*[np.arange(-r, r + 1) for r in reps], indexing="ij"))
    shifts = grid.reshape(3, -1).T @ cell                       # (n_images, 3)
    vec = pos[None, None, :, :] + shifts[:, None, None, :] - pos[None, :, None, :]
    d = np.linalg.norm(vec, axis=-1)                            # (n_images, i, j)
    im, i, j = np.nonzero((d < cutoff) & (d > 1e-8))
    return i, j, d[im, i, j], vec[im, i, j]


PairFn = Callable[[np.ndarray, np.ndarray, np.ndarray], Tuple[np.ndarray, np.ndarray]]


def _pair_table(params: Dict[Tuple[str, str], Sequence[float]], default) -> Callable:
    """Vectorised lookup (Z_i, Z_j) -> parameter rows, symmetric in i, j."""
    given = {}
    for (a, b), p in params.items():
        za, zb = atomic_numbers[a], atomic_numbers[b]
        given[(za, zb)] = given[(zb, za)] = np.asarray(p, float)
    width = len(next(iter(given.values())))
    state = {"table": np.full((1, 1, width), np.nan)}

    def lookup(zi: np.ndarray, zj: np.ndarray) -> np.ndarray:
        t = state["table"]
        zs = np.union1d(zi, zj)
        if len(zs) and (zs.max() >= len(t) or np.isnan(t[np.ix_(zs, zs)]).any()):
            n = max(len(t), int(zs.max()) + 1)
            new = np.full((n, n, width), np.nan)
            new[:len(t), :len(t)] = t
            for a in zs:
                for b in zs:
                    p = given.get((int(a), int(b)))
                    if p is None:
                        if default is None:
                            raise ValueError(f"no pair parameters for Z={a}-{b}")
                        p = default(int(min(a, b)), int(max(a, b)))
                    new[a, b] = p
            state["table"] = t = new
        return t[zi, zj]

    return lookup


def morse(params: Dict[Tuple[str, str], Sequence[float]],
          default: Optional[Callable[[int, int], Sequence[float]]] = None) -> PairFn:
    """Morse pair term V(r) = D[(1 - exp(-a (r - r0)))^2 - 1], params (D [eV], a [1/Å], r0 [Å])
    per element pair; ``default(Z_i, Z_j)`` supplies parameters for unlisted pairs."""
    lookup = _pair_table(params, default)

    def pair(zi, zj, r):
        p = lookup(zi, zj)
        d, a, r0 = p[:, 0], p[:, 1], p[:, 2]
        x = np.exp(-a * (r - r0))
        return d * ((1 - x) ** 2 - 1), 2 * d * a * x * (1 - x)

    return pair


def harmonic_spring(k: float, r0: float) -> PairFn:
    """Central spring V(r) = k/2 (r - r0)^2 for every pair [k in eV/Å^2, r0 in Å]."""
    def pair(zi, zj, r):
        return 0.5 * k * (r - r0) ** 2, k * (r - r0)

    return pair


class PairCalculator(Calculator):
    """Sum of pair terms within ``cutoff`` [Å] (periodic or not); properties energy,
    free_energy, forces, energies. ``r_on`` [Å] starts a cosine switch to zero at cutoff
    (``r_on=None``: no switch, the pair term is cut sharply)."""

    implemented_properties = ("energy", "free_energy", "forces", "energies")
    nolabel = True

    def __init__(self, pair: PairFn, cutoff: float, r_on: Optional[float] = None, **kw):
        super().__init__(**kw)
        self.pair, self.cutoff, self.r_on = pair, float(cutoff), r_on

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        a = self.atoms
        n = len(a)
        i, j, d, vec = pair_list(a, self.cutoff)
        v, dv = self.pair(a.numbers[i], a.numbers[j], d)
        if self.r_on is not None:
            x = np.clip((d - self.r_on) / (self.cutoff - self.r_on), 0.0, 1.0)
            s = 0.5 * (1 + np.cos(np.pi * x))
            ds = np.where((x > 0) & (x < 1),
                          -0.5 * np.pi * np.sin(np.pi * x) / (self.cutoff - self.r_on), 0.0)
            v, dv = v * s, dv * s + v * ds
        energies = 0.5 * np.bincount(i, weights=v, minlength=n)
        g = (dv / d)[:, None] * vec            # dV/dD for D = r_j - r_i; force on i is +g
        forces = np.stack([np.bincount(i, weights=g[:, c], minlength=n) for c in range(3)],
                          axis=1)
        e = float(energies.sum())
        self.results = {"energy": e, "free_energy": e, "forces": forces, "energies": energies}


class DoubleWellCalculator(Calculator):
    """E(x, y, z) = A (x^2 - 1)^2 + B (y - c x^2)^2 + t x + K z^2 for atom ``index``
    (all other atoms feel nothing).

    Stationary points lie on the valley y = c x^2 at the roots of 4 A x (x^2 - 1) + t = 0:
    for t = 0 minima (+-1, c) with E = -+t... = 0 and the saddle (0, 0) with E = A.
    Use :meth:`stationary_points` for the exact values at any tilt t.
    """

    implemented_properties = ("energy", "free_energy", "forces")
    nolabel = True

    def __init__(self, A: float = 1.0, B: float = 2.0, c: float = 0.5, tilt: float = 0.0,
                 K: float = 1.0, index: int = -1, **kw):
        super().__init__(**kw)
        self.A, self.B, self.c, self.t, self.K, self.index = A, B, c, tilt, K, index

    def energy_xy(self, x: float, y: float, z: float = 0.0) -> float:
        return (self.A * (x * x - 1) ** 2 + self.B * (y - self.c * x * x) ** 2 + self.t * x
                + self.K * z * z)

    def stationary_points(self):
        """(x_min_left, x_saddle, x_min_right) and their energies [eV], exact (cubic roots)."""
        roots = np.sort(np.roots([4 * self.A, 0.0, -4 * self.A, self.t]).real)
        es = [self.energy_xy(x, self.c * x * x) for x in roots]
        return roots, np.array(es)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        x, y, z = self.atoms.positions[self.index]
        w = y - self.c * x * x
        e = self.energy_xy(x, y, z)
        dx = 4 * self.A * x * (x * x - 1) - 4 * self.B * self.c * x * w + self.t
        dy = 2 * self.B * w
        dz = 2 * self.K * z
        f = np.zeros((len(self.atoms), 3))
        f[self.index] = [-dx, -dy, -dz]
        self.results = {"energy": e, "free_energy": e, "forces": f}


#: Morse parameters (D eV, a 1/Å, r0 Å) of the toy calculator: rough molecular values, and the
#: Girifalco-Weizer Cu-Cu Morse potential. For smoke runs only, not for physics.
TOY_MORSE = {
    ("H", "H"): (4.75, 1.94, 0.74), ("O", "O"): (5.2, 2.7, 1.21), ("N", "N"): (9.9, 2.7, 1.10),
    ("C", "O"): (11.2, 2.3, 1.13), ("O", "H"): (4.6, 2.2, 0.97), ("C", "H"): (4.3, 1.8, 1.09),
    ("Cu", "Cu"): (0.3429, 1.3588, 2.866), ("Cu", "H"): (0.45, 1.4, 1.75),
    ("Si", "Si"): (2.3, 1.5, 2.35),
}


def _toy_default(za: int, zb: int):
    return (1.0, 1.5, float(covalent_radii[za] + covalent_radii[zb]))


def toy_calculator(cutoff: float = 6.0, r_on: float = 5.0) -> PairCalculator:
    """Morse pairs for every element pair (TOY_MORSE, else D = 1 eV, a = 1.5/Å, r0 = sum of
    covalent radii), smoothly switched off between 5 and 6 Å. Smoke runs and tests only."""
    return PairCalculator(morse(TOY_MORSE, default=_toy_default), cutoff=cutoff, r_on=r_on)
