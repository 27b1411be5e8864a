"""Worker for ase_calculator.py, run inside a family environment (sevenn or mace-torch plus
umlip): times UMLIPCalculator and the family's own calculator in one process, interleaved, on
the same structures, and prints one JSON line per size."""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings

MARK = "UMLIP_BENCH "  # families print to stdout too; the driver reads only marked lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("family", choices=["sevenn", "mace"])
    p.add_argument("--sizes", type=int, nargs="+", default=[8, 64, 512, 2048])
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    if args.family == "mace":
        import mace  # noqa: F401
    warnings.filterwarnings("ignore")
    import torch

    from umlip import UMLIPCalculator
    from umlip.families.calculate import family_calculator
    from umlip.perf._common import bulk_cu, median_ms, rattled

    tmp = tempfile.mkdtemp()
    if args.family == "sevenn":
        from umlip.models import resolve

        source = "7net-0"
        model_file = str(resolve("7net-0"))
        label = "SevenNet-0 (float32)"
    else:
        from umlip.families import export_here
        from umlip.families.mace import build_small_model

        source = build_small_model(f"{tmp}/small.model", elements=(1, 6, 8, 29),
                                   num_interactions=2, hidden="32x0e+32x1o", seed=1)
        model_file = f"{tmp}/small.pt"
        export_here("mace", source, model_file)
        label = "MACE 2 layers, 32x0e+32x1o, r 5 Å (float64)"

    # each family in its own default precision: SevenNet float32, mace-torch's model float64
    dtype = "float32" if args.family == "sevenn" else "float64"
    ours = UMLIPCalculator(model_file)
    theirs = family_calculator(args.family, source, dtype)
    print(MARK + json.dumps({"label": label, "threads": torch.get_num_threads()}), flush=True)
    for n in args.sizes:
        atoms = bulk_cu(n)
        repeats = args.repeats if len(atoms) <= 600 else 3

        counter = iter(range(10**6))

        def call(calc):
            # a new configuration every call, so no calculator can serve a cached result
            a = rattled(atoms, next(counter))
            a.calc = calc
            t0 = time.perf_counter()
            a.get_potential_energy()
            a.get_forces()
            return time.perf_counter() - t0

        # interleave: ours, theirs, ours, theirs ... so load changes hit both alike
        call(ours)
        call(theirs)
        t_ours, t_theirs = [], []
        for _ in range(repeats):
            t_ours.append(call(ours))
            t_theirs.append(call(theirs))
        print(MARK + json.dumps({"atoms": len(atoms), "ours_ms": median_ms(t_ours),
                          "theirs_ms": median_ms(t_theirs), "repeats": repeats}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
