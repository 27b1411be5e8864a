"""Unit and convention conversions, all in one place.

umlip works in eV and Å throughout (LAMMPS `units metal`, ASE). The engine returns the virial
W = -sum_e r_e (x) dE/dr_e as a symmetric 3x3 matrix in eV. Conventions downstream:

- ASE stress (eV/Å^3), Voigt order xx, yy, zz, yz, xz, xy:  stress = -W / V
- LAMMPS virial (eV), order xx, yy, zz, xy, xz, yz; LAMMPS pressure (bar) = (N k T + tr W / 3) / V
"""
from __future__ import annotations

import numpy as np

ASE_VOIGT = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))
LAMMPS_VOIGT = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))


def virial_to_ase_stress(virial: np.ndarray, volume: float) -> np.ndarray:
    """ASE Voigt stress [eV/Å^3] (xx, yy, zz, yz, xz, xy) from a 3x3 virial [eV] and volume [Å^3]."""
    w = np.asarray(virial, dtype=float).reshape(3, 3)
    return np.array([-w[a, b] / volume for a, b in ASE_VOIGT])


def atom_virials_to_ase_stresses(atom_virial: np.ndarray, volume: float) -> np.ndarray:
    """ASE per-atom stresses (N, 6) [eV/Å^3], Voigt xx, yy, zz, yz, xz, xy, from per-atom virials
    (N, 3, 3) [eV] and the cell volume [Å^3]; they sum to the stress (ASE's convention)."""
    w = np.asarray(atom_virial, dtype=float).reshape(-1, 3, 3)
    return np.stack([-w[:, a, b] / volume for a, b in ASE_VOIGT], axis=1)


def ase_stresses_to_lammps_atom_virial(stresses: np.ndarray, volume: float) -> np.ndarray:
    """LAMMPS per-atom virials (N, 6) [eV] (xx, yy, zz, xy, xz, yz; what ``compute stress/atom``
    gives times -1/nktv2p) from ASE per-atom stresses (N, 6) [eV/Å^3] and the volume [Å^3]."""
    s = np.asarray(stresses, dtype=float).reshape(-1, 6)
    ase_index = {pair: k for k, pair in enumerate(ASE_VOIGT)}
    return -volume * s[:, [ase_index[pair] for pair in LAMMPS_VOIGT]]


def virial_to_lammps(virial: np.ndarray) -> np.ndarray:
    """LAMMPS-ordered virial [eV] (xx, yy, zz, xy, xz, yz) from a 3x3 virial [eV]."""
    w = np.asarray(virial, dtype=float).reshape(3, 3)
    return np.array([w[a, b] for a, b in LAMMPS_VOIGT])


# ---- time and velocity: fs (umlip's MD settings), ASE's time unit, LAMMPS metal (ps, Å/ps) ----
FS_PER_PS = 1000.0


def _ase_fs() -> float:
    """1 fs in ASE's time unit (Å sqrt(amu/eV)); ASE is imported only when a time is converted."""
    from ase import units

    return units.fs


def fs_to_ps(t_fs):
    """Time [fs] -> [ps] (LAMMPS metal ``timestep`` and damping times)."""
    return t_fs / FS_PER_PS


def ps_to_fs(t_ps):
    """Time [ps] (LAMMPS metal ``time``) -> [fs]."""
    return t_ps * FS_PER_PS


def fs_to_ase_time(t_fs):
    """Time [fs] -> ASE's time unit (ASE dynamics ``timestep``)."""
    return t_fs * _ase_fs()


def per_fs_to_per_ase_time(rate_per_fs):
    """Rate [1/fs] (e.g. a Langevin friction) -> [1/ASE time]."""
    return rate_per_fs / _ase_fs()


def ase_velocity_to_A_per_fs(v):
    """Velocity [Å/(ASE time)] (``Atoms.get_velocities``) -> [Å/fs]."""
    return v * _ase_fs()


def ase_velocity_to_metal(v):
    """Velocity [Å/(ASE time)] -> LAMMPS metal [Å/ps]."""
    return v * (_ase_fs() * FS_PER_PS)


def metal_velocity_to_ase(v):
    """Velocity, LAMMPS metal [Å/ps] -> [Å/(ASE time)]."""
    return v / (_ase_fs() * FS_PER_PS)


def lammps_pressure_volume_to_energy(value, nktv2p: float):
    """LAMMPS pressure x volume (e.g. ``compute stress/atom``, or ``compute pressure`` times
    ``vol``) -> energy, with the unit style's own ``nktv2p`` (metal: bar Å^3 -> eV)."""
    return np.asarray(value, dtype=float) / nktv2p


# ---- LAMMPS unit styles -------------------------------------------------------------------
#: force->boltz [energy unit / K] and force->angstrom [length unit] of the LAMMPS unit styles
#: pair style umlip supports, as LAMMPS sets them (src/update.cpp; CODATA 2006, 8 digits)
LAMMPS_BOLTZ = {"metal": 8.617343e-5, "real": 0.0019872067, "si": 1.3806504e-23}
LAMMPS_ANGSTROM = {"metal": 1.0, "real": 1.0, "si": 1.0e-10}
#: 1 amu in the mass unit of those styles (g/mol, g/mol, kg)
LAMMPS_AMU = {"metal": 1.0, "real": 1.0, "si": 1.66053906660e-27}


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
