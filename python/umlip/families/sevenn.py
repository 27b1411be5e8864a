"""Export SevenNet checkpoints (the pretrained ones that ship inside the sevenn wheel, or any
checkpoint file) to the umlip model contract. Runs in an environment with sevenn installed.

What is changed relative to sevenn's own model, and why (none of it changes the numbers):
- the force/stress output module is removed: the contract differentiates with respect to edge
  vectors itself (``edge_grad``), which gives forces and the virial from one backward pass;
- sevenn's one-hot embedding casts to float32 unconditionally; it is replaced by one that
  follows the model's dtype, so the file also runs in float64;
- element -> type mapping is done by the engine (``species`` input), not inside the model.
"""
from __future__ import annotations

import os
from typing import Dict, Optional

import torch
from e3nn.util.jit import compile_mode

from umlip.contract import ExportError, base_metadata, save, self_check
from umlip.families.contract_forward import contract_outputs, edge_vectors
from umlip.io import file_sha256

#: pretrained names whose weights ship inside the sevenn wheel (no download, ever)
SHIPPED = {
    "7net-0": "7net-0",
    "7net-0_11jul2024": "7net-0_11jul2024",
    "7net-0_22may2024": "7net-0_22may2024",
    "7net-l3i5": "7net-l3i5",
    "7net-mf-0": "7net-mf-0",
}


