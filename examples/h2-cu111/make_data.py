"""Write h2cu111.data for in.h2cu and h2cu_ase.py: a 4x4x3 Cu(111) slab (a = 3.62 Å, 15 Å of
vacuum; the bottom layer is held fixed by the inputs) and four H2 molecules 2.5 Å above the top
layer, each lying flat over a bridge site with its axis pointing at the two neighbouring hollows
(the geometry of lowest barrier), its bond stretched to 0.95 Å (about 0.5 eV of vibration,
roughly H2's first vibrational level; 0.74 Å is the equilibrium bond).
Deterministic; rerun to regenerate."""
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import fcc111

HEIGHT = 2.5     # Å above the top Cu layer
BOND = 0.95      # Å, initial H-H distance
BRIDGES = ((0.5, 0.0), (2.5, 0.0), (0.5, 2.0), (2.5, 2.0))    # in units of the 1x1 cell


def build():
    slab = fcc111("Cu", size=(4, 4, 3), a=3.62, vacuum=7.5, orthogonal=True)
    a1, a2 = slab.info["adsorbate_info"]["cell"]
    top = slab.positions[:, 2].max()
    for u, v in BRIDGES:
        centre = np.array([*(u * a1 + v * a2), top + HEIGHT])
        axis = np.array([0.0, 0.5 * BOND, 0.0])     # along y: across the bridge, to the hollows
        slab += Atoms("H2", positions=[centre - axis, centre + axis])
    slab.wrap()
    slab.pbc = (True, True, False)
    return slab


def molecules(atoms):
    """Index pairs of the H2 molecules of build(), in order."""
    h = np.flatnonzero(atoms.numbers == 1)
    return [tuple(h[k:k + 2]) for k in range(0, len(h), 2)]


if __name__ == "__main__":
    from ase.io import write

    atoms = build()
    write(Path(__file__).with_name("h2cu111.data"), atoms, format="lammps-data",
          specorder=["Cu", "H"], masses=True, units="metal")
    print(f"{len(atoms)} atoms, cell {np.diag(atoms.cell.array).round(3)}")
