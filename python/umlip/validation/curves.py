"""Analysis of a 1-D energy curve E(r) with the force along r: minima, jumps, kinks and
energy-force consistency. Energies eV, distances Å, forces eV/Å.

Conventions: ``f`` is the force conjugate to r, f = -dE/dr (positive = pushes r larger).
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np


def local_minima(r: Sequence[float], e: Sequence[float], prominence: float = 1e-3) -> List[int]:
    """Indices of interior local minima of E(r) whose prominence is >= ``prominence`` [eV].

    A minimum's prominence is how far E must rise, on the lower of its two sides, before
    reaching a point lower than the minimum (scipy.signal.find_peaks on -E), so shallow
    numerical wiggles below the threshold are not counted."""
    from scipy.signal import find_peaks

    e = np.asarray(e, float)
    idx, _ = find_peaks(-e, prominence=prominence)
    return [int(i) for i in idx]


def refine_minimum(r: Sequence[float], e: Sequence[float], i: int) -> Dict[str, float]:
    """Position and energy of a grid minimum refined by a parabola through i-1, i, i+1."""
    r, e = np.asarray(r, float), np.asarray(e, float)
    if i <= 0 or i >= len(r) - 1:
        return {"r": float(r[i]), "energy": float(e[i])}
    c = np.polyfit(r[i - 1:i + 2], e[i - 1:i + 2], 2)
    if c[0] <= 0:
        return {"r": float(r[i]), "energy": float(e[i])}
    rm = -c[1] / (2 * c[0])
    return {"r": float(rm), "energy": float(np.polyval(c, rm))}


def energy_jumps(r: Sequence[float], e: Sequence[float], f: Sequence[float],
                 tol: float = 0.01) -> List[Dict[str, float]]:
    """Intervals where the energy change disagrees with the work of the forces.

    On each interval the work predicted from the forces by the end-corrected trapezoidal
    rule (Euler-Maclaurin: -(f_i + f_i+1) dr / 2 + dr^2 (f'_i+1 - f'_i) / 12, with f' from
    central differences of f on the grid; error O(dr^4)) must equal E_i+1 - E_i. A mismatch
    larger than ``tol`` [eV] is an energy jump (a discontinuity of E, or forces that are not
    the derivative of the energy there)."""
    r, e, f = (np.asarray(v, float) for v in (r, e, f))
    dr = np.diff(r)
    fp = np.gradient(f, r, edge_order=2) if len(r) > 2 else np.zeros_like(f)
    work = -0.5 * (f[1:] + f[:-1]) * dr + dr ** 2 / 12 * (fp[1:] - fp[:-1])
    mism = np.diff(e) - work
    return [{"r_left": float(r[k]), "r_right": float(r[k + 1]), "mismatch": float(mism[k])}
            for k in np.nonzero(np.abs(mism) > tol)[0]]


def force_kinks(r: Sequence[float], f: Sequence[float], tol: float = 0.1,
                rel: float = 0.25) -> List[Dict[str, float]]:
    """Intervals across which the force (= -dE/dr) is discontinuous: kinks of E(r).

    For interval [r_k, r_k+1] the force at its midpoint is extrapolated quadratically from
    the three points on each side (k-2..k and k+1..k+3); for a smooth curve the two agree
    to O(dr^3). A kink is flagged where they differ by more than max(tol [eV/Å],
    rel * |f_k+1 - f_k|) (the relative part keeps steep but smooth walls from being flagged).
    """
    r, f = np.asarray(r, float), np.asarray(f, float)
    out = []
    for k in range(2, len(r) - 3):
        rm = 0.5 * (r[k] + r[k + 1])
        left = np.polyval(np.polyfit(r[k - 2:k + 1], f[k - 2:k + 1], 2), rm)
        right = np.polyval(np.polyfit(r[k + 1:k + 4], f[k + 1:k + 4], 2), rm)
        gap = right - left
        if abs(gap) > max(tol, rel * abs(f[k + 1] - f[k])):
            out.append({"r_left": float(r[k]), "r_right": float(r[k + 1]),
                        "force_gap": float(gap)})
    return out


def confirm_discontinuity(a: float, b: float, evaluate: Callable[[float], Tuple[float, float]],
                          kind: str, tol: float, n_iter: int = 12) -> Optional[Dict[str, float]]:
    """Refine a grid candidate [a, b] by bisection and keep it only if it is a real
    discontinuity.

    ``evaluate(r) -> (E [eV], f [eV/Å])``. Each step keeps the half with the larger change
    (``kind="force"``: |f_right - f_left|; ``kind="energy"``: the trapezoidal energy-work
    mismatch). After ``n_iter`` halvings the interval is ~1e-4 of the grid step: a smooth
    curve's change has vanished there, a discontinuity keeps its full size. Returns
    ``{"r", "width", "gap"}`` if |gap| > tol, else None (a grid artefact of a rapidly
    varying but smooth curve)."""
    ea, fa = evaluate(a)
    eb, fb = evaluate(b)

    def change(e0, f0, e1, f1, x0, x1):
        return (f1 - f0) if kind == "force" else (e1 - e0 + 0.5 * (f0 + f1) * (x1 - x0))

    for _ in range(n_iter):
        m = 0.5 * (a + b)
        em, fm = evaluate(m)
        if abs(change(ea, fa, em, fm, a, m)) >= abs(change(em, fm, eb, fb, m, b)):
            b, eb, fb = m, em, fm
        else:
            a, ea, fa = m, em, fm
    gap = change(ea, fa, eb, fb, a, b)
    if abs(gap) <= tol:
        return None
    return {"r": 0.5 * (a + b), "width": b - a, "gap": float(gap)}


def fd_force(e_minus: Sequence[float], e_plus: Sequence[float], h: float) -> np.ndarray:
    """-dE/dr by central differences from E(r - h), E(r + h) [eV], h [Å] -> eV/Å."""
    return -(np.asarray(e_plus, float) - np.asarray(e_minus, float)) / (2 * h)
