"""Benchmark: UMLIPCalculator against the families' own ASE calculators, and the neighbour
search alone.

    python -m umlip.perf.ase_calculator [--sizes 8 64 512 2048] [--families sevenn mace]

For each family, one process in the family's environment holds the calculators (same torch,
same threads) and times energy+forces calls on the same rattled bulk Cu structures, interleaved
(ours, theirs, ours, ...), reporting medians: UMLIPCalculator on the family's default export
(SevenNet: umlip's batched convolution kernels; MACE: mace-torch's e3nn kernels), on an export
with the other kernels, and the family's own calculator. Export time (with its self-check) and
file size are printed per file. Then the engine's neighbour search is timed alone
at 10k and 100k atoms to show linear scaling.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import time


from umlip.perf._ase_worker import MARK
from umlip.perf._common import bulk_cu, fmt_table, median_ms


def family_rows(family, sizes, repeats):
    from umlip.families.envs import family_python

    cmd = [family_python(family), "-m", "umlip.perf._ase_worker", family, "--sizes",
           *map(str, sizes), "--repeats", str(repeats)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    header, rows = None, []
    for line in proc.stdout:
        if not line.startswith(MARK):
            continue
        rec = json.loads(line[len(MARK):])
        if "label" in rec:
            header = rec
            print(f"[{family}] {rec['label']}, {rec['threads']} torch threads", flush=True)
            for k, v in rec["exports"].items():
                print(f"[{family}] {k} kernels: export and self-check {v['export_s']} s, "
                      f"file {v['file_mb']} MB", flush=True)
        else:
            rows.append(rec)
            print(f"[{family}] {rec['atoms']:6d} atoms: umlip {rec['ours_ms']:.1f} ms, "
                  f"umlip {header['other']} kernels {rec['other_ms']:.1f} ms, "
                  f"{family} {rec['theirs_ms']:.1f} ms", flush=True)
    err = proc.stderr.read()
    if proc.wait() != 0:
        raise RuntimeError(f"{family} worker failed:\n{err[-3000:]}")
    return header, rows


def neighbor_scaling(sizes=(10_000, 100_000), cutoff=5.0):
    from umlip import engine

    out = []
    for n in sizes:
        atoms = bulk_cu(n)
        pos, cell, pbc = atoms.positions, atoms.cell.array, atoms.pbc
        engine.neighbor_list(pos, cell, pbc, cutoff)
        ts = []
        for _ in range(3):
            t0 = time.perf_counter()
            i, _, _ = engine.neighbor_list(pos, cell, pbc, cutoff)
            ts.append(time.perf_counter() - t0)
        out.append((len(atoms), len(i), median_ms(ts)))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[8, 64, 512, 2048])
    p.add_argument("--families", nargs="+", default=["sevenn", "mace"])
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)

    tables = []
    for fam in args.families:
        header, rows = family_rows(fam, args.sizes, args.repeats)
        name = {"sevenn": "SevenNetCalculator", "mace": "MACECalculator"}[fam]
        tab = [[r["atoms"], f"{r['ours_ms']:.1f}", f"{r['other_ms']:.1f}",
                f"{r['theirs_ms']:.1f}", f"{r['theirs_ms'] / r['ours_ms']:.2f}x",
                f"{r['other_ms'] / r['ours_ms']:.2f}x"] for r in rows]
        cols = ["atoms", f"umlip ({header['kernels']})", f"umlip ({header['other']})", name,
                "umlip vs family", f"vs {header['other']}"]
        tables.append((f"{header['label']}: ms per energy+forces call (median); umlip's "
                       f"default export has the {header['kernels']} kernels",
                       fmt_table(tab, cols)))
    nb = neighbor_scaling()
    nb_tab = [[n, e, f"{ms:.1f}", f"{1e6 * ms / 1000 / n:.2f}"] for n, e, ms in nb]
    print()
    for title, tab in tables:
        print(title)
        print(tab)
        print()
    print("engine neighbour search alone (bulk Cu, cutoff 5 Å, full list)")
    print(fmt_table(nb_tab, ["atoms", "edges", "ms", "µs/atom"]))
    ratio = (nb[1][2] / nb[0][2]) / (nb[1][0] / nb[0][0])
    print(f"time ratio / atom ratio (1.0 = linear): {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
