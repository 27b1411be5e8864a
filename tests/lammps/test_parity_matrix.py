"""LAMMPS (pair style umlip under mpirun) against the ASE calculator on the analytic
message-passing model (umlip.families.analytic: H, Cu; cutoff 4 Å; 2 layers), over

    structure {cubic, triclinic, slab (p p f), small cell (< 2 cutoffs), empty rank}
    x dtype {float32, float64} x MPI ranks {1, 2, 3, 4} x ghost {graph, replicate, layer}
    x prune {yes, no}

Each combination is its own test; all cases of one rank count run in one mpirun launch. The
reference is UMLIPCalculator on the same file, in the same dtype, at the positions LAMMPS
gathered. The neighbour graph is checked first (the engine's neighbour list against
ase.neighborlist on those positions), then the ghost mode LAMMPS chose.

Tolerances, float64: energy 1e-8 eV/atom, per-atom energies 1e-8 eV, forces 1e-7 eV/Å, global
and per-atom virial 1e-7 eV (measured: <= 1e-13). float32 (the two sides sum the same float32
terms in different orders): relative to the scale of each quantity (the largest |value| of the
reference), 1e-5 for energies, 1e-4 for forces and virials (measured maxima: energy 9e-8,
per-atom energies 1.2e-7, forces 4.5e-6, virial 5.9e-6, per-atom virial 2.9e-6).
"""
from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from ase import Atoms
from support.analytic_cases import CUTOFF, cubic, empty_rank, slab, small_cell, triclinic

from umlip import UMLIPCalculator, engine
from umlip.lammps.driver import case_from_atoms, run_under_mpi
from umlip.units import virial_to_lammps

STRUCTURES = {"cubic": cubic, "triclinic": triclinic, "slab": slab, "small_cell": small_cell,
              "empty_rank": empty_rank}
DTYPES = ("float32", "float64")
GHOSTS = ("graph", "replicate", "layer")
PRUNE = ("yes", "no")
RANKS = (1, 2, 3, 4)
COMBOS = list(itertools.product(STRUCTURES, DTYPES, GHOSTS, PRUNE))

#: absolute (float64) and relative-to-scale (float32) tolerances
TOL64 = {"energy_per_atom": 1e-8, "energies": 1e-8, "forces": 1e-7, "virial": 1e-7,
         "atom_virial": 1e-7}
TOL32 = {"energy_per_atom": 1e-5, "energies": 1e-5, "forces": 1e-4, "virial": 1e-4,
         "atom_virial": 1e-4}


def case_name(structure, dtype, ghost, prune):
    return f"{structure}-{dtype}-{ghost}-prune_{prune}"


def matrix_cases():
    """Every structure x dtype x ghost x prune as a case of umlip.lammps.driver."""
    cases = []
    for structure, dtype, ghost, prune in COMBOS:
        extra = {"processors": "* 1 1"} if structure == "empty_rank" else {}
        cases.append(case_from_atoms(STRUCTURES[structure](),
                                     case_name(structure, dtype, ghost, prune), dtype=dtype,
                                     pair_extra=f"ghost {ghost} prune {prune}", **extra))
    return cases


@pytest.fixture(scope="module")
def lammps_runs(analytic_files, tmp_path_factory):
    """ranks -> (cases by name, gathered results by name, launch wall time [s]); one mpirun
    launch per rank count, run on first use."""
    cache = {}

    def get(ranks):
        if ranks not in cache:
            cases = matrix_cases()
            d = tmp_path_factory.mktemp(f"matrix_{ranks}")
            t0 = time.perf_counter()
            raw = run_under_mpi({"model": analytic_files["float64"], "cases": cases}, ranks, d,
                                timeout=600, tag="matrix")
            wall = time.perf_counter() - t0
            results = {}
            for k, case in enumerate(cases):
                prefix = f"{k}_"
                results[case["name"]] = {key[len(prefix):]: val for key, val in raw.items()
                                         if key.startswith(prefix)}
            cache[ranks] = ({c["name"]: c for c in cases}, results, wall)
        return cache[ranks]

    return get