@compile_mode("script")
class DtypeFollowingOneHot(torch.nn.Module):
    """sevenn's OnehotEmbedding, but in the dtype of the edge vectors instead of float32."""

    def __init__(self, num_classes: int, key_x: str, key_output: str,
                 key_additional_output: Optional[str], key_save: Optional[str]):
        super().__init__()
        self.num_classes = num_classes
        self.key_x = key_x
        self.key_output = key_output
        self.key_additional_output = key_additional_output
        self.key_save = key_save

    def forward(self, data: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        inp = data[self.key_x]
        embd = torch.nn.functional.one_hot(inp, self.num_classes).to(data["edge_vec"].dtype)
        data[self.key_output] = embd
        if self.key_additional_output is not None:
            data[self.key_additional_output] = embd
        if self.key_save is not None:
            data[self.key_save] = inp
        return data


@compile_mode("script")
class SevenNetContract(torch.nn.Module):
    """umlip model contract around a sevenn AtomGraphSequential (serial, edge-vector input)."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, positions: torch.Tensor, species: torch.Tensor, edge_index: torch.Tensor,
                edge_shift: torch.Tensor, n_local: int,
                cell: torch.Tensor) -> Dict[str, torch.Tensor]:
        vec = edge_vectors(positions, edge_index, edge_shift)
        n = positions.shape[0]
        data: Dict[str, torch.Tensor] = {}
        data["x"] = species
        data["edge_index"] = edge_index
        data["edge_vec"] = vec
        data["num_atoms"] = torch.tensor([n], dtype=torch.int64, device=positions.device)
        data["nlocal"] = torch.tensor([n_local], dtype=torch.int64)
        out = self.model(data)
        energies = out["atomic_energy"].reshape(-1)
        return contract_outputs(energies, vec, n_local)


def _replace_one_hots(model) -> int:
    """Replace every sevenn OnehotEmbedding (float32-only) by the dtype-following one."""
    from sevenn.nn.node_embedding import OnehotEmbedding

    cls = DtypeFollowingOneHot
    count = 0
    for key, mod in list(model._modules.items()):
        if isinstance(mod, OnehotEmbedding):
            model._modules[key] = cls(mod.num_classes, mod.key_x, mod.key_output,
                                      mod.key_additional_output, mod.key_save)
            count += 1
    return count


def checkpoint_path(source: str) -> str:
    """Path of a checkpoint: a file, or a pretrained name shipped in the sevenn wheel."""
    if os.path.isfile(source):
        return source
    key = source.lower()
    if key not in SHIPPED:
        raise ExportError(
            f"{source!r} is not a file nor a SevenNet model shipped inside the sevenn wheel "
            f"(shipped: {', '.join(sorted(SHIPPED))}). umlip never downloads weights: download "
            f"the checkpoint yourself and pass its path."
        )
    return _shipped_path(SHIPPED[key])


def _shipped_path(name: str) -> str:
    # sevenn's own resolver would download a missing file; look only inside the wheel.
    from sevenn import _const

    table = {
        "7net-0": _const.SEVENNET_0_11Jul2024,
        "7net-0_11jul2024": _const.SEVENNET_0_11Jul2024,
        "7net-0_22may2024": _const.SEVENNET_0_22May2024,
        "7net-l3i5": _const.SEVENNET_l3i5,
        "7net-mf-0": _const.SEVENNET_MF_0,
    }
    path = table[name]
    if not os.path.isfile(path):
        raise ExportError(f"the sevenn wheel does not contain {path}; reinstall sevenn")
    return path


def build_model(source: str, modal: Optional[str] = None):
    """sevenn's model, prepared for the contract. Returns (model, checkpoint config)."""
    import warnings

    from sevenn import util

    path = checkpoint_path(source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cp = util.load_checkpoint(path)
        model = cp.build_model(enable_cueq=False, enable_flash=False, enable_oeq=False)
    config = cp.config
    if "force_output" in model._modules:
        model.delete_module_by_key("force_output")
    else:
        raise ExportError("this SevenNet checkpoint has no force_output module; umlip cannot tell "
                          "how its energy depends on the geometry")
    if _replace_one_hots(model) == 0:
        raise ExportError("this SevenNet checkpoint has no one-hot embedding module; unsupported")
    model.eval_type_map = False
    if model.modal_map:
        modals = sorted(model.modal_map)
        if modal is None:
            raise ExportError(f"{source} is a multi-fidelity model: choose a modal with --modal "
                              f"(one of {', '.join(modals)}), or use the name {source}:<modal>")
        if modal not in model.modal_map:
            raise ExportError(f"unknown modal {modal!r} for {source}; choose one of {modals}")
        model.prepare_modal_deploy(modal)
    elif modal is not None:
        raise ExportError(f"{source} is not a multi-fidelity model; drop --modal {modal}")
    model.set_is_batch_data(False)
    model.eval()
    return model, config, path


def export(source: str, out: str, dtype: Optional[str] = None, modal: Optional[str] = None,
           name: Optional[str] = None) -> Dict:
    """Export a SevenNet checkpoint (file or shipped pretrained name) to ``out``."""
    import e3nn
    import e3nn.util.jit
    import sevenn

    model, config, path = build_model(source, modal)
    native = "float32" if str(config.get("dtype", "single")) in ("single", "float32") else "float64"
    dtype = dtype or native
    if dtype not in ("float32", "float64"):
        raise ExportError(f"dtype must be float32 or float64, not {dtype}")
    model = model.to(getattr(torch, dtype))
    type_map = model.type_map  # Z -> one-hot index
    atomic_numbers = [z for z, _ in sorted(type_map.items(), key=lambda kv: kv[1])]
    if sorted(type_map.values()) != list(range(len(type_map))):
        raise ExportError("SevenNet type_map is not a dense 0..n-1 index; unsupported")

    scripted = e3nn.util.jit.script(SevenNetContract(model))
    meta = base_metadata(
        name=name or (source if not os.path.isfile(source) else os.path.basename(source)),
        family="sevenn",
        family_version=sevenn.__version__,
        atomic_numbers=atomic_numbers,
        cutoff=float(config["cutoff"]),
        num_layers=int(config["num_convolution_layer"]),
        dtype=dtype,
        source={"checkpoint": os.path.abspath(path), "sha256": file_sha256(path)},
        options={"modal": modal} if modal else {},
    )
    meta["e3nn_version"] = e3nn.__version__
    save(scripted, out, meta)

    reference = _reference_calculator(source, modal, dtype)
    self_check(out, meta, reference, f"sevenn {sevenn.__version__} SevenNetCalculator",
               other_dtype="float64" if dtype == "float32" else "float32")
    save(scripted, out, meta)
    return meta


def _reference_calculator(source: str, modal: Optional[str], dtype: str):
    """sevenn's own ASE calculator on a freshly built model, in ``dtype``.

    sevenn's calculator and one-hot embedding are float32-only; for float64 the data conversion
    and the one-hot module follow the model dtype (see family_calculator())."""
    calc = family_calculator(source, modal=modal, dtype=dtype)

    def run(atoms):
        atoms = atoms.copy()
        atoms.calc = calc
        return {"energy": atoms.get_potential_energy(), "forces": atoms.get_forces()}

    return run


def family_calculator(source: str, modal: Optional[str] = None, dtype: str = "float32"):
    """sevenn.calculator.SevenNetCalculator for ``source``, in float32 (sevenn's own setting) or
    float64. For float64 two float32 casts inside sevenn are redirected to float64: the input
    conversion (sevenn.util.dtype_correct) and the one-hot embedding; the weights are upcast.
    Everything else (neighbour list, graph, autograd forces and stress) is sevenn's own code."""
    import warnings

    import sevenn.util
    from sevenn.calculator import SevenNetCalculator

    path = checkpoint_path(source)
    if dtype == "float32":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return SevenNetCalculator(path, device="cpu", modal=modal)
    if not getattr(sevenn.util, "_umlip_float64", False):
        original = sevenn.util.dtype_correct

        def dtype_correct(v, float_dtype=torch.float64, int_dtype=torch.int64):
            return original(v, float_dtype, int_dtype)

        sevenn.util.dtype_correct = dtype_correct
        sevenn.util._umlip_float64 = True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cp = sevenn.util.load_checkpoint(path)
        model = cp.build_model(enable_cueq=False, enable_flash=False, enable_oeq=False)
    _replace_one_hots(model)
    model = model.to(torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SevenNetCalculator(model, file_type="model_instance", device="cpu", modal=modal)
