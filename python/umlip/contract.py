"""Writing model files in the umlip model contract (docs/model-contract.md).

A model file is a TorchScript archive whose ``forward`` has the one fixed signature

    forward(positions: Tensor[N, 3], species: Tensor[N] (int64), edge_index: Tensor[2, E] (int64),
            edge_shift: Tensor[E, 3], n_local: int, cell: Tensor[3, 3]) -> Dict[str, Tensor]

returning ``energies`` (per-node energies [eV], shape [N]) and ``edge_grad`` (dE_local/dr_ij
[eV/Å], shape [E, 3], where E_local is the sum of the energies of nodes 0..n_local-1 and
r_ij = positions[j] - positions[i] + edge_shift for edge (i, j) = edge_index[:, e]). Edge (i, j)
means node i receives a message from its neighbour j. Metadata is the JSON text ``umlip.json``
stored inside the archive (TorchScript "extra files").

This module is family-agnostic and runs in the family environments, where torch is available.
"""
from __future__ import annotations

import datetime
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import numpy as np


CONTRACT = "umlip-model"
INPUTS = ["positions", "species", "edge_index", "edge_shift", "n_local", "cell"]
OUTPUTS = ["energies", "edge_grad"]
METADATA_FILE = "umlip.json"


class ExportError(ValueError):
    """The model cannot be represented faithfully by the umlip model contract."""


def base_metadata(
    *,
    name: str,
    family: str,
    family_version: str,
    atomic_numbers: List[int],
    cutoff: float,
    num_layers: int,
    dtype: str,
    source: Dict[str, Any],
    options: Optional[Dict[str, Any]] = None,
    stages: Optional[List[Dict[str, Any]]] = None,
) -> Dict[str, Any]:
    import torch

    from umlip import __version__, engine

    return {
        "contract": CONTRACT,
        "contract_version": engine.CONTRACT_VERSION,    # the version the engine implements
        "name": name,
        "family": family,
        "family_version": family_version,
        "atomic_numbers": [int(z) for z in atomic_numbers],
        "cutoff": float(cutoff),
        "num_layers": int(num_layers),
        "interaction_range": float(cutoff) * int(num_layers),
        "dtype": dtype,
        "dtypes": [dtype],
        "energy_unit": "eV",
        "length_unit": "angstrom",
        "inputs": INPUTS,
        "outputs": OUTPUTS,
        "source": source,
        "options": options or {},
        "exported_by": f"umlip {__version__}",
        "torch_version": torch.__version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **({"stages": stages} if stages else {}),
    }


def save(scripted, path: str | os.PathLike, metadata: Dict[str, Any]) -> None:
    """Save a scripted contract module with its metadata; fills in ``content_hash``.

    The hash is computed by the engine (umlip.engine.content_hash) over the saved parameters and
    buffers and the metadata fields that change results, so the engine can verify it at load
    time with the very same code.
    """
    import torch

    from umlip import engine

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "weights.pt"
        torch.jit.save(scripted, str(plain))
        metadata["content_hash"] = "sha256:" + engine.content_hash(
            str(plain), metadata["atomic_numbers"], metadata["cutoff"], metadata["num_layers"],
            metadata["dtype"], metadata["dtypes"])
    text = json.dumps(metadata, indent=1, sort_keys=True)
    tmp_out = path.with_name(path.name + f".tmp{os.getpid()}")
    torch.jit.save(scripted, str(tmp_out), _extra_files={METADATA_FILE: text})
    os.replace(tmp_out, path)


# ---------------------------------------------------------------------------------------------
# self-check: the exported file, run by the engine, against the family's own calculator


def check_structures(atomic_numbers: List[int], cutoff: float, seed: int = 20261122):
    """Small deterministic test structures over (at most) two of the model's elements:
    a periodic triclinic cell, a slab (mixed PBC) and an isolated cluster."""
    from ase import Atoms

    rng = np.random.default_rng(seed)
    have = [int(z) for z in atomic_numbers]
    preferred = [z for z in (29, 1) if z in have]  # Cu and H: the systems umlip is about
    zs = (preferred + [z for z in have if z not in preferred])[:2]
    if len(zs) == 1:
        zs = zs * 2

    def random_atoms(n, cell, pbc):
        pos = []
        while len(pos) < n:
            p = rng.random(3) @ cell
            if all(np.linalg.norm(p - q) > 2.1 for q in pos):
                pos.append(p)
        nums = [zs[k % 2] for k in range(n)]
        return Atoms(numbers=nums, positions=pos, cell=cell, pbc=pbc)

    tric = np.array([[5.2, 0.0, 0.0], [1.1, 5.0, 0.0], [0.6, 0.8, 5.4]])
    slab_cell = np.array([[6.0, 0.0, 0.0], [0.0, 6.0, 0.0], [0.0, 0.0, 14.0]])
    a = random_atoms(8, tric, True)
    b = random_atoms(10, slab_cell * [1, 1, 0.45], [True, True, False])
    b.cell = slab_cell
    c = random_atoms(6, np.eye(3) * 5.0, False)
    c.cell = np.zeros((3, 3))
    return [a, b, c]


