"""What every family's contract module does the same way in its ``forward``: take the edge
vectors r_ij = positions[j] - positions[i] + edge_shift as the leaf that autograd
differentiates, and return the per-node energies with the gradient of the local energy (nodes
0..n_local-1) with respect to those vectors (docs/model-contract.md, section 2). TorchScript
compiles these functions into each scripted module that calls them."""
from __future__ import annotations

from typing import Dict

import torch


def edge_vectors(positions: torch.Tensor, edge_index: torch.Tensor,
                 edge_shift: torch.Tensor) -> torch.Tensor:
    """r_ij [E, 3] for the contract's edges, detached and requiring grad."""
    vec = (positions[edge_index[1]] - positions[edge_index[0]] + edge_shift).detach()
    vec.requires_grad_(True)
    return vec


def contract_outputs(energies: torch.Tensor, vec: torch.Tensor,
                     n_local: int) -> Dict[str, torch.Tensor]:
    """{"energies": per-node energies [N], "edge_grad": d(sum of energies[:n_local]) / d vec}."""
    local = energies[:n_local].sum()
    grads = torch.autograd.grad([local], [vec], allow_unused=True)
    g = grads[0]
    if g is None:
        g = torch.zeros_like(vec)
    return {"energies": energies.detach(), "edge_grad": g}
