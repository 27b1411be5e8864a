#!/usr/bin/env python3
"""PAW vs all-electron PBE for the dissociation-curve molecules
-> python/umlip/validation/data/molecules_paw.json

The curves of dissociation_curves.json are all-electron UKS-PBE/def2-TZVP (PySCF). The models
learned PAW PBE (VASP), whose frozen cores and pseudised partial waves shift bond lengths and
binding energies by amounts of their own. This recipe measures that shift with GPAW's PAW
setups (plane waves, PBE, isolated molecule in a box), for H2, N2, O2 and CO:

- r_eq from a parabola through E(r) at r_AE * (0.98, 1.00, 1.02), r_AE = the all-electron
  r_eq of dissociation_curves.json;
- De = E(atom A) + E(atom B) - E(molecule at the PAW r_eq, from the parabola), atoms
  spin-polarised with Hund's-rule moments fixed (integer occupations, as the all-electron
  atoms), in a slightly orthorhombic box so the open p shell may break spherical symmetry.

The differences r_eq(PAW) - r_eq(AE) and De(PAW) - De(AE) are the reference's level
uncertainty for these curves (docs/results/ABOUT.md). ``convergence_check``: De at the
all-electron r_eq with a 800 eV cutoff against 600 eV, for the molecules with first-row atoms
other than H (the plane-wave convergence of the energy scale).

Run from the repository root (Debian python3 with GPAW 22.8), resumable (one cache file per
SCF):
    PYTHONPATH=python:dft nice -n 19 mpiexec --allow-run-as-root -n 2 gpaw python dft/molecules_paw.py
Cache: $UMLIP_DFT_SCRATCH/molecules_paw (default <repo>/.cache/dft-scratch/molecules_paw).
"""
import os
import time

import numpy as np
from ase import Atoms
from ase.parallel import parprint

import _gpaw_common as G
import _meta
from umlip.io import read_json

TASK = "molecules_paw"
SCR = _meta.scratch(TASK)
T0 = time.time()
MOLECULES = {"H2": ("H", "H", 0), "N2": ("N", "N", 0), "O2": ("O", "O", 2), "CO": ("C", "O", 0)}
ATOM_MOMENT = {"H": 1, "C": 2, "N": 3, "O": 2}
FRACTIONS = (0.98, 1.00, 1.02)
BOX = (11.0, 11.5, 12.0)          # Å; orthorhombic, isolated: Gamma point only
CUTOFF = 600.0                    # eV
HIGH_CUTOFF = 800.0               # eV, the convergence check


def settings(magmom, cutoff=CUTOFF):
    s = G.calc_settings(cutoff=cutoff, kpts=(1, 1, 1), width=0.0, spin=True, gamma=True)
    s["fixmagmom"] = True
    s["total_magnetic_moment"] = magmom
    s["box_angstrom"] = list(BOX)
    s["energy_reported"] = "GPAW get_potential_energy() at zero smearing width"
    return s


def log(*a):
    parprint(f"[{time.time() - T0:8.1f}s]", *a, flush=True)


def in_box(symbols, r, magmom):
    if len(symbols) == 1:
        pos = [[0.0, 0.0, 0.0]]
    else:
        pos = [[0.0, 0.0, -r / 2], [0.0, 0.0, r / 2]]
    a = Atoms(symbols, positions=pos, cell=BOX, pbc=True)
    a.positions += np.array(BOX) / 2
    moments = [0.0] * len(a)
    moments[0] = float(magmom)
    a.set_initial_magnetic_moments(moments)
    return a


def ae_reference():
    """r_eq and De of the all-electron curves (dissociation_curves.json)."""
    path = os.path.join(os.path.dirname(__file__), "..", "python", "umlip", "validation",
                        "data", "dissociation_curves.json")
    curves = read_json(path)["payload"]["curves"]
    return {name: {"r_eq": float(curves[name]["r_eq"]), "De": float(curves[name]["De_vs_atoms"])}
            for name in MOLECULES}


