"""Molecular dynamics through pair style umlip: energy conservation in NVE, and serial vs MPI
trajectories (which exercises neighbour-candidate reuse, reneighbouring and ghost exchange
over many steps, not just a single evaluation)."""
from __future__ import annotations


import numpy as np
import pytest
from support.lmp_input import neighbor_list_builds, run_input


MD = """units metal
boundary p p p
atom_style atomic
lattice fcc 3.62
region box block 0 {rep} 0 {rep} 0 {rep}
create_box 1 box
create_atoms 1 box
mass 1 63.546
pair_style umlip {model} dtype float64 {extra}
pair_coeff * * Cu
neighbor 0.3 bin
velocity all create {temp} 4928459 mom yes rot yes dist gaussian
timestep {dt}
fix 1 all nve
thermo_style custom step time pe ke etotal
thermo_modify format float %.12f norm no
thermo {every}
neigh_modify every 1 delay 0 check yes
dump d all custom {every} {tmp}/traj.{ranks}.dump id x y z fx fy fz
dump_modify d sort id format float %.12f
run {steps}
"""


def run_md(tmp_path, model, steps, ranks=1, extra="", rep=2, temp=600.0, dt=0.0005, every=10):
    log = run_input(tmp_path, f"md{ranks}",
                    MD.format(model=model, extra=extra, rep=rep, temp=temp, dt=dt, every=every,
                              steps=steps, tmp=tmp_path, ranks=ranks), ranks)
    assert neighbor_list_builds(log) > 0, "the run never reneighboured"
    rows, reading = [], False
    for line in log.splitlines():
        if line.split()[:2] == ["Step", "Time"]:
            reading = True
            continue
        if reading:
            parts = line.split()
            if len(parts) == 5 and parts[0].isdigit():
                rows.append([float(p) for p in parts])
            elif line.startswith("Loop time"):
                reading = False
    return np.array(rows)


def test_nve_energy_conservation(tmp_path, analytic_model):
    """32 Cu atoms, 600 K, dt = 0.5 fs, 2000 steps (1 ps), float64.

    Bound: velocity Verlet on a smooth potential has a bounded shadow-energy error of order
    dt^2 (here ~1e-7 eV/atom) and no secular drift. What breaks conservation is a force that is
    not -dE/dx (a missing ghost contribution, an inconsistent neighbour list, a discontinuity
    at the cutoff); such errors drift by >= 1e-3 eV/atom/ps in a 32-atom cell. We require the
    fitted drift |dE/dt| < 1e-4 eV/atom/ps and every excursion |E(t) - E(0)| < 1e-4 eV/atom."""
    thermo = run_md(tmp_path, analytic_model, steps=2000)
    t, etot = thermo[:, 1], thermo[:, 4] / 32.0
    drift = np.polyfit(t, etot, 1)[0]
    excursion = np.max(np.abs(etot - etot[0]))
    print(f"\nNVE drift {drift:.3e} eV/atom/ps, max excursion {excursion:.3e} eV/atom over "
          f"{t[-1]:.2f} ps ({len(t)} samples)")
    assert t[-1] >= 1.0 - 1e-9
    assert abs(drift) < 1e-4, drift
    assert excursion < 1e-4, excursion
    assert np.std(thermo[:, 3]) > 0.01  # atoms really move: kinetic energy fluctuates


def _dump(path):
    frames, block = [], []
    lines = path.read_text().splitlines()
    k = 0
    while k < len(lines):
        if lines[k].startswith("ITEM: NUMBER OF ATOMS"):
            n = int(lines[k + 1])
            start = next(q for q in range(k, len(lines)) if lines[q].startswith("ITEM: ATOMS")) + 1
            frames.append(np.array([[float(x) for x in ln.split()] for ln in
                                    lines[start:start + n]]))
            k = start + n
        else:
            k += 1
    return frames


CLUSTER = """units metal
boundary s s s
atom_style atomic
read_data {data}
pair_style umlip {model} dtype float64 {extra}
pair_coeff * * Cu
neighbor 0.2 bin
velocity all create 900.0 4928459 mom yes rot yes dist gaussian
timestep 0.001
fix 1 all nve
thermo_style custom step time pe ke etotal
thermo 50
neigh_modify every 1 delay 0 check yes
dump d all custom 50 {tmp}/traj.{ranks}.dump id x y z fx fy fz
dump_modify d sort id format float %.12f
run 150
"""


@pytest.mark.mpi
@pytest.mark.parametrize("extra,ranks", [("ghost graph", 3), ("ghost replicate", 2),
                                         ("", 2), ("ghost layer", 2), ("ghost layer", 4)])
def test_serial_and_mpi_trajectories_agree(tmp_path, analytic_model, extra, ranks):
    """A hot 55-atom Cu cluster, 150 steps of 1 fs with reneighbouring (skin 0.2 Å) and atoms
    migrating between subdomains: serial and MPI trajectories agree to round-off growth
    (< 1e-8 Å, < 1e-7 eV/Å)."""
    from ase.cluster import Icosahedron
    from ase.io import write

    cluster = Icosahedron("Cu", 3)
    cluster.center(vacuum=3.0)
    data = tmp_path / "cluster.data"
    write(data, cluster, format="lammps-data", masses=True, units="metal")
    for r, x in ((1, ""), (ranks, extra)):
        log = run_input(tmp_path, f"cl{r}", CLUSTER.format(data=data, model=analytic_model,
                                                           extra=x, tmp=tmp_path, ranks=r), r)
    assert neighbor_list_builds(log) > 0, "the run never reneighboured"
    serial, parallel = _dump(tmp_path / "traj.1.dump"), _dump(tmp_path / f"traj.{ranks}.dump")
    assert len(serial) == len(parallel) == 4
    for a, b in zip(serial, parallel):
        assert np.array_equal(a[:, 0], b[:, 0])
        assert np.max(np.abs(a[:, 1:4] - b[:, 1:4])) < 1e-8
        assert np.max(np.abs(a[:, 4:7] - b[:, 4:7])) < 1e-7
