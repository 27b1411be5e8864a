"""GPAW helpers shared by the slab / bulk recipes (run under Debian's python3).

All calculations: plane-wave mode, PBE, GPAW default PAW setups from the
Debian gpaw-data package.  Every result is cached as JSON in the scratch dir,
relaxations keep an ASE trajectory + BFGS restart file so that a killed job
resumes where it stopped.  MPI-safe: only rank 0 writes cache files.
"""
from __future__ import annotations

import os
import time

import numpy as np
from ase.io import Trajectory
from ase.optimize import BFGS
from ase.parallel import world, barrier

import _meta
from umlip.io import read_json, to_jsonable

CACHE_ONLY = bool(os.environ.get("UMLIP_CACHE_ONLY"))
#: how the GPAW recipes are run (recorded in the metadata), from the repository root
GPAW_RUN = "PYTHONPATH=python:dft nice -n 19 mpiexec --allow-run-as-root -n 2 gpaw python"


class NotCached(Exception):
    """Raised in cache-only mode (UMLIP_CACHE_ONLY=1) for a result not yet computed."""


DEFAULT_CONV = {"energy": 0.0005, "density": 1.0e-4, "eigenstates": 4.0e-8,
                "bands": "occupied"}


def calc_settings(cutoff=400.0, kpts=(6, 6, 1), width=0.1, spin=False,
                  convergence=None, gamma=False):
    conv = dict(DEFAULT_CONV)
    if convergence:
        conv.update(convergence)
    return {
        "code": "GPAW", "mode": "pw", "pw_cutoff_eV": float(cutoff), "xc": "PBE",
        "kpts": {"size": list(kpts), "gamma": bool(gamma), "scheme": "Monkhorst-Pack"},
        "occupations": {"name": "fermi-dirac", "width_eV": float(width)},
        "spinpol": bool(spin), "convergence": conv, "setups": "paw",
        "energy_reported": "GPAW get_potential_energy(): free energy extrapolated "
                           "to zero smearing width (E_extrap = E_free + 0.5*(-TS)); "
                           "forces are derivatives of the free energy",
    }


def make_calc(settings, txt):
    from gpaw import GPAW, PW, FermiDirac
    conv = dict(settings["convergence"])
    return GPAW(mode=PW(settings["pw_cutoff_eV"]), xc=settings["xc"],
                kpts={"size": tuple(settings["kpts"]["size"]),
                      "gamma": settings["kpts"]["gamma"]},
                occupations=FermiDirac(settings["occupations"]["width_eV"],
                                       fixmagmom=bool(settings.get("fixmagmom", False))),
                spinpol=settings["spinpol"], convergence=conv, txt=txt)


def _result(atoms, calc, wall, extra=None):
    e = atoms.get_potential_energy()
    efree = atoms.get_potential_energy(force_consistent=True)
    f = atoms.get_forces()
    d = _meta.record(atoms, energy=e, forces=f)
    d["free_energy"] = float(efree)
    try:
        d["fermi_level"] = float(calc.get_fermi_level())
    except ValueError:      # fixed magnetic moment: one Fermi level per spin
        d["fermi_levels"] = [float(x) if np.isfinite(x) else None
                             for x in calc.get_fermi_levels()]
    if calc.parameters.get("spinpol"):
        d["magnetic_moment"] = float(calc.get_magnetic_moment())
    fmax = float(np.sqrt((atoms.get_forces() ** 2).sum(1)).max()) if len(atoms) else 0.0
    d["fmax_unconstrained_atoms"] = fmax
    d["wall_time_s"] = float(wall)
    if extra:
        d.update(extra)
    return to_jsonable(d, "raise")


