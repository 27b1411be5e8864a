"""Worker for lammps.py: one LAMMPS run (possibly under mpirun) through umlip.lammps.driver,
printed as one JSON line per rank (rank 0's with pair style umlip's own statistics, from compute
pair; every rank's with its peak memory).
With --raw it also times, in the same process, the raw model call (TorchScript forward, which
includes the backward pass to the edge vectors) on the identical graph."""
from __future__ import annotations

import argparse
import json
import time


def raw_model_ms(model_file, dtype, positions, numbers, cell, pbc, repeats, threads):
    """Median ms of the TorchScript forward (+ its internal backward) on the graph the engine
    builds for this configuration, with the engine's executor settings (frozen, unoptimised
    graph executor)."""
    import numpy as np
    import torch

    from umlip import engine

    torch.set_num_threads(threads)
    m = engine.Model(model_file, dtype=dtype)
    i, j, S = engine.neighbor_list(positions, cell, pbc, m.cutoff)
    vec = positions[j] - positions[i] + S @ cell
    species = np.array([m.atomic_numbers.index(z) for z in numbers])
    tdtype = getattr(torch, dtype)
    module = torch.jit.freeze(torch.jit.load(model_file).to(tdtype).eval())
    pos = torch.tensor(positions, dtype=tdtype)
    args = (pos, torch.tensor(species), torch.tensor(np.stack([i, j])),
            torch.tensor(vec, dtype=tdtype) - (pos[j] - pos[i]), len(numbers),
            torch.tensor(cell, dtype=tdtype))
    torch._C._set_graph_executor_optimize(False)
    module(*args)
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = module(*args)
        out["edge_grad"].sum().item()
        ts.append(time.perf_counter() - t0)
    return 1000 * float(np.median(ts)), len(i)


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--dtype", default="float32")
    p.add_argument("--dims", type=int, nargs=3, required=True,
                   help="fcc cubic cells along x y z (4 atoms each)")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--ghost", default="auto")
    p.add_argument("--recompute", default="auto", choices=("auto", "yes", "no"))
    p.add_argument("--warmup", type=int, default=2, help="MD steps before the timed run")
    p.add_argument("--extra", default="", help="more pair_style umlip keywords")
    p.add_argument("--raw", action="store_true")
    args = p.parse_args(argv)

    import resource

    import numpy as np
    from ase.build import bulk

    from umlip import engine
    from umlip.lammps.driver import case_from_atoms, pair_statistics, setup_case
    from umlip.lammps.session import mpi_rank, open_lammps

    lmp = open_lammps()
    atoms = bulk("Cu", "fcc", a=3.62, cubic=True) * tuple(args.dims)
    atoms.rattle(0.03, seed=4567)
    atoms.wrap()
    setup_case(lmp, case_from_atoms(atoms, "perf"), args.model, args.dtype,
               f"threads {args.threads} ghost {args.ghost} recompute {args.recompute} "
               f"{args.extra}")
    lmp.commands_string("""
velocity all create 300.0 12345 mom yes rot yes dist gaussian
fix 1 all nve
timestep 0.001
thermo 1000
""")
    lmp.command(f"run {args.warmup}")    # setup + warm-up
    t0 = time.perf_counter()
    lmp.command(f"run {args.steps} pre no post no")
    step_ms = 1000 * (time.perf_counter() - t0) / args.steps
    # the timed run's own statistics (its last step tallied the energy for thermo output)
    stats = pair_statistics(lmp)
    natoms = lmp.get_natoms()
    result = {"atoms": natoms, "step_ms": step_ms, "mode": stats["ghost_mode"],
              "pair_ms": 1000 * stats["pair_seconds"] / stats["force_calls"],
              "model_in_run_ms": 1000 * stats["model_seconds"] / stats["force_calls"],
              "graph_edges_all_ranks": int(stats["edges"])}
    if stats["auto_largest_graph_nodes"] > 0:
        result["largest_graph_nodes"] = int(stats["auto_largest_graph_nodes"])
    if stats["ghost_mode"] in ("graph", "layer"):
        result["ghost_nodes_per_local"] = stats["foreign_ghost_nodes"] / natoms
    if stats["ghost_mode"] == "layer":
        result["halo_bytes_per_step"] = stats["halo_bytes"]
    x = np.array(lmp.gather_atoms("x", 1, 3)).reshape(natoms, 3)
    box = lmp.extract_box()
    cell = np.diag(np.array(box[1]) - np.array(box[0]))
    if args.raw:
        raw_ms, edges = raw_model_ms(args.model, args.dtype, x, [29] * natoms, cell,
                                     np.array([True] * 3), max(3, args.steps), args.threads)
        result.update(raw_ms=raw_ms, edges=edges)
    else:
        cutoff = engine.Model(args.model, dtype=args.dtype).cutoff
        result["edges"] = len(engine.neighbor_list(x, cell, np.array([True] * 3), cutoff)[0])
    lmp.close()
    result["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    # every rank reports (its peak memory); the caller reads rank 0's line for the rest
    result["rank"] = mpi_rank()
    print(json.dumps(result), flush=True)
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
