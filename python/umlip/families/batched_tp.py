"""An e3nn "uvu" tensor-product convolution re-expressed as a few batched tensor operations.

SevenNet's and MACE's interaction layers both gather the sender features x[j] onto every
edge, run e3nn's ``TensorProduct`` with per-edge weights (every instruction "uvu": channel u of
an input irrep times one spherical harmonic of the edge, scaled per edge and channel by the
radial network) and sum the messages onto the receivers. e3nn evaluates each path on its own,
with broadcast products and slices whose backward pass fills and adds full-width edge tensors
many times; on CPU that is most of a step of these models.

:class:`UVUConvolution` computes the same sums with, per input irrep (mul U, dimension d1) and
output dimension d (a "group" of P paths):

    A[e]  = Y[e] @ K                  K: the group's path tensors, [d1, P * d] per component of Y
    m[e]  = x[j_e] @ A[e]             one batched matmul, [U, P, d]
    m[e] *= w[e]                      per channel and path, broadcast over d
    out[i] += m[e], e into i          one index_add

then puts the per-node sums into e3nn's output layout (a copy of N rows, not E). The path
tensors are read off the ``TensorProduct`` itself on unit inputs, so they carry its path
weights and normalisation whatever the e3nn version's conventions, and are then set to that
scale times e3nn's float64 Wigner 3j symbol (exact equivariance in float64 even when the
module was built in float32); tests compare the two. The module is plain TorchScript (no e3nn
code at run time).
"""
from __future__ import annotations

import copy
from typing import List

import torch


class _PathGroup(torch.nn.Module):
    """The P paths from one input irrep (mul U, dimension d1) to outputs of one dimension d.
    Given its block of the per-edge weights ([E, P * U], path-major), returns the per-node sums
    of its messages, [N, U, P, d]."""

    def __init__(self, source: int, mul: int, dim_in: int, dim_out: int, n_paths: int,
                 path_tensor: torch.Tensor):
        super().__init__()
        self.source = source
        self.mul = mul
        self.dim_in = dim_in
        self.dim_out = dim_out
        self.n_paths = n_paths
        # [dim_Y, d1 * P * d], float64 and not a buffer: module.to(float32) leaves it exact,
        # so a float32 file run in float64 keeps exactly equivariant coefficients
        self.path_tensor = path_tensor

    def forward(self, xj: torch.Tensor, sh: torch.Tensor, weight: torch.Tensor,
                dst: torch.Tensor, n: int) -> torch.Tensor:
        e = sh.shape[0]
        width = self.n_paths * self.dim_out
        k = self.path_tensor.to(dtype=sh.dtype, device=sh.device)
        a = torch.mm(sh, k).reshape(e, self.dim_in, width)
        if self.dim_in == 1:
            m = xj * a                                                  # [E, U, P * d]
        else:
            m = torch.bmm(xj, a)
        w = weight.reshape(e, self.n_paths, self.mul).transpose(1, 2).unsqueeze(3)
        m = m.reshape(e, self.mul, self.n_paths, self.dim_out) * w
        out = torch.zeros((n, self.mul, self.n_paths, self.dim_out), dtype=m.dtype,
                          device=m.device)
        return out.index_add(0, dst, m)