def cached(scr, key, atoms, settings, relax=False, fmax=0.05, steps=300, log=None):
    """Single point or BFGS relaxation with a JSON cache in `scr`."""
    path = os.path.join(scr, key + ".json")
    res = read_json(path, None)
    if res is not None:
        return res
    if CACHE_ONLY:
        raise NotCached(key)
    t0 = time.time()
    txt = os.path.join(scr, key + ".txt")
    prev = read_json(os.path.join(scr, key + ".elapsed.json"), {"s": 0.0})["s"]
    atoms = atoms.copy()
    trajfile = os.path.join(scr, key + ".traj")
    nsteps_before = 0
    if relax and has_trajectory(trajfile):
        try:
            tr = Trajectory(trajfile)
            nsteps_before = len(tr)
            last = tr[-1]
            atoms.positions = last.positions
        except Exception:
            pass
    calc = make_calc(settings, txt if world.rank == 0 else None)
    atoms.calc = calc
    extra = {"settings": settings}
    if relax:
        traj = Trajectory(trajfile, "a", atoms)
        opt = BFGS(atoms, trajectory=traj,
                   restart=os.path.join(scr, key + ".bfgs.json"),
                   logfile=os.path.join(scr, key + ".opt.log"))
        converged = opt.run(fmax=fmax, steps=steps)
        traj.close()
        extra.update({"relaxed": True, "optimizer": "ase.optimize.BFGS",
                      "fmax_target": fmax, "optimizer_converged": bool(converged),
                      "optimizer_steps": int(opt.nsteps + nsteps_before)})
    else:
        atoms.get_forces()   # the SCF runs here, inside the timed span (it is lazy)
        extra["relaxed"] = False
    wall = time.time() - t0 + prev
    res = _result(atoms, calc, wall, extra)
    if world.rank == 0:
        _meta.save_json(path, res)
    barrier()
    return res


def seed(scr, key, res, settings, source):
    """_meta.seed for a GPAW result, only when its recorded settings equal the recipe's
    (else it is recomputed). MPI-safe."""
    if res is None or res.get("settings", settings) != settings:
        return False
    done = _meta.seed(scr, key, dict(res, settings=settings), source) if world.rank == 0 else False
    barrier()
    return done


class StageTimes:
    """Wall time [s] per recipe stage, kept in ``<scr>/timings.json``."""

    def __init__(self, scr, committed=None):
        """``committed``: the stage times of the committed data file, kept for the stages
        this scratch folder has no time of (on a fresh machine a seeded stage takes no time)."""
        self.path = os.path.join(scr, "timings.json")
        self.times = dict(committed or {}, **read_json(self.path, {}))

    def note(self, name, t0):
        """Stage ``name`` started at ``t0`` ended now; a rerun that found it cached (< 5 s)
        keeps the time of the run that computed it."""
        if time.time() - t0 > 5 or name not in self.times:
            self.times[name] = time.time() - t0


def output_writer(task, payload, script, scr, stages, t0, seeded_cache=False):
    """``write()``: on rank 0, save the stage times and write the data file of ``task``
    (``payload``) with the GPAW recipes' metadata."""
    def write():
        if world.rank != 0:
            return
        _meta.save_json(stages.path, stages.times)
        meta = {"stage_wall_times_s": stages.times,
                "compute_wall_time_s_sum_of_cached_calculations": _meta.scratch_wall_sum(scr),
                "mpi_ranks": world.size,
                "run_command": f"{GPAW_RUN} dft/{os.path.basename(script)}"}
        if seeded_cache:
            meta["seeded_cache"] = _meta.seeded(scr)
        _meta.write_reference(task, payload, script, time.time() - t0, meta)
    return write


def has_trajectory(path):
    """True when `path` is a trajectory with at least one frame's bytes (a file another rank
    has just opened for appending is empty)."""
    return os.path.exists(path) and os.path.getsize(path) > 0


