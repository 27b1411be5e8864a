"""Benchmark: a committee of K models in pair style umlip against K separate runs.

    python -m umlip.perf.committee [--quick]

For K = 2 and 3 small MACE models (2 layers, float32, seeds 3, 4, 5; built by mace-torch) on
bulk Cu of 512 and 2048 atoms, 1 rank x 1 thread: ms per MD step of each model alone, their sum
(what K separate runs cost), and of one run with ``committee`` (every model on the graph built
once, plus the per-atom deviation and its reverse communication), side by side in one run. The
model calls dominate, so the committee saves the graph building and LAMMPS's own work of the
K - 1 other runs, not more.
"""
from __future__ import annotations

import argparse

from umlip.perf._common import fmt_table
from umlip.perf.lammps import SIZES, run_worker, small_mace


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="512 atoms only")
    args = p.parse_args(argv)
    from umlip.models import cache_dir

    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    files = [small_mace(cache, seed) for seed in (3, 4, 5)]
    rows = []
    for n in ([512] if args.quick else [512, 2048]):
        alone = []
        for f in files:
            r = run_worker(f, "float32", SIZES[n], 3, warmup=1)
            alone.append(r["step_ms"] if "error" not in r else float("nan"))
        for k in (2, 3):
            extra = f"committee {' '.join(files[1:k])}"
            r = run_worker(files[0], "float32", SIZES[n], 3, warmup=1, extra=extra)
            separate = sum(alone[:k])
            if "error" in r:
                rows.append([k, n, f"{separate:.0f}", "failed", r["error"]])
                continue
            rows.append([k, n, " + ".join(f"{t:.0f}" for t in alone[:k]), f"{separate:.0f}",
                         f"{r['step_ms']:.0f}", f"{r['step_ms'] / separate:.2f}"])
            print(f"committee of {k} at {n} atoms done", flush=True)
    print()
    print("ms per MD step, 1 rank x 1 thread, MACE 2-layer float32 models: each alone, their "
          "sum (K separate runs) and one committee run; ratio = committee / sum")
    print(fmt_table(rows, ["K", "atoms", "each alone", "sum", "committee", "ratio"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
