"""Shared helpers for the benchmarks."""
from __future__ import annotations

import statistics
from typing import List

import numpy as np


def bulk_cu(n_target: int, seed: int = 0):
    """Rattled fcc Cu supercell with about n_target atoms (cubic cells of 4 atoms, or the
    2-atom... smallest: 8-atom primitive supercell)."""
    from ase.build import bulk

    if n_target <= 8:
        a = bulk("Cu", "fcc", a=3.62) * (2, 2, 2)
    else:
        k = max(1, round((n_target / 4) ** (1 / 3)))
        a = bulk("Cu", "fcc", a=3.62, cubic=True) * (k, k, k)
    a.rattle(0.03, seed=seed)
    return a


def median_ms(ts: List[float]) -> float:
    return 1000.0 * statistics.median(ts)


def fmt_table(rows, headers) -> str:
    """Right-aligned text table; a short row (e.g. a failure message) is padded, a long one
    keeps its extra cells in the last column."""
    n = len(headers)
    rows = [[str(c) for c in r][: n - 1] + [" ".join(str(c) for c in r[n - 1:])]
            if len(r) >= n else [str(c) for c in r] + [""] * (n - len(r)) for r in rows]
    cols = list(zip(*([headers] + rows)))
    widths = [max(len(c) for c in col) for col in cols]
    line = lambda r: "  ".join(str(c).rjust(w) for c, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def rattled(atoms, k: int, amp: float = 0.01):
    b = atoms.copy()
    rng = np.random.default_rng(1000 + k)
    b.positions += rng.normal(scale=amp, size=b.positions.shape)
    return b