class UVUConvolution(torch.nn.Module):
    """sum over edges e = (i <- j) of ``tp(x[j], sh[e], weight[e])`` onto node i, for an e3nn
    ``TensorProduct`` ``tp`` whose instructions are all "uvu" with per-edge weights and which
    has one instruction per output irrep (SevenNet's and MACE's convolutions).

    ``forward(x [N, dim_in1], sh [E, dim_in2], weight [E, weight_numel], src [E], dst [E])``
    returns [N, dim_out] in ``tp.irreps_out``'s layout. ``weight`` is in the tensor product's
    own column order, or in :attr:`weight_order` when ``weights_in_group_order`` is set (a
    caller that permutes its radial network's last layer once saves a gather per call).

    The path tensors are kept in float64 and cast to the input's dtype and device per call.
    """

    def __init__(self, tp, weights_in_group_order: bool = False):
        super().__init__()
        if tp.shared_weights or tp.internal_weights:
            raise ValueError("a batched convolution needs per-edge (external) weights")
        if any(ins.connection_mode != "uvu" for ins in tp.instructions):
            raise ValueError("a batched convolution handles 'uvu' instructions only")
        if sorted(ins.i_out for ins in tp.instructions) != list(range(len(tp.irreps_out))):
            raise ValueError("a batched convolution needs one instruction per output irrep")
        if any(mul != 1 for mul, _ in tp.irreps_in2):
            raise ValueError("a batched convolution needs one copy of each filter irrep")
        tensors = path_tensors(tp)
        w_offset = [0]
        for ins in tp.instructions:
            w_offset.append(w_offset[-1] + ins.path_shape[0])
        slices = tp.irreps_in1.slices()
        self.in_start: List[int] = []
        self.in_mul: List[int] = []
        self.in_dim: List[int] = []
        groups: List[_PathGroup] = []
        weight_order: List[int] = []
        # where each output irrep lies: its group and its path's position in the group
        out_group = [0] * len(tp.irreps_out)
        out_path = [0] * len(tp.irreps_out)
        for i1, (mul, ir) in enumerate(tp.irreps_in1):
            mine = [p for p, ins in enumerate(tp.instructions) if ins.i_in1 == i1]
            if not mine:
                continue
            source = len(self.in_start)
            self.in_start.append(slices[i1].start)
            self.in_mul.append(mul)
            self.in_dim.append(ir.dim)
            for dim_out in sorted({tensors[p].shape[2] for p in mine}):
                paths = [p for p in mine if tensors[p].shape[2] == dim_out]
                for q, p in enumerate(paths):
                    out_group[tp.instructions[p].i_out] = len(groups)
                    out_path[tp.instructions[p].i_out] = q
                k = torch.stack([tensors[p] for p in paths], dim=2)   # [d1, dim_Y, P, d]
                path_tensor = k.permute(1, 0, 2, 3).reshape(k.shape[1], -1).contiguous()
                weight_order += [c for p in paths for c in range(w_offset[p], w_offset[p] + mul)]
                groups.append(_PathGroup(source, mul, ir.dim, dim_out, len(paths),
                                         path_tensor))
        self.groups = torch.nn.ModuleList(groups)
        self.out_group: List[int] = out_group
        self.out_path: List[int] = out_path
        #: the weight columns in group order; each group's block is then one piece of a split,
        #: whose backward concatenates (slices of one tensor would each fill a zero tensor of
        #: the full width)
        self.weight_order: List[int] = weight_order
        self.weights_in_group_order = weights_in_group_order
        self.register_buffer("weight_index", torch.tensor(weight_order, dtype=torch.int64))
        self.weight_sizes: List[int] = [g.n_paths * g.mul for g in groups]

    def forward(self, x: torch.Tensor, sh: torch.Tensor, weight: torch.Tensor,
                src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        gathered: List[torch.Tensor] = []
        for s in range(len(self.in_start)):
            block = x.narrow(1, self.in_start[s], self.in_mul[s] * self.in_dim[s])
            gathered.append(block.reshape(n, self.in_mul[s], self.in_dim[s]).index_select(0, src))
        if not self.weights_in_group_order:
            weight = weight.index_select(1, self.weight_index)
        blocks = torch.split(weight, self.weight_sizes, dim=1)
        sums: List[torch.Tensor] = []
        for g, group in enumerate(self.groups):
            sums.append(group(gathered[group.source], sh, blocks[g], dst, n))
        pieces: List[torch.Tensor] = []
        for o in range(len(self.out_group)):
            pieces.append(sums[self.out_group[o]].select(2, self.out_path[o]).reshape(n, -1))
        return torch.cat(pieces, dim=1)


def permute_output_columns(linear_weight: torch.nn.Parameter, order: List[int]) -> None:
    """Reorder the output columns of a radial network's last weight matrix ([h, out], as
    e3nn's ``FullyConnectedNet`` and MACE's radial MLP store it) in place, so that its outputs
    come in ``order``."""
    with torch.no_grad():
        linear_weight.copy_(linear_weight[:, order].clone())


def path_tensors(tp) -> List[torch.Tensor]:
    """For each instruction p of the uvu tensor product ``tp``: K_p [dim1, dim_in2, dim_out]
    with out[u, k] = w_p[u] * sum_ij K_p[i, j, k] x1[u, i] x2[j], in float64.

    Measured on unit inputs (channel 0) on a float64 copy of ``tp``, then each path's block
    replaced by its scale times e3nn's float64 Wigner 3j symbol: a module built in float32
    stores float32-rounded coefficients, and those break rotation invariance at ~1e-8 when the
    file runs in float64. The block must be that multiple of the 3j symbol to 1e-6 (else this
    is not the tensor product it is taken for, and it raises)."""
    from e3nn.o3 import wigner_3j

    dtype = torch.float64
    d1, d2 = tp.irreps_in1.dim, tp.irreps_in2.dim
    s1, s2, so = tp.irreps_in1.slices(), tp.irreps_in2.slices(), tp.irreps_out.slices()
    rows = []
    for p, ins in enumerate(tp.instructions):
        _, ir1 = tp.irreps_in1[ins.i_in1]
        _, ir2 = tp.irreps_in2[ins.i_in2]
        rows += [(p, i, j) for i in range(ir1.dim) for j in range(ir2.dim)]
    offsets = [0]
    for ins in tp.instructions:
        offsets.append(offsets[-1] + ins.path_shape[0])
    x1 = torch.zeros(len(rows), d1, dtype=dtype)
    x2 = torch.zeros(len(rows), d2, dtype=dtype)
    w = torch.zeros(len(rows), tp.weight_numel, dtype=dtype)
    for r, (p, i, j) in enumerate(rows):
        ins = tp.instructions[p]
        x1[r, s1[ins.i_in1].start + i] = 1.0          # channel 0, component i
        x2[r, s2[ins.i_in2].start + j] = 1.0
        w[r, offsets[p]] = 1.0                        # the weight of channel 0
    with torch.no_grad():
        out = copy.deepcopy(tp).to(dtype)(x1, x2, w)
    tensors = []
    for p, ins in enumerate(tp.instructions):
        _, ir1 = tp.irreps_in1[ins.i_in1]
        _, iro = tp.irreps_out[ins.i_out]
        _, ir2 = tp.irreps_in2[ins.i_in2]
        block = torch.zeros(ir1.dim, ir2.dim, iro.dim, dtype=dtype)
        o = so[ins.i_out].start
        for r, (q, i, j) in enumerate(rows):
            if q == p:
                block[i, j] = out[r, o:o + iro.dim]
        w3j = wigner_3j(ir1.l, ir2.l, iro.l, dtype=dtype)
        scale = (block * w3j).sum() / (w3j * w3j).sum()
        if (block - scale * w3j).abs().max() > 1e-6 * block.abs().max():
            raise ValueError(f"path {p} of the tensor product is not a multiple of the Wigner "
                             f"3j symbol ({ir1} x {ir2} -> {iro}); use the family's kernels")
        k = torch.zeros(ir1.dim, d2, iro.dim, dtype=dtype)
        k[:, s2[ins.i_in2]] = scale * w3j
        tensors.append(k)
    return tensors

