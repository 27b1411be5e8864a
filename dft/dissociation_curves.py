#!/usr/bin/env python3
"""Bond dissociation curves (PySCF UKS-PBE / def2-TZVP) -> python/umlip/validation/data/dissociation_curves.json

Run with the dedicated venv (PySCF is not in Debian's python):
    PYTHONPATH=python:dft OMP_NUM_THREADS=1 nice -n 19 .venv-ref/bin/python dft/dissociation_curves.py [NAME ...]
NAMEs (default: all) limit the new calculations to those curves, e.g. `CO H2O_OH CH4_CH`; the
others are written from whatever the cache holds.
Cache: $UMLIP_DFT_SCRATCH/dissociation (default <repo>/.cache/dft-scratch/dissociation).

For every geometry several spin states / initial guesses are tried (closed-shell
guess, broken-symmetry fragment guess, high-spin fragment guesses); the lowest
converged energy is kept and all candidates are recorded.
"""
import json
import os
import sys
import time

import numpy as np

import pyscf
from pyscf import gto, dft, lib
from scipy.optimize import brentq, minimize

import _meta
from umlip.io import read_json

TASK = "dissociation_curves"
SCR = _meta.scratch("dissociation")
T0 = time.time()

HARTREE = 27.211386245988          # eV (CODATA 2018, = ase.units.Hartree)
BOHR = 0.529177210903              # Angstrom
BASIS = "def2-tzvp"
XC = "PBE"
GRID_LEVEL = 4
CONV_TOL = 1e-9                    # Hartree
CONV_TOL_GRAD = 1e-5
MAX_CYCLE = 60                     # DIIS cycles, then second-order (newton) SCF
NEWTON_CYCLE = 50
CACHE_ONLY = bool(os.environ.get("UMLIP_CACHE_ONLY"))  # only assemble cached results
NEAR_EQ = 1.10                     # r/r_eq <= this: only closed-shell + ground-state spin

# ground-state spin (2S) of the isolated atoms
ATOM_SPIN = {"H": 1, "C": 2, "N": 3, "O": 2, "Cu": 1}

FRACTIONS = [0.60, 0.70, 0.80, 0.90, 0.95, 1.00, 1.05, 1.10, 1.20,
             1.30, 1.45, 1.60, 1.80, 2.00, 2.30, 2.70, 3.10, 3.50]


def sp(sym):
    return ATOM_SPIN[sym]


# molecule definitions: symbols, eq-geometry builder, stretched bond (i fixed, j moves),
# fragments (atom index lists) and fragment spins, ground-state 2S at r_eq.
MOLECULES = {
    "H2": dict(symbols=["H", "H"], r0=0.75, spin_eq=0, frag=[[0], [1]]),
    "O2": dict(symbols=["O", "O"], r0=1.22, spin_eq=2, frag=[[0], [1]]),
    "N2": dict(symbols=["N", "N"], r0=1.10, spin_eq=0, frag=[[0], [1]]),
    "CO": dict(symbols=["C", "O"], r0=1.13, spin_eq=0, frag=[[0], [1]]),
    "Cu2": dict(symbols=["Cu", "Cu"], r0=2.22, spin_eq=0, frag=[[0], [1]]),
    "H2O_OH": dict(symbols=["O", "H", "H"], spin_eq=0, frag=[[0, 1], [2]],
                   frag_spin=[1, 1]),
    "CH4_CH": dict(symbols=["C", "H", "H", "H", "H"], spin_eq=0, frag=[[0, 1, 2, 3], [4]],
                   frag_spin=[1, 1]),
}
_TH = np.radians(104.5) / 2
_D = 1.09 / np.sqrt(3)
#: polyatomic curves: start geometry [A] of the optimisation, and the stretched bond
#: (fixed atom i, moving atom j)
POLYATOMIC_START = {
    "H2O_OH": ([[0, 0, 0], [0.97 * np.sin(_TH), 0, 0.97 * np.cos(_TH)],
                [-0.97 * np.sin(_TH), 0, 0.97 * np.cos(_TH)]], (0, 2)),
    "CH4_CH": ([[0, 0, 0], [_D, _D, _D], [-_D, -_D, _D], [-_D, _D, -_D], [_D, -_D, -_D]], (0, 4)),
}


