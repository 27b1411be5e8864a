"""Run structures through LAMMPS with pair style umlip and gather everything by atom ID.
Meant to be launched under MPI:

    mpirun -np 3 python -m umlip.testing.lammps_runner spec.json out.npz

spec.json: {"model": file, "dtype": "float64", "pair_extra": "", "cases": [case, ...]} with
case = {"name", "symbols", "positions" [Å], "cell" (rows; LAMMPS lower-triangular form),
"pbc" [3 bools], optional "ids", "processors" (e.g. "* 1 1"), "delete_ids" (deleted after a
first `run 0`, then `run 0` again), "pair_extra" (extra pair_style keywords), "dtype"
(overrides the spec's dtype)}.

For every case the output holds, sorted by atom ID: ids, types, atomic numbers, positions
[Å], forces [eV/Å], per-atom
energies [eV], per-atom virials [eV] (LAMMPS order xx yy zz xy xz yz), and the total energy
[eV], global virial [eV] and, per rank, the number of local atoms.
"""
from __future__ import annotations

import json
import sys

import numpy as np


def lammps_box(cell: np.ndarray):
    """LAMMPS prism parameters from a lower-triangular cell (rows a, b, c)."""
    cell = np.asarray(cell, dtype=float)
    if abs(cell[0, 1]) > 1e-12 or abs(cell[0, 2]) > 1e-12 or abs(cell[1, 2]) > 1e-12:
        raise ValueError("cell must be in LAMMPS form: a along x, b in the xy plane")
    return dict(xhi=float(cell[0, 0]), yhi=float(cell[1, 1]), zhi=float(cell[2, 2]),
                xy=float(cell[1, 0]), xz=float(cell[2, 0]), yz=float(cell[2, 1]))


def setup_case(lmp, case, model, dtype, pair_extra="", elements=None):
    """Create the system of ``case`` in a cleared LAMMPS instance and set up pair style umlip."""
    from ase.data import atomic_masses, atomic_numbers

    symbols = list(case["symbols"])
    elements = elements or sorted(set(symbols), key=lambda s: atomic_numbers[s])
    n = len(symbols)
    ids = case.get("ids") or list(range(1, n + 1))
    box = lammps_box(case["cell"])
    bnd = " ".join("p" if p else "f" for p in case["pbc"])
    lmp.command("clear")
    lmp.command("units metal")
    lmp.command("atom_style atomic")
    lmp.command(f"boundary {bnd}")
    if case.get("processors"):
        lmp.command(f"processors {case['processors']}")
    lmp.command(f"region box prism 0 {box['xhi']!r} 0 {box['yhi']!r} 0 {box['zhi']!r} "
                f"{box['xy']!r} {box['xz']!r} {box['yz']!r} units box")
    lmp.command(f"create_box {len(elements)} box")
    types = [elements.index(s) + 1 for s in symbols]
    pos = np.asarray(case["positions"], dtype=float).reshape(-1)
    lmp.create_atoms(n, ids, types, pos.tolist())
    for t, s in enumerate(elements, start=1):
        lmp.command(f"mass {t} {atomic_masses[atomic_numbers[s]]}")
    extra = " ".join(x for x in (pair_extra, case.get("pair_extra", "")) if x)
    lmp.command(f"pair_style umlip {model} dtype {dtype} {extra}")
    lmp.command(f"pair_coeff * * {' '.join(elements)}")
    lmp.command("compute umlip_pe all pe/atom")
    lmp.command("compute umlip_sa all stress/atom NULL virial")
    lmp.command("compute umlip_p all pressure NULL virial")
    lmp.command("thermo_style custom step pe press")
    return elements


def gather(lmp):
    """Everything the tests compare, sorted by atom ID (collective: call on every rank)."""
    n = lmp.get_natoms()
    ids = np.array(lmp.gather_atoms_concat("id", 0, 1), dtype=int)
    x = np.array(lmp.gather_atoms_concat("x", 1, 3)).reshape(n, 3)
    f = np.array(lmp.gather_atoms_concat("f", 1, 3)).reshape(n, 3)
    types = np.array(lmp.gather_atoms_concat("type", 0, 1), dtype=int)
    pe = np.array(lmp.gather_concat("c_umlip_pe", 1, 1))
    sa = np.array(lmp.gather_concat("c_umlip_sa", 1, 6)).reshape(n, 6)
    order = np.argsort(ids)
    nktv2p = lmp.extract_global("nktv2p")
    vol = lmp.get_thermo("vol")
    press = np.array(lmp.extract_compute("umlip_p", 0, 1)[:6])
    return {
        "ids": ids[order],
        "types": types[order],
        "positions": x[order],
        "forces": f[order],
        "energies": pe[order],
        # compute stress/atom gives -(per-atom virial) in pressure*volume units
        "atom_virial": -sa[order] / nktv2p,
        "energy": lmp.get_thermo("pe"),
        "virial": press * vol / nktv2p,
        "volume": vol,
    }


def run(spec, log=None):
    """Run every case; returns {f"{k}_{key}": array}. With ``log`` (a file), rank 0 also
    records the ghost mode pair style umlip chose for each case ("{k}_mode")."""
    from ase.data import atomic_numbers

    from umlip.lammps.session import open_lammps

    lmp = open_lammps(("-nocite", "-screen", "none", "-log", log or "none"))
    out = {}
    try:
        for k, case in enumerate(spec["cases"]):
            setup_case(lmp, case, spec["model"], case.get("dtype", spec.get("dtype", "float64")),
                       spec.get("pair_extra", ""), spec.get("elements"))
            lmp.command("compute umlip_proc all property/atom proc")
            lmp.command("run 0 post no")
            if case.get("delete_ids"):
                ids = " ".join(str(i) for i in case["delete_ids"])
                lmp.command(f"group umlip_del id {ids}")
                lmp.command("delete_atoms group umlip_del")
                lmp.command("run 0 post no")
            res = gather(lmp)
            elements = spec.get("elements") or sorted(set(case["symbols"]),
                                                      key=lambda s: atomic_numbers[s])
            res["numbers"] = np.array([atomic_numbers[elements[t - 1]] for t in res["types"]])
            res["cell"] = np.array(case["cell"])
            res["pbc"] = np.array(case["pbc"])
            procs = np.array(lmp.gather_concat("c_umlip_proc", 1, 1), dtype=int)
            res["atoms_per_rank"] = np.bincount(procs, minlength=lmp.extract_setting("world_size"))
            if log:
                lmp.command("log none")    # closes (flushes) the log file on rank 0
                if _rank() == 0:
                    with open(log) as fh:
                        modes = [ln.split("ghost mode", 1)[1].split()[0] for ln in fh
                                 if "umlip: ghost mode" in ln]
                    res["mode"] = modes[-1] if modes else "unknown"
                lmp.command(f"log {log} append")
            for key, val in res.items():
                out[f"{k}_{key}"] = np.asarray(val)
    finally:
        lmp.close()
    return out


def _rank() -> int:
    import os

    for var in ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK"):
        if var in os.environ:
            return int(os.environ[var])
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    with open(argv[0]) as fh:
        spec = json.load(fh)
    out = run(spec, log=argv[1] + ".log")
    if _rank() == 0:
        np.savez(argv[1], **out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
