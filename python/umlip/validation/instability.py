"""Detectors of unphysical events in MD: close contacts, lost atoms, hot atoms, energy
blow-up and temperature runaway. Distances Å, energies eV, temperatures K.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import numpy as np
from ase import Atoms
from ase.data import covalent_radii


@dataclass
class Criteria:
    """min_distance: smallest physical distance per element pair ("A-B", sorted) [Å];
    other pairs: ``fallback_scale`` x sum of covalent radii; isolation_distance [Å]: an atom
    with no neighbour within it has left the system; max_atom_kinetic_eV: one atom faster
    than this is a force blow-up; max_temperature_factor: kinetic T above factor x target;
    max_nve_drift_per_atom [eV/atom]: |E_tot - E_tot(0)| in an NVE segment;
    max_epot_jump_per_atom [eV/atom]: E_pot change between two records."""

    min_distance: Dict[str, float] = field(default_factory=lambda: {
        "H-H": 0.5, "Cu-Cu": 1.5, "Cu-H": 0.8})
    fallback_scale: float = 0.6
    isolation_distance: float = 4.0
    max_atom_kinetic_eV: float = 5.0
    max_temperature_factor: float = 5.0
    max_nve_drift_per_atom: float = 0.05
    max_epot_jump_per_atom: float = 1.0

    def bound(self, a: str, b: str) -> float:
        key = "-".join(sorted((a, b)))
        if key in self.min_distance:
            return self.min_distance[key]
        from ase.data import atomic_numbers

        return self.fallback_scale * (covalent_radii[atomic_numbers[a]] +
                                      covalent_radii[atomic_numbers[b]])


def structure_events(atoms: Atoms, crit: Criteria) -> List[Dict[str, Any]]:
    """Close contacts, isolated (lost) atoms and hot atoms in one configuration.

    An atom is lost when no *other* atom (its own periodic images do not count) lies within
    ``isolation_distance``."""
    from ase.neighborlist import neighbor_list

    ev: List[Dict[str, Any]] = []
    sym = atoms.get_chemical_symbols()
    species = sorted(set(sym))
    rmax = max(crit.bound(a, b) for a in species for b in species)
    i, j, d = neighbor_list("ijd", atoms, max(rmax, crit.isolation_distance))
    close = [(a, b, x) for a, b, x in zip(i, j, d) if a < b and x < crit.bound(sym[a], sym[b])]
    if close:
        a, b, x = min(close, key=lambda t: t[2])
        ev.append({"kind": "close_contact", "detail": f"{sym[a]}{a}-{sym[b]}{b} at {x:.3f} Å "
                   f"(bound {crit.bound(sym[a], sym[b]):.2f} Å), {len(close)} pair(s)"})
    near = np.bincount(i[(d < crit.isolation_distance) & (i != j)], minlength=len(atoms))
    lost = np.nonzero(near == 0)[0]
    if len(atoms) > 1 and len(lost):
        ev.append({"kind": "atom_lost", "detail": f"{len(lost)} atom(s) with no neighbour "
                   f"within {crit.isolation_distance} Å: " +
                   ", ".join(f"{sym[k]}{k}" for k in lost[:5])})
    v = atoms.get_velocities()
    if v is not None:
        ek = 0.5 * atoms.get_masses() * (v ** 2).sum(axis=1)
        k = int(np.argmax(ek))
        if ek[k] > crit.max_atom_kinetic_eV:
            ev.append({"kind": "energy_blowup", "detail": f"{sym[k]}{k} kinetic energy "
                       f"{ek[k]:.2f} eV > {crit.max_atom_kinetic_eV} eV"})
    return ev


def trace_events(epot, ekin, temperature, n_atoms: int, ensemble: str,
                 target_K: Optional[float], crit: Criteria) -> List[Dict[str, Any]]:
    """Energy blow-up / drift / runaway in one recorded MD segment (arrays per record)."""
    ev: List[Dict[str, Any]] = []
    epot, ekin = np.asarray(epot, float), np.asarray(ekin, float)
    if not (np.all(np.isfinite(epot)) and np.all(np.isfinite(ekin))):
        return [{"kind": "energy_blowup", "detail": "non-finite energy"}]
    if len(epot) > 1:
        jump = np.abs(np.diff(epot)).max() / n_atoms
        if jump > crit.max_epot_jump_per_atom:
            ev.append({"kind": "energy_blowup", "detail": f"E_pot jumped by {jump:.3f} eV/atom "
                       "between two records"})
    if ensemble == "nve" and len(epot) > 1:
        etot = epot + ekin
        drift = np.abs(etot - etot[0]).max() / n_atoms
        if drift > crit.max_nve_drift_per_atom:
            ev.append({"kind": "energy_blowup", "detail": f"NVE drift {drift:.4f} eV/atom > "
                       f"{crit.max_nve_drift_per_atom}"})
    if target_K and len(temperature):
        tmax = float(np.max(temperature))
        if tmax > crit.max_temperature_factor * target_K:
            ev.append({"kind": "temperature_runaway", "detail": f"T = {tmax:.0f} K > "
                       f"{crit.max_temperature_factor} x {target_K:.0f} K"})
    return ev


def first_failure(segments: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """The first segment (in order) with events: ``{"T_K", "phase", "event", "time_fs"}``.

    ``segments``: dicts with ``T_K``, ``phase`` and ``events`` (each event may carry
    ``time_fs``)."""
    for s in segments:
        if s.get("events"):
            e = s["events"][0]
            return {"T_K": s["T_K"], "phase": s["phase"], "kind": e["kind"],
                    "detail": e["detail"], "time_fs": e.get("time_fs")}
    return None
