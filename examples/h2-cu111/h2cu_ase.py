"""The same reactive system as in.h2cu, through ASE and umlip.UMLIPCalculator (same engine,
same model file): two H2 molecules shot at a hot Cu(111) slab with SevenNet-0.

    python h2cu_ase.py [--steps 100] [--model 7net-0]
"""
import argparse
from pathlib import Path

import numpy as np
from ase import units
from ase.constraints import FixAtoms
from ase.io import Trajectory
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary

from umlip import UMLIPCalculator

HERE = Path(__file__).resolve().parent


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="7net-0")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--out", default=str(HERE / "h2cu_ase.traj"))
    args = p.parse_args()

    import sys

    sys.path.insert(0, str(HERE))
    from make_data import build

    atoms = build()
    is_h = atoms.numbers == 1
    bottom = atoms.positions[:, 2] < 8.5
    atoms.set_constraint(FixAtoms(mask=bottom))
    atoms.calc = UMLIPCalculator(args.model)

    rng = np.random.default_rng(4928459)
    MaxwellBoltzmannDistribution(atoms, temperature_K=700.0, rng=rng)
    Stationary(atoms)
    v = atoms.get_velocities()
    v[is_h] = [0.0, 0.0, -0.0758 * 1000.0 * units.Ang / (1000.0 * units.fs)]  # 0.6 eV per H2
    v[bottom] = 0.0
    atoms.set_velocities(v)

    # Langevin on the Cu atoms only would need per-atom friction; keep it simple: NVE-like
    # thermostat with weak friction on everything, which barely perturbs the fast H2.
    dyn = Langevin(atoms, 0.5 * units.fs, temperature_K=700.0, friction=0.002, rng=rng)
    traj = Trajectory(args.out, "w", atoms)
    dyn.attach(traj.write, interval=10)

    def report():
        h = atoms.positions[is_h]
        d = np.linalg.norm(h[:, None] - h[None], axis=-1) + 10 * np.eye(len(h))
        intact = int((d.min(axis=1) < 1.0).sum() // 2)
        print(f"step {dyn.nsteps:5d}  E_pot {atoms.get_potential_energy():12.5f} eV  "
              f"E_tot {atoms.get_potential_energy() + atoms.get_kinetic_energy():12.5f} eV  "
              f"intact H2 {intact}/2  lowest H z {h[:, 2].min():6.2f} Å")

    dyn.attach(report, interval=20)
    report()
    dyn.run(args.steps)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
