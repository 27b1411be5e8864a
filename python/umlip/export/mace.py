"""Export mace-torch models (``.model`` files: MACE, ScaleShiftMACE; float32 or float64) to the
umlip model contract. Runs in an environment with mace-torch installed.

The wrapper feeds MACE its own forward with zero positions and the edge vectors as ``shifts``:
MACE computes ``vectors = positions[receiver] - positions[sender] + shifts`` = the edge vectors
exactly, so the gradient of the energy with respect to ``shifts`` is dE/dr_ij. Nothing inside
MACE is re-implemented. MACE's receiver is ``edge_index[1]``; the contract's receiver is
``edge_index[0]`` (as in SevenNet), so the wrapper flips the edge index and negates vectors.
"""
from __future__ import annotations

import mace  # noqa: F401  (must come before e3nn/torch.load: sets TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD)

import os
from typing import Dict, Optional

import torch
from e3nn.util.jit import compile_mode

from umlip.export.contract import ExportError, base_metadata, file_sha256, save, self_check


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
        vec = (positions[edge_index[1]] - positions[edge_index[0]] + edge_shift).detach()
        vec.requires_grad_(True)
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
        local = energies[:n_local].sum()
        grads = torch.autograd.grad([local], [vec], allow_unused=True)
        g = grads[0]
        if g is None:
            g = torch.zeros_like(vec)
        return {"energies": energies.detach(), "edge_grad": g}


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

    ref = reference_calculator(source, dtype=dtype, head=heads[head_index] if len(heads) > 1 else None)

    def run(atoms):
        atoms = atoms.copy()
        atoms.calc = ref
        return {"energy": atoms.get_potential_energy(), "forces": atoms.get_forces()}

    self_check(out, meta, run, f"mace-torch {mace_version} MACECalculator",
               other_dtype="float64" if dtype == "float32" else "float32")
    save(scripted, out, meta)
    return meta


def reference_calculator(source: str, dtype: str = "float64", head: Optional[str] = None):
    """mace-torch's own ASE calculator for ``source`` in ``dtype``."""
    import warnings

    from mace.calculators import MACECalculator

    kwargs = {"head": head} if head else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MACECalculator(model_paths=source, device="cpu", default_dtype=dtype, **kwargs)