def run_neb(scr, key, ini, fin, n_images, settings, fmax, e_ini, f_ini, e_fin, f_fin,
            fixed, steps=300, k=0.1, climb=True, mid_images=None, chunk=3, on_chunk=None,
            mid_label=None, prior_steps=0):
    """Climbing-image NEB (ASE, IDPP interpolation, FIRE) with restart from the
    trajectory of a previous (interrupted) run.  Endpoints are not recomputed:
    their energies/forces come from the cached relaxations (same settings).
    `mid_images`: optional initial geometries of the moving images (else IDPP), described
    in the result's `method` by `mid_label` (also when a trajectory that started from them
    is resumed); `prior_steps` optimizer steps already spent on them (e.g. a partial path
    from committed data) are added to `optimizer_steps_total`.
    Every `chunk` optimizer steps `on_chunk(partial_result)` is called so that an
    unfinished NEB still leaves its current path in the output."""
    from ase.constraints import FixAtoms
    from ase.neb import NEB
    from ase.optimize import FIRE

    resfile = os.path.join(scr, key + "_result.json")
    partfile = os.path.join(scr, key + "_partial.json")
    res = read_json(resfile, None)
    if res is not None:
        return res
    if CACHE_ONLY:
        part = read_json(partfile, None)
        if part is None:
            raise NotCached(key)
        return part
    t0 = time.time()
    n = n_images
    trajf = os.path.join(scr, key + ".traj")
    elapsed_f = os.path.join(scr, key + ".elapsed.json")
    prev = read_json(elapsed_f, {"s": 0.0})["s"]
    images = [ini.copy()] + [ini.copy() for _ in range(n - 2)] + [fin.copy()]
    for im in images:
        im.set_constraint(FixAtoms(indices=fixed))
    restarted, done_steps = False, 0
    if has_trajectory(trajf):
        try:
            tr = Trajectory(trajf)
            nblocks = len(tr) // n
            if nblocks >= 1:
                for i, im in enumerate(images):
                    im.positions = tr[(nblocks - 1) * n + i].positions
                # a trajectory started from given images continues their step count
                restarted, done_steps = True, nblocks + prior_steps
        except Exception:
            restarted = False
    neb = NEB(images, climb=climb, k=k, method="improvedtangent")
    init = (f"restart from trajectory (first started from {mid_label or 'IDPP'})"
            if restarted else "IDPP")
    if not restarted:
        if mid_images is not None:
            for im, m in zip(images[1:-1], mid_images):
                im.positions = m.positions
            init = mid_label or "given initial images"
            done_steps = prior_steps
        else:
            neb.interpolate("idpp")
    from ase.calculators.singlepoint import SinglePointCalculator
    images[0].calc = SinglePointCalculator(images[0], energy=e_ini, forces=np.array(f_ini))
    images[-1].calc = SinglePointCalculator(images[-1], energy=e_fin, forces=np.array(f_fin))
    for i, im in enumerate(images[1:-1], start=1):
        im.calc = make_calc(settings, os.path.join(scr, f"{key}_img{i}.txt")
                            if world.rank == 0 else None)
    # every rank has decided how to start (restart or not) before rank 0 creates the file:
    # a rank that looked later would see it and start from a different path
    barrier()
    traj = Trajectory(trajf, "a", neb)
    opt = FIRE(neb, trajectory=traj, logfile=os.path.join(scr, key + ".opt.log"))

    def collect(conv):
        ims = []
        for i, im in enumerate(images):
            if i == 0:
                e, f = e_ini, f_ini
            elif i == n - 1:
                e, f = e_fin, f_fin
            else:
                e, f = im.get_potential_energy(), im.get_forces()
            ims.append(_meta.record(im, energy=e, forces=f))
        es = np.array([d["energy"] for d in ims])
        its = int(np.argmax(es))
        fneb = float(np.sqrt((neb.get_forces() ** 2).sum(axis=1).max()))
        return {
            "settings": settings,
            "method": f"ase.neb.NEB climb={climb} method=improvedtangent k={k} eV/A^2, "
                      f"initial path: {init}; FIRE optimizer; endpoint energies from the "
                      "relaxations",
            "n_images_total": n, "fmax_target": fmax, "optimizer_converged": bool(conv),
            "max_neb_force_final": fneb,
            "optimizer_steps_total": int(opt.nsteps + done_steps),
            "images": ims,
            "energies_rel_initial": (es - es[0]).tolist(),
            "highest_image_index": its,
            "barrier_forward": float(es[its] - es[0]),
            "barrier_reverse": float(es[its] - es[-1]),
            "reaction_energy": float(es[-1] - es[0]),
            "wall_time_s": time.time() - t0 + prev,
        }

    conv = False
    for conv in opt.irun(fmax=fmax, steps=steps):
        if conv:
            break
        if opt.nsteps > 0 and opt.nsteps % chunk == 0:
            part = collect(False)
            part["status"] = "IN PROGRESS / not converged (partial path)"
            if world.rank == 0:
                _meta.save_json(elapsed_f, {"s": time.time() - t0 + prev})
                _meta.save_json(partfile, part)
            if on_chunk is not None:
                on_chunk(part)
    traj.close()
    res = collect(conv)
    if world.rank == 0:
        _meta.save_json(resfile, res)
    barrier()
    return res
