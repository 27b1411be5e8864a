"""Export SevenNet checkpoints (the pretrained ones that ship inside the sevenn wheel, or any
checkpoint file) to the umlip model contract, in its layered form (docs/model-contract.md,
section 6; :mod:`umlip.families.layered`). Runs in an environment with sevenn installed.

The file holds sevenn's own modules (with their weights), regrouped from its
``AtomGraphSequential`` into stages at the boundaries sevenn's parallel LAMMPS deployment
communicates at (one per interaction layer):

- ``embedding``: one-hot of the species -> ``onehot_to_feature_x`` (node features x);
  no exchange (species only);
- ``layer_1`` .. ``layer_L`` (sevenn's ``0_*`` .. ``{L-1}_*``): the edge embedding recomputed
  from ``vec`` (radial basis x cutoff, spherical harmonics), then ``self_connection_intro``,
  ``self_interaction_1``, ``convolution`` (reads the neighbours' features x[j]),
  ``self_interaction_2``, ``self_connection_outro``, ``equivariant_gate``. ``exchange`` is true
  for all but ``layer_1``, whose input, the embedding, is a function of each node's own species;
- ``readout``: ``reduce_input_to_hidden``, ``reduce_hidden_to_energy``,
  ``rescale_atomic_energy`` -> per-node energies [eV]; no features out.

The whole-model ``forward`` is the composition of the stages (:class:`LayeredContract`).

What is changed relative to sevenn's own model, and why (none of it changes the numbers):
- the force/stress output and the total-energy sum are removed: the contract differentiates
  with respect to edge vectors itself (``edge_grad``), which gives forces and the virial from
  one backward pass;
- sevenn's one-hot embeddings cast to float32 unconditionally; the stages make them in the
  model's dtype, so the file also runs in float64;
- element -> type mapping is done by the engine (``species`` input), not inside the model;
- a multi-fidelity model is exported for one modal: its index is stored in the stages, which
  make the modal one-hot themselves (what sevenn's ``prepare_modal_deploy`` does);
- each convolution (e3nn tensor product, gather, scatter) runs on umlip's batched kernels
  (:mod:`umlip.families.sevenn_conv`): the same sums in fewer, larger operations, 1.3-3x
  faster on CPU; ``kernels="e3nn"`` keeps sevenn's modules.
"""
from __future__ import annotations

import copy
import os
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch
from e3nn.util.jit import compile_mode

from umlip.contract import ExportError, base_metadata, save, self_check
from umlip.families import KERNELS
from umlip.families.layered import LayeredContract, stage_metadata
from umlip.families.sevenn_conv import replace_convolutions
from umlip.io import file_sha256

#: pretrained names whose weights ship inside the sevenn wheel (no download, ever)
SHIPPED = {
    "7net-0": "7net-0",
    "7net-0_11jul2024": "7net-0_11jul2024",
    "7net-0_22may2024": "7net-0_22may2024",
    "7net-l3i5": "7net-l3i5",
    "7net-mf-0": "7net-mf-0",
}

#: the modules of sevenn's output block, in order
_READOUT = ("reduce_input_to_hidden", "reduce_hidden_to_energy", "rescale_atomic_energy")
#: the modules of sevenn's embedding
_EMBEDDING = ("onehot_idx_to_onehot", "onehot_to_feature_x")


