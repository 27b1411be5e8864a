#!/usr/bin/env python3
"""A start path for a DFT CI-NEB: a umlip model's own converged CI-NEB between the DFT
endpoints  ->  dft/start_paths/<name>.json

The DFT CI-NEB only starts from these images (an IDPP path between H2 far above the surface
and the dissociated pair begins with forces of ~4 eV/A and 2 eV above the endpoints); its
result is the DFT saddle whatever the start, and the recipe records which start it used. Run
from the repository root with the umlip environment (not GPAW's python):

    PYTHONPATH=python:dft .venv/bin/python dft/model_start_path.py h2_cu111_bridge \
        [--model 7net-mf-0:pbe]

``h2_cu111_bridge``: the bridge-to-hollow route of dft/h_cu111.py, endpoints read from that
recipe's scratch folder (2H_fcc_hcp-adjacent.json, H2_far_bridge.json) or, when absent,
from the committed h_cu111.json (bridge_route).
"""
import argparse
import os
import sys

import _meta
from umlip.io import atoms_from_record, atoms_to_record, file_sha256, read_json, write_json

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "start_paths")
#: start path name -> (scratch task, endpoint cache keys, committed payload keys, images)
PATHS = {"h2_cu111_bridge": ("h_cu111", ("H2_far_bridge", "2H_fcc_hcp-adjacent"),
                             ("bridge_route.H2_far", "bridge_route.dissociated_state"), 7)}


def endpoints(name):
    task, keys, committed, _ = PATHS[name]
    scr = _meta.scratch(task)
    recs = [read_json(os.path.join(scr, k + ".json"), None) for k in keys]
    if all(r is not None for r in recs):
        return recs, f"scratch {scr}"
    doc = read_json(os.path.join(_meta.DATA_DIR, task + ".json"))
    recs = []
    for dotted in committed:
        d = doc["payload"]
        for k in dotted.split("."):
            d = d[k]
        recs.append(d)
    return recs, f"data/{task}.json sha256 {doc['sha256'][:16]}"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("name", choices=sorted(PATHS))
    p.add_argument("--model", default="7net-mf-0:pbe",
                   help="umlip model (name or file); default: SevenNet-MF-0, PBE fidelity")
    p.add_argument("--fmax", type=float, default=0.05, help="model CI-NEB force target [eV/A]")
    args = p.parse_args()
    from umlip import UMLIPCalculator
    from umlip.validation.optimize import neb_path

    (ini, fin), source = endpoints(args.name)
    n_images = PATHS[args.name][3]
    fixed = [int(i) for i in ini["fixed_atoms"]]
    calc = UMLIPCalculator(args.model, dtype="float64")
    nb = neb_path(atoms_from_record(ini), atoms_from_record(fin), calc, n_images=n_images,
                  fmax=args.fmax, steps=1000, fixed=fixed)
    if not nb["optimizer_converged"]:
        sys.exit(f"the model CI-NEB did not converge (max NEB force "
                 f"{nb['max_neb_force_final']:.3f} eV/A): no start path written")
    images = [atoms_to_record(atoms_from_record(r), position_decimals=8)
              for r in nb["images"]]
    m = calc.model
    out = os.path.join(OUT_DIR, args.name + ".json")
    write_json(out, {
        "name": args.name, "images": images, "n_images_total": n_images,
        "endpoints_from": source,
        "model": {"name": args.model, "file": os.path.basename(m.path),
                  "content_hash": m.content_hash, "family": m.family,
                  "family_version": m.family_version, "dtype": "float64"},
        "model_neb": {k: nb[k] for k in ("method", "optimizer_steps", "max_neb_force_final",
                                          "fmax_target", "barrier_forward", "energies_rel_initial")},
        "made_by": f"dft/model_start_path.py {args.name} --model {args.model}",
        "script_sha256": file_sha256(__file__)})
    print(f"{out}: {n_images} images, model barrier {nb['barrier_forward']:.3f} eV above the "
          f"initial state, {nb['optimizer_steps']} FIRE steps")


if __name__ == "__main__":
    main()