@pytest.fixture(scope="module")
def calculators(analytic_files):
    return {dtype: UMLIPCalculator(analytic_files["float64"], dtype=dtype, num_threads=1)
            for dtype in DTYPES}


def parity_errors(res, case, calc):
    """Max errors of LAMMPS's results ``res`` against ``calc`` at the gathered positions:
    absolute ("abs") and relative to the reference's largest |value| ("rel")."""
    atoms = Atoms(numbers=res["numbers"], positions=res["positions"], cell=case["cell"],
                  pbc=case["pbc"])
    atoms.calc = calc
    n = len(atoms)
    full = calc.model.compute(atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc,
                              atom_virial=True)
    ref = {
        "energy_per_atom": np.array(atoms.get_potential_energy() / n),
        "energies": atoms.get_potential_energies(),
        "forces": atoms.get_forces(),
        "virial": virial_to_lammps(full["virial"]),
        "atom_virial": np.array([virial_to_lammps(w) for w in full["atom_virial"]]),
    }
    ours = {
        "energy_per_atom": np.array(float(res["energy"]) / n),
        "energies": res["energies"],
        "forces": res["forces"],
        "virial": res["virial"],
        "atom_virial": res["atom_virial"],
    }
    errors = {}
    for key, r in ref.items():
        err = float(np.max(np.abs(ours[key] - r)))
        errors[key] = {"abs": err, "rel": err / max(float(np.max(np.abs(r))), 1e-30)}
    return errors


@pytest.mark.mpi
@pytest.mark.parametrize("ranks", RANKS, ids=lambda r: f"{r}rank")
@pytest.mark.parametrize("structure,dtype,ghost,prune", COMBOS,
                         ids=[case_name(*c) for c in COMBOS])
def test_lammps_matches_ase(lammps_runs, calculators, ranks, structure, dtype, ghost, prune):
    cases, results, _ = lammps_runs(ranks)
    name = case_name(structure, dtype, ghost, prune)
    case, res = cases[name], results[name]
    mode = str(res["mode"])
    where = f"{name} at {ranks} ranks (mode {mode})"

    # the graph: the engine's neighbour list equals ASE's on the gathered positions
    atoms = Atoms(numbers=res["numbers"], positions=res["positions"], cell=case["cell"],
                  pbc=case["pbc"])
    from ase.neighborlist import neighbor_list

    i, j, shift = engine.neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, CUTOFF)
    ai, aj, ashift = neighbor_list("ijS", atoms, CUTOFF)
    ours = sorted(zip(i.tolist(), j.tolist(), map(tuple, shift.tolist())))
    theirs = sorted(zip(ai.tolist(), aj.tolist(), map(tuple, ashift.tolist())))
    assert ours == theirs, f"{where}: engine {len(ours)} edges, ASE {len(theirs)}"

    assert mode == ghost, f"{where}: asked for ghost {ghost}"
    per_rank = res["atoms_per_rank"]
    assert len(per_rank) == ranks and per_rank.sum() == len(atoms), f"{where}: {per_rank}"
    if structure == "empty_rank" and ranks > 1:
        assert np.any(per_rank == 0), f"{where}: no empty rank, atoms per rank {per_rank}"

    errors = parity_errors(res, case, calculators[dtype])
    kind, tol = ("abs", TOL64) if dtype == "float64" else ("rel", TOL32)
    bad = {k: e[kind] for k, e in errors.items() if not e[kind] <= tol[k]}
    summary = ", ".join(f"{k} {e[kind]:.2g}" for k, e in errors.items())
    assert not bad, f"{where}: max {kind} errors {summary} (tolerances {tol})"

    # LAMMPS's per-atom quantities sum to its totals
    rel = 1e-14 if dtype == "float64" else 1e-5
    energy = float(res["energy"])
    assert abs(res["energies"].sum() - energy) <= 1e-8 + rel * abs(energy), where
    assert np.max(np.abs(res["atom_virial"].sum(axis=0) - res["virial"])) <= (
        1e-8 + rel * np.max(np.abs(res["virial"]))), where
