"""Worker for lammps.py: one LAMMPS run (possibly under mpirun), printed as one JSON line by
rank 0. With --raw it also times, in the same process, the raw model call (TorchScript forward,
which includes the backward pass to the edge vectors) on the identical graph."""
from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
import time


def rank() -> int:
    for var in ("PMI_RANK", "OMPI_COMM_WORLD_RANK"):
        if var in os.environ:
            return int(os.environ[var])
    return 0


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
    p.add_argument("--raw", action="store_true")
    args = p.parse_args(argv)

    import resource

    from umlip.lammps.session import open_lammps

    log = tempfile.mktemp(suffix=".log")
    lmp = open_lammps(("-nocite", "-screen", "none", "-log", log))
    a, b, c = args.dims
    lmp.commands_string(f"""
units metal
boundary p p p
atom_style atomic
lattice fcc 3.62
region box block 0 {a} 0 {b} 0 {c}
create_box 1 box
create_atoms 1 box
mass 1 63.546
displace_atoms all random 0.03 0.03 0.03 4567
pair_style umlip {args.model} dtype {args.dtype} threads {args.threads} ghost {args.ghost}
pair_coeff * * Cu
velocity all create 300.0 12345 mom yes rot yes dist gaussian
fix 1 all nve
timestep 0.001
thermo 1000
""")
    lmp.command("run 2")    # setup + warm-up
    t0 = time.perf_counter()
    lmp.command(f"run {args.steps} pre no post no")
    step_ms = 1000 * (time.perf_counter() - t0) / args.steps
    natoms = lmp.get_natoms()
    result = {"atoms": natoms, "step_ms": step_ms}
    import numpy as np

    x = np.array(lmp.gather_atoms("x", 1, 3)).reshape(natoms, 3)
    box = lmp.extract_box()
    cell = np.diag(np.array(box[1]) - np.array(box[0]))
    if args.raw:
        raw_ms, edges = raw_model_ms(args.model, args.dtype, x, [29] * natoms, cell,
                                     np.array([True] * 3), max(3, args.steps), args.threads)
        result.update(raw_ms=raw_ms, edges=edges)
    else:
        from umlip import engine

        cutoff = engine.Model(args.model, dtype=args.dtype).cutoff
        result["edges"] = len(engine.neighbor_list(x, cell, np.array([True] * 3), cutoff)[0])
    lmp.command("log none")
    lmp.close()
    result["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    if rank() == 0:
        text = open(log).read()
        mode = re.findall(r"umlip: ghost mode (\w+)", text)
        ghosts = re.findall(r"\(([0-9.]+) per local atom\)", text)
        result["mode"] = mode[-1] if mode else "?"
        if ghosts:
            result["ghost_nodes_per_local"] = float(ghosts[-1])
        calls = re.findall(r"umlip: (\d+) force calls: (\S+) s in pair umlip, of which (\S+) s "
                           r"in the model call", text)
        if calls:    # the timed run's own breakdown (the pair style resets it every run)
            n, pair_s, model_s = int(calls[-1][0]), float(calls[-1][1]), float(calls[-1][2])
            result.update(pair_ms=1000 * pair_s / n, model_in_run_ms=1000 * model_s / n)
        graph_edges = re.findall(r"per local atom\), (\d+) edges", text)
        if graph_edges:
            result["graph_edges_all_ranks"] = int(graph_edges[-1])
        nodes = re.findall(r"largest graph (\d+) nodes", text)
        if nodes:
            result["largest_graph_nodes"] = int(nodes[-1])
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
