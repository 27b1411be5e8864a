"""Export mace-torch models (``.model`` files: MACE, ScaleShiftMACE; float32 or float64) to the
umlip model contract in its layered form, mace-torch's own calculator as the reference, and
small models built by mace-torch for tests and benchmarks. Runs in an environment with
mace-torch installed.

The exported module is a :class:`~umlip.families.layered.LayeredContract` whose stages are
mace-torch's own blocks, cut where MACE.forward passes node features from one interaction to
the next (nothing inside a block is re-implemented but the ZBL pair term):

* ``embedding`` (exchange: no): ``node_embedding`` of the one-hot species -> the node features
  the first interaction reads; node energies = the atomic reference energies E0 of the node's
  species, plus (if the model has one) the ZBL pair repulsion of its edges (species and edge
  vectors only; mace-torch's ZBLBasis is not scriptable, so :class:`MACEPairRepulsion`
  restates it) and, for ScaleShiftMACE, the shift (added once per node) with the pair term
  scaled.
* ``interaction_<k>``, k = 1 .. num_interactions: spherical harmonics and radial embedding of
  the edge vectors (recomputed in every stage), ``interactions[k-1]``, ``products[k-1]`` ->
  the node features of layer k (the last stage returns none: nothing reads them), and the
  node energies of ``readouts[k-1]`` (times the ScaleShiftMACE scale; zero for a layer without
  a readout when the model reads out the last layer only). Stage ``interaction_1`` reads its
  neighbours' embeddings, which depend on species only, so it needs no exchange; the later
  interactions read neighbours' features of the layer before and say ``exchange``.

By default each interaction's convolution (e3nn tensor product and scatter-sum) runs on umlip's
batched kernels through mace-torch's own fused-convolution hook (:class:`MessageSum`); the
same sums in fewer operations. ``kernels="e3nn"`` keeps mace-torch's modules.

The node energy is thus E0 + [scale *] (pair + sum_k readout_k) [+ shift], as in MACE.forward
and ScaleShiftMACE.forward, for the chosen head. Contract edge (i, j): node i receives from j
along r_ij = x_j - x_i; MACE's edge_index has the sender first and vectors
positions[receiver] - positions[sender], so each stage flips the edge index and negates the
vectors before calling MACE's blocks.
"""
from __future__ import annotations

import mace  # noqa: F401  (must come before e3nn/torch.load: sets TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD)

import argparse
import copy
import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from e3nn.util.jit import compile_mode

from umlip.contract import ExportError, base_metadata, save, self_check
from umlip.families import KERNELS
from umlip.families.batched_tp import UVUConvolution, permute_output_columns
from umlip.families.layered import LayeredContract, stage_metadata
from umlip.io import file_sha256


def _head_scalar(value: torch.Tensor, head: int, dtype: torch.dtype) -> torch.Tensor:
    """``torch.atleast_1d(value)[head]`` as a 0-d tensor of ``dtype`` (ScaleShiftBlock)."""
    return torch.atleast_1d(value.detach())[head].clone().to(dtype)