def main():
    ae = ae_reference()
    payload = {
        "system": "isolated molecules H2, N2, O2, CO and their atoms in a box, GPAW PAW PBE",
        "xc": "PBE", "box_angstrom": list(BOX), "pw_cutoff_eV": CUTOFF,
        "fractions_of_ae_r_eq": list(FRACTIONS),
        "r_eq_method": "vertex of the parabola through the three E(r)",
        "De_definition": "E(atom A) + E(atom B) - E(molecule at r_eq), atoms spin-polarised "
                         "with fixed Hund's-rule moments",
        "all_electron_reference": "dissociation_curves.json (PySCF UKS-PBE/def2-TZVP)",
        "molecules": {}, "atoms": {},
    }
    payload["gpaw_setups"] = _meta.gpaw_setup_info(["H", "C", "N", "O"])
    stages = G.StageTimes(SCR)
    write = G.output_writer(TASK, payload, __file__, SCR, stages, T0)
    try:
        for name, (a, b, m) in MOLECULES.items():
            for sym in (a, b):
                if sym not in payload["atoms"]:
                    t = time.time()
                    mom = ATOM_MOMENT[sym]
                    res = G.cached(SCR, f"atom_{sym}", in_box([sym], 0.0, mom), settings(mom))
                    payload["atoms"][sym] = {"energy": res["energy"], "magnetic_moment": mom,
                                             "wall_time_s": res["wall_time_s"]}
                    stages.note(f"atom_{sym}", t)
                    log(f"atom {sym}: {res['energy']:.4f} eV")
            t = time.time()
            r_ae = ae[name]["r_eq"]
            rs = [f * r_ae for f in FRACTIONS]
            es = []
            for f, r in zip(FRACTIONS, rs):
                res = G.cached(SCR, f"{name}_{f:.2f}", in_box([a, b], r, m), settings(m))
                es.append(res["energy"])
            c2, c1, c0 = np.polyfit(rs, es, 2)
            r_eq = -c1 / (2 * c2)
            e_min = c0 - c1 * c1 / (4 * c2)
            de = payload["atoms"][a]["energy"] + payload["atoms"][b]["energy"] - e_min
            payload["molecules"][name] = {
                "r": rs, "energy": es, "r_eq": float(r_eq), "De": float(de),
                "all_electron": ae[name],
                "r_eq_minus_all_electron": float(r_eq - r_ae),
                "De_minus_all_electron": float(de - ae[name]["De"]),
            }
            stages.note(name, t)
            log(f"{name}: r_eq {r_eq:.4f} (AE {r_ae:.4f}), De {de:.3f} (AE {ae[name]['De']:.3f})")
            write()
        check = {}
        for name in ("N2", "O2", "CO"):
            a, b, m = MOLECULES[name]
            t = time.time()
            de = {}
            for cutoff in (CUTOFF, HIGH_CUTOFF):
                tag = "" if cutoff == CUTOFF else f"_{cutoff:.0f}eV"
                e_atoms = 0.0
                for sym in (a, b):
                    mom = ATOM_MOMENT[sym]
                    e_atoms += G.cached(SCR, f"atom_{sym}{tag}", in_box([sym], 0.0, mom),
                                        settings(mom, cutoff))["energy"]
                mol = G.cached(SCR, f"{name}_1.00{tag}", in_box([a, b], ae[name]["r_eq"], m),
                               settings(m, cutoff))
                de[cutoff] = e_atoms - mol["energy"]
            check[name] = {"De_at_all_electron_r_eq": {f"{c:.0f}": v for c, v in de.items()},
                           "difference_high_minus_production": de[HIGH_CUTOFF] - de[CUTOFF]}
            stages.note(f"check_{name}", t)
            log(f"{name}: De at r_AE {de[CUTOFF]:.3f} (600 eV), {de[HIGH_CUTOFF]:.3f} (800 eV)")
        payload["convergence_check"] = check
    except G.NotCached as exc:
        log("stopping: not computed yet (cache-only mode):", exc)
        payload["incomplete"] = f"not computed yet: {exc}"
    write()


if __name__ == "__main__":
    main()
