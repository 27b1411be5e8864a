"""The layered form of the model contract (docs/model-contract.md, section 6): a model as a
sequence of stages, so that the engine can run them one at a time, refresh the ghost rows of
the node features between them (LAMMPS ``ghost layer``: a halo exchange per layer over MPI
ranks), and recompute a stage's activations in the backward pass instead of keeping them.

Every stage has the same TorchScript signature::

    forward(h          : Tensor[N, w_in]   node features from the stage before (w_in = 0 for
                                            the first stage), model dtype
            species    : Tensor[N] int64
            edge_index : Tensor[2, E] int64 edge (i, j): node i receives from node j
            vec        : Tensor[E, 3]       r_ij [Å], model dtype
           ) -> Tuple[Tensor[N, w_out], Tensor[N]]      (features out, per-node energies [eV])

A stage may read the features of a neighbour j (``h[edge_index[1]]``) only if its metadata
says ``"exchange": true``; the engine then makes the ghost rows of ``h`` the owners' rows
before calling it. The node energy is the sum of every stage's energies; the stage reading no
neighbour features (an embedding by species) may set ``"exchange": false``.

:class:`LayeredContract` composes the stages into the whole-model ``forward`` of section 2,
so a layered file also runs wherever a plain contract file runs (and in engines that do not
know stages).
"""
from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

import numpy as np
import torch

from umlip.families.contract_forward import contract_outputs, edge_vectors


class LayeredContract(torch.nn.Module):
    """The model contract's ``forward`` as the composition of ``stages`` (a ModuleList whose
    modules have the stage signature above)."""

    def __init__(self, stages: Sequence[torch.nn.Module]):
        super().__init__()
        self.stages = torch.nn.ModuleList(list(stages))

    def forward(self, positions: torch.Tensor, species: torch.Tensor, edge_index: torch.Tensor,
                edge_shift: torch.Tensor, n_local: int,
                cell: torch.Tensor) -> Dict[str, torch.Tensor]:
        vec = edge_vectors(positions, edge_index, edge_shift)
        n = positions.shape[0]
        h = torch.zeros((n, 0), dtype=vec.dtype, device=vec.device)
        energies = torch.zeros((n,), dtype=vec.dtype, device=vec.device)
        for stage in self.stages:
            out: Tuple[torch.Tensor, torch.Tensor] = stage(h, species, edge_index, vec)
            h = out[0]
            energies = energies + out[1]
        return contract_outputs(energies, vec, n_local)


def stage_metadata(names: Sequence[str], widths: Sequence[int],
                   exchange: Sequence[bool]) -> List[Dict[str, Any]]:
    """The ``stages`` metadata field: one entry per stage, in order, with the width of the
    node features it returns and whether it reads its neighbours' input features."""
    if not (len(names) == len(widths) == len(exchange)) or not names:
        raise ValueError("stage names, widths and exchange flags must be non-empty and equally "
                         "long")
    if exchange[0]:
        raise ValueError("the first stage has no input features to exchange")
    return [{"name": str(n), "width": int(w), "exchange": bool(x)}
            for n, w, x in zip(names, widths, exchange)]


def ghost_layer_graph(atoms, cutoff: float) -> Dict[str, np.ndarray]:
    """The graph of LAMMPS ``ghost layer`` on one rank, from an ASE Atoms object.

    On one rank LAMMPS's ghost atoms are periodic images of local atoms; in ``ghost layer``
    every ghost within one cutoff is a node of its own, and only local atoms receive messages.
    Before each stage that reads neighbour features the ghost rows must be their owners' rows:
    ghosts have no incoming edges, so without the exchange their features would be wrong.

    Nodes = the atoms of ``atoms`` then one ghost per periodic image that some atom has
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
