"""The layered contract evaluated in plain torch on the one-rank ghost-layer graph
(umlip.families.layered.ghost_layer_graph), with autograd through the halo exchange: an
independent reference for the engine's staged evaluation and for exporters' stage flags.
"""
from __future__ import annotations

from typing import Dict

import numpy as np
import torch

from umlip.families.layered import ghost_layer_graph  # noqa: F401  (tests import it from here)


def staged_reference(model_file: str, species: np.ndarray, graph: Dict[str, np.ndarray],
                     exchange: bool = True) -> Dict[str, np.ndarray]:
    """Energy and edge gradient of a layered model file on ``graph`` (from
    :func:`ghost_layer_graph`), stage by stage as the metadata says, in float64 torch with
    autograd through the exchange (ghost rows = owner rows before each stage whose metadata has
    ``exchange``; none at all if ``exchange`` is False).

    ``species`` are the species indices of the nodes.
    """
    import json

    extra = {"umlip.json": ""}
    module = torch.jit.load(model_file, map_location="cpu", _extra_files=extra).double()
    meta = json.loads(extra["umlip.json"])
    stages = dict(module.named_children())["stages"]
    n_local = int(graph["n_local"])
    owner = torch.from_numpy(graph["owner"])
    vec = torch.tensor(graph["edge_vec"], dtype=torch.float64, requires_grad=True)
    sp = torch.from_numpy(np.asarray(species, dtype=np.int64))
    ei = torch.from_numpy(graph["edge_index"])
    n = sp.shape[0]
    h = torch.zeros((n, 0), dtype=torch.float64)
    energy = torch.zeros((), dtype=torch.float64)
    for k, (info, stage) in enumerate(zip(meta["stages"], stages.children())):
        if exchange and info["exchange"] and h.shape[1] > 0:
            h = torch.cat([h[:n_local], h[owner]])
        h, e = stage(h, sp, ei, vec)
        energy = energy + e[:n_local].sum()
    (grad,) = torch.autograd.grad(energy, [vec])
    return {"energy": float(energy.detach()), "edge_grad": grad.numpy()}


def ghost_layer_run(model, atoms, exchange=True):
    """The engine's evaluation of `atoms` on their one-rank ghost-layer graph (ghost rows
    exchanged from their owners unless exchange=False), with node forces and per-node virials
    folded onto the atoms: (output dict, forces, atom virials, graph, node species)."""
    g = ghost_layer_graph(atoms, model.cutoff)
    species = np.array([model.species_of(int(z)) for z in atoms.numbers])[g["node_atom"]]
    out = model.evaluate_graph(g["positions"], species, g["edge_index"], g["edge_vec"],
                               g["n_local"], atom_virial=True,
                               ghost_owner=g["owner"] if exchange else None)
    forces = np.zeros((len(atoms), 3))
    np.add.at(forces, g["node_atom"], out["forces"])
    atom_virial = np.zeros((len(atoms), 3, 3))
    np.add.at(atom_virial, g["node_atom"], out["atom_virial"])
    return out, forces, atom_virial, g, species


def check_blocked_recomputation(model_file, atoms, block_edges=300, tol=1e-8, **options):
    """The engine's recomputation over receiver blocks of at most block_edges edges, on the
    one-rank ghost-layer graph with the exchange, against the whole periodic system evaluated
    at once: energy <= tol eV, forces <= tol eV/Å, and more than 3 blocks ran."""
    from umlip import engine

    whole = engine.Model(model_file, **options).compute(atoms.positions, atoms.numbers,
                                                        atoms.cell.array, atoms.pbc)
    blocked = engine.Model(model_file, recompute=1, recompute_block_edges=block_edges,
                           **options)
    out, forces, _, _, _ = ghost_layer_run(blocked, atoms)
    assert out["recomputed"] and out["blocks"] >= out["n_edges"] // block_edges > 3, out["blocks"]
    de = abs(out["energy"] - whole["energy"])
    df = float(np.max(np.abs(forces - whole["forces"])))
    assert de <= tol, f"|dE| = {de:.3g} eV"
    assert df <= tol, f"max |dF| = {df:.3g} eV/Å"
