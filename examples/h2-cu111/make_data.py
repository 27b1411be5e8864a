"""Write h2cu111.data: a 3x4x4 Cu(111) slab (a = 3.62 Å, 15 Å vacuum) with two H2 molecules
2.8 Å above the top layer, for in.h2cu and h2cu_ase.py. Deterministic; rerun to regenerate."""
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import fcc111
from ase.io import write


def build():
    slab = fcc111("Cu", size=(3, 4, 4), a=3.62, vacuum=7.5, orthogonal=True)
    top = slab.positions[:, 2].max()
    cell = slab.cell.array
    for frac in ([0.25, 0.30], [0.70, 0.75]):
        c = np.array([frac[0] * cell[0, 0], frac[1] * cell[1, 1], top + 2.8])
        slab += Atoms("H2", positions=[c - [0.37, 0, 0], c + [0.37, 0, 0]])
    slab.pbc = (True, True, False)
    return slab


if __name__ == "__main__":
    atoms = build()
    write(Path(__file__).with_name("h2cu111.data"), atoms, format="lammps-data",
          specorder=["Cu", "H"], masses=True, units="metal")
    print(f"{len(atoms)} atoms, cell {np.diag(atoms.cell.array).round(3)}")
