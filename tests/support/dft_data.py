"""Schema-valid reference files whose "DFT" is an analytic/cheap calculator (so every model
comparison of the benchmark has an exactly known answer: the same calculator must give
zero error)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import bulk

from umlip.io import payload_sha256, to_jsonable
from umlip.validation.dft_data import SCHEMA

FAKE_GPAW = {"code": "test calculator", "mode": "pw", "pw_cutoff_eV": 0.0, "xc": "none",
             "kpts": {"size": [1, 1, 1]}, "occupations": {}, "spinpol": False,
             "convergence": {}, "setups": "none"}
FAKE_PYSCF = {"code": "test calculator", "pyscf_version": "none", "scf": "none", "xc": "none",
              "basis": "none", "grids_level": 0, "conv_tol_Ha": 0.0, "conv_tol_grad": 0.0,
              "max_cycle": 0, "boundary": "isolated", "spin_search": "none"}


def write_ref(directory, name: str, payload: dict) -> Path:
    payload = json.loads(json.dumps(to_jsonable(payload)))
    doc = {"schema": SCHEMA, "task": name, "payload": payload,
           "sha256": payload_sha256(payload),
           "metadata": {"schema": SCHEMA, "recipe": f"tests/support/dft_data.py:{name}",
                        "recipe_sha256": "0" * 64, "code_versions": {}, "date_utc": "test",
                        "units": {"energy": "eV"}, "hash_rule": "see _meta.py",
                        "wall_time_s": 0.0}}
    path = Path(directory) / f"{name}.json"
    path.write_text(json.dumps(doc, indent=1))
    return path


def morse_energy(r, d, a, r0):
    return d * ((1 - np.exp(-a * (r - r0))) ** 2 - 1)


def morse_force(r, d, a, r0):
    x = np.exp(-a * (r - r0))
    return -2 * d * a * x * (1 - x)


FRACTIONS = [0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.45, 1.8, 2.3, 3.1, 3.5]


def dissociation_payload(calc, curves: dict) -> dict:
    """curves: name -> (symbols, eq positions, (i, j)); energies from ``calc``."""
    def e_f(sym, pos):
        at = Atoms(sym, positions=pos)
        at.calc = calc
        return at.get_potential_energy(), at.get_forces()

    atoms = {}
    for s in "HCNO":
        atoms[s] = {"energy": e_f(s, [[0, 0, 0]])[0]}
    out = {"method": FAKE_PYSCF, "atoms": atoms, "curves": {}, "distance_fractions_of_r_eq":
           FRACTIONS, "force_along_bond_definition": "F = forces[j] . u"}
    for name, (sym, pos_eq, (i, j)) in curves.items():
        pos_eq = np.array(pos_eq, float)
        u = pos_eq[j] - pos_eq[i]
        req = np.linalg.norm(u)
        u /= req
        pts = []
        for f in FRACTIONS:
            p = pos_eq.copy()
            p[j] = pos_eq[i] + u * req * f
            e, frc = e_f(sym, p)
            pts.append({"fraction": f, "r": req * f, "energy": e, "positions": p,
                        "forces": frc, "force_along_bond": frc[j] @ u})
        e_eq = [p["energy"] for p in pts if p["fraction"] == 1.0][0]
        c = {"symbols": sym, "stretched_bond": [i, j], "moving_atom": j, "r_eq": req,
             "equilibrium": {"positions": pos_eq}, "points": pts, "energy_at_r_eq": e_eq,
             "sum_of_isolated_atom_energies": sum(atoms[s]["energy"] for s in sym)}
        if len(sym) == 2:
            c["De_vs_atoms"] = c["sum_of_isolated_atom_energies"] - e_eq
        else:
            rest = [k for k in range(len(sym)) if k != j]
            lim = e_f([sym[k] for k in rest], pos_eq[rest])[0] + atoms[sym[j]]["energy"]
            c["dissociation_limit_frozen_fragment_plus_H"] = lim
            c["De_vs_frozen_fragment_plus_H"] = lim - e_eq
        out["curves"][name] = c
    return out


def record(rec: dict) -> dict:
    return dict(rec, settings=FAKE_GPAW)


def h_cu111_payload(calc, a0: float, with_neb: bool = True, neb_partial: bool = False):
    """The h_cu111 recipe's workflow with ``calc`` as "DFT" (relaxations to fmax 0.005)."""
    from umlip.validation.optimize import neb_path, relax, single_point
    from umlip.io import atoms_from_record
    from umlip.validation.structures import (BRIDGE_PAIR, atom_in_box, cu111_slab,
                                             fixed_indices, h2_in_box, with_adsorbate,
                                             with_h2_far, with_h_pair)

    f = 0.01
    h2 = record(relax(h2_in_box(), calc, fmax=f / 5))
    p = np.array(h2["positions"])
    h2["bond_length"] = float(np.linalg.norm(p[1] - p[0]))
    hat = record(single_point(atom_in_box("H"), calc))
    clean = record(relax(cu111_slab(a0), calc, fmax=f))
    sites = {}
    for site, h in (("fcc", 0.95), ("hcp", 0.95), ("ontop", 1.55)):
        r = record(relax(with_adsorbate(atoms_from_record(clean), "H", h, site, a0), calc,
                         fmax=f))
        r["adsorption_energy"] = r["energy"] - clean["energy"] - 0.5 * h2["energy"]
        sites[site] = r
    pairs = {k: record(relax(with_h_pair(atoms_from_record(clean), k), calc, fmax=f))
             for k in ("fcc+fcc", "hcp+hcp", "fcc+hcp")}
    best = min(pairs, key=lambda k: pairs[k]["energy"])
    far = record(relax(with_h2_far(atoms_from_record(clean), atoms_from_record(pairs[best]),
                                   h2["bond_length"]), calc, fmax=f))
    el = bulk("Cu", "fcc", a=a0)
    el.calc = calc
    payload = {
        "bulk_cu": {"a0": a0, "a0_used_rounded": a0, "settings": FAKE_GPAW,
                    "energy_per_atom_at_a0": el.get_potential_energy(),
                    "bulk_modulus_GPa": 100.0},
        "lattice_constant_a0": a0, "bulk_energy_per_atom": el.get_potential_energy(),
        "H2_molecule": h2, "H_atom": hat, "H2_binding_energy": 2 * hat["energy"] - h2["energy"],
        "adsorption_energy_definition": "E(slab+H) - E(slab) - 1/2 E(H2)",
        "energy_convention": "test",
        "slab": {"settings": FAKE_GPAW, "clean_slab": clean, "H_sites": sites,
                 "dissociated_candidates": pairs, "dissociated_state": best, "H2_far": far},
    }
    if with_neb:
        nb = neb_path(atoms_from_record(far), atoms_from_record(pairs[best]), calc,
                      n_images=5, fmax=0.05, steps=200,
                      fixed=fixed_indices(atoms_from_record(clean)))
        nb = {k: v for k, v in nb.items() if k not in ("fit_path", "fit_energies_rel", "path")}
        nb["settings"] = FAKE_GPAW
        if neb_partial:
            nb["status"] = "IN PROGRESS / not converged (partial path)"
        payload["neb"] = nb
        # the bridge-to-hollow route, as the recipe's bridge stage builds it
        start = with_h_pair(atoms_from_record(clean), BRIDGE_PAIR)
        pair = record(relax(start, calc, fmax=f))
        far_b = record(relax(with_h2_far(atoms_from_record(clean), start, h2["bond_length"]),
                             calc, fmax=f))
        nb = neb_path(atoms_from_record(far_b), atoms_from_record(pair), calc, n_images=5,
                      fmax=0.05, steps=300, fixed=fixed_indices(atoms_from_record(clean)))
        nb = {k: v for k, v in nb.items() if k not in ("fit_path", "fit_energies_rel", "path")}
        nb["settings"] = FAKE_GPAW
        payload["bridge_route"] = {"dissociated_state": pair, "H2_far": far_b, "neb": nb}
    return payload