def self_check(
    path: str | os.PathLike,
    metadata: Dict[str, Any],
    reference: Callable[[Any], Dict[str, np.ndarray]],
    reference_label: str,
    other_dtype: Optional[str] = None,
) -> Dict[str, Any]:
    """Compare the saved file, evaluated by the engine in the file's dtype, with the family's
    own calculator (``reference(atoms) -> {"energy", "forces"}``), and try the other dtype.

    Raises ExportError if the file does not reproduce the family's numbers, and removes the
    file; records the result and the verified dtypes in ``metadata`` (the caller saves again).
    """
    try:
        return _self_check(path, metadata, reference, reference_label, other_dtype)
    except ExportError:
        Path(path).unlink(missing_ok=True)
        raise


def _self_check(path, metadata, reference, reference_label, other_dtype):
    from umlip import engine

    dtype = metadata["dtype"]
    # float64 must agree to round-off; float32 to its precision (relative to the force scale)
    rel = 1e-12 if dtype == "float64" else 1e-5
    tol_e0, tol_f0 = (1e-6, 1e-6) if dtype == "float64" else (2e-4, 2e-3)
    model = engine.Model(str(path))
    worst_e = worst_f = 0.0
    tol_e, tol_f = tol_e0, tol_f0
    structures = check_structures(metadata["atomic_numbers"], metadata["cutoff"])
    ours_by_structure = []
    for atoms in structures:
        ours = model.compute(atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc)
        ref = reference(atoms)
        de = abs(ours["energy"] - ref["energy"]) / len(atoms)
        df = float(np.max(np.abs(ours["forces"] - ref["forces"])))
        worst_e, worst_f = max(worst_e, de), max(worst_f, df)
        tol_e = max(tol_e, tol_e0 + rel * abs(ref["energy"]) / len(atoms))
        tol_f = max(tol_f, tol_f0 + rel * float(np.max(np.abs(ref["forces"]))))
        ours_by_structure.append(ours)
    if not (worst_e <= tol_e and worst_f <= tol_f):
        raise ExportError(
            f"the exported model does not reproduce {reference_label} in {dtype}: "
            f"max |dE| = {worst_e:.3g} eV/atom (tolerance {tol_e:.3g}), "
            f"max |dF| = {worst_f:.3g} eV/Å (tolerance {tol_f:.3g}); refusing to write it"
        )
    result = {
        "reference": reference_label,
        "dtype": dtype,
        "max_abs_dE_per_atom": worst_e,
        "max_abs_dF": worst_f,
        "structures": len(structures),
    }
    if metadata.get("stages"):
        result["layered"] = check_stages(path, structures, ours_by_structure, tol_e, tol_f)
    dtypes = [dtype]
    if other_dtype:
        try:
            other = engine.Model(str(path), dtype=other_dtype, require_verified_dtype=False)
            ok = True
            for atoms, ours in zip(structures, ours_by_structure):
                o = other.compute(atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc)
                if not (abs(o["energy"] - ours["energy"]) / len(atoms) < 2e-4
                        and np.max(np.abs(o["forces"] - ours["forces"])) < 2e-3):
                    ok = False
            if ok:
                dtypes.append(other_dtype)
        except Exception as exc:  # a conversion the model does not support: just not listed
            result["other_dtype_error"] = f"{type(exc).__name__}: {exc}"
    metadata["dtypes"] = sorted(dtypes)
    metadata["self_check"] = result
    return result


def check_stages(path: str | os.PathLike, structures, whole_results, tol_e: float,
                 tol_f: float) -> Dict[str, Any]:
    """The layered form of ``path`` (docs/model-contract.md, section 6) against its whole-model
    forward ``whole_results`` (engine ``compute`` on ``structures``): the stages evaluated on
    the one-rank ghost-layer graph, with the halo exchange, must give the same energy and forces.
    A stage that reads neighbour features without saying ``exchange`` fails here.

    Raises ExportError on a mismatch; returns the largest deviations.
    """
    from umlip import engine
    from umlip.families.layered import ghost_layer_graph

    model = engine.Model(str(path))
    worst_e = worst_f = 0.0
    checked = 0
    for atoms, whole in zip(structures, whole_results):
        if not any(atoms.pbc):
            continue    # no periodic images, no ghosts: nothing to exchange
        g = ghost_layer_graph(atoms, model.cutoff)
        species = np.array([model.species_of(int(z)) for z in atoms.numbers])[g["node_atom"]]
        out = model.evaluate_graph(g["positions"], species, g["edge_index"], g["edge_vec"],
                                   g["n_local"], ghost_owner=g["owner"])
        forces = np.zeros((len(atoms), 3))
        np.add.at(forces, g["node_atom"], out["forces"])
        worst_e = max(worst_e, abs(out["energy"] - whole["energy"]) / len(atoms))
        worst_f = max(worst_f, float(np.max(np.abs(forces - whole["forces"]))))
        checked += 1
    if not (worst_e <= tol_e and worst_f <= tol_f):
        raise ExportError(
            f"the stages of the exported model, run with the halo exchange on a ghost-layer "
            f"graph, do not reproduce its whole-model forward: max |dE| = {worst_e:.3g} eV/atom, "
            f"max |dF| = {worst_f:.3g} eV/Å (a stage that reads neighbour features must say "
            f"exchange); refusing to write it")
    return {"max_abs_dE_per_atom": worst_e, "max_abs_dF": worst_f, "structures": checked}
