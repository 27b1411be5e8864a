"""The graph of LAMMPS ``ghost layer`` on one rank, built from an ASE Atoms object, and the
layered contract evaluated on it in plain torch (autograd through the halo exchange), as an
independent reference for the engine's staged evaluation and for exporters' stage flags.

On one rank LAMMPS's ghost atoms are periodic images of local atoms. In ``ghost layer`` mode
every ghost within one cutoff is a node of its own; only local atoms receive messages, and
before each stage that reads neighbour features the ghost rows are replaced by their owners'
rows. If a stage read neighbour features without that exchange, the ghost rows would be wrong
(ghosts have no incoming edges) and the energy would differ from the whole-model evaluation.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

import numpy as np
import torch


def ghost_layer_graph(atoms, cutoff: float) -> Dict[str, np.ndarray]:
    """Nodes = the atoms of ``atoms`` then one ghost per periodic image that some atom has
    within ``cutoff``; edges (i, j) from every local atom i to all its neighbours.

    Returns positions (N, 3), node_atom (N,) index of the atom each node images, owner
    (N - n,) the same for the ghost rows, edge_index (2, E), edge_vec (E, 3), n_local.
    """
    from ase.neighborlist import neighbor_list

    n = len(atoms)
    i, j, S = neighbor_list("ijS", atoms, cutoff)
    cell = atoms.cell.array
    ghosts: Dict[Tuple[int, int, int, int], int] = {}
    node_atom: List[int] = list(range(n))
    positions: List[np.ndarray] = [p for p in atoms.positions]
    jj = np.empty(len(i), dtype=np.int64)
    for e in range(len(i)):
        s = tuple(int(v) for v in S[e])
        if s == (0, 0, 0):
            jj[e] = j[e]
            continue
        key = (int(j[e]),) + s
        if key not in ghosts:
            ghosts[key] = len(node_atom)
            node_atom.append(int(j[e]))
            positions.append(atoms.positions[j[e]] + np.asarray(s) @ cell)
        jj[e] = ghosts[key]
    pos = np.array(positions).reshape(-1, 3)
    edge_index = np.stack([i.astype(np.int64), jj])
    vec = pos[jj] - pos[i]
    node_atom_arr = np.array(node_atom, dtype=np.int64)
    return {"positions": pos, "node_atom": node_atom_arr, "owner": node_atom_arr[n:],
            "edge_index": edge_index, "edge_vec": vec, "n_local": n}


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
