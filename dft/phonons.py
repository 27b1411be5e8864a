#!/usr/bin/env python3
"""Finite-displacement phonons (phonopy + GPAW PW PBE) of fcc Cu and diamond Si
-> python/umlip/validation/data/phonons.json

Run from the repository root (Debian python3: GPAW 22.8 + python3-phonopy 2.17):
    PYTHONPATH=python:dft nice -n 19 mpiexec --allow-run-as-root -n 2 gpaw python dft/phonons.py
Cache: $UMLIP_DFT_SCRATCH/phonons.  The Cu lattice constant is taken from the
h_cu111 recipe's EOS (same cache, same settings: 400 eV, k 12^3, FD 0.1 eV).
"""
import time

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.eos import EquationOfState
from ase.parallel import parprint

import phonopy
from phonopy import Phonopy
from phonopy.structure.atoms import PhonopyAtoms

import _gpaw_common as G
import _meta
from umlip.validation.systems import (BAND_PATH, DISPLACEMENT, HSP, MESH, PHONON_SYSTEMS,
                                      POINTS_PER_SEGMENT)

TASK = "phonons"
SCR = _meta.scratch(TASK)
T0 = time.time()
CUTOFF = 400.0
DISP = DISPLACEMENT
PH_CONV = {"density": 1.0e-5, "forces": 1.0e-4}
PATH = list(BAND_PATH)
NSEG = POINTS_PER_SEGMENT - 1   # intervals per path segment


def log(*a):
    parprint(f"[{time.time() - T0:8.1f}s]", *a, flush=True)


def si_eos():
    s = G.calc_settings(CUTOFF, (8, 8, 8), 0.01)
    grid = np.round(np.linspace(5.40, 5.52, 7), 4)
    pts = [G.cached(SCR, f"si_bulk_a{a:.4f}", bulk("Si", "diamond", a=a), s) for a in grid]
    v = [abs(np.linalg.det(np.array(p["cell"]))) / 2 for p in pts]
    e = [p["energy"] / 2 for p in pts]
    v0, e0, B = EquationOfState(v, e, eos="birchmurnaghan").fit()
    a0 = (8 * v0) ** (1 / 3)
    return {"settings": s, "structure": "diamond Si, 2-atom primitive cell",
            "points": [{"a": float(a), "volume_per_atom": vv, "energy_per_atom": ee}
                       for a, vv, ee in zip(grid, v, e)],
            "a0": float(a0), "bulk_modulus_GPa": float(B * 160.21766208),
            "eos_fit": "ase.eos birchmurnaghan"}


def band_qpoints():
    qs, labels, seg = [], [], []
    for k, (p1, p2) in enumerate(zip(PATH[:-1], PATH[1:])):
        a, b = np.array(HSP[p1]), np.array(HSP[p2])
        for t in np.linspace(0, 1, NSEG + 1):
            qs.append((a + (b - a) * t).tolist())
            seg.append(k)
        labels.append([p1, p2])
    return np.array(qs), labels, seg


