"""Benchmark: pair style umlip in LAMMPS against the raw model call, and MPI ranks vs threads.

    python -m umlip.perf.lammps [--quick] [--part all|serial|parallel|layer]

Part 1 (serial): for SevenNet-0 (float32) and a small 2-layer MACE (float64, built by
mace-torch), on bulk Cu of ~64, 512, 2048 and 8192 atoms: time per MD step in LAMMPS (NVE,
1 rank) next to the raw model call (TorchScript forward + backward on the identical graph,
timed in the same process after the run), the overhead ratio, and peak memory. Because two
separate timings of a ~1 s call differ by a few % from run to run, the table also gives the
model call's own time during the same MD steps (the pair style's end-of-run breakdown, see
`finish()` in src/pair_umlip.cpp) and the overhead of the MD step over it. Sizes whose memory
estimate exceeds the machine are skipped and say why.

Part 2 (parallel): 1 rank x 1 thread, 1 rank x 2 threads and 2 ranks x 1 thread, with the
ghost mode `ghost auto` chose, the foreign ghost nodes per local atom of the graph mode and the
edges both ranks evaluate relative to the serial graph: the 2-layer MACE in float32 (in
float64 two ranks would need ~2 x 13 GB at 8192 atoms, more than this 24 GB machine) at 8192
atoms (16 x 16 x 8 fcc cells: LAMMPS cuts x, so each rank owns a 29 Å thick slab with a
10 Å ghost shell on both faces) and at 16384 atoms (32 x 16 x 8 cells, 58 Å slabs), and
SevenNet-0 at 512 atoms (its 5 x 5 A ghost shell makes the graph
of each rank larger than the whole system, so auto picks replicate; the graph size it would
have needed is printed).

Part 3 (layer): the per-layer halo exchange (`ghost layer`, one-cutoff ghost shell) at 2 ranks
x 1 thread against 1 rank x 1 thread, for SevenNet-0 float32 at 512, 2048 and 8192 atoms and
the 2-layer MACE float32 at 8192 atoms: ms per step, 2-rank efficiency, ghosts per local atom,
bytes exchanged per step and peak memory per rank (layer-wise recomputation switches on by
itself above 50000 edges per rank, which is what lets SevenNet-0 run 8192 atoms on one rank).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from umlip.perf._common import fmt_table

SIZES = {64: (4, 2, 2), 512: (8, 4, 4), 2048: (8, 8, 8), 8192: (16, 16, 8), 16384: (32, 16, 8)}
SERIAL_SIZES = (64, 512, 2048, 8192)
# measured peak memory of the backward pass per edge (float32; float64 doubles it)
BYTES_PER_EDGE = {"sevenn": 1.3e5, "mace": 2.2e4}
EDGES_PER_ATOM = 43  # fcc Cu, cutoff 5 Å


def mem_total_gb() -> float:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal"):
                return int(line.split()[1]) / 1e6
    return 8.0


def small_mace(cache: Path, seed: int = 3) -> str:
    """The benchmark's MACE: 2 layers, 32x0e+32x1o, r_max 5 Å, Cu only, float64."""
    tag = "" if seed == 3 else f"-s{seed}"
    out = cache / f"bench-mace-2layer{tag}.pt"
    if out.is_file():
        return str(out)
    from umlip.families.envs import family_python
    from umlip.families import export

    src = cache / f"bench-mace-2layer{tag}.model"
    subprocess.run([family_python("mace"), "-m", "umlip.families.mace", str(src),
                    "--elements", "Cu", "--layers", "2", "--hidden", "32x0e+32x1o",
                    "--seed", str(seed)], check=True, capture_output=True)
    export("mace", str(src), str(out))
    return str(out)


def worker_records(stdout: str) -> list:
    """The workers' JSON records in their output: one per rank, found wherever they stand
    (the MPI launcher can put two ranks' lines on one line)."""
    decoder, records, at = json.JSONDecoder(), [], stdout.find("{")
    while at >= 0:
        try:
            obj, end = decoder.raw_decode(stdout, at)
        except json.JSONDecodeError:
            end = at + 1
        else:
            if isinstance(obj, dict) and "peak_rss_gb" in obj:
                records.append(obj)
        at = stdout.find("{", end)
    return records


