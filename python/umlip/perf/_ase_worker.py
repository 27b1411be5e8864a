"""Worker for ase_calculator.py, run inside a family environment (sevenn or mace-torch plus
umlip): times UMLIPCalculator on the family's default export, on an export with the other
kernels (umlip.families.DEFAULT_KERNELS) and the family's own calculator in one process,
interleaved, on the same structures, and prints one JSON line per size."""
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
    import os

    import torch

    from umlip import UMLIPCalculator
    from umlip.families.calculate import family_calculator
    from umlip.perf._common import bulk_cu, median_ms, rattled

    from umlip.families import DEFAULT_KERNELS, export_here

    tmp = tempfile.mkdtemp()
    if args.family == "sevenn":
        source = "7net-0"
        label = "SevenNet-0 (float32)"
    else:
        from umlip.families.mace import build_small_model

        source = build_small_model(f"{tmp}/small.model", elements=(1, 6, 8, 29),
                                   num_interactions=2, hidden="32x0e+32x1o", seed=1)
        label = "MACE 2 layers, 32x0e+32x1o, r 5 Å (float64)"
    files = {}      # kernels -> (model file, seconds to export it with its self-check)
    for kernels in ("batched", "e3nn"):
        t0 = time.perf_counter()
        export_here(args.family, source, f"{tmp}/{kernels}.pt", kernels=kernels)
        files[kernels] = (f"{tmp}/{kernels}.pt", time.perf_counter() - t0)
    model_file = files[DEFAULT_KERNELS[args.family]][0]

    # each family in its own default precision: SevenNet float32, mace-torch's model float64
    dtype = "float32" if args.family == "sevenn" else "float64"
    ours = UMLIPCalculator(model_file)
    other = "e3nn" if DEFAULT_KERNELS[args.family] == "batched" else "batched"
    second = UMLIPCalculator(files[other][0])
    theirs = family_calculator(args.family, source, dtype)
    exports = {k: {"export_s": round(t, 1), "file_mb": round(os.path.getsize(f) / 2**20, 2)}
               for k, (f, t) in files.items()}
    print(MARK + json.dumps({"label": label, "threads": torch.get_num_threads(),
                             "kernels": DEFAULT_KERNELS[args.family], "other": other,
                             "exports": exports}), flush=True)
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

        # interleave: ours, other, theirs, ours ... so load changes hit all alike
        calcs = {"ours": ours, "other": second, "theirs": theirs}
        times = {k: [] for k in calcs}
        for k, c in calcs.items():
            call(c)
        for _ in range(repeats):
            for k, c in calcs.items():
                times[k].append(call(c))
        print(MARK + json.dumps({"atoms": len(atoms), "repeats": repeats,
                                 **{f"{k}_ms": median_ms(t) for k, t in times.items()}}),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
