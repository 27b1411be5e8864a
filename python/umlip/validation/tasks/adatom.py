"""Task 3: early crystal growth - a Cu adatom on Cu(111) (p(2x2), 3 layers) vs GPAW PBE.

The model relaxes the clean slab and the adatom in the fcc and hcp hollows starting from
the DFT geometries (or from the recipe's construction when they do not exist), and runs a
CI-NEB of the fcc -> hcp hop through the bridge site (start path: the DFT NEB images when
the image counts agree, else the DFT bridge geometry for a single moving image, else IDPP).
Reported vs DFT:
E(hcp) - E(fcc), the hop barriers fcc->hcp and hcp->fcc, the bridge-constrained energy
(adatom x, y fixed at the bridge, as in the recipe), the binding energy
E(slab+adatom) - E(slab) - E_bulk (model bulk energy per atom at the same lattice constant),
and every energy also from model single points at the DFT geometries.

Energies eV, lengths Å.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import numpy as np

from umlip.io import atoms_from_record
from umlip.validation.optimize import neb_path, profile_at
from umlip.validation.structures import cu111_slab, fixed_indices, nearest_image, with_adsorbate
from umlip.validation.systems import ADATOM_HEIGHT
from umlip.validation.task import Metric, Task, TaskResult
from umlip.validation.tasks.surface import dft_lattice_constant, model_bulk, relax_pair


@dataclass
class AdatomSettings:
    """fmax [eV/Å], relax_steps: BFGS; neb_images (total, incl. endpoints; None: as the DFT
    NEB, whose images then start the path, else 5 from IDPP), neb_fmax [eV/Å], neb_steps."""

    fmax: float = 0.05
    relax_steps: int = 300
    neb_images: Optional[int] = None
    neb_fmax: float = 0.03
    neb_steps: int = 500

    @classmethod
    def quick(cls) -> "AdatomSettings":
        return cls(fmax=0.1, relax_steps=60, neb_images=3, neb_fmax=0.1, neb_steps=60)


@dataclass
class AdatomResult(TaskResult):
    """energies: per quantity {"relaxed", "at_dft", "dft"} [eV]; neb: model CI-NEB record,
    DFT NEB summary and the model on the DFT images."""

    energies: Dict[str, Any] = field(default_factory=dict)
    neb: Dict[str, Any] = field(default_factory=dict)

    def summary(self) -> List[Metric]:
        e = self.energies
        out = []
        for key, label in (("hcp_minus_fcc", "Adatom E(hcp) - E(fcc)"),
                           ("binding_fcc", "Adatom binding (fcc) vs bulk"),
                           ("bridge_minus_fcc", "Adatom bridge(constrained) - fcc")):
            if key in e:
                out.append(Metric(f"adatom_{key}", label, "eV", e[key].get("relaxed"),
                                  e[key].get("dft")))
        m = self.neb.get("model")
        if m:
            d = self.neb.get("dft") or {}
            note = Metric.neb_note(m, d)
            out.append(Metric("adatom_hop_fwd", "Adatom hop barrier fcc->hcp (CI-NEB)", "eV",
                              m["barrier_forward"], d.get("barrier_forward"), note))
            out.append(Metric("adatom_hop_rev", "Adatom hop barrier hcp->fcc (CI-NEB)", "eV",
                              m["barrier_reverse"], d.get("barrier_reverse"), note))
        return out


class AdatomTask(Task):
    name = "adatom"
    title = "Cu adatom on Cu(111)"
    Settings = AdatomSettings
    Result = AdatomResult
    reference_names = ("cu_adatom", "h_cu111")

    def reference_inputs(self):
        # the adatom file whole; of h_cu111 only the lattice constant (used without adatom data)
        ref = self.refs["cu_adatom"]
        return {"cu_adatom": ref.sha256 if ref else None,
                "h_cu111": dft_lattice_constant(self.refs["h_cu111"])}

    def _run(self, calc) -> AdatomResult:
        s, ref, c = self.settings, self.refs["cu_adatom"], self.cache
        res = AdatomResult()
        dget = (lambda k: ref.get(k)) if ref is not None else (lambda k: None)
        a0, a0_src = dft_lattice_constant(ref or self.refs["h_cu111"])
        prog = self.progress(6)
        b = model_bulk(c, calc, a0)
        prog.update(info="bulk")
        cd = dget("clean_slab")
        clean, clean_sp = relax_pair(c, calc, "clean", atoms_from_record(cd) if cd
                                     else cu111_slab(a0), cd, s.fmax, s.relax_steps)
        prog.update(info="clean slab")
        recs = {}
        for site in ("fcc", "hcp"):
            d = dget(f"adatom.{site}")
            start = atoms_from_record(d) if d else with_adsorbate(
                atoms_from_record(clean), "Cu", ADATOM_HEIGHT, site, a0)
            recs[site] = relax_pair(c, calc, f"adatom_{site}", start, d, s.fmax, s.relax_steps)
            prog.update(info=site)
        (fr, fsp), (hr, hsp) = recs["fcc"], recs["hcp"]
        e_bulk = b["energy_per_atom_at_a0_ref"]
        res.energies["hcp_minus_fcc"] = {
            "relaxed": hr["energy"] - fr["energy"],
            "at_dft": hsp["energy"] - fsp["energy"] if (hsp and fsp) else None,
            "dft": dget("E_hcp_minus_fcc")}
        res.energies["binding_fcc"] = {
            "relaxed": fr["energy"] - clean["energy"] - e_bulk,
            "at_dft": fsp["energy"] - clean_sp["energy"] - e_bulk if (fsp and clean_sp)
            else None,
            "dft": dget("binding_energy_fcc"), "bulk_energy_per_atom_model": e_bulk,
            "a0": a0, "a0_source": a0_src}
        # bridge-constrained state (recipe: adatom x,y fixed at the bridge, z + slab relaxed)
        dbr = dget("adatom_bridge_constrained")
        if dbr:
            br, brsp = relax_pair(c, calc, "adatom_bridge", atoms_from_record(dbr), dbr,
                                  s.fmax, s.relax_steps)
            res.energies["bridge_minus_fcc"] = {
                "relaxed": br["energy"] - fr["energy"],
                "at_dft": brsp["energy"] - fsp["energy"] if fsp else None,
                "dft": dget("bridge_minus_fcc")}
        prog.update(info="bridge")
        # NEB fcc -> hcp, final adatom unwrapped next to the fcc site (through the bridge)
        ini, fin = atoms_from_record(fr), atoms_from_record(hr)
        fin.positions[-1] = nearest_image(fin.positions[-1], ini.positions[-1],
                                          np.array(ini.cell))
        dn = dget("neb_fcc_to_hcp")
        n_img = s.neb_images or (len(dn["images"]) if dn else 5)
        mid = None
        if dn and len(dn["images"]) == n_img:
            mid = [atoms_from_record(x) for x in dn["images"][1:-1]]
        elif dbr and n_img == 3:
            mid = [atoms_from_record(dbr)]
        fixed = fixed_indices(atoms_from_record(clean))
        nb = self.guarded(res, "neb", c.compute, "neb", lambda: neb_path(
            ini, fin, calc, n_images=n_img, fmax=s.neb_fmax, steps=s.neb_steps,
            mid_images=mid, fixed=fixed,
            log=lambda n, f: prog.message(f"NEB step {n}: max force {f:.3f} eV/Å")))
        if nb is not None:
            res.neb["model"] = nb
            if not nb["optimizer_converged"]:
                res.notes.append(f"model CI-NEB not converged in {s.neb_steps} steps")
        if dn:
            imgs = [atoms_from_record(x) for x in dn["images"]]
            res.neb["dft"] = {"barrier_forward": dn["barrier_forward"],
                              "barrier_reverse": dn["barrier_reverse"],
                              "energies_rel_initial": dn.get("energies_rel_initial"),
                              "converged": dn.get("optimizer_converged"),
                              "partial": "neb_fcc_to_hcp" in ref.partial,
                              "status": dn.get("status", "final")}
            res.neb["model_at_dft_images"] = c.compute("neb_at_dft_images",
                                                       lambda: profile_at(imgs, calc))
        elif "model" in res.neb:
            res.notes.append("no DFT NEB yet: the model's hop barriers are reported without "
                             "DFT values")
        prog.update(info="NEB")
        prog.close()
        return res

    @classmethod
    def plot_results(cls, results, outdir) -> List[str]:
        from umlip.validation.plotting import colors, pyplot, save

        plt = pyplot()
        col = colors(list(results))
        fig, ax = plt.subplots(figsize=(6, 4))
        for lab, r in results.items():
            m = r.neb.get("model")
            if not m:
                continue
            s = np.array(m["path"]) / max(m["path"][-1], 1e-12)
            ax.plot(np.array(m["fit_path"]) / max(m["path"][-1], 1e-12), m["fit_energies_rel"],
                    color=col[lab])
            ax.plot(s, m["energies_rel_initial"], "o", color=col[lab], label=f"{lab} CI-NEB")
            p = r.neb.get("model_at_dft_images")
            if p:
                ax.plot(np.linspace(0, 1, len(p["energies"])), p["energies_rel_initial"], "s--",
                        mfc="none", color=col[lab], label=f"{lab} on DFT images")
        d = next(iter(results.values())).neb.get("dft")
        if d and d.get("energies_rel_initial"):
            e = d["energies_rel_initial"]
            ax.plot(np.linspace(0, 1, len(e)), e, "ko-",
                    label="DFT CI-NEB" + (" (partial)" if d.get("partial") else ""))
        ax.set_xlabel("reaction coordinate (fcc -> hcp), normalised")
        ax.set_ylabel("E - E(fcc) [eV]")
        ax.set_title("Cu adatom hop on Cu(111)")
        ax.legend(fontsize=7)
        return [save(fig, outdir, "adatom_neb.png")]