def run_worker(model, dtype, dims, steps, threads=1, ranks=1, ghost="auto", raw=False,
               warmup=2, recompute="auto", extra=""):
    """One worker run; rank 0's result, with peak_rss_gb the largest of any rank."""
    cmd = [sys.executable, "-m", "umlip.perf._lammps_worker", "--model", model,
           "--dtype", dtype, "--dims", *map(str, dims), "--steps", str(steps),
           "--threads", str(threads), "--ghost", ghost, "--warmup", str(warmup),
           "--recompute", recompute, "--extra", extra]
    if raw:
        cmd.append("--raw")
    if ranks > 1:
        cmd = [str(Path(sys.executable).parent / "mpirun"), "-np", str(ranks)] + cmd
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return {"error": (proc.stderr or proc.stdout).strip().splitlines()[-1:]}
    lines = worker_records(proc.stdout)
    result = next(r for r in lines if r.get("rank", 0) == 0)
    result["peak_rss_gb"] = max(r["peak_rss_gb"] for r in lines)
    return result


def serial_part(models, sizes, budget):
    """Table 1: LAMMPS step vs raw model call, 1 rank x 1 thread."""
    rows = []
    for label, fam, model, dtype in models:
        for n in sizes:
            need = n * EDGES_PER_ATOM * BYTES_PER_EDGE[fam] * (2 if dtype == "float64" else 1)
            if need / 1e9 > budget:
                rows.append([label, n, "-", "-", "-", "-", "-", "-",
                             f"skipped: needs ~{need / 1e9:.0f} GB"])
                continue
            steps = 6 if n <= 512 else 3
            r = run_worker(model, dtype, SIZES[n], steps, threads=1, raw=True)
            if "error" in r:
                rows.append([label, n, "-", "-", "-", "-", "-", "-", f"failed: {r['error']}"])
                continue
            over = (r["step_ms"] - r["raw_ms"]) / r["raw_ms"]
            inrun = r.get("model_in_run_ms")
            over_in = (f"{100 * (r['step_ms'] - inrun) / inrun:+.2f}%" if inrun else "-")
            rows.append([label, r["atoms"], r["edges"], f"{r['step_ms']:.1f}",
                         f"{r['raw_ms']:.1f}", f"{100 * over:+.1f}%",
                         f"{inrun:.1f}" if inrun else "-", over_in, f"{r['peak_rss_gb']:.2f}"])
            print(f"{label} {r['atoms']} atoms: step {r['step_ms']:.1f} ms, raw model "
                  f"{r['raw_ms']:.1f} ms", flush=True)
    return rows


def ghost_column(t21: dict, natoms: int) -> str:
    """Foreign ghost nodes per local atom: measured in graph mode; in replicate mode what the
    largest rank's pruned graph would have held (what `ghost auto` compared, statistic 10)."""
    if t21.get("ghost_nodes_per_local") is not None:
        return f"{t21['ghost_nodes_per_local']:.2f}"
    if t21.get("largest_graph_nodes"):
        local = natoms / 2
        return f"graph would be {(t21['largest_graph_nodes'] - local) / local:.1f}"
    return "?"


def parallel_part(runs):
    """Table 2: 1x1, 1x2 and 2x1 on one size per model."""
    rows = []
    for label, model, dtype, n in runs:
        steps = 6 if n <= 512 else 3
        t11 = run_worker(model, dtype, SIZES[n], steps, threads=1)
        t12 = run_worker(model, dtype, SIZES[n], steps, threads=2)
        t21 = run_worker(model, dtype, SIZES[n], steps, threads=1, ranks=2)
        times = [f"{t['step_ms']:.0f}" if "error" not in t else "failed" for t in (t11, t12, t21)]
        if any("error" in t for t in (t11, t12, t21)):
            rows.append([f"{label} {dtype}", n, *times, "-", "-",
                         str([t.get("error") for t in (t11, t12, t21)])])
            continue
        eff = t11["step_ms"] / (2 * t21["step_ms"])
        work = (f"{t21['graph_edges_all_ranks'] / t11['edges']:.2f}"
                if t21.get("graph_edges_all_ranks") else "-")
        rows.append([f"{label} {dtype}", f"{t11['atoms']} {'x'.join(map(str, SIZES[n]))}", *times,
                     f"{t11['step_ms'] / t12['step_ms']:.2f}x", f"{100 * eff:.0f}%",
                     t21.get("mode", "?"), ghost_column(t21, t11["atoms"]), work,
                     f"{t11['peak_rss_gb']:.1f} / {t21['peak_rss_gb']:.1f}"])
        print(f"{label} ranks/threads at {t11['atoms']} atoms done", flush=True)
    return rows


LAYER_RUNS = [("SevenNet-0", "float32", 512), ("SevenNet-0", "float32", 2048),
              ("SevenNet-0", "float32", 8192), ("MACE 2-layer", "float32", 8192)]


