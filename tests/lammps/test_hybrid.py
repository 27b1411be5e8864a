"""pair style umlip with NULL types under pair_style hybrid/overlay: umlip covers the Cu slab
(type 1), lj/cut the argon above it (type 2) and the Cu-Ar pairs. Forces and energy equal the
sum of the parts computed separately: UMLIPCalculator on the Cu atoms alone (the NULL-typed
atoms are not in the model's graph at all) plus LAMMPS's lj/cut alone (its Cu-Cu coefficient
zero). float64, 1 and 2 MPI ranks, every ghost mode; tolerance 1e-8 eV/Å and 1e-8 eV."""
from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import fcc111
from ase.io import write
from support.lmp_input import run_input

from umlip import UMLIPCalculator

LJ = "pair_coeff 1 2 lj/cut 0.02 3.0\npair_coeff 2 2 lj/cut 0.0104 3.4"

INPUT = """units metal
boundary p p f
atom_style atomic
read_data {data}
pair_style {pair}
{coeffs}
neighbor 1.0 bin
compute pe all pe
thermo_style custom step pe
thermo_modify format float %.15g
dump d all custom 1 {out} id fx fy fz
dump_modify d sort id format float %.15g
run 0
"""


def structure():
    slab = fcc111("Cu", (3, 3, 3), a=3.62, vacuum=8.0)
    slab.rattle(0.03, seed=11)
    top = slab.positions[:, 2].max()
    ar = Atoms("Ar4", positions=[[1.0, 1.0, top + 3.2], [4.5, 2.0, top + 3.5],
                                 [2.5, 5.0, top + 4.0], [6.0, 5.5, top + 3.0]])
    atoms = slab + ar
    atoms.pbc = (True, True, False)
    return atoms


def lammps_run(tmp_path, name, atoms, pair, coeffs, ranks):
    data = tmp_path / "system.data"
    write(data, atoms, format="lammps-data", masses=True, units="metal", specorder=["Cu", "Ar"])
    out = tmp_path / f"forces.{name}.dump"
    log = run_input(tmp_path, name, INPUT.format(data=data, pair=pair, coeffs=coeffs, out=out),
                    ranks)
    lines = log.splitlines()
    k = next(i for i, ln in enumerate(lines) if ln.split()[:2] == ["Step", "PotEng"])
    energy = float(lines[k + 1].split()[1])
    rows = out.read_text().splitlines()
    start = next(i for i, ln in enumerate(rows) if ln.startswith("ITEM: ATOMS")) + 1
    forces = np.array([[float(x) for x in ln.split()[1:]] for ln in rows[start:]])
    return energy, forces


@pytest.mark.mpi
@pytest.mark.parametrize("ghost,ranks", [("graph", 1), ("graph", 2), ("layer", 2),
                                         ("replicate", 2)])
def test_null_types_under_hybrid_overlay_add_up(tmp_path, analytic_model, ghost, ranks):
    atoms = structure()
    # LAMMPS keeps the data file's atom order in the sorted dump: Cu first, then Ar
    cu = atoms[[a.symbol == "Cu" for a in atoms]]
    cu.calc = UMLIPCalculator(analytic_model)
    e_cu, f_cu = cu.get_potential_energy(), cu.get_forces()
    e_lj, f_lj = lammps_run(tmp_path, "lj", atoms, "lj/cut 8.0",
                            "pair_coeff 1 1 0.0 1.0\n" + LJ.replace(" lj/cut", ""), 1)
    e, f = lammps_run(tmp_path, f"hybrid_{ghost}_{ranks}", atoms,
                      f"hybrid/overlay umlip {analytic_model} dtype float64 ghost {ghost} "
                      f"lj/cut 8.0", "pair_coeff * * umlip Cu NULL\n" + LJ, ranks)
    expected = f_lj.copy()
    expected[:len(cu)] += f_cu
    assert abs(e - (e_cu + e_lj)) < 1e-8
    np.testing.assert_allclose(f, expected, rtol=0, atol=1e-8)
    assert np.abs(f_cu).max() > 0.1 and np.abs(f_lj[len(cu):]).max() > 1e-3


def test_every_type_null_is_refused(tmp_path, analytic_model):
    from support.lmp_input import lmp_command
    import subprocess

    atoms = structure()
    data = tmp_path / "system.data"
    write(data, atoms, format="lammps-data", masses=True, units="metal", specorder=["Cu", "Ar"])
    inp = tmp_path / "in.null"
    inp.write_text(INPUT.format(data=data, pair=f"umlip {analytic_model}",
                                coeffs="pair_coeff * * NULL NULL", out=tmp_path / "x.dump"))
    proc = subprocess.run(lmp_command(inp), capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "maps every atom type to NULL" in proc.stdout + proc.stderr
