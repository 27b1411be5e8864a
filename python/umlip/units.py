"""Unit and convention conversions, all in one place.

umlip works in eV and Å throughout (LAMMPS `units metal`, ASE). The engine returns the virial
W = -sum_e r_e (x) dE/dr_e as a symmetric 3x3 matrix in eV. Conventions downstream:

- ASE stress (eV/Å^3), Voigt order xx, yy, zz, yz, xz, xy:  stress = -W / V
- LAMMPS virial (eV), order xx, yy, zz, xy, xz, yz; LAMMPS pressure (bar) = (N k T + tr W / 3) / V
"""
from __future__ import annotations

import numpy as np

#: 1 eV/Å^3 in bar (CODATA-based, as in ase.units: 1 eV/Å^3 = 160.21766 GPa)
EV_PER_A3_TO_BAR = 1.602176634e6

ASE_VOIGT = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))
LAMMPS_VOIGT = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))


def virial_to_ase_stress(virial: np.ndarray, volume: float) -> np.ndarray:
    """ASE Voigt stress [eV/Å^3] (xx, yy, zz, yz, xz, xy) from a 3x3 virial [eV] and volume [Å^3]."""
    w = np.asarray(virial, dtype=float).reshape(3, 3)
    return np.array([-w[a, b] / volume for a, b in ASE_VOIGT])


def virial_to_lammps(virial: np.ndarray) -> np.ndarray:
    """LAMMPS-ordered virial [eV] (xx, yy, zz, xy, xz, yz) from a 3x3 virial [eV]."""
    w = np.asarray(virial, dtype=float).reshape(3, 3)
    return np.array([w[a, b] for a, b in LAMMPS_VOIGT])


def lammps_to_virial(v6: np.ndarray) -> np.ndarray:
    """3x3 virial [eV] from LAMMPS order (xx, yy, zz, xy, xz, yz)."""
    v = np.asarray(v6, dtype=float)
    return np.array([[v[0], v[3], v[4]], [v[3], v[1], v[5]], [v[4], v[5], v[2]]])
