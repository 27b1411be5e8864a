"""Structures for LAMMPS-vs-ASE parity, in LAMMPS's cell convention (lower triangular)."""
from __future__ import annotations

import numpy as np
from support.structures import bulk_cu, molecule_in_box, slab_h2, triclinic

from umlip.lammps.driver import case_from_atoms


def empty_subdomain():
    """A small cluster in one corner of a long periodic box: with `processors * 1 1` the ranks
    covering x > 12 Å own no atoms (but see ghosts)."""
    from ase.cluster import Icosahedron

    c = Icosahedron("Cu", 2)
    c.rattle(0.03, seed=8)
    c.cell = np.diag([40.0, 14.0, 14.0])
    c.positions += np.array([6.0, 7.0, 7.0]) - c.positions.mean(axis=0)
    c.pbc = True
    return c


def isolated_atom():
    from ase import Atoms

    return Atoms("Cu", positions=[[4.0, 4.5, 5.0]], cell=np.diag([9.0, 9.0, 10.0]), pbc=False)


def parity_cases():
    slab = slab_h2()
    cu = bulk_cu()
    ids = (np.arange(len(cu)) * 7 + 3).tolist()   # 3, 10, 17, ...: not contiguous
    return [
        case_from_atoms(bulk_cu(), "bulk_cu"),
        case_from_atoms(triclinic(), "triclinic"),
        case_from_atoms(slab, "slab_h2"),
        case_from_atoms(molecule_in_box(), "molecule"),
        case_from_atoms(empty_subdomain(), "empty_subdomain", processors="* 1 1"),
        case_from_atoms(isolated_atom(), "isolated_atom"),
        case_from_atoms(cu, "noncontiguous_ids", ids=ids),
        case_from_atoms(slab_h2(), "deleted_atoms", delete_ids=[3, 7, len(slab)]),
    ]
