"""Synthetic labels for the fine-tuning tests: H2 on Cu(111) configurations labelled with a base
model's energy and forces plus a known error, 0.3 eV/Å x r(H-H) (and its forces on the two H)
plus 5 eV per configuration (which the per-element energy alignment must remove)."""
from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.build import fcc111

from umlip.io import atoms_to_record

#: eV/Å: the slope of the added r(H-H) term, so the force error before fine-tuning on each H
SLOPE = 0.3
#: eV per configuration, removed by the alignment
OFFSET = 5.0


def h2_cu111_configs(n: int, seed: int = 0):
    """``n`` rattled 3-layer Cu(111) slabs with an H2 1-2.5 Å above the top layer (random
    position, orientation and bond length 0.75-1.6 Å)."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        slab = fcc111("Cu", (2, 2, 3), a=3.64, vacuum=7.5)
        top = slab.positions[:, 2].max()
        c = np.array([*rng.uniform(0, 4, 2), top + rng.uniform(1.0, 2.5)])
        u = rng.normal(size=3)
        u /= np.linalg.norm(u)
        bond = rng.uniform(0.75, 1.6)
        atoms = slab + Atoms("H2", positions=[c - u * bond / 2, c + u * bond / 2])
        atoms.rattle(0.03, seed=100 * seed + k)
        out.append(atoms)
    return out


def synthetic_labels(frames, base):
    """Records (id ``c<k>``) with the base calculator's numbers plus the known error."""
    out = []
    for k, atoms in enumerate(frames):
        atoms.calc = base
        i, j = len(atoms) - 2, len(atoms) - 1
        d = atoms.positions[i] - atoms.positions[j]
        r = np.linalg.norm(d)
        forces = atoms.get_forces()
        forces[i] -= SLOPE * d / r
        forces[j] += SLOPE * d / r
        rec = atoms_to_record(atoms, energy=atoms.get_potential_energy() + OFFSET + SLOPE * r,
                              forces=forces)
        rec["id"] = f"c{k}"
        out.append(rec)
    return out


def label_errors(calc, records):
    """(std over the records of E_label - E_model [eV], largest per-atom |F_model - F_label|
    [eV/Å]): the part of the energy error no per-element shift absorbs, and the force error."""
    de, df = [], []
    for r in records:
        a = Atoms(numbers=r["numbers"], positions=r["positions"], cell=r["cell"], pbc=r["pbc"])
        a.calc = calc
        de.append(r["energy"] - a.get_potential_energy())
        df.append(np.linalg.norm(a.get_forces() - np.array(r["forces"]), axis=1).max())
    return float(np.std(de)), float(max(df))
