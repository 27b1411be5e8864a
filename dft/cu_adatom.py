#!/usr/bin/env python3
"""Cu adatom on Cu(111), p(2x2) 3-layer slab (PBE, GPAW PW) -> python/umlip/validation/data/cu_adatom.json

Run from the repository root (Debian python3 with GPAW 22.8):
    PYTHONPATH=python:dft nice -n 19 mpiexec --allow-run-as-root -n 2 gpaw python dft/cu_adatom.py
Cache: $UMLIP_DFT_SCRATCH/cu_adatom; the clean slab and the bulk energy are
shared with the h_cu111 recipe (identical settings: 400 eV, k 4x4x1 / 12^3,
Fermi-Dirac 0.1 eV).
"""
import time

import numpy as np
from ase.build import add_adsorbate
from ase.constraints import FixAtoms, FixedLine
from ase.parallel import parprint

import _gpaw_common as G
import _meta
import h_cu111 as H
from umlip.io import atoms_from_record
from umlip.validation.systems import ADATOM_HEIGHT

TASK = "cu_adatom"
SCR = _meta.scratch(TASK)
T0 = time.time()
N_IMAGES = 3          # total, incl. endpoints: one climbing image started at the bridge
NEB_FMAX = 0.05


def log(*a):
    parprint(f"[{time.time() - T0:8.1f}s]", *a, flush=True)


def main():
    H.seed_cache_from_committed()
    b = H.stage_bulk()
    a0 = b["a0_used_rounded"]
    ebulk = b["energy_per_atom_at_a0"]
    slab0 = H.make_slab(a0, H.LAYERS)
    info = slab0.info["adsorbate_info"]
    clean = G.cached(H.SCR, "slab_clean", slab0, H.S_SLAB, relax=True, fmax=H.FMAX)
    payload = {
        "system": "Cu adatom on Cu(111), p(2x2) cell (1/4 ML), 3 layers, bottom two fixed",
        "cell_choice_note": ("p(2x2) and 3 layers (k 4x4x1 Gamma-centred) chosen for cost "
                             "(2 shared cores): identical slab settings to h_cu111.json; the "
                             "adatom-adatom distance is 2 a_nn = 5.15 A, so the absolute "
                             "binding energy contains adatom-adatom interaction"),
        "xc": "PBE", "settings": H.S_SLAB, "lattice_constant_a0": b["a0"],
        "bulk_energy_per_atom": ebulk, "clean_slab": clean,
        "slab_builder": f"ase.build.fcc111('Cu', (2, 2, {H.LAYERS}), a=a0, vacuum={H.VACUUM})",
        "binding_energy_definition": "E(slab+adatom) - E(slab) - E_bulk(per atom) "
                                     "(negative = adatom more stable than in bulk)",
        "energy_convention": "GPAW extrapolated-to-zero-width energy",
        "random_seeds": "none used",
    }
    payload["gpaw_setups"] = _meta.gpaw_setup_info(["Cu"])
    stages = G.StageTimes(SCR)
    note_time = stages.note
    write = G.output_writer(TASK, payload, __file__, SCR, stages, T0)
    try:
        body(payload, note_time, write, clean, info, ebulk)
    except G.NotCached as exc:
        log("stopping: not computed yet (cache-only mode):", exc)
        if "E_hcp_minus_fcc" in payload:   # no file at all before both sites exist
            payload["incomplete"] = f"not computed yet: {exc}"
            write()


def body(payload, note_time, write, clean, info, ebulk):
    t = time.time()
    sites = {}
    for site in ("fcc", "hcp"):
        s = atoms_from_record(clean)
        s.info["adsorbate_info"] = info
        add_adsorbate(s, "Cu", ADATOM_HEIGHT, site)
        try:
            r = G.cached(SCR, f"adatom_{site}", s, H.S_SLAB, relax=True, fmax=H.FMAX)
        except G.NotCached:
            payload["adatom"] = sites
            raise
        r["site"] = site
        r["binding_energy_vs_bulk"] = r["energy"] - clean["energy"] - ebulk
        sites[site] = r
        log(site, r["energy"], r["binding_energy_vs_bulk"])
    payload["adatom"] = sites
    payload["E_hcp_minus_fcc"] = sites["hcp"]["energy"] - sites["fcc"]["energy"]
    payload["binding_energy_fcc"] = sites["fcc"]["binding_energy_vs_bulk"]
    payload["binding_energy_hcp"] = sites["hcp"]["binding_energy_vs_bulk"]
    note_time("sites", t)

    write()
    # bridge site between the relaxed fcc and hcp positions: adatom x,y fixed at the
    # midpoint, z and the unfixed (top) Cu layer relaxed
    t = time.time()
    fixed = [int(i) for i in clean["fixed_atoms"]]
    fr, hr = sites["fcc"], sites["hcp"]
    pf, ph = np.array(fr["positions"])[-1], np.array(hr["positions"])[-1]
    # hcp image nearest to the fcc site (through the shared bridge)
    cell = np.array(clean["cell"])
    best = None
    for i in (-1, 0, 1):
        for j in (-1, 0, 1):
            q = ph + i * cell[0] + j * cell[1]
            if best is None or np.linalg.norm(q - pf) < np.linalg.norm(best - pf):
                best = q
    ph = best
    s = atoms_from_record(fr)
    na = len(s) - 1
    s.positions[na] = (pf + ph) / 2
    s.set_constraint([FixAtoms(indices=fixed), FixedLine(na, (0, 0, 1))])
    br = G.cached(SCR, "adatom_bridge_xy_fixed", s, H.S_SLAB, relax=True, fmax=H.FMAX)
    br["note"] = ("adatom x,y fixed at the midpoint of the relaxed fcc and hcp positions "
                  "(bridge); z and the top Cu layer relaxed (bottom two fixed)")
    br["E_minus_fcc"] = br["energy"] - fr["energy"]
    payload["adatom_bridge_constrained"] = br
    payload["bridge_minus_fcc"] = br["E_minus_fcc"]
    note_time("bridge", t)
    log("bridge - fcc", br["E_minus_fcc"])
    write()
    t = time.time()
    ini, fin = atoms_from_record(fr), atoms_from_record(hr)
    fin.positions[na] = ph           # unwrapped so the path goes through the bridge
    mid = atoms_from_record(br)

    def partial(nbp):
        payload["neb_fcc_to_hcp"] = dict(nbp, status="IN PROGRESS / not converged")
        write()
    nb = G.run_neb(SCR, "neb_fcc_hcp", ini, fin, N_IMAGES, H.S_SLAB, NEB_FMAX,
                   fr["energy"], fr["forces"], hr["energy"], hr["forces"], fixed,
                   mid_images=[mid], on_chunk=partial)
    nb["path_note"] = ("fcc -> hcp hollow via the bridge site (adatom is the last atom); "
                       "CI-NEB with a single moving (climbing) image started from the "
                       "bridge-constrained geometry")
    payload["neb_fcc_to_hcp"] = nb
    payload["hop_barrier_fcc_to_hcp"] = nb["barrier_forward"]
    payload["hop_barrier_hcp_to_fcc"] = nb["barrier_reverse"]
    note_time("neb", t)
    log("barrier", nb["barrier_forward"], nb["barrier_reverse"])
    write()


if __name__ == "__main__":
    main()
