"""CUDA checks of umlip on a machine with a GPU: parity of the ASE calculator and of pair style
umlip (1 and 2 MPI ranks on one GPU) on the GPU against the CPU, float32 and float64, then
speed on both.

    python tools/gpu_check.py MODEL.pt [MODEL.pt ...] [--device cuda] [--out FILE.md] [--quick]

Prints a Markdown section for docs/benchmarks.md (date, commit, machine, torch, the commands)
and writes it to --out. Exit status 1 when a parity check misses its tolerance. With
``--device cpu`` every check runs CPU against CPU: the plumbing, on a machine without a GPU.
tools/gpu-check runs this on the lent machine after building umlip there."""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

#: parity tolerances, GPU vs CPU at the same precision: |dE| per atom [eV], max |dF| [eV/Å],
#: max |d virial| per atom [eV]. The two sides differ only in the order of float sums
#: (scatter-adds on the GPU), so float64 agrees to ~1e-12 and float32 to ~1e-5 relative;
#: a wrong kernel or a lost edge is orders of magnitude above these.
TOL = {"float64": (1e-8, 1e-6, 1e-7), "float32": (5e-5, 2e-3, 5e-4)}


PARTS = ("ase-parity", "lammps-parity", "ase-speed", "lammps-speed")


def systems(numbers):
    """Test structures whose elements the model covers: H2 over Cu(111) (open z) and rattled
    bulk Cu (periodic, 108 atoms), each in LAMMPS's lower-triangular cell form."""
    from ase import Atoms
    from ase.build import add_adsorbate, fcc111

    from umlip.perf._common import bulk_cu

    out = {}
    if {1, 29} <= set(numbers):
        slab = fcc111("Cu", (3, 4, 3), a=3.63, vacuum=8.0, orthogonal=True)
        add_adsorbate(slab, Atoms("H2", positions=[(0, 0, 0), (0.75, 0, 0)]), 1.3, "ontop")
        slab.pbc = (True, True, False)
        slab.rattle(0.02, seed=1)
        out["H2 on Cu(111), 38 atoms"] = slab
    if 29 in numbers:
        out["bulk Cu, 108 atoms"] = bulk_cu(108, seed=2)
    return out


def ase_results(model, device, dtype, atoms):
    from umlip import UMLIPCalculator

    a = atoms.copy()
    a.calc = UMLIPCalculator(model, device=device, dtype=dtype)
    e, f = a.get_potential_energy(), a.get_forces()
    s = a.get_stress(voigt=False) * a.get_volume() if all(a.pbc) else None
    return e, f, s


def differences(n, ref, other):
    """|dE| per atom, max |dF|, max |d virial| per atom (None when not periodic)."""
    de = abs(other[0] - ref[0]) / n
    df = float(np.max(np.abs(other[1] - ref[1])))
    dv = None if ref[2] is None else float(np.max(np.abs(other[2] - ref[2]))) / n
    return de, df, dv


def verdict(dtype, diff):
    tol = TOL[dtype]
    ok = all(d is None or d <= t for d, t in zip(diff, tol))
    return "ok" if ok else (f"FAIL (tolerances {tol[0]:g} eV/atom, {tol[1]:g} eV/Å, "
                            f"{tol[2]:g} eV/atom virial)")


def fmt(d):
    return "n/a" if d is None else f"{d:.1e}"


def ase_parity(models, device):
    rows, failed = [], False
    for model in models:
        numbers, _ = _model_info(model)
        for name, atoms in systems(numbers).items():
            for dtype in ("float64", "float32"):
                ref = ase_results(model, "cpu", dtype, atoms)
                got = ase_results(model, device, dtype, atoms)
                diff = differences(len(atoms), ref, got)
                v = verdict(dtype, diff)
                failed |= v != "ok"
                rows.append([Path(model).stem, name, dtype, *map(fmt, diff), v])
    return rows, failed