@compile_mode("script")
class DtypeFollowingOneHot(torch.nn.Module):
    """sevenn's OnehotEmbedding, but in the dtype of the edge vectors instead of float32
    (used by :func:`family_calculator` for sevenn's own float64 reference)."""

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
class SevenNetStage(torch.nn.Module):
    """One stage of the layered contract made of sevenn modules run in order on sevenn's data
    dict, which the stage fills from its inputs: ``x`` (the input features ``h``, or the one-hot
    of the species for the embedding), ``atom_type`` (species), ``edge_index``, ``edge_vec``,
    ``node_attr`` (one-hot of the species, in the model dtype, where a module reads it) and,
    for a multi-fidelity model, ``modal_type`` and ``modal_attr`` (the exported modal and its
    one-hot).

    ``kind``: 0 embedding, 1 interaction layer (features out ``x``), 2 readout (energies out
    ``atomic_energy``, no features).
    """

    def __init__(self, modules: "OrderedDict[str, torch.nn.Module]", kind: int, num_species: int,
                 modal: int = -1, num_modalities: int = 0):
        from sevenn.nn.self_connection import SelfConnectionIntro

        super().__init__()
        self.body = torch.nn.ModuleDict(modules)
        self.kind = kind
        # node_attr (one-hot of the species) is read by the tensor-product self-connection only
        self.needs_attr = any(isinstance(m, SelfConnectionIntro) for m in modules.values())
        self.num_species = num_species
        self.modal = modal
        self.num_modalities = num_modalities

    def forward(self, h: torch.Tensor, species: torch.Tensor, edge_index: torch.Tensor,
                vec: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        data: Dict[str, torch.Tensor] = {}     # keys: sevenn._keys
        if self.kind == 0 or self.needs_attr:
            attr = torch.nn.functional.one_hot(species, self.num_species).to(vec.dtype)
            data["node_attr"] = attr
            data["x"] = attr if self.kind == 0 else h
        else:
            data["x"] = h
        data["atom_type"] = species
        data["edge_index"] = edge_index
        data["edge_vec"] = vec
        if self.modal >= 0:
            modal = torch.tensor(self.modal, dtype=torch.int64, device=species.device)
            data["modal_type"] = modal
            data["modal_attr"] = torch.nn.functional.one_hot(
                modal, self.num_modalities).to(vec.dtype)
        for module in self.body.values():
            data = module(data)
        n = species.shape[0]
        if self.kind == 2:
            return h[:, :0], data["atomic_energy"].reshape(n)
        return data["x"], torch.zeros((n,), dtype=vec.dtype, device=vec.device)


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


def layered_stages(model, num_layers: int) -> Tuple[List[SevenNetStage], List[str], List[bool]]:
    """Regroup a prepared sevenn AtomGraphSequential (see :func:`build_model`) into stages.

    Returns (stages, names, exchange flags). Raises ExportError for a module this split does
    not know (it would otherwise be dropped silently).
    """
    from sevenn.nn.node_embedding import OnehotEmbedding

    mods = OrderedDict(model._modules)
    modal, num_modalities = -1, 0
    if "modal_input_prepare" in mods:
        modal = int(mods.pop("modal_input_prepare").modal_idx)
        one_hot_modal = mods.pop("one_hot_modality", None)
        if one_hot_modal is None:
            raise ExportError("multi-fidelity SevenNet model without a modality one-hot; "
                              "unsupported")
        num_modalities = int(one_hot_modal.num_classes)
    if "edge_embedding" not in mods:
        raise ExportError("this SevenNet checkpoint has no edge_embedding module; unsupported")
    edge_embedding = mods.pop("edge_embedding")
    mods.pop("reduce_total_enegy", None)    # sum of the atomic energies: the engine's job
    one_hot = mods.pop(_EMBEDDING[0], None)
    known = (OnehotEmbedding, DtypeFollowingOneHot)
    if not isinstance(one_hot, known) or _EMBEDDING[1] not in mods:
        raise ExportError("this SevenNet checkpoint has no one-hot embedding module; unsupported")
    num_species = int(one_hot.num_classes)
    kw = {"num_species": num_species, "modal": modal, "num_modalities": num_modalities}

    stages = [SevenNetStage(OrderedDict([(_EMBEDDING[1], mods.pop(_EMBEDDING[1]))]), 0, **kw)]
    for t in range(num_layers):
        body = OrderedDict([("edge_embedding", copy.deepcopy(edge_embedding))])
        for key in [k for k in mods if k.startswith(f"{t}_")]:
            body[key] = mods.pop(key)
        if f"{t}_convolution" not in body:
            raise ExportError(f"SevenNet layer {t} has no convolution; unsupported")
        stages.append(SevenNetStage(body, 1, **kw))
    readout = OrderedDict()
    for key in _READOUT:
        if key not in mods:
            raise ExportError(f"this SevenNet checkpoint has no {key} module; unsupported")
        readout[key] = mods.pop(key)
    if mods:
        raise ExportError(f"SevenNet modules umlip does not know where to put: {list(mods)}")
    stages.append(SevenNetStage(readout, 2, **kw))
    names = ["embedding"] + [f"layer_{t + 1}" for t in range(num_layers)] + ["readout"]
    # layer_1 reads the embedding, a function of each node's own species: no exchange
    exchange = [False, False] + [True] * (num_layers - 1) + [False]
    return stages, names, exchange


def _stage_widths(stages, dtype: torch.dtype) -> List[int]:
    """Widths of the stages' output features, from a forward pass on a two-atom graph."""
    species = torch.zeros(2, dtype=torch.int64)
    edge_index = torch.tensor([[0, 1], [1, 0]], dtype=torch.int64)
    vec = torch.tensor([[1.1, 0.3, -0.4], [-1.1, -0.3, 0.4]], dtype=dtype)
    h = torch.zeros((2, 0), dtype=dtype)
    widths = []
    with torch.no_grad():
        for stage in stages:
            h, _ = stage(h, species, edge_index, vec)
            widths.append(int(h.shape[1]))
    return widths


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
    """sevenn's model, prepared for the contract (force output removed, modal chosen, serial).
    Returns (model, checkpoint config, checkpoint path)."""
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


def layered_model(model, num_layers: int, dtype: str = "float32", kernels: str = "batched"):
    """A prepared sevenn model (:func:`build_model`) as a :class:`LayeredContract` in ``dtype``
    (eager, eval mode), its convolutions on the batched kernels
    (:mod:`umlip.families.sevenn_conv`) or on sevenn's own e3nn ones (``kernels="e3nn"``).
    Returns (module, ``stages`` metadata)."""
    if kernels not in KERNELS:
        raise ExportError(f"kernels must be one of {', '.join(KERNELS)}, not {kernels!r}")
    stages, names, exchange = layered_stages(model, num_layers)
    module = LayeredContract(stages).to(getattr(torch, dtype)).eval()
    if kernels == "batched" and replace_convolutions(module) != num_layers:
        raise ExportError("unexpected SevenNet convolutions: the batched kernels replace one "
                          "per layer; export with --kernels e3nn")
    widths = _stage_widths(module.stages, getattr(torch, dtype))
    if widths[-1] != 0 or 0 in widths[:-1]:
        raise ExportError(f"unexpected SevenNet stage widths {widths}")
    return module, stage_metadata(names, widths, exchange)


def export(source: str, out: str, dtype: Optional[str] = None, modal: Optional[str] = None,
           name: Optional[str] = None, kernels: str = "batched") -> Dict:
    """Export a SevenNet checkpoint (file or shipped pretrained name) to ``out``, in the layered
    form (see the module docstring), with the convolutions on ``kernels``."""
    import e3nn
    import e3nn.util.jit
    import sevenn

    model, config, path = build_model(source, modal)
    native = "float32" if str(config.get("dtype", "single")) in ("single", "float32") else "float64"
    dtype = dtype or native
    if dtype not in ("float32", "float64"):
        raise ExportError(f"dtype must be float32 or float64, not {dtype}")
    type_map = model.type_map  # Z -> one-hot index
    atomic_numbers = [z for z, _ in sorted(type_map.items(), key=lambda kv: kv[1])]
    if sorted(type_map.values()) != list(range(len(type_map))):
        raise ExportError("SevenNet type_map is not a dense 0..n-1 index; unsupported")
    module, stages = layered_model(model, int(config["num_convolution_layer"]), dtype, kernels)

    scripted = e3nn.util.jit.script(module)
    meta = base_metadata(
        name=name or (source if not os.path.isfile(source) else os.path.basename(source)),
        family="sevenn",
        family_version=sevenn.__version__,
        atomic_numbers=atomic_numbers,
        cutoff=float(config["cutoff"]),
        num_layers=int(config["num_convolution_layer"]),
        dtype=dtype,
        source={"checkpoint": os.path.abspath(path), "sha256": file_sha256(path)},
        options={"kernels": kernels, **({"modal": modal} if modal else {})},
        stages=stages,
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
