"""The same reactive system as in.h2cu, through ASE and umlip.UMLIPCalculator (same engine,
same model file): four H2 molecules shot at a Cu(111) slab with SevenNet-0, NVE.

    python h2cu_ase.py [--steps 200] [--model 7net-0] [--e-in 1.4]
"""
import argparse
import sys
from pathlib import Path

import numpy as np
from ase import units
from ase.constraints import FixAtoms
from ase.io import Trajectory
from ase.md.verlet import VelocityVerlet

from umlip import UMLIPCalculator

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_data import build, molecules  # noqa: E402
from outcome import fates, report  # noqa: E402
from umlip.validation.md import energy_drift  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="7net-0")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--e-in", type=float, default=1.4, help="eV of translation per H2")
    p.add_argument("--out", default=str(HERE / "h2cu_ase.traj"))
    args = p.parse_args()

    atoms = build()
    is_h = atoms.numbers == 1
    bottom = atoms.positions[:, 2] < 8.0
    atoms.set_constraint(FixAtoms(mask=bottom))
    atoms.calc = UMLIPCalculator(args.model)

    rng = np.random.default_rng(4928459)
    masses = atoms.get_masses()[:, None]
    v = rng.normal(size=(len(atoms), 3)) * np.sqrt(units.kB * 300.0 / masses)    # 300 K
    v[bottom] = 0.0
    v[~is_h & ~bottom] -= v[~is_h & ~bottom].mean(axis=0)
    mass_h2 = 2 * atoms.get_masses()[is_h][0]
    v[is_h] = [0.0, 0.0, -np.sqrt(2 * args.e_in / mass_h2)]    # ASE units: eV, amu
    atoms.set_velocities(v)

    dt = 0.5 * units.fs
    dyn = VelocityVerlet(atoms, dt)
    traj = Trajectory(args.out, "w", atoms)
    frames, times, etot = [], [], []

    def record():
        frames.append(atoms.copy())
        times.append(dyn.nsteps * 0.5)
        etot.append(atoms.get_potential_energy() + atoms.get_kinetic_energy())
        traj.write(atoms)
        if dyn.nsteps % 20 == 0:
            print(f"step {dyn.nsteps:5d}  E_pot {atoms.get_potential_energy():12.5f} eV  "
                  f"E_tot {etot[-1]:12.5f} eV  lowest H z {atoms.positions[is_h, 2].min():6.2f} Å")

    dyn.attach(record, interval=10)
    dyn.run(args.steps)
    for line in report(fates(frames, molecules(atoms), times), times[-1]):
        print(line)
    print(f"energy conservation (NVE): largest |E_tot - E_tot(0)| = "
          f"{1000 * energy_drift(times, np.array(etot) / len(atoms))['max_abs_dev']:.2f} "
          f"meV/atom over {len(etot)} frames")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
