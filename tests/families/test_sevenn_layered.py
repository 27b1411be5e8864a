"""SevenNet-0 in the layered form (umlip.families.sevenn): stages embedding, layer_1..layer_5,
readout, with the halo exchange before layer_2..layer_5.

The float64 file (exported in the sevenn environment; its own self-check compares it with
sevenn's SevenNetCalculator) is evaluated stage by stage in plain torch on the one-rank
ghost-layer graph of a rattled periodic Cu+H cell (support.layered_graph.staged_reference,
autograd through the ghost-row copies) and compared with the whole file run by the engine on
the periodic system: energy <= 1e-8 eV, forces (edge gradients folded onto the atoms)
<= 1e-8 eV/Å (float64 round-off is ~1e-12). Without the exchange the ghosts' features after
layer_1 are wrong (ghosts receive no messages), so the energy must differ: that the flags
are needed and sufficient is what makes the two numbers agree.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from support.family import run_family
from support.layered_graph import (check_blocked_recomputation, ghost_layer_graph,
                                   staged_reference)

from umlip import engine


@pytest.fixture(scope="module")
def sevenn_float64(tmp_path_factory):
    """SevenNet-0 exported as a float64 layered file (about 35 s)."""
    out = str(tmp_path_factory.mktemp("sevenn_layered") / "7net-0_f64.pt")
    run_family("sevenn", ["-m", "umlip", "export", "sevenn", "7net-0", "-o", out,
                          "--dtype", "float64"])
    return out


def cu_h_cell():
    """fcc Cu 3x3x3 (primitive cells, 27 atoms) with an H on an octahedral site, rattled."""
    atoms = bulk("Cu", "fcc", a=3.62) * (3, 3, 3)
    atoms += Atoms("H", positions=[[1.81, 0.0, 0.0]])
    atoms.rattle(0.05, seed=11)
    return atoms


def staged_forces(graph, edge_grad, n_atoms):
    """Atom forces from dE/dr_ij (r_ij = x_j - x_i): F_i += g, F_j -= g, ghosts folded onto
    the atoms they image."""
    node_forces = np.zeros((len(graph["positions"]), 3))
    np.add.at(node_forces, graph["edge_index"][0], edge_grad)
    np.add.at(node_forces, graph["edge_index"][1], -edge_grad)
    forces = np.zeros((n_atoms, 3))
    np.add.at(forces, graph["node_atom"], node_forces)
    return forces


def test_sevenn_stages_with_exchange_equal_the_whole_model(sevenn_float64):
    model = engine.Model(sevenn_float64)
    meta = json.loads(model.metadata_json)
    assert meta["dtype"] == "float64" and model.layered
    assert [s["name"] for s in meta["stages"]] == (
        ["embedding"] + [f"layer_{k}" for k in range(1, 6)] + ["readout"])
    assert [s["exchange"] for s in meta["stages"]] == [False, False] + [True] * 4 + [False]
    assert meta["stages"][-1]["width"] == 0
    assert meta["self_check"]["layered"]["structures"] > 0

    atoms = cu_h_cell()
    whole = model.compute(atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc)
    g = ghost_layer_graph(atoms, model.cutoff)
    assert len(g["owner"]) > 0
    species = np.array([model.species_of(int(z)) for z in atoms.numbers])[g["node_atom"]]

    ref = staged_reference(sevenn_float64, species, g)
    de = abs(ref["energy"] - whole["energy"])
    df = np.max(np.abs(staged_forces(g, ref["edge_grad"], len(atoms)) - whole["forces"]))
    assert de <= 1e-8, f"|dE| = {de:.3g} eV (E = {whole['energy']:.6f} eV)"
    assert df <= 1e-8, f"max |dF| = {df:.3g} eV/Å"
    assert np.max(np.abs(whole["forces"])) > 0.05     # rattled: forces are not ~0

    wrong = staged_reference(sevenn_float64, species, g, exchange=False)
    assert abs(wrong["energy"] - whole["energy"]) > 1e-4, (
        "the ghost-layer graph without the exchange gives the right energy: the test does "
        "not probe the exchange flags")


def test_sevenn_recomputation_over_receiver_blocks(sevenn_float64):
    """Each SevenNet stage's row i depends only on node i and the edges it receives, which is
    what the engine's recomputation block by block of receivers relies on: blocks of at most
    300 edges on the ghost-layer graph (with the exchange) give the periodic system's numbers,
    energy <= 1e-8 eV, forces <= 1e-8 eV/Å."""
    check_blocked_recomputation(sevenn_float64, cu_h_cell())
