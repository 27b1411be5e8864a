"""The graph's candidate pairs are rebuilt only when LAMMPS rebuilds its neighbour lists, and
the forces stay those of the ASE calculator (float64, same model file) after everything that
moves or re-assigns atoms: `run 0` after displace_atoms (rigid and random) and change_box, after
delete_atoms, and at the end of NPT with a fluctuating triclinic box (candidates reused across
box changes between rebuilds). 1 and 2 MPI ranks, ghost graph.

Tolerances as for the LAMMPS vs ASE parity: energy 1e-8 eV/atom, forces 1e-7 eV/Å.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.io import write
from support.lmp_input import neighbor_list_builds, run_input

from umlip import UMLIPCalculator

SPECORDER = ["H", "C", "O", "Cu"]

INPUT = """units metal
boundary p p p
atom_style atomic
read_data {data}
change_box all triclinic
pair_style umlip {model} dtype float64 ghost graph
pair_coeff * * H C O Cu
neighbor 0.5 bin
neigh_modify every 1 delay 0 check yes
thermo_style custom step pe
thermo_modify format float %.17g
run 0
write_dump all custom {tmp}/0.dump id type x y z fx fy fz modify sort id format float %.17g
print "PE 0 $(pe:%.17g)"
displace_atoms all move 1.7 -0.9 0.6 units box
run 0
write_dump all custom {tmp}/1.dump id type x y z fx fy fz modify sort id format float %.17g
print "PE 1 $(pe:%.17g)"
displace_atoms all random 0.3 0.3 0.3 4817 units box
run 0
write_dump all custom {tmp}/2.dump id type x y z fx fy fz modify sort id format float %.17g
print "PE 2 $(pe:%.17g)"
change_box all x scale 1.04 y scale 0.97 xy final 0.8 remap units box
run 0
write_dump all custom {tmp}/3.dump id type x y z fx fy fz modify sort id format float %.17g
print "PE 3 $(pe:%.17g)"
group gone id 5 17 33
delete_atoms group gone
run 0
write_dump all custom {tmp}/4.dump id type x y z fx fy fz modify sort id format float %.17g
print "PE 4 $(pe:%.17g)"
velocity all create 1200.0 4928 mom yes rot yes dist gaussian
fix 1 all npt temp 1200.0 1200.0 0.1 tri 0.0 0.0 0.3
timestep 0.002
run 40
write_dump all custom {tmp}/5.dump id type x y z fx fy fz modify sort id format float %.17g
print "PE 5 $(pe:%.17g)"
"""
STAGES = ["initial", "displace_atoms move", "displace_atoms random", "change_box",
          "delete_atoms", "end of NPT"]


def read_dump(path):
    """Atoms (numbers, positions, cell) and forces from a LAMMPS text dump of one frame."""
    lines = Path(path).read_text().splitlines()
    k = next(q for q, ln in enumerate(lines) if ln.startswith("ITEM: BOX BOUNDS"))
    b = np.array([[float(v) for v in lines[k + 1 + m].split()] for m in range(3)])
    xy, xz, yz = (b[:, 2] if b.shape[1] == 3 else np.zeros(3))
    xlo = b[0, 0] - min(0.0, xy, xz, xy + xz)
    xhi = b[0, 1] - max(0.0, xy, xz, xy + xz)
    ylo, yhi = b[1, 0] - min(0.0, yz), b[1, 1] - max(0.0, yz)
    cell = np.array([[xhi - xlo, 0, 0], [xy, yhi - ylo, 0], [xz, yz, b[2, 1] - b[2, 0]]])
    start = next(q for q, ln in enumerate(lines) if ln.startswith("ITEM: ATOMS")) + 1
    data = np.array([[float(v) for v in ln.split()] for ln in lines[start:]])
    numbers = [Atoms(SPECORDER[int(t) - 1]).numbers[0] for t in data[:, 1]]
    atoms = Atoms(numbers=numbers, positions=data[:, 2:5] - [xlo, ylo, b[2, 0]], cell=cell,
                  pbc=True)
    return atoms, data[:, 5:8]


@pytest.mark.mpi
@pytest.mark.parametrize("ranks", [1, 2])
def test_forces_after_atoms_move_and_change(tmp_path, analytic_model, ranks):
    atoms = bulk("Cu", "fcc", a=3.62, cubic=True) * (3, 3, 2)
    atoms.numbers[[0, 11, 40]] = [8, 1, 6]
    atoms.rattle(0.05, seed=9)
    data = tmp_path / "system.data"
    write(data, atoms, format="lammps-data", specorder=SPECORDER, masses=True, units="metal")
    text = run_input(tmp_path, "rebuild", INPUT.format(data=data, model=analytic_model,
                                                       tmp=tmp_path), ranks)
    energies = {int(k): float(v) for k, v in re.findall(r"^PE (\d) (\S+)$", text, re.M)}
    assert neighbor_list_builds(text) > 0, "NPT never reneighboured"

    calc = UMLIPCalculator(analytic_model, dtype="float64")
    for k, stage in enumerate(STAGES):
        ref, forces = read_dump(tmp_path / f"{k}.dump")
        ref.calc = calc
        de = abs(energies[k] - ref.get_potential_energy()) / len(ref)
        df = float(np.max(np.abs(forces - ref.get_forces())))
        where = f"after {stage} at {ranks} ranks"
        assert de <= 1e-8, f"energy {where}: {de:.2e} eV/atom"
        assert df <= 1e-7, f"forces {where}: max error {df:.2e} eV/Å"
    assert len(read_dump(tmp_path / "4.dump")[0]) == len(atoms) - 3