def lammps_parity(models, device, workdir):
    """pair style umlip on ``device`` at 1 and 2 ranks (both on the one GPU) against 1 rank
    on the CPU; 2 ranks in the ghost mode the pair style chooses and, for a layered model
    file, in the per-layer halo exchange (``ghost layer``) too."""
    from umlip.lammps.driver import case_from_atoms, run_under_mpi

    rows, failed = [], False
    for model in models:
        numbers, layered = _model_info(model)
        runs = [(1, ""), (2, "")] + ([(2, " ghost layer")] if layered else [])
        for name, atoms in systems(numbers).items():
            case = case_from_atoms(atoms, name)
            for dtype in ("float64", "float32"):
                spec = {"model": str(model), "dtype": dtype, "cases": [case]}
                ref = _lammps_tuple(run_under_mpi(spec, 1, workdir, timeout=600, tag="cpu"))
                for ranks, ghost in runs:
                    dev = dict(spec, pair_extra=f"device {device}{ghost}")
                    res = run_under_mpi(dev, ranks, workdir, timeout=600, tag="dev")
                    diff = differences(len(atoms), ref, _lammps_tuple(res))
                    v = verdict(dtype, diff)
                    failed |= v != "ok"
                    rows.append([Path(model).stem, name, dtype, ranks, str(res["0_mode"]),
                                 *map(fmt, diff), v])
    return rows, failed


def _lammps_tuple(res):
    """Energy, forces and the virial's six components (both sides in LAMMPS's order)."""
    return float(res["0_energy"]), res["0_forces"], np.asarray(res["0_virial"], dtype=float)


def _model_info(model):
    """(atomic numbers, layered) of a model file."""
    from umlip.models import load_model

    m = load_model(model)
    return list(m.atomic_numbers), bool(m.layered)


def ase_speed(models, device, sizes, cpu_sizes, repeats):
    """ms per energy+forces call of UMLIPCalculator, median over ``repeats`` freshly
    displaced configurations, on ``device`` (float32 and float64) and on the CPU (all cores,
    float32, sizes in ``cpu_sizes`` only)."""
    from umlip import UMLIPCalculator
    from umlip.perf._common import bulk_cu

    rows = []
    threads = os.cpu_count() or 1
    for model in models:
        for n in sizes:
            atoms = bulk_cu(n)
            row = [Path(model).stem, len(atoms)]
            for dev, dtype in ((device, "float32"), (device, "float64"), ("cpu", "float32")):
                if dev == "cpu" and n not in cpu_sizes:
                    row.append("-")
                    continue
                try:
                    calc = UMLIPCalculator(model, device=dev, dtype=dtype, num_threads=threads)
                    row.append(f"{_time_calls(calc, atoms, repeats):.1f}")
                except Exception as exc:        # e.g. out of memory: say so, go on
                    row.append(f"failed: {type(exc).__name__}")
            rows.append(row)
    return rows


def _time_calls(calc, atoms, repeats):
    rng = np.random.default_rng(0)
    ts = []
    for k in range(repeats + 1):
        a = atoms.copy()
        a.positions += rng.normal(0.0, 0.01, a.positions.shape)
        a.calc = calc
        t0 = time.perf_counter()
        a.get_forces()
        if k:                                   # the first call builds and warms up
            ts.append(time.perf_counter() - t0)
    return 1000.0 * float(np.median(ts))


def lammps_speed(models, device, sizes, steps):
    """ms per NVE step of pair style umlip in LAMMPS, 1 rank, float32, on ``device``."""
    from umlip.lammps.driver import case_from_atoms, setup_case
    from umlip.lammps.session import open_lammps
    from umlip.perf._common import bulk_cu

    rows = []
    lmp = open_lammps()
    try:
        for model in models:
            for n in sizes:
                atoms = bulk_cu(n)
                try:
                    setup_case(lmp, case_from_atoms(atoms), str(model), "float32",
                               f"device {device}")
                    lmp.command("velocity all create 300 12345")
                    lmp.command("fix nve all nve")
                    lmp.command("run 3 post no")
                    t0 = time.perf_counter()
                    lmp.command(f"run {steps} post no")
                    rows.append([Path(model).stem, len(atoms),
                                 f"{1000.0 * (time.perf_counter() - t0) / steps:.1f}"])
                except Exception as exc:
                    rows.append([Path(model).stem, len(atoms), f"failed: {exc}"[:80]])
    finally:
        lmp.close()
    return rows


