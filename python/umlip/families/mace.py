"""Export mace-torch models (``.model`` files: MACE, ScaleShiftMACE; float32 or float64) to the
umlip model contract, mace-torch's own calculator as the reference, and small models built by
mace-torch for tests and benchmarks. Runs in an environment with mace-torch installed.

The wrapper feeds MACE its own forward with zero positions and the edge vectors as ``shifts``:
MACE computes ``vectors = positions[receiver] - positions[sender] + shifts`` = the edge vectors
exactly, so the gradient of the energy with respect to ``shifts`` is dE/dr_ij. Nothing inside
MACE is re-implemented. MACE's receiver is ``edge_index[1]``; the contract's receiver is
``edge_index[0]`` (as in SevenNet), so the wrapper flips the edge index and negates vectors.
"""
from __future__ import annotations

import mace  # noqa: F401  (must come before e3nn/torch.load: sets TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD)

import argparse
import os
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from e3nn.util.jit import compile_mode

from umlip.contract import ExportError, base_metadata, save, self_check
from umlip.families.contract_forward import contract_outputs, edge_vectors
from umlip.io import file_sha256


@compile_mode("script")
class MACEContract(torch.nn.Module):
    """umlip model contract around a mace-torch MACE / ScaleShiftMACE."""

    def __init__(self, model: torch.nn.Module, num_elements: int, head: int):
        super().__init__()
        self.model = model
        self.num_elements = num_elements
        self.head = head

    def forward(self, positions: torch.Tensor, species: torch.Tensor, edge_index: torch.Tensor,
                edge_shift: torch.Tensor, n_local: int,
                cell: torch.Tensor) -> Dict[str, torch.Tensor]:
        vec = edge_vectors(positions, edge_index, edge_shift)
        n = positions.shape[0]
        dev = positions.device
        # contract: edge (i, j) = node i receives a message from j, r_ij = x_j - x_i.
        # MACE: messages flow from edge_index[0] (sender) to edge_index[1] (receiver) along
        # positions[receiver] - positions[sender]: flip the rows and the vector.
        data: Dict[str, torch.Tensor] = {
            "positions": torch.zeros_like(positions),
            "node_attrs": torch.nn.functional.one_hot(species, self.num_elements).to(positions.dtype),
            "edge_index": edge_index.flip(0),
            "shifts": -vec,
            "unit_shifts": torch.zeros_like(vec),
            "cell": cell.reshape(1, 3, 3),
            "batch": torch.zeros(n, dtype=torch.int64, device=dev),
            "ptr": torch.tensor([0, n], dtype=torch.int64, device=dev),
            "head": torch.tensor([self.head], dtype=torch.int64, device=dev),
        }
        out = self.model(data, training=False, compute_force=False, compute_virials=False,
                         compute_stress=False, compute_displacement=False)
        node_energy = out["node_energy"]
        assert node_energy is not None
        energies = node_energy.reshape(-1)
        return contract_outputs(energies, vec, n_local)


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
    return model


def export(source: str, out: str, dtype: Optional[str] = None, head: Optional[str] = None,
           name: Optional[str] = None) -> Dict:
    """Export a mace-torch ``.model`` file to ``out``."""
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
    model = model.to(getattr(torch, dtype)).eval()
    atomic_numbers = [int(z) for z in model.atomic_numbers.tolist()]
    scripted = e3nn.util.jit.compile(MACEContract(model, len(atomic_numbers), head_index))
    meta = base_metadata(
        name=name or os.path.basename(source),
        family="mace",
        family_version=mace_version,
        atomic_numbers=atomic_numbers,
        cutoff=float(model.r_max),
        num_layers=int(model.num_interactions),
        dtype=dtype,
        source={"model_file": os.path.abspath(source), "sha256": file_sha256(source)},
        options={"head": heads[head_index]} if len(heads) > 1 else {},
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
                      perturb: float = 0.2) -> str:
    """Build a ScaleShiftMACE with mace-torch and save it as a mace-torch ``.model`` file."""
    from e3nn import o3
    from mace import modules

    torch.manual_seed(seed)
    zs = sorted(int(z) for z in elements)
    rng = np.random.default_rng(seed)
    block = modules.interaction_classes["RealAgnosticResidualInteractionBlock"]
    model = modules.ScaleShiftMACE(
        r_max=r_max, num_bessel=8, num_polynomial_cutoff=5, max_ell=max_ell,
        interaction_cls=block, interaction_cls_first=block,
        num_interactions=num_interactions, num_elements=len(zs),
        hidden_irreps=o3.Irreps(hidden), MLP_irreps=o3.Irreps("16x0e"),
        atomic_energies=-rng.uniform(0.5, 4.0, size=len(zs)), avg_num_neighbors=20.0,
        atomic_numbers=zs, correlation=correlation, gate=torch.nn.functional.silu,
        atomic_inter_scale=1.3, atomic_inter_shift=0.1,
    )
    with torch.no_grad():
        for p in model.parameters():
            p.add_(perturb * torch.randn_like(p))
    model = model.to(getattr(torch, dtype))
    torch.save(model, path)
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Build a small ScaleShiftMACE with mace-torch "
                                "(random, perturbed weights) and save it as a .model file")
    p.add_argument("output")
    p.add_argument("--elements", nargs="+", default=["H", "C", "O", "Cu"])
    p.add_argument("--r-max", type=float, default=5.0)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--hidden", default="16x0e+16x1o")
    p.add_argument("--max-ell", type=int, default=3)
    p.add_argument("--correlation", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    args = p.parse_args(argv)
    from ase.data import atomic_numbers

    zs = [atomic_numbers[s] for s in args.elements]
    build_small_model(args.output, zs, args.r_max, args.layers, args.hidden, args.max_ell,
                      args.correlation, args.seed, args.dtype)
    print(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