def layer_part(files, runs, budget):
    """Table 3: per-layer halo exchange (ghost layer) at 2 ranks vs 1 rank, one timed step
    after setup (these graphs take seconds to minutes per step)."""
    rows = []
    for label, dtype, n in runs:
        t11 = run_worker(files[label], dtype, SIZES[n], 1, warmup=0)
        t21 = run_worker(files[label], dtype, SIZES[n], 1, ranks=2, ghost="layer", warmup=0)
        if "error" in t11 or "error" in t21:
            rows.append([f"{label} {dtype}", n, "-", "-", "-", "-", "-", "-",
                         f"failed: {t11.get('error')} {t21.get('error')}"])
            continue
        eff = t11["step_ms"] / (2 * t21["step_ms"])
        rows.append([f"{label} {dtype}", f"{t11['atoms']} {'x'.join(map(str, SIZES[n]))}",
                     f"{t11['step_ms']:.0f}", f"{t21['step_ms']:.0f}", f"{100 * eff:.0f}%",
                     f"{t21.get('ghost_nodes_per_local', float('nan')):.2f}",
                     f"{t21.get('halo_bytes_per_step', 0) / 1e6:.1f}",
                     f"{t11['peak_rss_gb']:.1f} / {t21['peak_rss_gb']:.1f}", t11["mode"]])
        print(f"{label} ghost layer at {t11['atoms']} atoms done", flush=True)
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="64 and 512 atoms only")
    p.add_argument("--part", choices=("all", "serial", "parallel", "layer"), default="all")
    args = p.parse_args(argv)
    from umlip.models import cache_dir, resolve

    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    sevenn, mace = str(resolve("7net-0")), small_mace(cache)
    models = [("SevenNet-0", "sevenn", sevenn, "float32"),
              ("MACE 2-layer", "mace", mace, "float64")]
    sizes = [64, 512] if args.quick else list(SERIAL_SIZES)
    budget = 0.8 * mem_total_gb()

    rows = serial_part(models, sizes, budget) if args.part in ("all", "serial") else None
    par_rows = layer_rows = None
    if args.part in ("all", "layer"):
        runs = LAYER_RUNS[:1] + [("MACE 2-layer", "float32", 512)] if args.quick else LAYER_RUNS
        layer_rows = layer_part({"SevenNet-0": sevenn, "MACE 2-layer": mace}, runs, budget)
    if args.part in ("all", "parallel"):
        runs = [("SevenNet-0", sevenn, "float32", 512), ("MACE 2-layer", mace, "float32", 512)]
        if not args.quick:
            runs[1:] = [("MACE 2-layer", mace, "float32", n) for n in (8192, 16384)]
        par_rows = parallel_part(runs)
    if rows is not None:
        print()
        print("pair style umlip (LAMMPS, 1 rank, 1 thread) vs the raw model call on the same graph "
              "(timed separately after the run), and vs the model call's own time inside the "
              "same MD steps (the pair style's breakdown)")
        print(fmt_table(rows, ["model", "atoms", "edges", "LAMMPS ms/step", "raw model ms",
                               "overhead", "model ms in run", "overhead in run",
                               "peak RSS GB"]))
    if par_rows is not None:
        print()
        print("ms per MD step, ranks x threads (2-rank efficiency = T(1x1) / (2 T(2x1)); "
              "foreign ghost nodes per local atom of the 2-rank graph; edges of both ranks' "
              "graphs / edges of the serial graph, whose inverse bounds the efficiency; "
              "peak RSS of the 1x1 process / of one 2x1 rank)")
        print(fmt_table(par_rows, ["model", "atoms fcc cells", "1x1", "1x2", "2x1",
                                   "2-thread speed-up", "2-rank eff.", "mode", "ghosts/local",
                                   "edges 2x1/1x1", "peak RSS GB"]))
    if layer_rows is not None:
        print()
        print("ghost layer (per-layer halo exchange, one-cutoff ghost shell): ms per MD step at "
              "1 rank x 1 thread (default mode, layer-wise recomputation auto) and 2 ranks x 1 "
              "thread (ghost layer); 2-rank efficiency = T(1x1) / (2 T(2x1)); LAMMPS ghosts per "
              "local atom at 2 ranks; MB through the halo exchanges per step (both ranks, both "
              "directions); peak RSS of the 1x1 process / of the larger 2x1 rank")
        print(fmt_table(layer_rows, ["model", "atoms fcc cells", "1x1 ms", "2x1 ms",
                                     "2-rank eff.", "ghosts/local", "halo MB/step",
                                     "peak RSS GB", "1x1 mode"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
