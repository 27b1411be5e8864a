"""Task 2: H and H2 on Cu(111) (p(2x2), 3 layers, bottom two fixed) vs GPAW PBE.

The model relaxes its own geometries starting from the DFT ones (same fixed atoms and
constraints; structures built as in the recipe when a DFT stage does not exist yet), and is
also evaluated at the DFT geometries (single points). Reported, each model vs DFT:

- fcc Cu lattice constant (model EOS) and the slab lattice constant used (the DFT one);
- H2 bond length and H2 binding energy 2 E(H) - E(H2) (H atom and H2 in a 12 Å box);
- adsorption energies E(slab+H) - E(slab) - 1/2 E(H2) at fcc / hcp / top sites:
  ``relaxed`` (all model-relaxed) and ``at_dft`` (all at the DFT geometries);
- 2H dissociated pairs and the far H2 state: E - E(slab) - E(H2);
- dissociation barrier: model CI-NEB (the DFT NEB's images as the start path when it exists,
  resampled along it for another image count, else 7 images from IDPP) from the far H2
  to the dissociated state that DFT found lowest (else the model's lowest pair); barrier
  vs gas-phase H2 = E(highest image) - E(slab) - E(H2), and barrier vs the far state.
  DFT: its own CI-NEB if present (flagged partial while the recipe is still converging it).
  If DFT NEB images exist, the model is also evaluated on them (same path, model energies).
  No DFT single points along the model's path exist offline: that comparison is not made.
  That route dissociates H2 over a top site;
- the bridge-to-hollow route, the lowest in PBE: the 2H pair relaxed from the fcc and hcp
  hollows on both sides of one bridge (``structures.BRIDGE_PAIR``), H2 far above that
  bridge, axis across the Cu-Cu bond, and the CI-NEB between them, compared in the same way
  with the recipe's bridge-route CI-NEB (``bridge_route`` of the DFT file).

Energies eV, lengths Å.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from umlip.io import atoms_from_record
from umlip.validation.optimize import neb_path, profile_at, resample_path, single_point
from umlip.validation.structures import (BRIDGE_PAIR, atom_in_box, cu111_slab, fixed_indices,
                                         h2_in_box, with_adsorbate, with_h2_far, with_h_pair)
from umlip.validation.systems import H_SITE_HEIGHT
from umlip.validation.task import Metric, Task, TaskResult
from umlip.validation.tasks.surface import (dft_lattice_constant, height_above_surface, hh_distance,
                                       model_bulk, relax_pair)

SITES = ("fcc", "hcp", "ontop")
PAIRS = ("fcc+fcc", "hcp+hcp", "fcc+hcp")


@dataclass
class H2Cu111Settings:
    """fmax [eV/Å] / relax_steps: BFGS relaxations (H2 molecule: fmax/5);
    neb_images: images in total incl. endpoints (None: as many as the DFT NEB, else 7); the
    DFT NEB path, resampled to that count, is the start when it exists, else IDPP;
    neb_fmax [eV/Å]; neb_steps (FIRE); bridge_route: also the bridge-to-hollow route."""

    fmax: float = 0.05
    relax_steps: int = 300
    neb_images: Optional[int] = None
    neb_fmax: float = 0.05
    neb_steps: int = 600
    sites: Tuple[str, ...] = SITES
    pairs: Tuple[str, ...] = PAIRS
    bridge_route: bool = True

    @classmethod
    def quick(cls) -> "H2Cu111Settings":
        return cls(fmax=0.1, relax_steps=60, neb_images=5, neb_fmax=0.3, neb_steps=60)


@dataclass
class H2Cu111Result(TaskResult):
    """bulk: model a0 [Å], B [GPa] vs DFT; h2: bond [Å], binding [eV]; sites / pairs /
    h2_far: per state model (relaxed, at_dft) and DFT energies [eV] and geometry summaries
    [Å]; neb: model CI-NEB, DFT NEB (if any), model on the DFT images; final_state: which
    dissociated pair the NEB ends in and why; bridge: the bridge-to-hollow route (its pair
    and far H2 as ``pairs`` / ``h2_far``, its NEB as ``neb``)."""

    bulk: Dict[str, Any] = field(default_factory=dict)
    h2: Dict[str, Any] = field(default_factory=dict)
    sites: Dict[str, Any] = field(default_factory=dict)
    pairs: Dict[str, Any] = field(default_factory=dict)
    h2_far: Dict[str, Any] = field(default_factory=dict)
    neb: Dict[str, Any] = field(default_factory=dict)
    final_state: Dict[str, Any] = field(default_factory=dict)
    bridge: Dict[str, Any] = field(default_factory=dict)

    def summary(self) -> List[Metric]:
        out = []
        b, h = self.bulk, self.h2
        if b:
            out.append(Metric("cu_a0", "Cu lattice constant", "Å", b.get("a0_model"),
                              b.get("a0_dft")))
        if h:
            out.append(Metric("h2_bond", "H2 bond length", "Å", h.get("bond_model"),
                              h.get("bond_dft")))
            out.append(Metric("h2_binding", "H2 binding energy 2E(H)-E(H2)", "eV",
                              h.get("binding_model"), h.get("binding_dft")))
        for s, d in self.sites.items():
            out.append(Metric(f"Eads_{s}", f"E_ads H {s} (relaxed)", "eV", d.get("relaxed"),
                              d.get("dft")))
            if d.get("at_dft") is not None:
                out.append(Metric(f"Eads_{s}_dftgeom", f"E_ads H {s} at DFT geometry", "eV",
                                  d.get("at_dft"), d.get("dft")))
        fs = self.final_state.get("pair")
        if fs and fs in self.pairs:
            d = self.pairs[fs]
            out.append(Metric("E_2H", f"2H ({fs}) vs slab + H2(g)", "eV", d.get("relaxed"),
                              d.get("dft")))
        out += _barrier_metrics(self.neb, "", "")
        br = self.bridge
        if br.get("pair"):
            out.append(Metric("E_2H_bridge", f"2H ({BRIDGE_PAIR}) vs slab + H2(g)", "eV",
                              br["pair"].get("relaxed"), br["pair"].get("dft")))
        out += _barrier_metrics(br.get("neb") or {}, "_bridge", ", bridge-to-hollow route")
        return out


class H2Cu111Task(Task):
    name = "h2_cu111"
    title = "H and H2 on Cu(111)"
    Settings = H2Cu111Settings
    Result = H2Cu111Result
    reference_names = ("h_cu111",)

    def _run(self, calc) -> H2Cu111Result:
        s, ref = self.settings, self.refs["h_cu111"]
        res = H2Cu111Result()
        a0, a0_src = dft_lattice_constant(ref)
        prog = self.progress(4 + len(s.sites) + len(s.pairs) + 2 + int(s.bridge_route))
        res.bulk = self._bulk(calc, a0, a0_src)
        prog.update(info="bulk")
        h2, h2_sp, res.h2 = self._h2(calc)
        prog.update(info="H2")
        cd = self._dft("slab.clean_slab")
        clean_start = atoms_from_record(cd) if cd else cu111_slab(a0)
        clean, clean_sp = relax_pair(self.cache, calc, "clean", clean_start, cd, s.fmax,
                                     s.relax_steps)
        prog.update(info="clean slab")
        h2d = self._dft("H2_molecule")
        zero = _Zero(relaxed=clean["energy"] + h2["energy"],
                     at_dft=(clean_sp["energy"] + h2_sp["energy"]) if (clean_sp and h2_sp)
                     else None,
                     dft=(cd["energy"] + h2d["energy"]) if (cd and h2d) else None)
        for site in s.sites:
            d = self.guarded(res, f"H_{site}", self._site, calc, site, clean, h2, h2_sp, zero,
                             a0)
            if d is not None:
                res.sites[site] = d
            prog.update(info=f"H {site}")
        pair_recs = {}
        for pair in s.pairs:
            r = self.guarded(res, f"2H_{pair}", self._pair, calc, pair, clean, zero)
            if r is not None:
                pair_recs[pair], res.pairs[pair] = r
            prog.update(info=f"2H {pair}")
        if not pair_recs:
            prog.close("no dissociated state")
            return res
        res.final_state = self._final_state(pair_recs)
        final = res.final_state["pair"]
        far, res.h2_far = self._far(calc, clean, pair_recs[final], h2, zero)
        prog.update(info="H2 far")
        self._neb(calc, res, clean, far, pair_recs[final], zero, prog)
        prog.update(info="NEB")
        if s.bridge_route:
            self.guarded(res, "bridge_route", self._bridge, calc, res, clean, h2, zero, prog)
            prog.update(info="bridge route")
        prog.close()
        return res

    # -- the steps of _run ------------------------------------------------------------------
    def _dft(self, key: str) -> Any:
        """The DFT value at dotted ``key`` (None without the file or the key)."""
        ref = self.refs["h_cu111"]
        return ref.get(key) if ref is not None else None

    def _bulk(self, calc, a0: float, a0_src: str) -> Dict[str, Any]:
        """Model EOS of fcc Cu vs DFT; ``a0`` [Å] is the lattice constant of the slabs."""
        b = model_bulk(self.cache, calc, a0)
        return {"a0_model": b["a0"], "a0_dft": self._dft("lattice_constant_a0"),
                "bulk_modulus_GPa_model": b["bulk_modulus_GPa"],
                "bulk_modulus_GPa_dft": self._dft("bulk_cu.bulk_modulus_GPa"),
                "a0_slabs": a0, "a0_slabs_source": a0_src, "eos": b}

    def _h2(self, calc):
        """(relaxed H2 record, H2 at the DFT geometry or None, the ``h2`` result section)."""
        s, c = self.settings, self.cache
        h2d = self._dft("H2_molecule")
        h2_start = atoms_from_record(h2d) if h2d else h2_in_box()
        h2, h2_sp = relax_pair(c, calc, "H2", h2_start, h2d, s.fmax / 5, s.relax_steps)
        hat = c.compute("H_atom", lambda: single_point(atom_in_box("H"), calc))
        return h2, h2_sp, {
            "bond_model": hh_distance(h2), "bond_dft": self._dft("H2_molecule.bond_length"),
            "energy_model": h2["energy"], "binding_model": 2 * hat["energy"] - h2["energy"],
            "binding_dft": self._dft("H2_binding_energy"),
            "energy_model_at_dft": h2_sp["energy"] if h2_sp else None}

    def _site(self, calc, site: str, clean, h2, h2_sp, zero: "_Zero", a0: float
              ) -> Dict[str, Any]:
        """One H at ``site``: adsorption energies (relaxed, at the DFT geometry, DFT)."""
        s = self.settings
        d = self._dft(f"slab.H_sites.{site}")
        start = atoms_from_record(d) if d else with_adsorbate(
            atoms_from_record(clean), "H", H_SITE_HEIGHT[site], site, a0)
        rel, sp = relax_pair(self.cache, calc, f"H_{site}", start, d, s.fmax, s.relax_steps)
        return {"relaxed": rel["energy"] - zero.relaxed + 0.5 * h2["energy"],
                "at_dft": (sp["energy"] - zero.at_dft + 0.5 * h2_sp["energy"])
                if (sp and zero.at_dft is not None) else None,
                "dft": d.get("adsorption_energy") if d else None,
                "height_model": height_above_surface(rel),
                "height_dft": height_above_surface(d) if d else None,
                "converged": rel["optimizer_converged"]}

    def _pair(self, calc, pair: str, clean, zero: "_Zero"):
        """Two H on the hollow sites ``pair``: (relaxed record, result section)."""
        s = self.settings
        d = self._dft(f"slab.dissociated_candidates.{pair}")
        start = atoms_from_record(d) if d else with_h_pair(atoms_from_record(clean), pair)
        rel, sp = relax_pair(self.cache, calc, "2H_" + pair.replace("+", "_"), start, d,
                             s.fmax, s.relax_steps)
        return rel, _pair_section(rel, sp, d, zero)

    def _final_state(self, pair_recs: Dict[str, Any]) -> Dict[str, Any]:
        """The dissociated pair the NEB ends in: DFT's lowest, else the model's."""
        dft_best = self._dft("slab.dissociated_state")
        model_best = min(pair_recs, key=lambda k: pair_recs[k]["energy"])
        final = dft_best if dft_best in pair_recs else model_best
        return {"pair": final, "dft_lowest": dft_best, "model_lowest": model_best,
                "why": "DFT's lowest pair" if final == dft_best else
                "model's lowest pair (no DFT pair data)"}

    def _far(self, calc, clean, pair_rec, h2, zero: "_Zero"):
        """H2 parallel to the surface above the final pair: (relaxed record, result section)."""
        s = self.settings
        d = self._dft("slab.H2_far")
        start = atoms_from_record(d) if d else with_h2_far(
            atoms_from_record(clean), atoms_from_record(pair_rec), hh_distance(h2))
        far, far_sp = relax_pair(self.cache, calc, "H2_far", start, d, s.fmax, s.relax_steps)
        return far, {**_energies(far, far_sp, d, zero),
                     "height_model": height_above_surface(far, 2),
                     "height_dft": height_above_surface(d, 2) if d else None}

    def _neb(self, calc, res: H2Cu111Result, clean, far, pair_rec, zero: "_Zero", prog
             ) -> None:
        """Model CI-NEB from the far H2 to the final pair, the DFT NEB, and the model on the
        DFT images (into ``res.neb`` and ``res.notes``)."""
        same_final = self._dft("slab.dissociated_state") == res.final_state["pair"]
        res.neb = self._route_neb(calc, res, "neb", "neb", clean, far, pair_rec, zero, prog,
                                  dft_start=same_final)
        if res.neb.get("dft"):
            partial = "neb" in self.refs["h_cu111"].partial
            res.notes.append("barriers: 'model' = the model's own CI-NEB; 'DFT' = the DFT "
                             "CI-NEB" + (" (unconverged, partial path)" if partial else "")
                             + "; 'on the DFT path' = model energies at the DFT NEB images")

    def _bridge(self, calc, res: H2Cu111Result, clean, h2, zero: "_Zero", prog) -> None:
        """The bridge-to-hollow route: its 2H pair, far H2 and CI-NEB (into ``res.bridge``)."""
        s = self.settings
        d = self._dft("bridge_route.dissociated_state")
        start = atoms_from_record(d) if d else with_h_pair(atoms_from_record(clean),
                                                           BRIDGE_PAIR)
        key = "2H_" + BRIDGE_PAIR.replace("+", "_")
        pair, pair_sp = relax_pair(self.cache, calc, key, start, d, s.fmax, s.relax_steps)
        res.bridge["pair"] = _pair_section(pair, pair_sp, d, zero)
        fd = self._dft("bridge_route.H2_far")
        # above the bridge itself: the midpoint of the pair's start sites, axis across the bond
        far_start = atoms_from_record(fd) if fd else with_h2_far(
            atoms_from_record(clean), with_h_pair(atoms_from_record(clean), BRIDGE_PAIR),
            hh_distance(h2))
        far, far_sp = relax_pair(self.cache, calc, "H2_far_bridge", far_start, fd, s.fmax,
                                 s.relax_steps)
        res.bridge["h2_far"] = _energies(far, far_sp, fd, zero)
        res.bridge["neb"] = self._route_neb(calc, res, "neb_bridge", "bridge_route.neb", clean,
                                            far, pair, zero, prog, dft_start=True)

    def _route_neb(self, calc, res: H2Cu111Result, key: str, dft_key: str, clean, far,
                   pair_rec, zero: "_Zero", prog, dft_start: bool) -> Dict[str, Any]:
        """One route: the model's CI-NEB from ``far`` to ``pair_rec`` (cache piece ``key``;
        the DFT images at ``dft_key`` as its start path when ``dft_start``), the DFT NEB,
        and the model on the DFT images."""
        s, c = self.settings, self.cache
        tag = "" if key == "neb" else "bridge route: "
        out: Dict[str, Any] = {}
        fixed = fixed_indices(atoms_from_record(clean))
        dn = self._dft(dft_key)
        partial = dft_key in self.refs["h_cu111"].partial
        n_img = s.neb_images or (len(dn["images"]) if dn else 7)
        mid = None
        if dn and dft_start:
            # the DFT images as the start (resampled along the path for another image count)
            imgs = [atoms_from_record(x) for x in dn["images"]]
            mid = (imgs if len(imgs) == n_img else resample_path(imgs, n_img))[1:-1]
        nb = self.guarded(res, key, c.compute, key, lambda: neb_path(
            atoms_from_record(far), atoms_from_record(pair_rec), calc,
            n_images=n_img, fmax=s.neb_fmax, steps=s.neb_steps, fixed=fixed,
            mid_images=mid,
            log=lambda n, f: prog.message(f"NEB step {n}: max force {f:.3f} eV/Å")))
        if nb is not None:
            nb["barrier_vs_gas"] = float(np.max(nb["energies"])) - zero.relaxed
            out["model"] = nb
            if not nb["optimizer_converged"]:
                res.notes.append(f"{tag}model CI-NEB not converged in {s.neb_steps} steps "
                                 f"(max NEB force {nb['max_neb_force_final']:.3f} eV/Å)")
        if not dn:
            if "model" in out:
                res.notes.append(f"{tag}no DFT NEB yet: the model's CI-NEB barrier is "
                                 "reported without a DFT value (DFT single points along the "
                                 "model path cannot be computed offline)")
            return out
        imgs = [atoms_from_record(x) for x in dn["images"]]
        e_d = np.array([x["energy"] for x in dn["images"]])
        out["dft"] = {
            "energies_rel_initial": e_d - e_d[0], "barrier_forward": dn["barrier_forward"],
            "barrier_reverse": dn["barrier_reverse"],
            "barrier_vs_gas": float(e_d.max() - zero.dft) if zero.dft is not None
            else dn.get("barrier_vs_gas_H2"),
            "converged": dn.get("optimizer_converged"),
            "partial": partial, "status": dn.get("status", "final"),
            "n_images_total": dn.get("n_images_total"),
            "path": _path_length(imgs)}
        p = c.compute(f"{key}_at_dft_images", lambda: profile_at(imgs, calc))
        if zero.at_dft is not None:
            p["barrier_vs_gas"] = float(np.max(p["energies"]) - zero.at_dft)
        out["model_at_dft_images"] = p
        return out

    @classmethod
    def plot_results(cls, results, outdir) -> List[str]:
        from umlip.validation.plotting import colors, pyplot, save

        plt = pyplot()
        col = colors(list(results))
        out = []
        # adsorption energies: bars per site, models + DFT
        fig, ax = plt.subplots(figsize=(6.5, 3.8))
        labels = list(SITES) + [f"2H {p}" for p in PAIRS] + ["H2 far"]
        width = 0.8 / (len(results) + 1)
        x = np.arange(len(labels))
        first = next(iter(results.values()))
        dft = [first.sites.get(s_, {}).get("dft") for s_ in SITES] + \
              [first.pairs.get(p, {}).get("dft") for p in PAIRS] + [first.h2_far.get("dft")]
        ax.bar(x, [np.nan if v is None else v for v in dft], width, color="black",
               label="DFT (PBE)")
        for k, (lab, r) in enumerate(results.items(), start=1):
            vals = [r.sites.get(s_, {}).get("relaxed") for s_ in SITES] + \
                   [r.pairs.get(p, {}).get("relaxed") for p in PAIRS] + [r.h2_far.get("relaxed")]
            ax.bar(x + k * width, [np.nan if v is None else v for v in vals], width,
                   color=col[lab], label=lab)
        ax.axhline(0, color="gray", lw=0.5)
        ax.set_xticks(x + 0.4 - width / 2, labels, rotation=30, fontsize=8)
        ax.set_ylabel("E vs slab + H2(g) [eV]\n(H sites: per H, vs 1/2 H2)")
        ax.set_title("H / H2 on Cu(111): model-relaxed energies")
        ax.legend(fontsize=7)
        out.append(save(fig, outdir, "h2_cu111_energies.png"))
        # NEB profiles, one panel per route
        routes = [("top-site route", lambda r: r.neb)]
        if any((r.bridge or {}).get("neb") for r in results.values()):
            routes.append(("bridge-to-hollow route", lambda r: r.bridge.get("neb") or {}))
        fig, axes = plt.subplots(1, len(routes), figsize=(6 * len(routes), 4), squeeze=False)
        for ax, (title, neb_of) in zip(axes[0], routes):
            _draw_route(ax, {lab: neb_of(r) for lab, r in results.items()}, col)
            ax.set_title(f"H2 dissociation on Cu(111), {title}", fontsize=9)
        out.append(save(fig, outdir, "h2_cu111_neb.png"))
        return out


def _energies(rel, sp, d, zero: "_Zero") -> Dict[str, Any]:
    """Energies of one configuration relative to the clean slab + gas H2: the model relaxed
    (``rel``), the model at the DFT geometry (``sp``) and DFT (``d``); None where missing."""
    return {"relaxed": rel["energy"] - zero.relaxed,
            "at_dft": sp["energy"] - zero.at_dft if (sp and zero.at_dft is not None) else None,
            "dft": d["energy"] - zero.dft if (d and zero.dft is not None) else None}


def _pair_section(rel, sp, d, zero: "_Zero") -> Dict[str, Any]:
    """A 2H pair's result section: its energies, H-H distances and whether it relaxed."""
    return {**_energies(rel, sp, d, zero),
            "hh_model": hh_distance(rel), "hh_dft": hh_distance(d) if d else None,
            "converged": rel["optimizer_converged"]}


