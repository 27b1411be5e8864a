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


# ---- LAMMPS unit styles -------------------------------------------------------------------
#: force->boltz [energy unit / K] and force->angstrom [length unit] of the LAMMPS unit styles
#: pair style umlip supports, as LAMMPS sets them (src/update.cpp; CODATA 2006, 8 digits)
LAMMPS_BOLTZ = {"metal": 8.617343e-5, "real": 0.0019872067, "si": 1.3806504e-23}
LAMMPS_ANGSTROM = {"metal": 1.0, "real": 1.0, "si": 1.0e-10}


def lammps_unit_factors(style: str):
    """(energy, length) factors of LAMMPS ``units style``, as pair style umlip derives them.

    energy : the style's energy unit per eV (eV, kcal/mol, J): boltz / boltz of units metal
    length : the style's length unit per Å (Å, Å, m): force->angstrom

    Forces convert with energy / length, virials with energy, pressures additionally with
    LAMMPS's own ``nktv2p``. These are LAMMPS's constants; ``ase.units`` (CODATA 2014 by
    default) differs from them by up to 1.2e-7 relative."""
    if style not in LAMMPS_BOLTZ:
        raise ValueError(f"pair style umlip supports units {', '.join(LAMMPS_BOLTZ)}, "
                         f"not units {style}")
    return LAMMPS_BOLTZ[style] / LAMMPS_BOLTZ["metal"], LAMMPS_ANGSTROM[style]