def run(name, unit_atoms, scmat, primmat, kpts, width, a0, a0_source):
    unit = PhonopyAtoms(symbols=unit_atoms.get_chemical_symbols(),
                        cell=np.array(unit_atoms.cell),
                        scaled_positions=unit_atoms.get_scaled_positions())
    primmat = None if primmat is None else np.array(primmat, dtype=float)
    ph = Phonopy(unit, supercell_matrix=scmat, primitive_matrix=primmat, is_symmetry=True)
    ph.generate_displacements(distance=DISP, is_plusminus="auto")
    scs = ph.supercells_with_displacements
    settings = G.calc_settings(CUTOFF, kpts, width, convergence=PH_CONV)
    forces, sp = [], []
    for i, sc in enumerate(scs):
        at = Atoms(symbols=sc.symbols, cell=sc.cell, scaled_positions=sc.scaled_positions,
                   pbc=True)
        r = G.cached(SCR, f"{name}_disp{i:03d}", at, settings)
        f = np.array(r["forces"])
        forces.append(f)
        sp.append({"energy": r["energy"], "wall_time_s": r["wall_time_s"],
                   "fermi_level": r["fermi_level"]})
        log(name, "displacement", i, "done", r["wall_time_s"])
    ph.forces = forces
    ph.produce_force_constants()
    # no extra symmetrisation of the force constants (phonopy defaults only)
    ds = ph.dataset
    dataset = {"natom": int(ds["natom"]), "first_atoms": [
        {"number": int(d["number"]), "displacement": np.asarray(d["displacement"]).tolist(),
         "forces": np.round(np.asarray(d["forces"]), 8).tolist()} for d in ds["first_atoms"]]}
    qs, labels, seg = band_qpoints()
    ph.run_qpoints(qs)
    fb = ph.get_qpoints_dict()["frequencies"]
    ph.run_mesh(MESH, is_gamma_center=True, is_mesh_symmetry=True)
    md = ph.get_mesh_dict()
    prim = ph.primitive
    rec = np.linalg.inv(np.array(prim.cell)).T  # rows = reciprocal vectors (no 2pi)
    sc0 = ph.supercell
    out = {
        "phonopy_settings": {
            "phonopy_version": phonopy.__version__, "unitcell": a0_source,
            "supercell_matrix": np.asarray(scmat).tolist(),
            "primitive_matrix": None if primmat is None else np.asarray(primmat).tolist(),
            "displacement_distance_A": DISP, "is_plusminus": "auto", "is_diagonal": True,
            "is_symmetry": True, "symprec": 1e-5,
            "force_constants": "phonopy produce_force_constants() (full), no extra "
                               "symmetrisation, no NAC",
            "frequency_unit_conversion_factor": float(ph.unit_conversion_factor)
            if hasattr(ph, "unit_conversion_factor") else 15.633302300230191,
        },
        "dft_settings": settings,
        "lattice_constant_a0": a0,
        "unitcell": {"symbols": unit.symbols, "cell": np.array(unit.cell).tolist(),
                     "scaled_positions": np.array(unit.scaled_positions).tolist(),
                     "numbers": [int(z) for z in unit.numbers]},
        "primitive_cell": {"cell": np.array(prim.cell).tolist(),
                           "scaled_positions": np.array(prim.scaled_positions).tolist(),
                           "numbers": [int(z) for z in prim.numbers]},
        "supercell": {"natoms": len(sc0), "cell": np.array(sc0.cell).tolist(),
                      "numbers": [int(z) for z in sc0.numbers],
                      "scaled_positions": np.round(np.array(sc0.scaled_positions), 10).tolist()},
        "displacement_dataset": dataset,
        "displaced_supercell_energies": sp,
        "band": {"path": PATH, "segments": labels, "points_per_segment": NSEG + 1,
                 "special_points_reduced": HSP,
                 "qpoints_reduced": qs.tolist(), "segment_index": seg,
                 "qpoints_cartesian_inv_A_no_2pi": (qs @ rec).tolist(),
                 "frequencies_THz": np.round(fb, 6).tolist()},
        "mesh": {"mesh": MESH, "is_gamma_center": True, "symmetry_reduced": True,
                 "qpoints_reduced": np.array(md["qpoints"]).tolist(),
                 "weights": np.array(md["weights"]).astype(int).tolist(),
                 "frequencies_THz": np.round(md["frequencies"], 6).tolist()},
        "reciprocal_basis_note": "reduced q-points are in units of the reciprocal "
                                 "lattice vectors of primitive_cell (phonopy convention, "
                                 "no 2pi)",
    }
    gx = {lab: np.round(fb[i], 4).tolist() for i, lab in
          [(0, "G"), (NSEG, "X"), (4 * (NSEG + 1) - 1, "L")]}
    out["frequencies_at_special_points_THz"] = gx
    log(name, "X:", gx["X"], "L:", gx["L"])
    return out


def main():
    import h_cu111  # same cache / settings for the Cu lattice constant
    h_cu111.seed_cache_from_committed()
    b = h_cu111.stage_bulk()
    payload = {"xc": "PBE", "note": "Frequencies in THz; forces eV/A; positions reduced.",
               "random_seeds": "none (deterministic displacements)"}
    payload["gpaw_setups"] = _meta.gpaw_setup_info(["Cu", "Si"])
    stages = G.StageTimes(SCR)
    note_time = stages.note
    write = G.output_writer(TASK, payload, __file__, SCR, stages, T0)
    try:
        t = time.time()
        a_cu = b["a0_used_rounded"]
        sys_cu = PHONON_SYSTEMS["Cu"]
        # primitive cell, same vectors as systems.FCC_PRIM * a
        cu = bulk("Cu", sys_cu["structure"], a=a_cu, cubic=sys_cu["cubic"])
        payload["Cu"] = run("Cu", cu, np.eye(3, dtype=int) * sys_cu["supercell"],
                            sys_cu["primitive"], (3, 3, 3), 0.1, a_cu,
                            "fcc primitive cell from ase.build.bulk('Cu','fcc',a=a0)")
        payload["Cu"]["lattice_constant_source"] = "h_cu111 EOS (400 eV, k 12^3, FD 0.1 eV)"
        note_time("Cu", t)
        write()
        t = time.time()
        eos = si_eos()
        a_si = round(eos["a0"], 5)
        sys_si = PHONON_SYSTEMS["Si"]
        conv = bulk("Si", sys_si["structure"], a=a_si, cubic=sys_si["cubic"])
        payload["Si"] = run("Si", conv, np.eye(3, dtype=int) * sys_si["supercell"],
                            sys_si["primitive"], (2, 2, 2), 0.01,
                            a_si, "8-atom conventional cubic cell ase.build.bulk('Si',"
                            "'diamond',a=a0,cubic=True)")
        payload["Si"]["eos"] = eos
        note_time("Si", t)
        write()
    except G.NotCached as exc:
        log("stopping: not computed yet (cache-only mode):", exc)
        if "Cu" in payload:
            payload["incomplete"] = f"not computed yet: {exc}"
            write()
        return
    log("done")


if __name__ == "__main__":
    main()
