"""Benchmark: the reactive-MD task on n cores - one process with n torch threads against
``--jobs n`` (n processes of one thread, each running its share of the trajectories).

    python -m umlip.perf.bench_jobs [--model 7net-0] [--backend lammps] [--jobs 2]

Runs ``umlip validate run --quick --tasks reactive_md`` three times into fresh directories:
1 process x 1 thread, 1 process x n threads, n processes x 1 thread (``--jobs n``), and prints
the wall times, the speed-ups over the first, and whether each result is identical to the
first (``--jobs`` must be: every trajectory is seeded by its own index and each process uses
one thread; n threads may reorder float sums, which chaotic MD can amplify). The quick settings are 8
trajectories + 2 at half the timestep on the 14-atom p(2x2) Cu(111) slab + H2; the model
load and the slab relaxation are in every wall time (as they are in a real run, where they
are a smaller share). Needs n idle cores: other jobs on the machine make every number
meaningless.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from umlip.perf._common import fmt_table


def _run(out: Path, model: str, backend: str, threads: int, jobs: int) -> float:
    cmd = [sys.executable, "-m", "umlip", "validate", "run", "--model", model, "--quick",
           "--tasks", "reactive_md", "--backend", backend, "--out", str(out),
           "--threads", str(threads), "--no-progress"]
    if jobs > 1:
        cmd += ["--jobs", str(jobs)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def _numbers(out: Path) -> dict:
    (res,) = out.glob("*/reactive_md/result.json")
    d = json.loads(res.read_text())
    return d["energies"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="7net-0")
    ap.add_argument("--backend", default="lammps", choices=["ase", "lammps"])
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args(argv)
    n = args.jobs
    rows, results, base = [], [], None
    with tempfile.TemporaryDirectory() as tmp:
        for label, threads, jobs in (("1 process x 1 thread", 1, 1),
                                     (f"1 process x {n} threads", n, 1),
                                     (f"{n} processes x 1 thread (--jobs {n})", 1, n)):
            out = Path(tmp) / f"t{threads}j{jobs}"
            wall = _run(out, args.model, args.backend, threads, jobs)
            results.append(_numbers(out))
            base = base or wall
            rows.append([label, f"{wall:.1f}", f"{base / wall:.2f}",
                         "yes" if results[-1] == results[0] else "no"])
    print(f"reactive_md --quick, model {args.model}, backend {args.backend}, "
          f"{os.cpu_count()} cores")
    print(fmt_table(rows, ["run", "wall [s]", "speed-up vs 1x1", "result identical to 1x1"]))
    # one thread per process: the split must not change a bit; n threads may change the
    # order of float sums, and MD is chaotic, so that row can differ legitimately
    return 0 if rows[2][3] == "yes" else 1


if __name__ == "__main__":
    raise SystemExit(main())
