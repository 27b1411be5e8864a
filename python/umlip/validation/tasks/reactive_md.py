"""Task 4: reactive MD - H2 shot at Cu(111): dissociation probability vs incidence energy.

Setup (model-relaxed): Cu(111) slab (``slab_size``, bottom two layers fixed, DFT lattice
constant) and the H2 bond length. Each trajectory (seeded from ``(seed, energy in meV,
index)``, so adding energies or trajectories never changes existing ones): H2 with its
centre of mass ``start_height`` Å above the top layer at a random lateral position, random
orientation, no vibration or rotation (classical, no zero-point energy), moving along -z
with the incidence energy; slab at rest (``surface_temperature_K = 0``) or Maxwell-Boltzmann.
NVE (velocity Verlet) until an outcome:

- dissociated: r(H-H) > ``dissociation_distance`` (2.25 Å);
- reflected: centre of mass back above the start height and moving away;
- trapped: neither within ``max_time_fs`` (counted as not dissociated); by default
  (``max_time_fs=None``) twice the flight time to the surface plus ``extra_time_fs``.

Reported per energy: P(dissociation) with a percentile-bootstrap confidence interval
(``ci_level``) and the exact binomial (Clopper-Pearson) one, which does not collapse to a
point when all trajectories end alike (plots show the exact one), reflection / trapping
fractions, and the NVE total-energy conservation
max |E_tot(t) - E_tot(0)| over each trajectory and over its bond-breaking window
(records with ``window[0] * r_eq < r(H-H) < dissociation_distance``). Every number carries
the MD backend that produced it. ``drift_check`` trajectories per energy are run again at
half the timestep: velocity Verlet on a smooth potential loses energy as dt², so the ratio of
the two max |ΔE_tot| is about 4; a ratio near 1 means the drift comes from the potential
(a discontinuity in energy or force), not from the integrator.

Units: eV, Å, fs, K.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from ase import Atoms

from umlip.io import atoms_from_record
from umlip.units import ase_velocity_to_A_per_fs
from umlip.validation.md import energy_drift
from umlip.validation.optimize import relax
from umlip.validation.stats import binomial_ci, bootstrap_ci
from umlip.validation.structures import cu111_slab, h2_in_box, h2_shot, top_layer_z
from umlip.validation.task import Metric, Task, TaskResult
from umlip.validation.tasks.surface import dft_lattice_constant, hh_distance


@dataclass
class ReactiveMDSettings:
    """energies_eV: incidence energies; n_trajectories per energy; seed; slab_size (nx, ny,
    layers); vacuum [Å]; start_height [Å]; timestep_fs; max_time_fs (None: automatic);
    extra_time_fs; surface_temperature_K; dissociation_distance [Å]; window: lower edge of
    the bond-breaking window in units of r_eq; record_every, check_every [steps]; n_boot,
    ci_level: bootstrap; relax_fmax [eV/Å]; keep_series: time series kept per energy;
    drift_check: trajectories per energy run again at half the timestep (see the module doc).

    Defaults: the p(2x2) three-layer slab of the DFT reference (h_cu111.json), so the
    dissociation threshold is seen in the cell whose barrier the DFT NEB gives (and the common
    cell of AIMD sticking studies of H2/Cu(111)); 0.5 fs steps (about 15 per H2 vibration: the
    NVE drift is reported for every trajectory); four energies around the PBE barrier."""

    energies_eV: Tuple[float, ...] = (0.3, 0.6, 0.9, 1.2)
    n_trajectories: int = 20
    seed: int = 12345
    slab_size: Tuple[int, int, int] = (2, 2, 3)
    vacuum: float = 10.0
    start_height: float = 5.0
    timestep_fs: float = 0.5
    max_time_fs: Optional[float] = None
    extra_time_fs: float = 120.0
    surface_temperature_K: float = 0.0
    dissociation_distance: float = 2.25
    window: float = 1.2
    record_every: int = 5
    check_every: int = 10
    n_boot: int = 4000
    ci_level: float = 0.95
    relax_fmax: float = 0.05
    keep_series: int = 2
    drift_check: int = 1

    @classmethod
    def quick(cls) -> "ReactiveMDSettings":
        return cls(energies_eV=(0.5, 1.5), n_trajectories=4, slab_size=(2, 2, 3),
                   start_height=3.5, timestep_fs=0.5, extra_time_fs=40.0, record_every=2,
                   relax_fmax=0.1, n_boot=500)


@dataclass
class ReactiveMDResult(TaskResult):
    """energies: one row per incidence energy [eV]: counts, p_dissociation with ci_low /
    ci_high (percentile bootstrap) and ci_exact_low / ci_exact_high (Clopper-Pearson),
    p_reflection, p_trapped, NVE drift statistics [eV], backend, and a few
    trajectories' time series (t [fs], r_HH [Å], com_z [Å], dE_tot [eV]); setup: slab /
    H2 preparation."""

    energies: List[Dict[str, Any]] = field(default_factory=list)
    setup: Dict[str, Any] = field(default_factory=dict)

    def summary(self) -> List[Metric]:
        out = []
        be = self.energies[0]["backend"] if self.energies else self.backend
        for row in self.energies:
            out.append(Metric(f"pdiss_{row['energy_eV']:g}",
                              f"P(dissociation) at {row['energy_eV']:g} eV ({row['n']} traj)",
                              "", row["p_dissociation"],
                              note=f"{100 * row['ci_level']:.0f}% CI bootstrap "
                                   f"[{_f(row['ci_low'])}, {_f(row['ci_high'])}], exact "
                                   f"[{_f(row.get('ci_exact_low'))}, "
                                   f"{_f(row.get('ci_exact_high'))}]", backend=row["backend"]))
        if self.energies:
            out.append(Metric("md_drift_max", "Reactive MD: max |E_tot(t) - E_tot(0)| over every "
                              "trajectory (NVE)", "eV",
                              max(r["drift_max"] for r in self.energies), backend=be))
            vals = [r["drift_bond_breaking_max"] for r in self.energies
                    if r["drift_bond_breaking_max"] is not None]
            out.append(Metric("md_drift_break", "Reactive MD: max |E_tot(t) - E_tot(0)| at "
                              f"{self.window_text()} (any outcome, reflected included)", "eV",
                              max(vals) if vals else None, backend=be))
            dist = drift_ratio_distribution(self.energies)
            if dist["n"]:
                out.append(Metric("md_drift_dt_ratio", "Reactive MD: max |ΔE_tot| at dt / at "
                                  "dt/2, median over the checked trajectories (≈4: integrator "
                                  "error of a smooth potential; ≈1 or scattered: the potential "
                                  "is not smooth)", "", dist["median"], backend=be,
                                  note=f"n = {dist['n']}: {dist['min']:.2f}-{dist['max']:.2f}"))
        return out

    def window_text(self) -> str:
        """The r_HH window of the bond-breaking drift row, in Å (model's own H2 r_eq)."""
        w, dd = self.settings.get("window"), self.settings.get("dissociation_distance")
        r_eq = self.setup.get("h2_bond_model")
        if w is None or dd is None:
            return "the bond-breaking window"
        if r_eq is None:
            return f"{w:g} r_eq < r_HH < {dd:g} Å"
        return f"{w * r_eq:.2f} Å < r_HH < {dd:g} Å"


def drift_ratio_distribution(energies: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """The dt/(dt/2) ratios of max |ΔE_tot| over every checked trajectory of every energy
    (``ReactiveMDResult.energies`` rows): ``{"n", "values", "min", "median", "max"}``
    (values sorted; NaN statistics when none was checked)."""
    vals = sorted(float(c["ratio"]) for r in energies for c in r.get("drift_check", [])
                  if c.get("ratio") is not None)
    nan = float("nan")
    return {"n": len(vals), "values": vals, "min": vals[0] if vals else nan,
            "median": float(np.median(vals)) if vals else nan, "max": vals[-1] if vals else nan}


def pairwise_dissociation_tests(results: Dict[str, Any], alpha: float = 0.05,
                                pairs: Optional[Sequence[Tuple[str, str]]] = None
                                ) -> List[Dict[str, Any]]:
    """Every pair of models (or the ``pairs`` given) at every incidence energy both ran:
    counts, the two-sided Fisher exact p, its Holm-Bonferroni adjustment over all the pairs
    and energies listed, and whether each is significant at ``alpha``. ``results``: a
    ``ReactiveMDResult`` or its ``energies`` rows per model."""
    from itertools import combinations

    from umlip.validation.stats import fisher_exact, holm

    rows = []
    for a, b in combinations(list(results), 2) if pairs is None else pairs:
        ea = {r["energy_eV"]: r for r in getattr(results[a], "energies", results[a])}
        eb = {r["energy_eV"]: r for r in getattr(results[b], "energies", results[b])}
        for e in sorted(set(ea) & set(eb)):
            ka, na = ea[e]["n_dissociated"], ea[e]["n"]
            kb, nb = eb[e]["n_dissociated"], eb[e]["n"]
            rows.append({"energy_eV": e, "a": a, "b": b, "k_a": ka, "n_a": na, "k_b": kb,
                         "n_b": nb, "p": fisher_exact(ka, na, kb, nb)})
    for r, adj in zip(rows, holm([r["p"] for r in rows])):
        r.update(p_holm=adj, significant=r["p"] < alpha, significant_holm=adj < alpha,
                 alpha=alpha)
    return sorted(rows, key=lambda r: (r["energy_eV"], r["p"]))


def _f(x) -> str:
    return "—" if x is None else f"{x:.2f}"


def _observe(n_cu: int):
    def obs(atoms: Atoms) -> Dict[str, float]:
        p = atoms.positions
        v = atoms.get_velocities()
        return {"r_hh": float(atoms.get_distance(n_cu, n_cu + 1, mic=True)),
                "com_z": float(p[n_cu:, 2].mean()), "com_vz": float(v[n_cu:, 2].mean())}
    return obs


class ReactiveMDTask(Task):
    name = "reactive_md"
    title = "Reactive MD: H2 on Cu(111)"
    Settings = ReactiveMDSettings
    Result = ReactiveMDResult
    reference_names = ("h_cu111",)
    piece_independent = ("energies_eV", "n_trajectories", "n_boot", "ci_level", "keep_series",
                         "drift_check")
    shardable = True        # trajectories are independent: --shard / --jobs split them

    def reference_inputs(self):
        # the trajectories depend on the DFT lattice constant only
        return {"h_cu111": dft_lattice_constant(self.refs["h_cu111"])}

    def _run(self, calc) -> ReactiveMDResult:
        s, c = self.settings, self.cache
        res = ReactiveMDResult(backend=self.backend)
        backend = self.md_backend()
        a0, src = dft_lattice_constant(self.refs["h_cu111"])
        slab = c.compute("slab", lambda: relax(cu111_slab(a0, s.slab_size, s.vacuum), calc,
                                               fmax=s.relax_fmax))
        h2 = c.compute("h2", lambda: relax(h2_in_box(), calc, fmax=s.relax_fmax / 5))
        r_eq = hh_distance(h2)
        res.setup = {"a0": a0, "a0_source": src, "slab_atoms": len(slab["numbers"]),
                     "h2_bond_model": r_eq, "slab_converged": slab["optimizer_converged"]}
        prog = self.progress(len(s.energies_eV) * s.n_trajectories)
        n_e, n_half = len(s.energies_eV), min(s.drift_check, s.n_trajectories)
        for ie, e_in in enumerate(s.energies_eV):
            trajs, by_k = [], {}
            for k in range(s.n_trajectories):
                n_err = len(res.errors)
                t = self.guarded(res, f"E={e_in} traj {k}", self.piece,
                                 f"E{1000 * e_in:.0f}meV/traj{k:03d}",
                                 lambda: self._trajectory(calc, backend, slab, r_eq, e_in, k),
                                 ie * s.n_trajectories + k)
                if t is not None:
                    trajs.append(t)
                    by_k[k] = t
                prog.update(info=f"E={e_in:g} eV #{k}: " + (
                    t["outcome"] if t else "failed" if len(res.errors) > n_err
                    else "another shard's"))
            halves = []
            for k in range(n_half):
                t = self.guarded(res, f"E={e_in} traj {k} at dt/2", self.piece,
                                 f"E{1000 * e_in:.0f}meV/traj{k:03d}_halfdt",
                                 lambda: self._trajectory(calc, backend, slab, r_eq, e_in, k,
                                                          refine=2),
                                 n_e * s.n_trajectories + ie * n_half + k)
                if t is not None and k in by_k:
                    halves.append((k, by_k[k], t))
            res.energies.append(self._row(e_in, trajs, halves))
        prog.close()
        return res

    def _trajectory(self, calc, backend, slab_rec, r_eq: float, e_in: float,
                    k: int, refine: int = 1) -> Dict[str, Any]:
        """Trajectory ``k`` at ``e_in``; ``refine``: timestep divided by it (recording and
        outcome checks at the same times)."""
        s = self.settings
        dt = s.timestep_fs / refine
        rng = np.random.default_rng([s.seed, int(round(1000 * e_in)), k])
        slab = atoms_from_record(slab_rec)
        n_cu = len(slab)
        z0 = top_layer_z(slab) + s.start_height
        atoms = h2_shot(slab, r_eq, e_in, s.start_height, rng, s.surface_temperature_K)
        u, frac = atoms.info.pop("orientation"), atoms.info.pop("lateral_fraction")

        def outcome(a: Atoms, step: int):
            p = a.positions
            if a.get_distance(n_cu, n_cu + 1, mic=True) > s.dissociation_distance:
                return "dissociated"
            vz = a.get_velocities()[n_cu:, 2].mean()
            if p[n_cu:, 2].mean() > z0 + 0.1 and vz > 0:
                return "reflected"
            return None

        v_in = ase_velocity_to_A_per_fs(np.sqrt(2 * e_in / atoms.get_masses()[n_cu:].sum()))
        t_max = s.max_time_fs or 2 * s.start_height / v_in + s.extra_time_fs
        n_steps = int(round(t_max / dt))
        tr = backend.run(atoms, calc, ensemble="nve", timestep_fs=dt,
                         n_steps=n_steps, record_every=s.record_every * refine,
                         check_every=s.check_every * refine, check=outcome,
                         observe=_observe(n_cu))
        out = tr.stop_reason if tr.stop_reason in ("dissociated", "reflected") else (
            "trapped" if tr.stop_reason is None else "failed")
        r_hh = np.array(tr.extra["r_hh"])
        win = (r_hh > s.window * r_eq) & (r_hh < s.dissociation_distance)
        return {"outcome": out, "stop_reason": tr.stop_reason, "backend": tr.backend,
                "timestep_fs": dt,
                "time_fs": tr.time_fs, "r_hh": r_hh, "com_z": tr.extra["com_z"],
                "etot_dev": tr.etot - tr.etot[0],
                "drift": energy_drift(tr.time_fs, tr.etot),
                "drift_window": energy_drift(tr.time_fs, tr.etot, win) if win.any() else None,
                "min_r_hh": float(r_hh.min()), "orientation": u, "lateral_fraction": frac}

    def _row(self, e_in: float, trajs: List[Dict[str, Any]],
             halves: Sequence[Tuple[int, Dict[str, Any], Dict[str, Any]]] = ()
             ) -> Dict[str, Any]:
        """One row of the result; ``halves``: (index, trajectory, the same at dt/2)."""
        s = self.settings
        check = []
        for k, full, h in halves:
            a, b = full["drift"]["max_abs_dev"], h["drift"]["max_abs_dev"]
            check.append({"trajectory": k, "timestep_fs": full["timestep_fs"],
                          "max_abs_dev": a, "max_abs_dev_half_dt": b,
                          "ratio": a / b if b > 0 else None,
                          "outcome": full["outcome"], "outcome_half_dt": h["outcome"]})
        outc = [t["outcome"] for t in trajs]
        diss = np.array([o == "dissociated" for o in outc], float)
        ci = bootstrap_ci(diss, n_boot=s.n_boot, level=s.ci_level,
                          seed=s.seed + int(round(1000 * e_in)))
        exact = binomial_ci(int(diss.sum()), len(diss), s.ci_level)
        dw = [t["drift_window"]["max_abs_dev"] for t in trajs if t["drift_window"]]
        keep = sorted(trajs, key=lambda t: t["outcome"] != "dissociated")[:s.keep_series]
        return {"energy_eV": e_in, "n": len(trajs), "backend": trajs[0]["backend"] if trajs
                else self.backend,
                "n_dissociated": outc.count("dissociated"), "n_reflected": outc.count(
                    "reflected"), "n_trapped": outc.count("trapped"),
                "n_failed": outc.count("failed"),
                "p_dissociation": ci["estimate"], "ci_low": ci["low"], "ci_high": ci["high"],
                "ci_exact_low": exact["low"], "ci_exact_high": exact["high"],
                "ci_level": s.ci_level, "p_reflection": outc.count("reflected") / max(len(outc), 1),
                "p_trapped": outc.count("trapped") / max(len(outc), 1),
                "drift_max": max((t["drift"]["max_abs_dev"] for t in trajs), default=None),
                "drift_mean": float(np.mean([t["drift"]["max_abs_dev"] for t in trajs]))
                if trajs else None,
                "drift_bond_breaking_max": max(dw) if dw else None,
                "drift_check": check,
                "series": [{k: t[k] for k in ("outcome", "time_fs", "r_hh", "com_z", "etot_dev")}
                           for t in keep]}

    @classmethod
    def report_lines(cls, results) -> List[str]:
        """The significance of every model-vs-model difference of P(dissociation) (Fisher
        exact, two-sided, alpha 0.05; Holm-adjusted over the table) and the dt/(dt/2) drift
        ratios per model."""
        out: List[str] = []
        tests = pairwise_dissociation_tests(results)
        if tests:
            alpha = tests[0]["alpha"]
            out += ["", f"Model vs model, P(dissociation): two-sided Fisher exact test, "
                    f"significant at alpha = {alpha:g} per comparison, and after Holm-Bonferroni "
                    f"adjustment over the {len(tests)} comparisons below (family-wise). "
                    "A difference that is not significant is not resolved by these trajectory "
                    "counts.", "",
                    "| E [eV] | Models | Dissociated | p (Fisher) | Significant | p (Holm) "
                    "| Significant (Holm) |", "|---|---|---|---|---|---|---|"]
            for t in tests:
                out.append(f"| {t['energy_eV']:g} | {t['a']} vs {t['b']} | {t['k_a']}/{t['n_a']} "
                           f"vs {t['k_b']}/{t['n_b']} | {t['p']:.3g} | "
                           f"{'yes' if t['significant'] else 'no'} | {t['p_holm']:.3g} | "
                           f"{'yes' if t['significant_holm'] else 'no'} |")
        ratios = {lab: drift_ratio_distribution(r.energies) for lab, r in results.items()}
        if any(d["n"] for d in ratios.values()):
            out += ["", "dt/(dt/2) ratio of max |E_tot(t) - E_tot(0)|, every checked trajectory "
                    "(the committed runs rerun one trajectory per energy at dt/2; "
                    "`drift_check` sets how many): "
                    + "; ".join(f"*{lab}*: " + ", ".join(f"{v:.2f}" for v in d["values"])
                                for lab, d in ratios.items() if d["n"]) + ". "
                    "Velocity Verlet on a smooth potential gives ≈4 (error ∝ dt²). Values far "
                    "from 4 on both sides, or ≈1, mean the maximum is set by a few steps over "
                    "rough parts of the potential, whose error depends on where the steps land "
                    "rather than on dt² (so the ratio of two such maxima scatters); a different "
                    "outcome or end time at dt/2 also compares different paths."]
        return out

    @classmethod
    def plot_results(cls, results, outdir) -> List[str]:
        from umlip.validation.plotting import colors, pyplot, save

        plt = pyplot()
        col = colors(list(results))
        fig, ax = plt.subplots(figsize=(5.5, 4))
        allE = [x["energy_eV"] for r in results.values() for x in r.energies]
        dodge = 0.01 * (max(allE) - min(allE) or 1.0)       # keep error bars apart
        for k, (lab, r) in enumerate(results.items()):
            if not r.energies:
                continue
            e = np.array([x["energy_eV"] for x in r.energies]) + k * dodge
            p = np.array([x["p_dissociation"] for x in r.energies], float)
            # exact (Clopper-Pearson) bars: the bootstrap collapses to a point at 0/n and n/n
            lo = np.array([x.get("ci_exact_low", x["ci_low"]) for x in r.energies], float)
            hi = np.array([x.get("ci_exact_high", x["ci_high"]) for x in r.energies], float)
            ax.errorbar(e, p, yerr=[p - lo, hi - p], marker="o", capsize=3, color=col[lab],
                        label=f"{lab} ({r.energies[0]['backend']})")
        ax.set_xlabel("incidence energy [eV]")
        ax.set_ylabel("dissociation probability")
        ax.set_ylim(-0.05, 1.05)
        ax.set_title("H2 on Cu(111), exact (Clopper-Pearson) CI")
        ax.legend(fontsize=7)
        out = [save(fig, outdir, "reactive_md_probability.png")]
        fig, (a1, a2) = plt.subplots(2, 1, figsize=(6, 5.5), sharex=True)
        for lab, r in results.items():
            for row in r.energies:
                for sr in row["series"][:1]:
                    a1.plot(sr["time_fs"], sr["r_hh"], color=col[lab], alpha=0.8)
                    a2.plot(sr["time_fs"], sr["etot_dev"], color=col[lab], alpha=0.8,
                            label=f"{lab} {row['energy_eV']:g} eV ({sr['outcome']})")
        a1.set_ylabel("r(H-H) [Å]")
        a2.set_ylabel("E_tot(t) - E_tot(0) [eV]")
        a2.set_xlabel("time [fs]")
        a2.legend(fontsize=6)
        a1.set_title("NVE energy conservation during the collision")
        out.append(save(fig, outdir, "reactive_md_energy.png"))
        return out
