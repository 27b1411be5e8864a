#!/usr/bin/env python3
"""DFT labels for fine-tuning: GPAW single points of the configurations a fine-tuning pool
ranks first, with exactly the slab settings of the H/Cu(111) reference (h_cu111.py: PW 400 eV,
PBE, k 4x4x1 Gamma-centred, Fermi-Dirac 0.1 eV, same PAW setups). Run from the repository root:

    PYTHONPATH=python:dft nice -n 19 mpiexec --allow-run-as-root -n 2 gpaw python \
        dft/finetune_labels.py POOL.json STRATEGY SEED BUDGET [DIR]

(positional only: ``gpaw python`` takes options for itself), e.g. ``pool.json fps 0 8``.
One JSON per configuration, ``DIR/<id>.json`` (default: ``labels/`` next to the pool file):
energy (free energy extrapolated to zero smearing, as the reference), forces on every atom
(the pool's FixAtoms are removed for the single point: the labels are the full DFT forces),
settings, code versions and wall time (GPAW's own logs stay in the scratch folder,
$UMLIP_DFT_SCRATCH/finetune_labels). Existing files are kept, so a budget of 32 after one of
8 computes only the 24 new configurations, and a killed run resumes.
"""
import argparse
import os
import sys
import time

import _gpaw_common as G
import _meta
import h_cu111 as H
from ase.parallel import parprint

from umlip.finetune.pool import configs_by_id, read_pool, training_set
from umlip.io import atoms_from_record, read_json

SCR = _meta.scratch("finetune_labels")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("pool", help="pool file (umlip.finetune.pool)")
    p.add_argument("strategy", choices=["fps", "random", "committee"])
    p.add_argument("seed", type=int, help="ranking seed")
    p.add_argument("budget", type=int, help="label the first BUDGET configurations")
    p.add_argument("out", nargs="?", default=None, help="label folder")
    args = p.parse_args()
    pool = read_pool(args.pool)
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.pool)), "labels")
    os.makedirs(out, exist_ok=True)
    ids = training_set(pool, args.strategy, args.seed, args.budget)
    todo = [c for c in configs_by_id(pool, ids)
            if read_json(os.path.join(out, c["id"] + ".json"), None) is None]
    parprint(f"{len(ids)} configurations, {len(ids) - len(todo)} labelled before, "
             f"{len(todo)} to compute in {out}", flush=True)
    for k, rec in enumerate(todo):
        atoms = atoms_from_record(rec)
        atoms.set_constraint()
        t0 = time.time()
        res = dict(G.cached(SCR, rec["id"], atoms, H.S_SLAB))    # GPAW log and cache: SCR
        if G.world.rank == 0:
            res.update(code_versions=_meta.code_versions(),
                       gpaw_setups=_meta.gpaw_setup_info(sorted(set(atoms.get_chemical_symbols()))),
                       provenance=rec["provenance"], pool_base_model=pool["base_model"],
                       forces_note="no constraints during the single point: forces on all atoms")
            _meta.save_json(os.path.join(out, rec["id"] + ".json"), res)
        parprint(f"[{k + 1}/{len(todo)}] {rec['id']} ({rec['provenance']['source']}): "
                 f"E = {res['energy']:.5f} eV in {time.time() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