def cu_adatom_payload(calc, a0: float):
    from umlip.validation.optimize import neb_path, relax
    from umlip.io import atoms_from_record
    from umlip.validation.structures import cu111_slab, fixed_indices, nearest_image, with_adsorbate

    f = 0.01
    clean = record(relax(cu111_slab(a0), calc, fmax=f))
    el = bulk("Cu", "fcc", a=a0)
    el.calc = calc
    eb = el.get_potential_energy()
    ad = {}
    for site in ("fcc", "hcp"):
        r = record(relax(with_adsorbate(atoms_from_record(clean), "Cu", 2.0, site, a0), calc,
                         fmax=f))
        r["binding_energy_vs_bulk"] = r["energy"] - clean["energy"] - eb
        ad[site] = r
    ini, fin = atoms_from_record(ad["fcc"]), atoms_from_record(ad["hcp"])
    fin.positions[-1] = nearest_image(fin.positions[-1], ini.positions[-1], np.array(ini.cell))
    nb = neb_path(ini, fin, calc, n_images=5, fmax=0.01, steps=500,
                  fixed=fixed_indices(atoms_from_record(clean)))
    nb = {k: v for k, v in nb.items() if k not in ("fit_path", "fit_energies_rel", "path")}
    nb["settings"] = FAKE_GPAW
    return {"settings": FAKE_GPAW, "clean_slab": clean, "adatom": ad,
            "E_hcp_minus_fcc": ad["hcp"]["energy"] - ad["fcc"]["energy"],
            "binding_energy_fcc": ad["fcc"]["binding_energy_vs_bulk"],
            "bulk_energy_per_atom": eb, "lattice_constant_a0": a0,
            "binding_energy_definition": "E(slab+adatom) - E(slab) - E_bulk",
            "neb_fcc_to_hcp": nb, "hop_barrier_fcc_to_hcp": nb["barrier_forward"]}


