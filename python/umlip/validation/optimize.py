"""Geometry relaxation and climbing-image NEB with a (shared) ASE calculator.

Both return JSON records (energies eV, positions Å, forces eV/Å) so that the tasks can
cache them as resumable pieces. The NEB is ASE's (``ase.mep.NEB``, improved tangent,
climbing image, FIRE optimizer, as in the DFT recipes); the energy profile fit is ASE's
``ase.utils.forcecurve.fit_raw`` (cubic pieces through image energies and path forces).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.constraints import FixAtoms

from umlip.io import atoms_to_record


class ImageCalculator(Calculator):
    """Per-image front end of one shared calculator: computes energy and forces together
    once per geometry and keeps them, so a NEB asking an image for its energy and then its
    forces does not run the (shared, possibly expensive) model twice."""

    implemented_properties = ("energy", "free_energy", "forces")

    def __init__(self, base: Calculator):
        super().__init__()
        self.base = base

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        a = self.atoms.copy()
        a.calc = self.base
        e = float(a.get_potential_energy())
        self.results = {"energy": e, "free_energy": e,
                        "forces": a.get_forces(apply_constraint=False)}


def max_force(atoms: Atoms) -> float:
    """Largest |F| [eV/Å] over the atoms (constraints applied)."""
    f = atoms.get_forces()
    return float(np.sqrt((f ** 2).sum(axis=1)).max()) if len(atoms) else 0.0


def single_point(atoms: Atoms, calc, **extra: Any) -> Dict[str, Any]:
    a = atoms.copy()
    a.calc = calc
    e = a.get_potential_energy()
    return atoms_to_record(a, energy=e, forces=a.get_forces(apply_constraint=False), extra=extra)


def relax(atoms: Atoms, calc, fmax: float = 0.05, steps: int = 300,
          maxstep: float = 0.1, **extra: Any) -> Dict[str, Any]:
    """BFGS relaxation (constraints respected) -> record with energy, forces, convergence."""
    from ase.optimize import BFGS

    a = atoms.copy()
    a.calc = calc
    opt = BFGS(a, logfile=None, maxstep=maxstep)
    converged = bool(opt.run(fmax=fmax, steps=steps))
    return atoms_to_record(a, energy=a.get_potential_energy(),
                           forces=a.get_forces(apply_constraint=False),
                           extra=dict(relaxed=True, optimizer="ase BFGS", fmax_target=fmax,
                                      optimizer_converged=converged,
                                      optimizer_steps=int(opt.nsteps),
                                      fmax_final=max_force(a), **extra))


def neb_path(initial: Atoms, final: Atoms, calc, n_images: int = 7, fmax: float = 0.05,
             steps: int = 500, climb: bool = True, k: float = 0.1,
             method: str = "improvedtangent", interpolate: str = "idpp",
             mid_images: Optional[Sequence[Atoms]] = None,
             fixed: Optional[Sequence[int]] = None,
             log: Optional[Callable[[int, float], None]] = None) -> Dict[str, Any]:
    """Climbing-image NEB from ``initial`` to ``final`` (``n_images`` in total, endpoints
    included; endpoints are not moved).

    Initial path: ``mid_images`` if given (n_images - 2 geometries), else ``interpolate``
    ("idpp" or "linear"). ``fixed``: indices held fixed in every image (default: the
    FixAtoms of ``initial``; other constraints of the endpoints are dropped, as in the
    recipes). ``log(step, max NEB force [eV/Å])`` is called every 10 optimizer steps.

    Returns a record: image energies [eV] (absolute and relative to the initial image),
    path coordinate [Å], fitted profile, barrier_forward/reverse (highest image minus the
    initial/final energy) [eV], reaction_energy, convergence and the image geometries.
    """
    from ase.mep import NEB
    from ase.optimize import FIRE
    from ase.utils.forcecurve import fit_raw

    if fixed is None:
        fixed = [int(i) for c in initial.constraints if isinstance(c, FixAtoms)
                 for i in c.get_indices()]
    images = [initial.copy()] + [initial.copy() for _ in range(n_images - 2)] + [final.copy()]
    for im in images:
        im.set_constraint(FixAtoms(indices=list(fixed)) if len(fixed) else [])
        im.calc = ImageCalculator(calc)
    neb = NEB(images, k=k, climb=climb, method=method)
    if mid_images is not None:
        if len(mid_images) != n_images - 2:
            raise ValueError(f"{len(mid_images)} initial images for {n_images - 2} moving")
        for im, m in zip(images[1:-1], mid_images):
            im.positions = m.positions
        start = "given images"
    else:
        neb.interpolate(method=interpolate, mic=False)
        start = interpolate
    opt = FIRE(neb, logfile=None)
    if log is not None:
        opt.attach(lambda: log(opt.nsteps, float(np.sqrt(
            (neb.get_forces() ** 2).sum(axis=1)).max())), interval=10)
    converged = bool(opt.run(fmax=fmax, steps=steps))
    energies, forces = [], []
    for im in images:
        energies.append(float(im.get_potential_energy()))
        forces.append(im.get_forces())
    e = np.array(energies)
    fit = fit_raw(e, np.array(forces), np.array([im.positions for im in images]),
                  cell=images[0].cell, pbc=images[0].pbc)
    top = int(np.argmax(e))
    return {
        "method": f"ase.mep.NEB climb={climb} method={method} k={k} eV/Å^2, FIRE, initial "
                  f"path: {start}",
        "n_images_total": n_images, "fmax_target": fmax, "optimizer_converged": converged,
        "optimizer_steps": int(opt.nsteps),
        "max_neb_force_final": float(np.sqrt((neb.get_forces() ** 2).sum(axis=1)).max()),
        "energies": e, "energies_rel_initial": e - e[0], "path": np.asarray(fit.path),
        "fit_path": np.asarray(fit.fit_path),
        "fit_energies_rel": np.asarray(fit.fit_energies),
        "barrier_fit_forward": float(np.max(fit.fit_energies)),
        "highest_image_index": top,
        "barrier_forward": float(e[top] - e[0]), "barrier_reverse": float(e[top] - e[-1]),
        "reaction_energy": float(e[-1] - e[0]),
        "images": [atoms_to_record(im, energy=en) for im, en in zip(images, e)],
    }


def resample_path(images: Sequence[Atoms], n: int) -> List[Atoms]:
    """``n`` geometries equally spaced in arc length [Å, all coordinates] along the
    piecewise-linear path through ``images`` (the first and last are the path's ends): a
    DFT NEB path as the start of a model NEB with another number of images."""
    pos = np.array([im.positions for im in images], float)
    seg = np.linalg.norm((pos[1:] - pos[:-1]).reshape(len(pos) - 1, -1), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    out = []
    for t in np.linspace(0.0, s[-1], n):
        k = min(int(np.searchsorted(s, t, side="right")) - 1, len(seg) - 1)
        w = (t - s[k]) / seg[k] if seg[k] > 0 else 0.0
        a = images[0].copy()
        a.positions = (1 - w) * pos[k] + w * pos[k + 1]
        out.append(a)
    return out


def profile_at(images: List[Atoms], calc) -> Dict[str, Any]:
    """Model energies [eV] at given geometries (e.g. the DFT NEB images)."""
    es = []
    for im in images:
        a = im.copy()
        a.calc = calc
        es.append(float(a.get_potential_energy()))
    e = np.array(es)
    top = int(np.argmax(e))
    return {"energies": e, "energies_rel_initial": e - e[0], "highest_image_index": top,
            "barrier_forward": float(e[top] - e[0]), "barrier_reverse": float(e[top] - e[-1])}
