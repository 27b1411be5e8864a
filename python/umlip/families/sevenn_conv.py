"""SevenNet's interaction convolution on :class:`~umlip.families.batched_tp.UVUConvolution`:
the same numbers as sevenn's ``IrrepsConvolution`` (its e3nn tensor product, gather and
scatter) in a few batched tensor operations, 1.3-3x faster on 2 CPU threads
(docs/benchmarks.md)."""
from __future__ import annotations

import copy
from typing import Dict

import torch
from e3nn.util.jit import compile_mode

from umlip.families.batched_tp import UVUConvolution, permute_output_columns


@compile_mode("script")
class BatchedConvolution(torch.nn.Module):
    """Drop-in replacement for a serial sevenn ``IrrepsConvolution``: same data keys, same
    radial network (a copy whose last layer emits the weights in the batched order)."""

    def __init__(self, conv: torch.nn.Module):
        super().__init__()
        if conv.is_parallel:
            raise ValueError("the batched convolution replaces serial sevenn convolutions only")
        self.key_x = conv.key_x
        self.key_filter = conv.key_filter
        self.key_weight_input = conv.key_weight_input
        self.key_edge_idx = conv.key_edge_idx
        self.convolution = UVUConvolution(conv.convolution, weights_in_group_order=True)
        self.weight_nn = copy.deepcopy(conv.weight_nn)
        last = list(self.weight_nn.children())[-1]
        permute_output_columns(last.weight, self.convolution.weight_order)
        self.register_buffer("denominator", conv.denominator.detach().clone())

    def forward(self, data: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        weight = self.weight_nn(data[self.key_weight_input])
        edge_index = data[self.key_edge_idx]
        x = self.convolution(data[self.key_x], data[self.key_filter], weight,
                             edge_index[1], edge_index[0])
        data[self.key_x] = x.div(self.denominator)
        return data


def replace_convolutions(module: torch.nn.Module) -> int:
    """Replace every sevenn ``IrrepsConvolution`` inside ``module`` (in place) by a
    :class:`BatchedConvolution`; returns how many were replaced."""
    from sevenn.nn.convolution import IrrepsConvolution

    count = 0
    for parent in list(module.modules()):
        for name, child in list(parent._modules.items()):
            if isinstance(child, IrrepsConvolution):
                parent._modules[name] = BatchedConvolution(child)
                count += 1
    return count
