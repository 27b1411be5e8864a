"""``umlip selftest <model>``: what a user runs after installing.

Runs one small reactive system (H2 above a Cu(111) slab, non-periodic along z) through

1. the ASE calculator (engine via pybind11),
2. LAMMPS with pair style umlip at 1 and 2 MPI ranks (engine via the plugin),

prints the largest differences in energy, forces and virial, then runs a short NVE MD in LAMMPS
and prints the energy drift. On more than one rank the pair style runs in the ghost mode that
splits the work (``--ghost``, default: *layer* for layered model files, else *graph*; *auto*
would replicate this small system on every rank), and the table names the mode that ran (the
pair style's own statistics). Progress of every run goes to stderr. Exits non-zero if LAMMPS
and ASE disagree beyond float64 round-off (1e-8 eV/atom, 1e-7 eV/Å, 1e-7 eV) or the drift
exceeds 1e-3 eV/atom/ps.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

TOL_E, TOL_F, TOL_W, TOL_DRIFT = 1e-8, 1e-7, 1e-7, 1e-3


def _system(model):
    """H2 over Cu(111) when the model covers Cu and H; else a rattled fcc crystal of the
    model's first element (non-periodic along z all the same)."""
    from ase import Atoms
    from ase.build import bulk, fcc111

    zs = set(model.atomic_numbers)
    if {1, 29} <= zs:
        a = fcc111("Cu", (2, 2, 3), a=3.62, vacuum=6.0, orthogonal=True)
        top = a.positions[:, 2].max()
        a += Atoms("H2", positions=[[1.2, 1.5, top + 1.9], [1.95, 1.5, top + 1.95]])
    else:
        from ase.data import chemical_symbols

        a = bulk(chemical_symbols[sorted(zs)[0]], "fcc", a=4.0, orthogonal=True) * (2, 2, 2)
        a.center(vacuum=5.0, axis=2)
    a.pbc = (True, True, False)
    a.rattle(0.03, seed=11)
    return a


def ghost_mode(model, ranks: int, requested=None) -> str:
    """The ghost keyword of a run at ``ranks``: ``requested`` if given; else, on more than one
    rank, the mode that splits the work (layer for a layered file, else graph); else auto."""
    if requested:
        return requested
    if ranks > 1:
        return "layer" if model.layered else "graph"
    return "auto"


def main(args) -> int:
    from ase import Atoms

    from umlip import UMLIPCalculator
    from umlip.lammps.driver import case_from_atoms, run_under_mpi
    from umlip.models import resolve
    from umlip.progress import step
    from umlip.units import virial_to_lammps

    path = str(resolve(args.model))
    calc = UMLIPCalculator(path, dtype="float64")
    atoms = _system(calc.model)
    n = len(atoms)
    print(f"umlip selftest: {calc.model.name} ({calc.model.family} {calc.model.family_version}), "
          f"{path}")
    print(f"system: {atoms.get_chemical_formula()} ({n} atoms), pbc {atoms.pbc.tolist()}, "
          f"float64", flush=True)

    case = case_from_atoms(atoms, "selftest")
    requested = getattr(args, "ghost", None)
    width = max(len(f"LAMMPS {r} ranks (replicate)") + 2 for r in args.ranks)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        print(f"\n{'backend (ghost mode)':<{width}}{'|dE| eV/atom':>14}{'max|dF| eV/Å':>15}"
              f"{'max|dW| eV':>13}{'time s':>9}", flush=True)
        for ranks in args.ranks:
            ghost = ghost_mode(calc.model, ranks, requested)
            spec = {"model": path, "dtype": "float64", "pair_extra": f"ghost {ghost}",
                    "cases": [case]}
            t0 = time.perf_counter()
            with step(f"selftest: LAMMPS at {ranks} rank(s), ghost {ghost}"):
                d = run_under_mpi(spec, ranks, tmp, tag="selftest")
            dt = time.perf_counter() - t0
            ref = Atoms(numbers=d["0_numbers"], positions=d["0_positions"], cell=atoms.cell,
                        pbc=atoms.pbc)
            ref.calc = calc
            e, f = ref.get_potential_energy(), ref.get_forces()
            w = virial_to_lammps(calc.model.compute(ref.positions, ref.numbers, ref.cell.array,
                                                    ref.pbc)["virial"])
            de = abs(float(d["0_energy"]) - e) / n
            df = float(np.max(np.abs(d["0_forces"] - f)))
            dw = float(np.max(np.abs(d["0_virial"] - w)))
            good = de <= TOL_E and df <= TOL_F and dw <= TOL_W
            ok &= good
            # the mode the pair style reports having run (pair_statistics), not the one asked
            label = f"LAMMPS {ranks} rank{'s' if ranks > 1 else ''} ({d['0_mode']})"
            print(f"{label:<{width}}{de:>14.2e}{df:>15.2e}{dw:>13.2e}{dt:>9.1f}"
                  f"{'' if good else '   <-- MISMATCH'}", flush=True)

        if args.steps > 0:
            drift, excursion, ps = nve(path, atoms, args.steps, Path(tmp))
            good = abs(drift) <= TOL_DRIFT
            ok &= good
            print(f"\nNVE (LAMMPS, 1 rank, float64, dt 0.5 fs, {args.steps} steps = {ps:.3f} ps): "
                  f"drift {drift:.2e} eV/atom/ps, max |E-E0| {excursion:.2e} eV/atom"
                  f"{'' if good else '   <-- TOO LARGE'}")
    print("\nselftest " + ("PASSED" if ok else "FAILED"))
    return 0 if ok else 1


def nve(model_path, atoms, steps, workdir):
    """Run NVE in LAMMPS on ``atoms`` (float64, 0.5 fs, 300 K start); returns the fitted drift
    [eV/atom/ps], the largest excursion |E(t)-E(0)| [eV/atom] and the simulated time [ps]."""
    from umlip.lammps.driver import case_from_atoms, setup_case
    from umlip.lammps.session import open_lammps
    from umlip.progress import Progress
    from umlip.units import ps_to_fs
    from umlip.validation.md import energy_drift

    case = case_from_atoms(atoms, "nve")
    lmp = open_lammps()
    try:
        setup_case(lmp, case, model_path, "float64")
        lmp.command("velocity all create 300.0 87287 mom yes rot yes dist gaussian")
        lmp.command("timestep 0.0005")
        lmp.command("fix 1 all nve")
        lmp.command("thermo_style custom step time etotal")
        every = max(1, steps // 50)
        times, energies = [], []
        lmp.command("run 0")
        progress = Progress("selftest: NVE steps", total=steps)
        for start in range(0, steps, every):
            times.append(lmp.get_thermo("time"))
            energies.append(lmp.get_thermo("etotal"))
            lmp.command(f"run {min(every, steps - start)} pre no post no")
            progress.update(min(every, steps - start))
        progress.close()
        times.append(lmp.get_thermo("time"))
        energies.append(lmp.get_thermo("etotal"))
    finally:
        lmp.close()
    t_ps = np.array(times)
    drift = energy_drift(ps_to_fs(t_ps), np.array(energies) / len(atoms))
    return drift["slope_eV_per_ps"], drift["max_abs_dev"], float(t_ps[-1])