def build_mol(symbols, pos, spin, basis=BASIS):
    mol = gto.M(atom=[[s, tuple(p)] for s, p in zip(symbols, pos)], unit="Angstrom",
                basis=basis, spin=spin, charge=0, verbose=0, symmetry=False)
    return mol


def make_uks(mol, newton=False):
    """UKS-PBE with the recipe's grid and convergence settings; `newton` wraps it in PySCF's
    second-order solver only after everything is set: the wrapper keeps the object it wraps
    (`_scf`) for the orbital Hessian, and an xc set afterwards reaches only the wrapper (the
    Hessian then stays LDA and the SCF fails or converges to a mixed, wrong energy)."""
    mf = dft.UKS(mol)
    mf.xc = XC
    mf.grids.level = GRID_LEVEL
    mf.conv_tol = CONV_TOL
    mf.conv_tol_grad = CONV_TOL_GRAD
    mf.max_cycle = MAX_CYCLE
    if newton:
        mf = mf.newton()
        mf.max_cycle = NEWTON_CYCLE
        assert mf._scf.xc == mf.xc == XC and mf._scf.grids.level == GRID_LEVEL
    return mf


def run_uks(mol, dm0=None, newton_first=False):
    """UKS: DIIS, then second-order SCF from the DIIS density if DIIS did not converge; with
    `newton_first`, second-order SCF from `dm0` straight away (the continuation guess: DIIS
    tends to leave a good broken-symmetry guess at stretched geometries)."""
    if newton_first:
        mf = make_uks(mol, newton=True)
        return mf, mf.kernel(dm0=dm0)
    mf = make_uks(mol)
    e = mf.kernel(dm0=dm0)
    if not mf.converged:
        mf2 = make_uks(mol, newton=True)
        e = mf2.kernel(dm0=mf.make_rdm1())
        mf = mf2
    return mf, e


_FRAG_DM = {}


def fragment_guess(symbols, pos, frags, frag_spins, flip):
    """Block-diagonal UKS density from fragment calculations; `flip` = list of
    bools (swap alpha/beta of that fragment)."""
    full = build_mol(symbols, pos, 0)
    nao = full.nao
    dma = np.zeros((nao, nao))
    dmb = np.zeros((nao, nao))
    offs = full.aoslice_by_atom()
    for fr, s, fl in zip(frags, frag_spins, flip):
        fsym = [symbols[i] for i in fr]
        fpos = np.asarray([pos[i] for i in fr], float)
        key = (tuple(fsym), tuple(np.round(fpos - fpos[0], 6).ravel()), s)
        if key not in _FRAG_DM:      # AO density of a fragment is translation invariant
            fm = build_mol(fsym, fpos, s)
            mf, _ = run_uks(fm)
            _FRAG_DM[key] = (mf.make_rdm1(), fm.nao)
        (da, db), fnao = _FRAG_DM[key]
        if fl:
            da, db = db, da
        a0 = offs[fr[0]][2]
        a1 = offs[fr[-1]][3]
        assert a1 - a0 == fnao
        dma[a0:a1, a0:a1] = da
        dmb[a0:a1, a0:a1] = db
    return np.array([dma, dmb])