def table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return lines + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]


def header_lines(device, models, commit):
    import torch

    gpu = torch.cuda.get_device_name(0) if device.startswith("cuda") else "none (cpu run)"
    return [f"## GPU: {gpu}", "",
            f"Measured {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
            f"commit {commit}, by `tools/gpu-check` (`python tools/gpu_check.py "
            f"{' '.join(Path(m).name for m in models)} --device {device}`): torch "
            f"{torch.__version__}, Python {platform.python_version()}, {os.cpu_count()} CPU "
            "cores. Parity: the GPU against the CPU at the same precision, energy per atom, "
            "largest force component and virial per atom; tolerances in "
            "tools/gpu_check.py (TOL).", ""]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+")
    p.add_argument("--device", default="cuda")
    p.add_argument("--out")
    p.add_argument("--commit", default=os.environ.get("UMLIP_COMMIT", "unknown"))
    p.add_argument("--quick", action="store_true", help="small sizes and few steps")
    p.add_argument("--parts", default=",".join(PARTS),
                   help=f"comma list of: {', '.join(PARTS)} (default: all)")
    args = p.parse_args(argv)
    parts = set(args.parts.split(","))
    if not parts <= set(PARTS):
        p.error(f"--parts: unknown {', '.join(sorted(parts - set(PARTS)))}")

    sizes = (108, 500) if args.quick else (108, 500, 2048, 8192)
    lines = header_lines(args.device, args.models, args.commit)
    print("\n".join(lines), flush=True)
    failed = False

    def section(part, title, headers, run):
        nonlocal failed
        if part not in parts:
            return
        t0, first = time.perf_counter(), len(lines)
        try:
            out = run()
            rows, bad = out if isinstance(out, tuple) else (out, False)
            failed |= bad
            lines.extend([f"### {title}", ""] + table(headers, rows))
        except Exception:
            failed = True
            lines.extend([f"### {title}", "", "```", traceback.format_exc()[-2000:], "```"])
        lines.extend(["", f"({time.perf_counter() - t0:.0f} s)", ""])
        print("\n".join(lines[first:]), flush=True)
        if args.out:                            # each section as it ends: a timeout keeps them
            Path(args.out).write_text("\n".join(lines) + "\n")

    diff_cols = ["abs dE/atom [eV]", "max abs dF [eV/Å]", "max abs dW/atom [eV]", "verdict"]
    section("ase-parity", "Parity: UMLIPCalculator, GPU vs CPU",
            ["model", "system", "dtype", *diff_cols],
            lambda: ase_parity(args.models, args.device))
    with tempfile.TemporaryDirectory() as work:
        section("lammps-parity",
                "Parity: pair style umlip on the GPU (1 and 2 ranks) vs 1 CPU rank",
                ["model", "system", "dtype", "ranks", "ghost mode", *diff_cols],
                lambda: lammps_parity(args.models, args.device, work))
    section("ase-speed",
            "Speed: UMLIPCalculator, ms per energy+forces call (bulk Cu, median of 5)",
            ["model", "atoms", f"{args.device} f32", f"{args.device} f64",
             f"cpu f32 ({os.cpu_count()} threads)"],
            lambda: ase_speed(args.models, args.device, sizes, (108, 500), 5))
    section("lammps-speed",
            "Speed: pair style umlip, ms per NVE step (bulk Cu, 1 rank, float32)",
            ["model", "atoms", f"{args.device} ms/step"],
            lambda: lammps_speed(args.models, args.device, sizes, 10 if args.quick else 20))
    print("parity: " + ("FAILED" if failed else "ok"))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
