"""The systems of the validation suite, in one place for the DFT recipes and the tasks.

The recipes in ``dft/`` build their structures from these constants; the tasks build the
same structures from them when a DFT stage is missing (then there is simply no DFT number
to compare with), and :mod:`umlip.validation.structures` holds the builders. Standard
library only: the recipes import this module under Debian's python3 (see dft/README.md).

Lengths Å, frequencies THz; q-points in reduced coordinates of the primitive reciprocal
lattice (no 2 pi).
"""
from __future__ import annotations

# ---- H / H2 on Cu(111) and the Cu adatom (dft/h_cu111.py, dft/cu_adatom.py) ---------------
#: p(2x2) fcc(111) slab, 3 layers, the bottom two fixed (ase.build.fcc111 size and tags)
SLAB_SIZE = (2, 2, 3)
SLAB_FIXED_LAYERS = 2
SLAB_VACUUM = 7.5               # Å on each side (ase.build.fcc111 vacuum)
#: start height of one H above the top layer, per site (ase.build.add_adsorbate)
H_SITE_HEIGHT = {"fcc": 0.95, "hcp": 0.95, "ontop": 1.55}
H_PAIR_HEIGHT = 1.0             # Å, start height of the two H of a dissociated pair
H2_FAR_HEIGHT = 3.7             # Å, H2 parallel to the surface (z fixed while relaxing)
H2_BOX = 12.0                   # Å, edge of the periodic cubic box of H2 and of the H atom
H2_START_BOND = 0.75            # Å, bond of the H2 molecule before relaxing
ADATOM_HEIGHT = 2.0             # Å, start height of the Cu adatom
CU_A0_PBE = 3.6423              # Å, the recipe's PBE a0: used only when no data file has it

# ---- phonons (dft/phonons.py) ----------------------------------------------------------------
#: primitive vectors of fcc / diamond in units of the conventional cubic cell
FCC_PRIM = ((0, 0.5, 0.5), (0.5, 0, 0.5), (0.5, 0.5, 0))
#: fcc high-symmetry points in the reciprocal basis of FCC_PRIM, and the band path
HSP = {"G": (0, 0, 0), "X": (0.5, 0.0, 0.5), "K": (0.375, 0.375, 0.75), "L": (0.5, 0.5, 0.5)}
BAND_PATH = ("G", "X", "K", "G", "L")
POINTS_PER_SEGMENT = 31         # q-points per path segment, both ends included
MESH = (8, 8, 8)                # Gamma-centred q-mesh
DISPLACEMENT = 0.01             # Å, phonopy finite displacement (is_plusminus "auto")
#: per material: ase.build.bulk structure, cubic (conventional) unit cell or not, n of the
#: n x n x n supercell of that unit cell, phonopy primitive matrix (None: the unit cell),
#: and the lattice constant used when there is no DFT one (Si: the recipe fits its own EOS)
PHONON_SYSTEMS = {
    "Cu": {"structure": "fcc", "cubic": False, "supercell": 3, "primitive": None,
           "a_fallback": CU_A0_PBE},
    "Si": {"structure": "diamond", "cubic": True, "supercell": 2, "primitive": FCC_PRIM,
           "a_fallback": 5.47},
}