def candidates(name, spec, frac=None):
    frags = spec["frag"]
    if "frag_spin" in spec:
        fs = spec["frag_spin"]
    else:
        fs = [sp(spec["symbols"][f[0]]) for f in frags]
    tot_hs = sum(fs)
    cands = [("closed_shell_guess", 0, None)]
    cands.append(("broken_symmetry_fragments", abs(fs[0] - fs[1]), (fs, [False, True])))
    for s2 in range(abs(fs[0] - fs[1]) + 2, tot_hs + 1, 2):
        # aligned fragments give 2S = fs0+fs1; intermediate spins from minao guess
        if s2 == tot_hs:
            cands.append((f"high_spin_fragments_2S={s2}", s2, (fs, [False, False])))
        else:
            cands.append((f"minao_2S={s2}", s2, None))
    if spec["spin_eq"] not in [c[1] for c in cands]:
        cands.append((f"minao_2S={spec['spin_eq']}", spec["spin_eq"], None))
    if frac is not None and frac <= NEAR_EQ:
        # compressed / near-equilibrium: closed-shell guess + ground-state spin only
        keep = []
        for c in cands:
            if c[0] == "closed_shell_guess" or (c[1] == spec["spin_eq"] and c[1] > 0
                                                and c[1] not in [k[1] for k in keep]):
                keep.append(c)
        cands = keep
    return cands, fs


def energy_grad(symbols, pos, spin, dm0=None):
    mol = build_mol(symbols, pos, spin)
    mf, e = run_uks(mol, dm0)
    g = mf.nuc_grad_method().kernel()
    return mf, e, g


def _winner(tried, tie_eV=1e-6):
    """Index of the lowest converged candidate (the earliest of those within `tie_eV` of the
    lowest: the same state reached from two guesses keeps its first winner), or None."""
    ok = [k for k, c in enumerate(tried) if c.get("converged")]
    if not ok:
        return None
    emin = min(tried[k]["energy_eV"] for k in ok)
    return next(k for k in ok if tried[k]["energy_eV"] <= emin + tie_eV)


def point(name, spec, pos, tag, frac=None, cache_only=CACHE_ONLY, prev=None):
    """All spin candidates at one geometry (cached). Returns (record, winner_dm).

    `prev` = (label, 2S, density matrix) of the winning solution at the previous (shorter)
    distance of the curve: for r/r_eq > NEAR_EQ it is one more candidate ("continuation"),
    which follows a broken-symmetry or open-shell state outward when the fragment and minao
    guesses no longer converge to it. A cached record that lacks a candidate of the current
    recipe (e.g. seeded from data made before the continuation guess existed) is completed
    with that candidate only; the winner and its gradient are re-evaluated over all of them.
    The winner's density matrix is cached beside the record (`.dm.npy`, scratch only) for the
    next point's continuation guess; None in cache-only mode."""
    path = os.path.join(SCR, f"{name}_{tag}.json")
    dm_path = os.path.join(SCR, f"{name}_{tag}.dm.npy")
    res = read_json(path, None)
    if cache_only:
        return res, None
    t0 = time.time()
    cands, fs = candidates(name, spec, frac)
    cands = [(lab, s2, ("fragments", fg) if fg is not None else None)
             for lab, s2, fg in cands]
    if prev is not None and frac is not None and frac > NEAR_EQ:
        cands.append((f"continuation_from_{prev[0]}", prev[1], ("dm", prev[2])))
    tried = list(res["candidates"]) if res is not None else []
    have = {c["guess"] for c in tried}
    mfs = {}                                  # label -> converged SCF object of this run

    def guess_dm(g):
        if g is None:
            return None
        if g[0] == "dm":
            return g[1]
        return fragment_guess(spec["symbols"], pos, spec["frag"], g[1][0], g[1][1])

    for label, s2, g in cands:
        if label in have:
            continue
        try:
            mol = build_mol(spec["symbols"], pos, s2)
            mf, e = run_uks(mol, guess_dm(g), newton_first=g is not None and g[0] == "dm")
            ss, mult = mf.spin_square()
            tried.append({"guess": label, "two_S": s2, "energy_eV": e * HARTREE,
                          "converged": bool(mf.converged), "S2": float(ss)})
            mfs[label] = mf
        except Exception as exc:  # pragma: no cover
            tried.append({"guess": label, "two_S": s2, "error": repr(exc)[:200]})
    k = _winner(tried)
    if k is None:
        raise RuntimeError(f"{name} {tag}: no spin candidate converged: {tried}")
    win = tried[k]
    if res is None or win["guess"] != res["winning_guess"]:
        mf = mfs[win["guess"]]                # a new winner was computed in this run
        g = mf.nuc_grad_method().kernel()
        forces = -np.asarray(g) * HARTREE / BOHR
        res = {"positions": np.asarray(pos).tolist(), "energy": win["energy_eV"],
               "forces": forces.tolist(), "two_S": win["two_S"],
               "winning_guess": win["guess"], "S2": win["S2"], "wall_time_s":
               (res["wall_time_s"] if res is not None else 0.0)}
        np.save(dm_path, mf.make_rdm1())
    if mfs or not os.path.exists(dm_path):
        if not os.path.exists(dm_path):
            # the winner's density for the next continuation guess: from a candidate of this
            # run that reached the same state, else by rerunning the winner's own guess
            same = [l for l, mf in mfs.items()
                    if abs(mf.e_tot * HARTREE - win["energy_eV"]) < 1e-5
                    and mf.mol.spin == win["two_S"]]
            if same:
                dm = mfs[same[0]].make_rdm1()
            else:
                g = {lab: gg for lab, _, gg in cands}.get(win["guess"])
                mf, _ = run_uks(build_mol(spec["symbols"], pos, win["two_S"]), guess_dm(g),
                                newton_first=g is not None and g[0] == "dm")
                assert abs(mf.e_tot * HARTREE - win["energy_eV"]) < 1e-4, \
                    f"{name} {tag}: rerun of {win['guess']} did not reproduce its energy"
                dm = mf.make_rdm1()
            np.save(dm_path, dm)
        res["candidates"] = tried
        res["wall_time_s"] = res["wall_time_s"] + time.time() - t0
        _meta.save_json(path, res)
    return res, np.load(dm_path)


