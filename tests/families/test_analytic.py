"""The analytic contract model (umlip.families.analytic) through the engine.

References: the model's plain numpy energies on ase.neighborlist's graph (independent of the
engine's neighbour search, its edge-vector reduction and TorchScript) and central finite
differences of the engine's own energy. Tolerances: float64 energies 1e-10 relative; forces
and stress against finite differences (h = 1e-4 Å or strain) 1e-6 eV/Å and 1e-6 eV/Å^3
(the O(h^2) error is ~1e-8); float32 against float64: energy 1e-5 relative (measured
<= 5e-8), forces 2e-5 relative to the largest force (measured <= 3e-6).
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from support.analytic_cases import (CUTOFF, LAYERS, chain, cluster, cubic, slab, small_cell,
                                    triclinic)

from umlip import engine
from umlip.families.analytic import AnalyticReference, main

STRUCTURES = {"triclinic": triclinic, "slab": slab, "cluster": cluster, "small_cell": small_cell}


def evaluate(model, atoms):
    return model.compute(atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc)


@pytest.fixture(scope="module")
def model64(analytic_files):
    return engine.Model(analytic_files["float64"], num_threads=1)


def test_metadata(analytic_files):
    for dtype, path in analytic_files.items():
        meta = json.loads(engine.Model(path).metadata_json)
        assert meta["family"] == "analytic" and meta["dtype"] == dtype
        assert meta["atomic_numbers"] == [1, 29]
        assert (meta["cutoff"], meta["num_layers"]) == (CUTOFF, LAYERS)
        assert meta["dtypes"] == ["float32", "float64"], meta.get("self_check")
        tol = 1e-12 if dtype == "float64" else 1e-5
        assert meta["self_check"]["max_abs_dF"] < tol * 100, meta["self_check"]


@pytest.mark.parametrize("name", list(STRUCTURES))
def test_energies_match_numpy_reference(model64, analytic_files, name):
    atoms = STRUCTURES[name]()
    ours = evaluate(model64, atoms)
    ref_atoms = atoms.copy()
    ref_atoms.calc = AnalyticReference.from_file(analytic_files["float64"])
    e_ref = ref_atoms.get_potential_energy()
    ea_ref = ref_atoms.get_potential_energies()
    from ase.neighborlist import neighbor_list

    n_edges = len(neighbor_list("i", atoms, CUTOFF))
    assert ours["n_edges"] == n_edges, f"engine graph {ours['n_edges']} edges, ASE {n_edges}"
    de = abs(ours["energy"] - e_ref)
    assert de <= 1e-10 * abs(e_ref), f"|dE| = {de:.3g} eV (E = {e_ref:.6f} eV)"
    dea = np.max(np.abs(ours["energies"] - ea_ref))
    assert dea <= 1e-10 * np.max(np.abs(ea_ref)), f"max |dE_i| = {dea:.3g} eV"
    # forces of the reference: autograd of the eager module through positions
    df = np.max(np.abs(ours["forces"] - ref_atoms.get_forces()))
    assert df <= 1e-10, f"max |dF| = {df:.3g} eV/Å"
    # per-atom energies sum to the energy
    assert abs(ours["energies"].sum() - ours["energy"]) <= 1e-12 * abs(ours["energy"])


@pytest.mark.parametrize("name", list(STRUCTURES))
def test_forces_and_stress_are_derivatives(model64, name):
    atoms = STRUCTURES[name]()
    h = 1e-4
    ours = evaluate(model64, atoms)

    def energy(positions, cell):
        return model64.compute(positions, atoms.numbers, cell, atoms.pbc)["energy"]

    pos0, cell0 = atoms.positions.copy(), atoms.cell.array.copy()
    fd = np.zeros_like(pos0)
    for a in range(len(atoms)):
        for c in range(3):
            p, m = pos0.copy(), pos0.copy()
            p[a, c] += h
            m[a, c] -= h
            fd[a, c] = -(energy(p, cell0) - energy(m, cell0)) / (2 * h)
    df = np.max(np.abs(ours["forces"] - fd))
    assert df <= 1e-6, f"max |F - F_fd| = {df:.3g} eV/Å (max |F| {np.max(np.abs(fd)):.3g})"
    assert np.max(np.abs(ours["forces"])) > 0.1   # not trivially zero
    volume = abs(atoms.cell.volume)
    if volume < 1e-10:
        return
    # virial W = -dE/d(strain): ASE stress = dE/d(strain) / V = -W / V
    dwde = np.zeros((3, 3))
    for a in range(3):
        for b in range(a, 3):
            eps = np.zeros((3, 3))
            eps[a, b] = eps[b, a] = h / (1 if a == b else 2)
            ep = energy(pos0 @ (np.eye(3) + eps), cell0 @ (np.eye(3) + eps))
            em = energy(pos0 @ (np.eye(3) - eps), cell0 @ (np.eye(3) - eps))
            dwde[a, b] = dwde[b, a] = (ep - em) / (2 * h)
    dw = np.max(np.abs(-ours["virial"] - dwde)) / volume
    assert dw <= 1e-6, f"max |stress - stress_fd| = {dw:.3g} eV/Å^3"


def test_message_passing_is_local_to_num_layers_hops(model64):
    atoms = chain()           # k = 0; a = 1 (neighbour), b = 2 (two hops), c = 3 (three hops)
    base = evaluate(model64, atoms)["energies"][0]

    def e_k_after_moving(atom, dx):
        moved = atoms.copy()
        moved.positions[atom] += dx
        return evaluate(model64, moved)["energies"][0]

    # b is 5 Å from k (beyond the cutoff): a pair potential would not see it
    d2 = abs(e_k_after_moving(2, [0.0, 0.3, 0.0]) - base)
    assert d2 > 1e-5, f"E_k changed by {d2:.3g} eV when a two-hop atom moved"
    # c (7.5 Å, < 2 x cutoff but three hops) and the atom 9 Å away cannot reach k in 2 layers
    for atom, dx in ((3, [0.0, 0.4, 0.3]), (5, [0.5, -0.2, 0.3])):
        d = abs(e_k_after_moving(atom, dx) - base)
        assert d <= 1e-14, f"E_k changed by {d:.3g} eV when atom {atom} moved"


@pytest.mark.parametrize("name", list(STRUCTURES))
def test_float32_agrees_with_float64(analytic_files, model64, name):
    atoms = STRUCTURES[name]()
    ref = evaluate(model64, atoms)
    fscale = np.max(np.abs(ref["forces"]))
    for label, model in (
            ("float32 file", engine.Model(analytic_files["float32"])),
            ("float64 file run in float32", engine.Model(analytic_files["float64"],
                                                         dtype="float32"))):
        out = evaluate(model, atoms)
        de = abs(out["energy"] - ref["energy"]) / abs(ref["energy"])
        df = np.max(np.abs(out["forces"] - ref["forces"])) / fscale
        assert de <= 1e-5 and df <= 2e-5, f"{label}: relative dE {de:.3g}, dF {df:.3g}"


def test_nve_md_conserves_energy(analytic_files):
    """Cu fcc with H at 600 K, 60 velocity-Verlet steps of 0.5 fs: the total energy stays
    within 2e-3 eV (measured ~1e-4) and no pair comes closer than 1.2 Å."""
    from ase import units
    from ase.md.verlet import VelocityVerlet

    from umlip import UMLIPCalculator

    atoms = cubic()
    atoms.calc = UMLIPCalculator(analytic_files["float64"], num_threads=1)
    masses = atoms.get_masses()[:, None]
    kt = 600 * units.kB
    atoms.set_momenta(np.random.default_rng(0).normal(size=(len(atoms), 3)) * np.sqrt(masses * kt))
    e0 = atoms.get_total_energy()
    dyn = VelocityVerlet(atoms, 0.5 * units.fs)
    drift = 0.0
    for _ in range(6):
        dyn.run(10)
        drift = max(drift, abs(atoms.get_total_energy() - e0))
    closest = np.min(atoms.get_all_distances(mic=True) + 9.0 * np.eye(len(atoms)))
    assert drift <= 2e-3 and closest >= 1.2, f"drift {drift:.3g} eV, closest pair {closest:.3g} Å"


def test_cli_writes_a_model_the_engine_loads(tmp_path, capsys):
    out = tmp_path / "cli.pt"
    assert main([str(out), "--elements", "Cu", "--cutoff", "3.5", "--layers", "1",
                 "--seed", "3"]) == 0
    assert "wrote" in capsys.readouterr().out
    model = engine.Model(str(out))
    assert (model.atomic_numbers, model.cutoff, model.num_layers) == ([29], 3.5, 1)
    with pytest.raises(SystemExit):
        main([str(tmp_path / "bad.pt"), "--elements", "Xx"])