def _draw_route(ax, nebs: Dict[str, Dict[str, Any]], col) -> None:
    """Energy profiles of one route: each model's CI-NEB and its energies on the DFT path,
    and the DFT CI-NEB (``nebs``: label -> the route's NEB section)."""
    drew = False
    for lab, n in nebs.items():
        m = n.get("model")
        if m:
            off = m["barrier_vs_gas"] - m["barrier_forward"]   # E(initial) - E(slab+H2)
            ax.plot(m["fit_path"], np.array(m["fit_energies_rel"]) + off, color=col[lab])
            ax.plot(m["path"], np.array(m["energies_rel_initial"]) + off, "o",
                    color=col[lab], label=f"{lab} CI-NEB")
            drew = True
        p, d = n.get("model_at_dft_images"), n.get("dft")
        if p and d and p.get("barrier_vs_gas") is not None:
            off = p["barrier_vs_gas"] - p["barrier_forward"]
            ax.plot(d["path"], np.array(p["energies_rel_initial"]) + off, "s--",
                    color=col[lab], mfc="none", label=f"{lab} on DFT path")
    d = next(iter(nebs.values()), {}).get("dft")
    if d and d.get("barrier_vs_gas") is not None:
        off = d["barrier_vs_gas"] - d["barrier_forward"]
        ax.plot(d["path"], np.array(d["energies_rel_initial"]) + off, "ko-",
                label="DFT CI-NEB" + (" (partial)" if d.get("partial") else ""))
        drew = True
    ax.set_xlabel("path length [Å]")
    ax.set_ylabel("E - E(slab) - E(H2, gas) [eV]")
    if drew:
        ax.legend(fontsize=7)