def atom_energy(sym):
    path = os.path.join(SCR, f"atom_{sym}.json")
    res = read_json(path, None)
    if res is not None:
        return res
    t0 = time.time()
    mol = build_mol([sym], [[0, 0, 0]], ATOM_SPIN[sym])
    mf, e = run_uks(mol)
    ss, mult = mf.spin_square()
    res = {"symbol": sym, "two_S": ATOM_SPIN[sym], "multiplicity": ATOM_SPIN[sym] + 1,
           "energy": e * HARTREE, "converged": bool(mf.converged), "S2": float(ss),
           "wall_time_s": time.time() - t0}
    _meta.save_json(path, res)
    return res


# ------------------------------------------------------------ equilibrium geometries
def eq_diatomic(name, spec, cache_only=CACHE_ONLY):
    path = os.path.join(SCR, f"{name}_eq.json")
    res = read_json(path, None)
    if res is not None or cache_only:
        return res
    sym, s2 = spec["symbols"], spec["spin_eq"]
    cache = {}

    def dEdr(r):
        mf, e, g = energy_grad(sym, [[0, 0, 0], [0, 0, r]], s2)
        cache[r] = e
        return g[1][2] * HARTREE / BOHR   # dE/dr in eV/A

    r0 = spec["r0"]
    req = brentq(dEdr, 0.93 * r0, 1.07 * r0, xtol=1e-5)
    res = {"r_eq": req, "two_S": s2,
           "positions": [[0, 0, 0], [0, 0, req]], "method": "brentq on analytic dE/dr"}
    _meta.save_json(path, res)
    return res


def eq_polyatomic(name, spec, pos0, cache_only=CACHE_ONLY):
    path = os.path.join(SCR, f"{name}_eq.json")
    res = read_json(path, None)
    if res is not None or cache_only:
        return res
    sym = spec["symbols"]
    state = {"dm": None}

    def fun(x):
        pos = x.reshape(-1, 3) * BOHR
        mf, e, g = energy_grad(sym, pos, 0, state["dm"])
        state["dm"] = mf.make_rdm1()
        return e, np.asarray(g).ravel()

    r = minimize(fun, np.asarray(pos0).ravel() / BOHR, jac=True, method="BFGS",
                 options={"gtol": 2e-5})
    pos = r.x.reshape(-1, 3) * BOHR
    res = {"positions": pos.tolist(), "two_S": 0, "optimizer": "scipy BFGS (Cartesian), "
           "gtol 2e-5 Hartree/Bohr", "max_grad_Ha_per_Bohr": float(np.abs(r.jac).max())}
    _meta.save_json(path, res)
    return res