class MACEPairRepulsion(torch.nn.Module):
    """mace-torch's ZBL pair repulsion (``ZBLBasis``, mace/modules/radial.py), whose forward
    TorchScript cannot compile (it calls a static method of another class): the same buffers
    and the same formula, per contract edge (i, j) with r = |r_ij|, Z_u = Z_j (MACE's sender),
    Z_v = Z_i (receiver), scattered onto i:

        a = a_prefactor * 0.529 / (Z_u^a_exp + Z_v^a_exp)
        phi = sum_k c_k exp(-b_k r / a),  b = (3.2, 0.9423, 0.4028, 0.2016)
        V = 1/2 * 14.3996 Z_u Z_v / r * phi * envelope_p(r / (rcov_u + rcov_v))

    with mace's polynomial envelope of order p (zero beyond the sum of covalent radii).
    Computed in the model dtype throughout: mace-torch forms 14.3996 Z_u Z_v in torch's
    default dtype, so its float64 calculator (default dtype float32 while the model runs)
    differs from this by float32 round-off of that factor (~1e-10 eV/atom)."""

    def __init__(self, zbl: torch.nn.Module, dtype: torch.dtype):
        super().__init__()
        for name in ("c", "covalent_radii", "a_exp", "a_prefactor"):
            self.register_buffer(name, getattr(zbl, name).detach().clone().to(dtype))
        self.register_buffer("p", zbl.p.detach().clone().to(dtype))

    def forward(self, lengths: torch.Tensor, z: torch.Tensor,
                edge_index: torch.Tensor) -> torch.Tensor:
        """Node energies [N] from ``lengths`` [E, 1] and the atomic numbers ``z`` [N] of the
        nodes; ``edge_index`` in the contract's order (row 0 receives)."""
        x = lengths
        zf = z.to(x.dtype).unsqueeze(-1)
        z_u = zf[edge_index[1]]
        z_v = zf[edge_index[0]]
        a = self.a_prefactor * 0.529 / (torch.pow(z_u, self.a_exp) + torch.pow(z_v, self.a_exp))
        r_over_a = x / a
        phi = (self.c[0] * torch.exp(-3.2 * r_over_a)
               + self.c[1] * torch.exp(-0.9423 * r_over_a)
               + self.c[2] * torch.exp(-0.4028 * r_over_a)
               + self.c[3] * torch.exp(-0.2016 * r_over_a))
        v_edges = (14.3996 * z_u * z_v) / x * phi
        zi_u = z[edge_index[1]].unsqueeze(-1)
        zi_v = z[edge_index[0]].unsqueeze(-1)
        r_max = self.covalent_radii[zi_u] + self.covalent_radii[zi_v]
        p = self.p
        r = x / r_max
        envelope = (1.0 - ((p + 1.0) * (p + 2.0) / 2.0) * torch.pow(r, p)
                    + p * (p + 2.0) * torch.pow(r, p + 1)
                    - (p * (p + 1.0) / 2) * torch.pow(r, p + 2))
        envelope = envelope * (x < r_max)
        v_edges = 0.5 * v_edges * envelope
        out = torch.zeros((z.shape[0], 1), dtype=x.dtype, device=x.device)
        return out.index_add(0, edge_index[0], v_edges).squeeze(-1)


