"""Committee disagreement along the DFT reaction path of H2 on Cu(111).

    python -m umlip.validation.committee_path [--models M0 M1 ...] [--out DIR]

Evaluates a committee of model files (``UMLIPCalculator([m0, m1, ...])``) on the images of the
DFT CI-NEB of H2 dissociation on Cu(111) (the committed reference data, h_cu111) and writes, per
image, the largest per-atom force deviation, its value on the H atoms, and the energy deviation
(DeePMD-kit's model_devi conventions, as pair style umlip's out_file), to
``committee_h2_cu111.json`` and ``committee_h2_cu111.png`` in DIR, with the model hashes and
the reference data's hash. The question it answers: does the committee's disagreement rise
where the reaction happens (around the transition state) above its value in the adsorbed
state, i.e. would an uncertainty threshold flag the dissociation event?
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Dict, List, Sequence

import numpy as np

DEFAULT_MODELS = ("7net-0", "7net-0_22may2024", "7net-l3i5")


def path_deviation(models: Sequence[str], data_dir=None) -> Dict[str, Any]:
    """Per-image committee deviation on the DFT NEB images of H2/Cu(111)."""
    from umlip import UMLIPCalculator
    from umlip.io import atoms_from_record
    from umlip.models import resolve
    from umlip.validation.dft_data import load_dft_data

    dft = load_dft_data("h_cu111", data_dir)
    neb = dft.payload["neb"]
    files = [str(resolve(m)) for m in models]
    calc = UMLIPCalculator(files, dtype="float64")
    rows: List[Dict[str, Any]] = []
    for k, rec in enumerate(neb["images"]):
        atoms = atoms_from_record(rec)
        atoms.calc = calc
        atoms.get_potential_energy()
        sigma = calc.results["forces_std"]
        is_h = atoms.numbers == 1
        rows.append({"image": k, "dft_energy_rel_initial": neb["energies_rel_initial"][k],
                     "max_devi_f": float(sigma.max()), "max_devi_f_h": float(sigma[is_h].max()),
                     "avg_devi_f": float(sigma.mean()),
                     "devi_e_per_atom": float(calc.results["energy_std"]) / len(atoms),
                     "hh_distance": float(atoms.get_distance(*np.flatnonzero(is_h)[:2],
                                                             mic=True))})
    hashes = [calc.model.content_hash] + [m.content_hash for m in calc.members]
    return {"models": list(models), "model_hashes": hashes,
            "reference": {"name": "h_cu111", "sha256": dft.sha256,
                          "transition_state_image": neb["highest_image_index"]},
            "dtype": "float64", "units": {"devi_f": "eV/A", "devi_e_per_atom": "eV"},
            "images": rows}


def plot(result: Dict[str, Any], out: Path) -> str:
    from umlip.validation.plotting import pyplot, save

    plt = pyplot()
    rows = result["images"]
    x = [r["image"] for r in rows]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.0, 5.5), sharex=True)
    top.plot(x, [r["dft_energy_rel_initial"] for r in rows], "ko-", ms=4)
    top.set_ylabel("DFT energy [eV]\n(rel. to image 0)")
    top.axvline(result["reference"]["transition_state_image"], color="gray", ls=":")
    bottom.plot(x, [r["max_devi_f_h"] for r in rows], "o-", label="max on H atoms")
    bottom.plot(x, [r["max_devi_f"] for r in rows], "s--", label="max on all atoms")
    bottom.plot(x, [r["avg_devi_f"] for r in rows], "^:", label="mean over atoms")
    bottom.axvline(result["reference"]["transition_state_image"], color="gray", ls=":")
    bottom.set_xlabel("DFT CI-NEB image (H2 on the surface -> 2 H adsorbed)")
    bottom.set_ylabel("force deviation [eV/Å]")
    bottom.legend(fontsize=8)
    fig.suptitle("committee: " + ", ".join(Path(m).stem for m in result["models"]), fontsize=9)
    return save(fig, out, "committee_h2_cu111.png")


def main(argv=None) -> int:
    from umlip.io import write_json

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS),
                   help="model files or names; the first drives (default: %(default)s)")
    p.add_argument("--out", default="docs/uncertainty", help="output folder")
    args = p.parse_args(argv)
    import platform
    import time

    import torch

    import umlip

    result = path_deviation(args.models)
    result["made_by"] = {"command": "python -m umlip.validation.committee_path "
                         + " ".join(argv if argv is not None else sys.argv[1:]),
                         "umlip": getattr(umlip, "__version__", "unknown"),
                         "torch": torch.__version__, "python": platform.python_version(),
                         "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    out = Path(args.out)
    write_json(out / "committee_h2_cu111.json", result)
    png = plot(result, out)
    print(f"{'image':>5} {'E_DFT[eV]':>9} {'H-H[Å]':>7} {'max_f_H':>8} {'max_f':>8} "
          f"{'avg_f':>8} {'devi_e/atom':>11}")
    for r in result["images"]:
        print(f"{r['image']:5d} {r['dft_energy_rel_initial']:9.3f} {r['hh_distance']:7.2f} "
              f"{r['max_devi_f_h']:8.4f} {r['max_devi_f']:8.4f} {r['avg_devi_f']:8.4f} "
              f"{r['devi_e_per_atom']:11.5f}")
    print(f"wrote {out / 'committee_h2_cu111.json'} and {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