METHOD = {"code": "PySCF", "pyscf_version": pyscf.__version__,
          "scf": "UKS (unrestricted Kohn-Sham)", "xc": XC, "basis": BASIS,
          "basis_note": "def2-TZVP, all-electron for every element used (H,C,N,O,Cu)",
          "grids_level": GRID_LEVEL, "conv_tol_Ha": CONV_TOL,
          "conv_tol_grad": CONV_TOL_GRAD, "max_cycle": MAX_CYCLE,
          "fallback": f"second-order (newton) SCF ({NEWTON_CYCLE} cycles) of the same "
                      f"UKS-PBE settings if DIIS ({MAX_CYCLE} cycles) does not converge "
                      "(data before 2026-12-03 18:00 UTC: the second-order solver's "
                      "orbital Hessian was LDA, so no fallback ever converged to PBE)",
          "boundary": "isolated molecule (no periodic box)",
          "forces": "analytic UKS nuclear gradients",
          "units": "energies eV, lengths Angstrom, forces eV/Angstrom",
          "hartree_eV": HARTREE, "bohr_A": BOHR,
          "spin_search": ("at every geometry: closed-shell (minao) guess with 2S=0, "
                          "broken-symmetry guess from spin-flipped fragment densities "
                          "(2S=|S_A-S_B|), high-spin guess from aligned fragment "
                          "densities, and minao guesses for intermediate 2S; the lowest "
                          "converged energy is stored, all candidates are listed; for "
                          f"r/r_eq <= {NEAR_EQ} only the closed-shell guess and the "
                          "ground-state spin are tried (cost); for r/r_eq > "
                          f"{NEAR_EQ} also a continuation guess: the winning density "
                          "matrix (and 2S) of the previous, shorter distance of the same "
                          "curve, solved by second-order (newton) SCF from the start, so "
                          "that a state found there is followed outward even where the "
                          "other guesses fail to converge")}

# a committed point is reused when these settings match; the spin search is then completed
# point by point (candidates the record lacks are computed, the winner re-evaluated)
SCF_SETTINGS = {k: v for k, v in METHOD.items() if k != "spin_search"}


def seed_cache_from_committed():
    """A fresh machine has an empty cache: take the atoms, equilibrium geometries and curve
    points that the committed python/umlip/validation/data/dissociation_curves.json already holds as cached results
    (only when its hash verifies and its method block equals SCF_SETTINGS, PySCF version
    included; `point` completes a seeded point with any spin candidate it lacks),
    so that a run resumes with the curves still missing. Seeded keys go into the metadata
    (`seeded_cache`); UMLIP_DFT_NO_SEED=1 recomputes everything."""
    p, src = _meta.committed_payload(TASK)
    if p is None or {k: v for k, v in p.get("method", {}).items() if k != "spin_search"} \
            != json.loads(json.dumps(SCF_SETTINGS)):
        print("not seeding the cache:", src if p is None else "method settings differ")
        return
    for sym, r in p["atoms"].items():
        _meta.seed(SCR, f"atom_{sym}", r, src)
    for name, c in p["curves"].items():
        _meta.seed(SCR, f"{name}_eq", c["equilibrium"], src)
        for pt in c["points"]:
            rec = {k: pt[k] for k in ("positions", "energy", "forces", "two_S",
                                      "winning_guess", "S2", "candidates", "wall_time_s")}
            _meta.seed(SCR, f"{name}_f{pt['fraction']:.2f}", rec, src)


