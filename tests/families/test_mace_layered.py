"""The layered form of an exported MACE (umlip.families.mace): a 3-layer ScaleShiftMACE built by
mace-torch (its own environment), exported, then evaluated stage by stage on the one-rank
ghost-layer graph with the halo exchange (tests/support/layered_graph.py, plain torch autograd)
against the engine's whole-model evaluation of the same file.

Tolerances (float64): energy 1e-8 eV, forces 1e-8 eV/Å; without the exchange the energy must
differ by more than 1e-4 eV (ghost rows of the features of layers 1 and 2 would be wrong).
"""
from __future__ import annotations

import json

import numpy as np
from support.layered_graph import (check_blocked_recomputation, ghost_layer_graph,
                                   staged_reference)

from umlip import engine

LAYERS = 3


def _cell():
    """Rattled fcc Cu 3x3x3 with one C, one O and an octahedral H."""
    from ase.build import bulk

    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((3, 3, 3))
    atoms.symbols[5] = "C"
    atoms.symbols[40] = "O"
    atoms.append("H")
    atoms.positions[-1] = [1.805, 1.805, 1.805 + 3.61]
    atoms.rattle(0.05, seed=11)
    atoms.wrap()
    return atoms


def _staged(path, atoms, model, exchange):
    g = ghost_layer_graph(atoms, model.cutoff)
    species = np.array([model.species_of(int(z)) for z in atoms.numbers])[g["node_atom"]]
    out = staged_reference(path, species, g, exchange=exchange)
    # r_ij = x_j - x_i: dE/dx_j += dE/dr_ij, dE/dx_i -= dE/dr_ij; nodes folded onto atoms
    i, j = g["edge_index"]
    grad = np.zeros((len(g["node_atom"]), 3))
    np.add.at(grad, j, out["edge_grad"])
    np.add.at(grad, i, -out["edge_grad"])
    forces = np.zeros((len(atoms), 3))
    np.add.at(forces, g["node_atom"], -grad)
    return out["energy"], forces


def test_stage_metadata(mace3_model):
    meta = json.loads(engine.Model(mace3_model).metadata_json)
    stages = meta["stages"]
    assert [s["name"] for s in stages] == (["embedding"]
                                           + [f"interaction_{k + 1}" for k in range(LAYERS)])
    assert [s["exchange"] for s in stages] == [False, False] + [True] * (LAYERS - 1)
    assert stages[-1]["width"] == 0 and all(s["width"] > 0 for s in stages[:-1])
    assert meta["num_layers"] == LAYERS and meta["model_class"] == "ScaleShiftMACE"
    assert meta["self_check"]["layered"]["structures"] > 0


def test_staged_reference_matches_whole_model(mace3_model):
    atoms = _cell()
    assert set(atoms.get_chemical_symbols()) == {"Cu", "H", "C", "O"}
    model = engine.Model(mace3_model, dtype="float64")
    whole = model.compute(atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc)
    energy, forces = _staged(mace3_model, atoms, model, exchange=True)
    de = abs(energy - whole["energy"])
    df = float(np.max(np.abs(forces - whole["forces"])))
    assert de <= 1e-8, f"|dE| = {de:.3g} eV"
    assert df <= 1e-8, f"max |dF| = {df:.3g} eV/Å"
    assert float(np.max(np.abs(whole["forces"]))) > 0.01   # forces are not trivially ~0

    energy_nx, forces_nx = _staged(mace3_model, atoms, model, exchange=False)
    assert abs(energy_nx - whole["energy"]) > 1e-4, "the exchange made no difference"
    assert float(np.max(np.abs(forces_nx - whole["forces"]))) > 1e-4


def test_recomputation_over_receiver_blocks(mace3_model):
    """Each stage's row i depends only on node i and the edges it receives (E0s and the pair
    repulsion of the embedding included), which the engine's recomputation block by block of
    receivers relies on: blocks of at most 300 edges on the ghost-layer graph (with the
    exchange) give the periodic system's numbers, energy <= 1e-8 eV, forces <= 1e-8 eV/Å."""
    check_blocked_recomputation(mace3_model, _cell(), dtype="float64")
