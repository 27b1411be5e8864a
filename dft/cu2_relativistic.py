#!/usr/bin/env python3
"""Scalar-relativistic check of the Cu2 reference
-> python/umlip/validation/data/cu2_relativistic.json

The Cu2 curve of dissociation_curves.json is non-relativistic all-electron UKS-PBE/def2-TZVP.
The models learned scalar-relativistic PAW PBE (VASP), and for Cu scalar relativity shortens
and strengthens the bond. This recipe repeats the points of that curve that the report's
Cu2 numbers rest on, with the same settings plus the spin-free exact two-component
Hamiltonian (sfX2C-1e, PySCF `mf.x2c()`), and the non-relativistic values at the same
geometries for the difference:

- r_eq (brentq on the analytic dE/dr) at both levels;
- De = 2 E(Cu atom, 2S=1) - E(Cu2, r_eq) at both levels;
- E(r) - E(r_eq) at r/r_eq = 0.90, 0.95, 1.05, 1.10, 1.20 of each level's own r_eq
  (closed shell, 2S=0: the ground state there in the non-relativistic search).

The differences are the reference's level uncertainty for Cu2 (docs/results/ABOUT.md); the
curve the models are scored on stays the non-relativistic one until every model's
dissociation task is rerun against a relativistic curve.

Run with the dedicated venv (PySCF is not in Debian's python), resumable (one cache file
per SCF):
    PYTHONPATH=python:dft OMP_NUM_THREADS=1 nice -n 19 .venv-ref/bin/python dft/cu2_relativistic.py
Cache: $UMLIP_DFT_SCRATCH/cu2_relativistic (default <repo>/.cache/dft-scratch/...).
"""
import os
import time

from scipy.optimize import brentq

import _meta
import dissociation_curves as dc
from umlip.io import read_json

TASK = "cu2_relativistic"
SCR = _meta.scratch(TASK)
T0 = time.time()
LEVELS = {"nonrelativistic": "none (as dissociation_curves.json)",
          "sfx2c1e": "spin-free exact two-component, one-electron (PySCF mf.x2c())"}
CURVE_FRACTIONS = [0.90, 0.95, 1.05, 1.10, 1.20]
R0 = 2.22          # Å, bracket centre for r_eq
SPIN_ATOM = dc.ATOM_SPIN["Cu"]


def scf(level, symbols, positions, spin, with_grad):
    """UKS-PBE with the curve recipe's settings at `level`; DIIS then second-order SCF."""
    mol = dc.build_mol(symbols, positions, spin)
    relativistic = level == "sfx2c1e"
    mf = dc.make_uks(mol)
    if relativistic:
        mf = mf.x2c()
    e = mf.kernel()
    if not mf.converged:
        dm = mf.make_rdm1()
        mf = dc.make_uks(mol)
        if relativistic:
            mf = mf.x2c()
        mf = mf.newton()
        mf.max_cycle = dc.NEWTON_CYCLE
        e = mf.kernel(dm0=dm)
    if not mf.converged:
        raise RuntimeError(f"{level} {symbols} at {positions}: SCF did not converge")
    ss, mult = mf.spin_square()
    out = {"energy": e * dc.HARTREE, "S2": float(ss), "two_S": spin}
    if with_grad:
        out["grad_Ha_per_Bohr"] = mf.nuc_grad_method().kernel().tolist()
    return out


def cached(key, fn):
    path = os.path.join(SCR, key + ".json")
    res = read_json(path, None)
    if res is None:
        t0 = time.time()
        res = fn()
        res["wall_time_s"] = time.time() - t0
        _meta.save_json(path, res)
    return res


def dimer(level, r, with_grad=False):
    key = f"{level}_cu2_{r:.6f}" + ("_grad" if with_grad else "")
    return cached(key, lambda: scf(level, ["Cu", "Cu"], [[0, 0, 0], [0, 0, r]], 0, with_grad))


def r_eq(level):
    def dEdr(r):
        g = dimer(level, r, with_grad=True)["grad_Ha_per_Bohr"]
        return g[1][2] * dc.HARTREE / dc.BOHR
    return brentq(dEdr, 0.93 * R0, 1.07 * R0, xtol=1e-5)


def main():
    payload = {"method": {**dc.SCF_SETTINGS, "spin": "Cu2 closed shell (2S=0), Cu atom 2S=1",
                          "levels": LEVELS, "r_eq": "brentq on analytic dE/dr, xtol 1e-5 Å"},
               "curve_fractions_of_own_r_eq": CURVE_FRACTIONS, "levels": {}}
    for level in LEVELS:
        atom = cached(f"{level}_atom_Cu",
                      lambda: scf(level, ["Cu"], [[0, 0, 0]], SPIN_ATOM, False))
        req = r_eq(level)
        e_eq = dimer(level, req)["energy"]
        payload["levels"][level] = {
            "r_eq": req, "E_eq": e_eq, "E_atom": atom["energy"], "atom_S2": atom["S2"],
            "De": 2 * atom["energy"] - e_eq,
            "curve_minus_E_eq": [dimer(level, f * req)["energy"] - e_eq
                                 for f in CURVE_FRACTIONS],
        }
        print(f"{level}: r_eq {req:.4f} Å, De {payload['levels'][level]['De']:.3f} eV",
              flush=True)
    nr, rel = payload["levels"]["nonrelativistic"], payload["levels"]["sfx2c1e"]
    payload["difference_sfx2c1e_minus_nonrelativistic"] = {
        "r_eq": rel["r_eq"] - nr["r_eq"], "De": rel["De"] - nr["De"],
        "curve_minus_E_eq": [a - b for a, b in zip(rel["curve_minus_E_eq"],
                                                   nr["curve_minus_E_eq"])]}
    _meta.write_reference(TASK, payload, __file__, time.time() - T0, {
        "compute_wall_time_s_sum_of_cached_calculations": _meta.scratch_wall_sum(SCR),
        "run_command": "PYTHONPATH=python:dft OMP_NUM_THREADS=1 nice -n 19 "
                       ".venv-ref/bin/python dft/cu2_relativistic.py"})


if __name__ == "__main__":
    main()