def main(only=()):
    """Compute the curves in `only` (all when empty); the others are assembled from the cache
    when it has them (no new calculations for them)."""
    seed_cache_from_committed()
    payload = {
        "method": METHOD,
        "force_along_bond_definition": ("F_bond = -dE/dr = forces[j] . u, u = unit vector "
                                        "from fixed atom i to moving atom j (positive = "
                                        "repulsive)"),
        "distance_fractions_of_r_eq": FRACTIONS,
        "atoms": {}, "curves": {},
    }
    for s in ATOM_SPIN:
        payload["atoms"][s] = atom_energy(s)

    def write():
        _meta.write_reference(TASK, payload, __file__, time.time() - T0,
                              {"compute_wall_time_s_sum_of_cached_calculations":
                               _meta.scratch_wall_sum(SCR),
                               "run_command": "PYTHONPATH=python:dft OMP_NUM_THREADS=1 nice -n 19 "
                               ".venv-ref/bin/python "
                               "dft/dissociation_curves.py",
                               "seeded_cache": _meta.seeded(SCR)})

    for name, spec in MOLECULES.items():
        # a curve not asked for is assembled from whatever the cache has, nothing computed
        cache_only = CACHE_ONLY or bool(only and name not in only)
        t0 = time.time()
        sym = spec["symbols"]
        if len(sym) == 2:
            eq, (i, j) = eq_diatomic(name, spec, cache_only), (0, 1)
        else:
            p0, (i, j) = POLYATOMIC_START[name]
            eq = eq_polyatomic(name, spec, p0, cache_only)
        if eq is None:
            payload.setdefault("not_computed", []).append(name)
            continue
        pos_eq = np.array(eq["positions"], float)
        u = pos_eq[j] - pos_eq[i]
        req = float(np.linalg.norm(u))
        u /= req
        pts = []
        prev = None            # winner of the previous distance: the continuation guess
        for f in FRACTIONS:
            pos = pos_eq.copy()
            pos[j] = pos_eq[i] + u * req * f
            r, dm = point(name, spec, pos, f"f{f:.2f}", f, cache_only, prev)
            if r is None:
                continue
            prev = (f"f{f:.2f}", r["two_S"], dm) if dm is not None else None
            fb = float(np.dot(r["forces"][j], u))
            pts.append({"fraction": f, "r": req * f, "energy": r["energy"],
                        "force_along_bond": fb, "two_S": r["two_S"],
                        "multiplicity": r["two_S"] + 1, "winning_guess": r["winning_guess"],
                        "S2": r["S2"], "positions": r["positions"], "forces": r["forces"],
                        "wall_time_s": r["wall_time_s"],
                        "candidates": r["candidates"]})
            print(f"[{time.time()-T0:7.1f}s] {name} f={f:.2f} E={r['energy']:.5f} "
                  f"2S={r['two_S']} ({r['winning_guess']}) Fb={fb:.4f}", flush=True)
        if len(sym) == 2:
            frag_e = sum(payload["atoms"][s]["energy"] for s in sym)
            limit = f"{sym[0]} + {sym[1]}"
        else:
            # fragment at eq. geometry minus the moving H: its own relaxed energy is
            # not computed; the atoms-sum limit is given and the frozen-fragment limit too
            frag_e = sum(payload["atoms"][s]["energy"] for s in sym)
            limit = "all isolated atoms"
        if not any(p["fraction"] == 1.0 for p in pts):
            payload.setdefault("not_computed", []).append(name)
            continue
        e_eq = [p for p in pts if p["fraction"] == 1.0][0]["energy"]
        c = {"symbols": sym, "numbers": [int(gto.charge(s)) for s in sym],
             "stretched_bond": [i, j], "moving_atom": j, "fixed_atoms_note":
             "all atoms other than the moving one stay at the equilibrium geometry",
             "equilibrium": eq, "r_eq": req, "two_S_eq": spec["spin_eq"],
             "energy_at_r_eq": e_eq, "sum_of_isolated_atom_energies": frag_e,
             "atoms_limit": limit, "points": pts,
             "complete": len(pts) == len(FRACTIONS),
             "wall_time_s_points_sum": float(sum(p["wall_time_s"] for p in pts))}
        if len(sym) == 2:
            c["De_vs_atoms"] = frag_e - e_eq
        else:
            # single-bond dissociation limit: frozen fragment (remaining atoms, doublet) + H
            rest = [k for k in range(len(sym)) if k != j]
            fpath = os.path.join(SCR, f"{name}_frozen_fragment.json")
            fr = read_json(fpath, None)
            if fr is None:            # cheap (one doublet fragment): also in cache-only mode
                mol = build_mol([sym[k] for k in rest], [pos_eq[k] for k in rest], 1)
                mf, e = run_uks(mol)
                fr = {"energy": e * HARTREE, "two_S": 1, "converged": bool(mf.converged)}
                _meta.save_json(fpath, fr)
            c["frozen_fragment"] = {"symbols": [sym[k] for k in rest], "two_S": 1,
                                    "energy": fr["energy"],
                                    "note": "remaining fragment frozen at the molecule's "
                                            "equilibrium geometry, doublet"}
            c["dissociation_limit_frozen_fragment_plus_H"] = fr["energy"] + payload["atoms"]["H"]["energy"]
            c["De_vs_frozen_fragment_plus_H"] = c["dissociation_limit_frozen_fragment_plus_H"] - e_eq
        payload["curves"][name] = c
        payload["r_eq"] = {k: v["r_eq"] for k, v in payload["curves"].items()}
        write()
    cc = basis_check(payload["curves"], CACHE_ONLY)
    if cc is not None:
        payload["convergence_check"] = cc
    write()
    print("done", time.time() - T0)