def phonon_material(calc, atoms, scmat, primmat, mesh=(4, 4, 4), nseg=10):
    """phonons.json material block, forces from ``calc`` (phonopy, recipe settings)."""
    from umlip.validation.systems import BAND_PATH, HSP
    from umlip.validation.tasks.phonons import freqs_at, make_phonopy, supercell_forces

    uc = {"symbols": atoms.get_chemical_symbols(), "cell": np.array(atoms.cell).tolist(),
          "scaled_positions": atoms.get_scaled_positions().tolist()}
    ph = make_phonopy(uc, scmat, primmat)
    ph.forces = supercell_forces(ph, calc)
    ph.produce_force_constants()
    qs = []
    for p1, p2 in zip(BAND_PATH[:-1], BAND_PATH[1:]):
        qa, qb = np.array(HSP[p1]), np.array(HSP[p2])
        qs += [qa + (qb - qa) * t for t in np.linspace(0, 1, nseg + 1)]
    qs = np.array(qs)
    fb = freqs_at(ph, qs)
    ph.run_mesh(list(mesh), is_gamma_center=True, is_mesh_symmetry=True)
    md = {"qpoints": ph.mesh.qpoints, "weights": ph.mesh.weights,
          "frequencies": ph.mesh.frequencies}
    ds = ph.dataset
    return {
        "phonopy_settings": {"phonopy_version": "test", "supercell_matrix": scmat,
                             "primitive_matrix": primmat, "displacement_distance_A": 0.01,
                             "is_plusminus": "auto", "symprec": 1e-5},
        # the conventional cubic a, as the recipe stores (fcc-lattice primitive cell)
        "dft_settings": FAKE_GPAW,
        "lattice_constant_a0": float((4 * atoms.get_volume()) ** (1 / 3)),
        "unitcell": uc, "primitive_cell": {"cell": np.array(ph.primitive.cell).tolist()},
        "supercell": {"natoms": len(ph.supercell)},
        "displacement_dataset": {"natom": ds["natom"], "first_atoms": [
            {"number": d["number"], "displacement": d["displacement"], "forces": d["forces"]}
            for d in ds["first_atoms"]]},
        "band": {"path": list(BAND_PATH), "points_per_segment": nseg + 1, "qpoints_reduced": qs,
                 "frequencies_THz": fb},
        "mesh": {"mesh": list(mesh), "qpoints_reduced": md["qpoints"],
                 "weights": md["weights"], "frequencies_THz": md["frequencies"]},
    }
