"""Task 5: hot stability MD - heat bulk Cu and an H/H2-covered Cu(111) slab stepwise.

Systems (model-relaxed first): ``bulk_cu`` (cubic fcc supercell at the DFT lattice
constant) and ``h2_cu111`` (Cu(111) slab, bottom two layers fixed, with a dissociated H pair
on fcc sites and an H2 molecule 2.5 Å above the surface). For every temperature of the
ladder: Maxwell-Boltzmann start (first step only, seeded), Langevin NVT for ``nvt_steps``,
then NVE for ``nve_steps`` (energy conservation check). Every ``check_every`` steps the
configuration is checked for unphysical events (:mod:`umlip.validation.instability`): close
contacts (H-H < 0.5 Å, Cu-Cu < 1.5 Å, Cu-H < 0.8 Å), atoms lost into vacuum (no
neighbour within 4 Å), single atoms with > 5 eV kinetic energy; every segment for energy
blow-up (non-finite, E_pot jumps, NVE drift per atom, temperature runaway). The run of a
system stops at its first failure; reported: the temperature of the first failure (None =
stable over the whole ladder) and the highest temperature passed. The state after each
temperature is cached, so an interrupted run resumes at the next temperature.

Units: K, fs, eV, Å.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Tuple

import numpy as np
from ase import Atoms
from ase.build import bulk

from umlip.io import atoms_from_record, atoms_to_record
from umlip.validation.instability import Criteria, first_failure, structure_events, trace_events
from umlip.validation.md import energy_drift, thermalize
from umlip.validation.optimize import relax
from umlip.validation.structures import cu111_slab, top_layer_z, with_h_pair
from umlip.validation.task import Metric, Task, TaskResult
from umlip.validation.tasks.surface import dft_lattice_constant

SYSTEMS = ("bulk_cu", "h2_cu111")


@dataclass
class HotMDSettings:
    """temperatures_K: ladder; systems; bulk_size: cubic cells per side; slab_size;
    timestep_fs per system; nvt_steps, nve_steps per temperature; friction_per_fs (Langevin);
    check_every, record_every [steps]; seed; criteria: :class:`Criteria` fields."""

    temperatures_K: Tuple[float, ...] = (300, 600, 900, 1200, 1500, 2000, 2500, 3000)
    systems: Tuple[str, ...] = SYSTEMS
    bulk_size: int = 2
    slab_size: Tuple[int, int, int] = (3, 3, 3)
    timestep_fs: Dict[str, float] = field(default_factory=lambda: {"bulk_cu": 1.0,
                                                                    "h2_cu111": 0.25})
    nvt_steps: int = 400
    nve_steps: int = 200
    friction_per_fs: float = 0.02
    check_every: int = 10
    record_every: int = 5
    seed: int = 7
    relax_fmax: float = 0.05
    criteria: Dict[str, Any] = field(default_factory=lambda: asdict(Criteria()))

    @classmethod
    def quick(cls) -> "HotMDSettings":
        return cls(temperatures_K=(300, 2000), bulk_size=2, slab_size=(2, 2, 3),
                   timestep_fs={"bulk_cu": 2.0, "h2_cu111": 0.5}, nvt_steps=20, nve_steps=10,
                   check_every=5, record_every=1, relax_fmax=0.1)


@dataclass
class HotMDResult(TaskResult):
    """systems: per system ``segments`` (T_K, phase nvt/nve, mean T [K], NVE drift
    [eV/atom], events, backend), ``first_failure`` (T_K, phase, kind, detail, time_fs) or
    None, ``stable_up_to_K`` (highest temperature completed without events), n_atoms."""

    systems: Dict[str, Any] = field(default_factory=dict)

    def summary(self) -> List[Metric]:
        out = []
        for name, d in self.systems.items():
            ff = d.get("first_failure")
            tmax = d.get("T_max_K")
            be = d.get("backend", self.backend)
            out.append(Metric(f"hot_{name}", f"Hot MD {name}: T of first failure", "K",
                              ff["T_K"] if ff else None,
                              note=f"{ff['kind']}: {ff['detail']}" if ff
                              else f"no failure up to {tmax:g} K", backend=be))
            out.append(Metric(f"hot_{name}_drift", f"Hot MD {name}: max NVE drift", "eV/atom",
                              d.get("max_nve_drift_per_atom"), backend=be))
        return out


class HotMDTask(Task):
    name = "hot_md"
    title = "Hot stability MD"
    Settings = HotMDSettings
    Result = HotMDResult
    reference_names = ("h_cu111",)
    shardable = True        # one shard unit per system (--shard / --jobs)

    def reference_inputs(self):
        # the trajectories depend on the DFT lattice constant only
        return {"h_cu111": dft_lattice_constant(self.refs["h_cu111"])}

    def _run(self, calc) -> HotMDResult:
        s = self.settings
        res = HotMDResult(backend=self.backend)
        backend = self.md_backend()
        crit = Criteria(**s.criteria)
        a0, _ = dft_lattice_constant(self.refs["h_cu111"])
        prog = self.progress(len(s.systems) * len(s.temperatures_K))
        for i, name in enumerate(s.systems):
            d = self.guarded(res, name, self._system, calc, backend, crit, name, a0, prog, i)
            if d is not None:
                res.systems[name] = d
        prog.close()
        return res

    def _initial(self, calc, name: str, a0: float) -> Dict[str, Any]:
        s = self.settings
        if name == "bulk_cu":
            at = bulk("Cu", "fcc", a=a0, cubic=True).repeat((s.bulk_size,) * 3)
            return atoms_to_record(at)     # perfect crystal: no relaxation needed
        if name == "h2_cu111":
            slab = cu111_slab(a0, s.slab_size, vacuum=10.0)
            at = with_h_pair(slab, "fcc+fcc")
            zt = top_layer_z(slab)
            c = at.cell[0, :2] * 0.5 + at.cell[1, :2] * 0.5
            at += Atoms("H2", positions=[[c[0] - 0.37, c[1], zt + 2.5],
                                         [c[0] + 0.37, c[1], zt + 2.5]])
            at.set_constraint(slab.constraints)
            return relax(at, calc, fmax=s.relax_fmax, steps=200)
        raise ValueError(f"unknown system {name!r}; systems: {', '.join(SYSTEMS)}")

    def _system(self, calc, backend, crit: Criteria, name: str, a0: float, prog, index: int):
        """One system heated step by step; ``index``: its shard unit (steps are sequential,
        so a system is never split)."""
        s = self.settings
        state = self.piece(f"{name}/initial", lambda: self._initial(calc, name, a0), index)
        n = len(state["numbers"])
        dt = s.timestep_fs[name]
        segments: List[Dict[str, Any]] = []
        for k, T in enumerate(s.temperatures_K):
            def work(state=state, k=k, T=T):
                at = atoms_from_record(state)
                if k == 0:
                    thermalize(at, T, np.random.default_rng([s.seed, k]))
                segs = []
                for phase, steps in (("nvt", s.nvt_steps), ("nve", s.nve_steps)):
                    t0 = sum(x["n_steps"] for x in segs) * dt

                    def check(a, step, t0=t0):
                        ev = structure_events(a, crit)
                        for e in ev:
                            e["time_fs"] = t0 + step * dt
                        return "; ".join(e["kind"] for e in ev) or None

                    tr = backend.run(at, calc, ensemble="langevin" if phase == "nvt" else "nve",
                                     timestep_fs=dt, n_steps=steps, temperature_K=T,
                                     friction_per_fs=s.friction_per_fs,
                                     seed=int(np.random.default_rng([s.seed, k, 1]).integers(
                                         2**31)), record_every=s.record_every,
                                     check_every=s.check_every, check=check)
                    events = structure_events(at, crit) if tr.stop_reason else []
                    for e in events:
                        e["time_fs"] = t0 + tr.n_steps_done * dt
                    events += trace_events(tr.epot, tr.ekin, tr.temperature, n, phase_ens(phase),
                                           T, crit)
                    drift = energy_drift(tr.time_fs, tr.etot) if phase == "nve" else None
                    segs.append({"T_K": T, "phase": phase, "backend": tr.backend,
                                 "n_steps": tr.n_steps_done, "T_mean": float(np.mean(
                                     tr.temperature[1:] or tr.temperature)),
                                 "nve_drift_per_atom": drift["max_abs_dev"] / n if drift
                                 else None, "events": events})
                    if events:
                        break
                return {"segments": segs, "state": atoms_to_record(at, velocities=True)}

            step = self.piece(f"{name}/T{T:g}", work, index)
            segments += step["segments"]
            state = step["state"]
            prog.update(info=f"{name} {T:g} K")
            if any(x["events"] for x in step["segments"]):
                prog.update(len(s.temperatures_K) - k - 1)
                break
        ff = first_failure(segments)
        passed = [x["T_K"] for x in segments if x["phase"] == "nve" and not x["events"]]
        drifts = [x["nve_drift_per_atom"] for x in segments if x["nve_drift_per_atom"]
                  is not None]
        return {"n_atoms": n, "timestep_fs": dt, "segments": segments, "first_failure": ff,
                "stable_up_to_K": max(passed) if passed else None,
                "T_max_K": max(s.temperatures_K), "backend": segments[0]["backend"],
                "max_nve_drift_per_atom": max(drifts) if drifts else None}

    @classmethod
    def plot_results(cls, results, outdir) -> List[str]:
        from umlip.validation.plotting import colors, pyplot, save

        plt = pyplot()
        col = colors(list(results))
        fig, ax = plt.subplots(figsize=(6, 3.5))
        names = []
        for r in results.values():
            names += [x for x in r.systems if x not in names]
        for lab, r in results.items():
            for k, name in enumerate(names):
                d = r.systems.get(name)
                if d is None:
                    continue
                ok = [x["T_K"] for x in d["segments"] if x["phase"] == "nve" and not x["events"]]
                y = k + 0.1 * list(results).index(lab)
                ax.plot(ok, [y] * len(ok), "o", color=col[lab],
                        label=lab if k == 0 else None)
                if d["first_failure"]:
                    ax.plot([d["first_failure"]["T_K"]], [y], "x", ms=12, mew=3,
                            color=col[lab])
                    ax.annotate(d["first_failure"]["kind"], (d["first_failure"]["T_K"], y),
                                textcoords="offset points", xytext=(5, 5), fontsize=7)
        ax.set_yticks(range(len(names)), names)
        ax.set_xlabel("temperature [K]  (o passed, x first failure)")
        ax.set_title("Hot stability MD")
        ax.legend(fontsize=7)
        return [save(fig, outdir, "hot_md.png")]


def phase_ens(phase: str) -> str:
    return "langevin" if phase == "nvt" else "nve"