@compile_mode("script")
class MACEEmbedding(torch.nn.Module):
    """Stage 0: node features node_embedding(one-hot species); node energies E0[species, head]
    + scale * pair repulsion (if any) + shift (ScaleShiftMACE; scale 1, shift 0 otherwise)."""

    def __init__(self, model: torch.nn.Module, head: int, scale: torch.Tensor,
                 shift: torch.Tensor):
        super().__init__()
        self.node_embedding = model.node_embedding
        self.atomic_energies_fn = model.atomic_energies_fn
        if hasattr(model, "pair_repulsion"):
            if type(model.pair_repulsion_fn).__name__ != "ZBLBasis":
                raise ExportError(f"unknown pair repulsion {type(model.pair_repulsion_fn)}; "
                                  f"umlip reproduces mace-torch's ZBLBasis only")
            self.pair_repulsion_fn = MACEPairRepulsion(model.pair_repulsion_fn,
                                                       next(model.parameters()).dtype)
        self.register_buffer("atomic_numbers", model.atomic_numbers.clone())
        self.register_buffer("scale", scale)
        self.register_buffer("shift", shift)
        self.num_elements = int(model.atomic_numbers.numel())
        self.head = int(head)

    def forward(self, h: torch.Tensor, species: torch.Tensor, edge_index: torch.Tensor,
                vec: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        node_attrs = torch.nn.functional.one_hot(species, self.num_elements).to(vec.dtype)
        feats = self.node_embedding(node_attrs)
        energies = self.atomic_energies_fn(node_attrs)[:, self.head].to(vec.dtype)
        if hasattr(self, "pair_repulsion_fn"):
            lengths = torch.linalg.norm(vec, dim=-1, keepdim=True)
            # .to(int64): the engine's module.to(float32) converts integer buffers too
            z = self.atomic_numbers.to(torch.int64)[species]
            pair = self.pair_repulsion_fn(lengths, z, edge_index)
            energies = energies + self.scale * pair
        return feats, energies + self.shift


@compile_mode("script")
class MACEInteraction(torch.nn.Module):
    """Stage k (k = 1 .. num_interactions): interactions[k-1] and products[k-1] on the edge
    attributes recomputed from ``vec``; node energies scale * readout (or zero without one)."""

    def __init__(self, model: torch.nn.Module, layer: int, readout: Optional[torch.nn.Module],
                 head: int, scale: torch.Tensor, keep_features: bool):
        super().__init__()
        # the edge embeddings are shared by all interactions in MACE; every stage gets a copy
        # (e3nn's compile scripts the children of each stage in place)
        self.spherical_harmonics = copy.deepcopy(model.spherical_harmonics)
        self.radial_embedding = copy.deepcopy(model.radial_embedding)
        self.interaction = model.interactions[layer]
        self.product = model.products[layer]
        if readout is not None:
            self.readout = readout
        self.register_buffer("atomic_numbers", model.atomic_numbers.clone())
        self.register_buffer("scale", scale)
        self.num_elements = int(model.atomic_numbers.numel())
        self.head = int(head)
        self.first_layer = layer == 0
        self.keep_features = bool(keep_features)

    def forward(self, h: torch.Tensor, species: torch.Tensor, edge_index: torch.Tensor,
                vec: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        n = h.shape[0]
        node_attrs = torch.nn.functional.one_hot(species, self.num_elements).to(vec.dtype)
        # MACE: edge_index[0] sends, vectors = positions[receiver] - positions[sender]
        mace_edges = edge_index.flip(0)
        vectors = -vec
        lengths = torch.linalg.norm(vectors, dim=-1, keepdim=True)
        edge_attrs = self.spherical_harmonics(vectors)
        edge_feats, cutoff = self.radial_embedding(lengths, node_attrs, mace_edges,
                                                   self.atomic_numbers.to(torch.int64))
        feats, sc = self.interaction(node_attrs=node_attrs, node_feats=h, edge_attrs=edge_attrs,
                                     edge_feats=edge_feats, edge_index=mace_edges, cutoff=cutoff,
                                     first_layer=self.first_layer)
        feats = self.product(node_feats=feats, sc=sc, node_attrs=node_attrs)
        energies = torch.zeros((n,), dtype=vec.dtype, device=vec.device)
        if hasattr(self, "readout"):
            heads = torch.full((n,), self.head, dtype=torch.int64, device=vec.device)
            energies = self.scale * self.readout(feats, heads)[:, self.head]
        if self.keep_features:
            return feats, energies
        return feats[:, :0], energies


@compile_mode("script")
class MACELayered(LayeredContract):
    """A mace-torch MACE / ScaleShiftMACE (one head) as a layered umlip contract module:
    stages embedding, interaction_1 .. interaction_L (see the module docstring)."""

    def __init__(self, model: torch.nn.Module, head: int):
        dtype = next(model.parameters()).dtype
        if hasattr(model, "scale_shift"):
            scale = _head_scalar(model.scale_shift.scale, head, dtype)
            shift = _head_scalar(model.scale_shift.shift, head, dtype)
        else:
            scale = torch.ones((), dtype=dtype)
            shift = torch.zeros((), dtype=dtype)
        n = len(model.interactions)
        if len(model.readouts) == n:
            readouts = list(model.readouts)
        elif len(model.readouts) == 1:      # use_last_readout_only: the last layer's features
            readouts = [None] * (n - 1) + [model.readouts[0]]
        else:
            raise ExportError(f"the model has {n} interactions and {len(model.readouts)} "
                              f"readouts; umlip knows one readout per layer or one at the end")
        stages: List[torch.nn.Module] = [MACEEmbedding(model, head, scale.clone(), shift)]
        stages += [MACEInteraction(model, k, readouts[k], head, scale.clone(), k < n - 1)
                   for k in range(n)]
        super().__init__(stages)
        self.num_interactions = n

    def stage_names(self) -> List[str]:
        return ["embedding"] + [f"interaction_{k + 1}" for k in range(self.num_interactions)]

    def stage_exchange(self) -> List[bool]:
        # interaction_1 reads neighbours' embeddings: a function of their species only
        return [False, False] + [True] * (self.num_interactions - 1)

    def stage_widths(self) -> List[int]:
        """The width of each stage's node features, from an eager run on a two-atom graph."""
        dtype = next(self.parameters()).dtype
        species = torch.zeros(2, dtype=torch.int64)
        edge_index = torch.tensor([[0, 1], [1, 0]], dtype=torch.int64)
        vec = torch.tensor([[1.1, 0.3, -0.2], [-1.1, -0.3, 0.2]], dtype=dtype)
        h = torch.zeros((2, 0), dtype=dtype)
        widths = []
        with torch.no_grad():
            for stage in self.stages:
                h, _ = stage(h, species, edge_index, vec)
                widths.append(int(h.shape[1]))
        return widths


def load(source: str):
    from mace.modules.models import MACE, ScaleShiftMACE

    if not os.path.isfile(source):
        raise ExportError(f"MACE model file {source!r} does not exist (umlip does not download "
                          f"foundation models: pass a mace-torch .model file)")
    model = torch.load(source, map_location="cpu", weights_only=False)
    if type(model) not in (MACE, ScaleShiftMACE):
        raise ExportError(
            f"{source} holds a {type(model).__name__}; umlip exports energy models of type MACE or "
            f"ScaleShiftMACE only (other variants have outputs or inputs - dipoles, charges, "
            f"fields - that the model contract does not carry)")
    if hasattr(model, "joint_embedding") or getattr(model, "embedding_specs", None):
        raise ExportError(f"{source} needs per-structure inputs (e.g. total charge or spin "
                          f"embeddings) that the umlip model contract does not carry")
    for attr in ("les", "les_readouts", "field_blocks", "lammps_mliap"):
        if getattr(model, attr, None) not in (None, False):
            raise ExportError(f"{source} uses '{attr}', which the umlip contract cannot represent")
    n = int(model.num_interactions)
    if not (len(model.interactions) == len(model.products) == n >= 1
            and len(model.readouts) in (1, n)):
        raise ExportError(f"{source}: {len(model.interactions)} interactions, "
                          f"{len(model.products)} products and {len(model.readouts)} readouts "
                          f"for num_interactions = {n}; umlip knows one readout per layer or "
                          f"one after the last")
    return model


@compile_mode("script")
class MessageSum(torch.nn.Module):
    """MACE's fused-convolution hook (``conv_fusion``: ``conv_tp(node_feats, edge_attrs,
    tp_weights, edge_index)`` returns the messages summed onto the receivers) served by
    :class:`~umlip.families.batched_tp.UVUConvolution`: MACE's edge_index has the sender
    first."""

    def __init__(self, tp):
        super().__init__()
        self.convolution = UVUConvolution(tp, weights_in_group_order=True)

    def forward(self, node_feats: torch.Tensor, edge_attrs: torch.Tensor,
                tp_weights: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return self.convolution(node_feats, edge_attrs, tp_weights, edge_index[0],
                                edge_index[1])


def use_batched_kernels(model) -> None:
    """Put every interaction's convolution of ``model`` (in place, in its final dtype) on
    :class:`MessageSum`: its tensor product and scatter become the batched kernels, its radial
    network emits the weights in their order. Interaction blocks whose message passing umlip
    has not checked are refused (export them with ``kernels="e3nn"``)."""
    from mace.modules.blocks import (RealAgnosticInteractionBlock,
                                     RealAgnosticResidualInteractionBlock)

    for k, block in enumerate(model.interactions):
        if type(block) not in (RealAgnosticInteractionBlock,
                               RealAgnosticResidualInteractionBlock):
            raise ExportError(f"interaction {k} is a {type(block).__name__}: the batched "
                              f"kernels cover RealAgnostic(Residual)InteractionBlock only; "
                              f"export with --kernels e3nn")
        if hasattr(block, "conv_fusion"):
            raise ExportError(f"interaction {k} already uses a fused convolution; export with "
                              f"--kernels e3nn")
        fused = MessageSum(block.conv_tp)
        permute_output_columns(list(block.conv_tp_weights.children())[-1].weight,
                               fused.convolution.weight_order)
        block.conv_tp = fused
        block.conv_fusion = True


def export(source: str, out: str, dtype: Optional[str] = None, head: Optional[str] = None,
           name: Optional[str] = None, kernels: str = "batched") -> Dict:
    """Export a mace-torch ``.model`` file to ``out`` in the layered form, the convolutions on
    ``kernels``; returns the metadata. The file is checked against mace-torch's
    MACECalculator (``self_check``)."""
    import e3nn
    import e3nn.util.jit
    from mace import __version__ as mace_version

    model = load(source)
    native = str(next(model.parameters()).dtype).replace("torch.", "")
    dtype = dtype or native
    if dtype not in ("float32", "float64"):
        raise ExportError(f"dtype must be float32 or float64, not {dtype}")
    heads = list(getattr(model, "heads", None) or ["Default"])
    if head is None:
        if len(heads) > 1:
            raise ExportError(f"{source} has several heads {heads}: choose one with --head")
        head_index = 0
    else:
        if head not in heads:
            raise ExportError(f"unknown head {head!r}; the model has {heads}")
        head_index = heads.index(head)
    if kernels not in KERNELS:
        raise ExportError(f"kernels must be one of {', '.join(KERNELS)}, not {kernels!r}")
    model = model.to(getattr(torch, dtype)).eval()
    if kernels == "batched":
        use_batched_kernels(model)
    atomic_numbers = [int(z) for z in model.atomic_numbers.tolist()]
    module = MACELayered(model, head_index).eval()
    stages = stage_metadata(module.stage_names(), module.stage_widths(), module.stage_exchange())
    scripted = e3nn.util.jit.compile(module)
    meta = base_metadata(
        name=name or os.path.basename(source),
        family="mace",
        family_version=mace_version,
        atomic_numbers=atomic_numbers,
        cutoff=float(model.r_max),
        num_layers=int(model.num_interactions),
        dtype=dtype,
        source={"model_file": os.path.abspath(source), "sha256": file_sha256(source)},
        options={"kernels": kernels, **({"head": heads[head_index]} if len(heads) > 1 else {})},
        stages=stages,
    )
    meta["e3nn_version"] = e3nn.__version__
    meta["model_class"] = type(model).__name__
    save(scripted, out, meta)

    ref = family_calculator(source, dtype=dtype, head=heads[head_index] if len(heads) > 1 else None)

    def run(atoms):
        atoms = atoms.copy()
        atoms.calc = ref
        return {"energy": atoms.get_potential_energy(), "forces": atoms.get_forces()}

    self_check(out, meta, run, f"mace-torch {mace_version} MACECalculator",
               other_dtype="float64" if dtype == "float32" else "float32")
    save(scripted, out, meta)
    return meta


def family_calculator(source: str, dtype: str = "float64", head: Optional[str] = None):
    """mace-torch's own ASE calculator for ``source`` in ``dtype``."""
    import warnings

    from mace.calculators import MACECalculator

    kwargs = {"head": head} if head else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MACECalculator(model_paths=source, device="cpu", default_dtype=dtype, **kwargs)


# ---------------------------------------------------------------------------------------------
# small models built by mace-torch itself (no MACE foundation weights ship in a wheel); the CLI:
#     python -m umlip.families.mace out.model --elements H C O Cu --layers 2 --seed 0
# Weights: mace-torch's random initialisation plus a seeded perturbation of every parameter,
# so that no term is trivially zero and every block of the model is exercised.

def build_small_model(path: str, elements: Sequence[int] = (1, 6, 8, 29), r_max: float = 5.0,
                      num_interactions: int = 2, hidden: str = "16x0e+16x1o", max_ell: int = 3,
                      correlation: int = 3, seed: int = 0, dtype: str = "float64",
                      perturb: float = 0.2, scale_shift: bool = True,
                      pair_repulsion: bool = False, last_readout_only: bool = False) -> str:
    """Build a ScaleShiftMACE (``scale_shift``) or a plain MACE with mace-torch and save it
    as a mace-torch ``.model`` file; ``pair_repulsion`` adds MACE's ZBL term,
    ``last_readout_only`` reads out the last layer only."""
    from e3nn import o3
    from mace import modules

    torch.manual_seed(seed)
    zs = sorted(int(z) for z in elements)
    rng = np.random.default_rng(seed)
    block = modules.interaction_classes["RealAgnosticResidualInteractionBlock"]
    kwargs = dict(
        r_max=r_max, num_bessel=8, num_polynomial_cutoff=5, max_ell=max_ell,
        interaction_cls=block, interaction_cls_first=block,
        num_interactions=num_interactions, num_elements=len(zs),
        hidden_irreps=o3.Irreps(hidden), MLP_irreps=o3.Irreps("16x0e"),
        atomic_energies=-rng.uniform(0.5, 4.0, size=len(zs)), avg_num_neighbors=20.0,
        atomic_numbers=zs, correlation=correlation, gate=torch.nn.functional.silu,
        pair_repulsion=pair_repulsion, use_last_readout_only=last_readout_only,
    )
    if scale_shift:
        model = modules.ScaleShiftMACE(atomic_inter_scale=1.3, atomic_inter_shift=0.1, **kwargs)
    else:
        model = modules.MACE(**kwargs)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(perturb * torch.randn_like(p))
    model = model.to(getattr(torch, dtype))
    torch.save(model, path)
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Build a small ScaleShiftMACE (or MACE) with "
                                "mace-torch (random, perturbed weights) and save it as a .model "
                                "file")
    p.add_argument("output")
    p.add_argument("--elements", nargs="+", default=["H", "C", "O", "Cu"])
    p.add_argument("--r-max", type=float, default=5.0)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--hidden", default="16x0e+16x1o")
    p.add_argument("--max-ell", type=int, default=3)
    p.add_argument("--correlation", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    p.add_argument("--plain", action="store_true", help="a MACE, not a ScaleShiftMACE")
    p.add_argument("--pair-repulsion", action="store_true", help="with MACE's ZBL pair term")
    p.add_argument("--last-readout-only", action="store_true",
                   help="read out the last layer only")
    args = p.parse_args(argv)
    from ase.data import atomic_numbers

    zs = [atomic_numbers[s] for s in args.elements]
    build_small_model(args.output, zs, args.r_max, args.layers, args.hidden, args.max_ell,
                      args.correlation, args.seed, args.dtype, scale_shift=not args.plain,
                      pair_repulsion=args.pair_repulsion,
                      last_readout_only=args.last_readout_only)
    print(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