def subsurface_images(nb: Dict[str, Any]) -> List[int]:
    """Indices of the NEB images (records) in which an H atom lies below the top Cu layer."""
    out = []
    for i, rec in enumerate(nb.get("images", [])):
        z, num = np.array(rec["positions"])[:, 2], np.array(rec["numbers"])
        if (num == 1).any() and (num != 1).any() and z[num == 1].min() < z[num != 1].max():
            out.append(i)
    return out


def _barrier_metrics(neb: Dict[str, Any], suffix: str, route: str) -> List[Metric]:
    """The barrier rows of one route's NEB section (model CI-NEB; model on the DFT path).
    A model CI-NEB that did not converge gives no barrier, only why."""
    out = []
    dft = neb.get("dft") or {}
    m = neb.get("model")
    if m:
        value, note = m.get("barrier_vs_gas"), Metric.neb_note(m, dft)
        if m.get("optimizer_converged") is False:
            value, below = None, subsurface_images(m)
            note = "no barrier: " + note + (
                f"; H below the top Cu layer in image(s) {', '.join(map(str, below))}: the "
                "model's path goes into the slab" if below else "")
        out.append(Metric(f"h2_barrier{suffix}_gas",
                          f"H2 dissociation barrier vs H2(g) (CI-NEB{route})", "eV",
                          value, dft.get("barrier_vs_gas"), note=note))
    if neb.get("model_at_dft_images"):
        out.append(Metric(f"h2_barrier{suffix}_dftpath",
                          f"H2 barrier vs H2(g) on the DFT path{route}", "eV",
                          neb["model_at_dft_images"].get("barrier_vs_gas"),
                          dft.get("barrier_vs_gas"), note="DFT NEB partial"
                          if dft.get("partial") else ""))
    return out


@dataclass
class _Zero:
    """The energy zero E(clean slab) + E(H2) [eV]: model-relaxed, model at the DFT
    geometries (None without them), DFT (None without it)."""

    relaxed: float
    at_dft: Optional[float]
    dft: Optional[float]


def _path_length(images) -> List[float]:
    s = [0.0]
    for a, b in zip(images[:-1], images[1:]):
        s.append(s[-1] + float(np.linalg.norm(b.positions - a.positions)))
    return s