CHECK_BASIS = "def2-qzvp"
CHECK_MOLECULES = ("H2", "N2", "CO")


def basis_check(curves, cache_only=False):
    """Binding energy De (vs the isolated atoms, same basis) of H2, N2 and CO at the
    def2-TZVP equilibrium geometry, recomputed with def2-QZVP: the basis-set error of the
    curves' energy scale. Closed-shell molecules and ground-state atoms, same SCF settings.
    Cached; None until every curve it needs exists (or, cache-only, was computed)."""
    def sp(key, symbols, pos, spin):
        path = os.path.join(SCR, f"basis_check_{key}.json")
        r = read_json(path, None)
        if r is None and not cache_only:
            t0 = time.time()
            mf, e = run_uks(build_mol(symbols, pos, spin, CHECK_BASIS))
            r = {"energy": e * HARTREE, "converged": bool(mf.converged),
                 "wall_time_s": time.time() - t0}
            _meta.save_json(path, r)
        return r

    if any(m not in curves for m in CHECK_MOLECULES):
        return None
    out = {"basis_tight": CHECK_BASIS, "basis_production": BASIS,
           "description": ("De = sum of isolated-atom energies - E(molecule at the production "
                           "r_eq), both bases; molecules closed-shell (2S=0), atoms at their "
                           "ground-state spin"), "molecules": {}}
    for m in CHECK_MOLECULES:
        c = curves[m]
        mol = sp(m, c["symbols"], c["equilibrium"]["positions"], 0)
        atoms = [sp(f"atom_{a}", [a], [[0, 0, 0]], ATOM_SPIN[a]) for a in c["symbols"]]
        if mol is None or any(a is None for a in atoms):
            return None
        de = sum(a["energy"] for a in atoms) - mol["energy"]
        out["molecules"][m] = {"De_production": c["De_vs_atoms"], "De_tight": de,
                               "difference_tight_minus_production": de - c["De_vs_atoms"],
                               "converged": mol["converged"] and all(a["converged"]
                                                                     for a in atoms)}
    return out


if __name__ == "__main__":
    lib.num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    unknown = set(sys.argv[1:]) - set(MOLECULES)
    if unknown:
        sys.exit(f"unknown molecule(s) {sorted(unknown)}; choose from {list(MOLECULES)}")
    main(tuple(sys.argv[1:]))
