"""An analytic message-passing model in the umlip model contract, written with torch only.

It lets the engine, the ASE calculator and the LAMMPS pair style be tested without any family
package (sevenn, mace-torch): small, deterministic (weights drawn from a seed), smooth, and a
real message-passing model, so that the multi-rank ghost graph matters.

Mathematics (species s_i, width F, K radial Gaussians, L layers, cutoff r_c; for edge
e = (i, j), node i receives from j along r_ij = x_j - x_i + shift, r = |r_ij|):

    f_c(r)   = (1 - (r / r_c)^2)^3 for r < r_c, else 0       (value and slope vanish at r_c)
    R_l(r)   = f_c(r) * sum_k B_l[k, :] exp(-gamma (r - mu_k)^2)                  [F]
    h_i^0    = A[s_i]                                                              [F]
    h_i^l    = tanh(h_i^(l-1) + sum_{e=(i,j)} R_l(r_e) * (W_l^T h_j^(l-1)))        [F]
    E_i      = e0[s_i] + w . h_i^L + 1/2 sum_{e=(i,j)} V_{s_i s_j}(r_e)            [eV]
    V_ab(r)  = D [(1 - exp(-a (r - r0_ab)))^2 - 1] * S(r)                          [eV]

with mu_k = linspace(0.5 Å, r_c, K), gamma = (K / r_c)^2, F = 6, K = 4; A, W_l, B_l, w and
e0 drawn from the seed (make_params); r0_ab the sum of the covalent radii of a and b
(ase.data), D = 0.5 eV, a = 1.7 / Å and
S(r) = 1 - t^3 (10 - 15 t + 6 t^2), t = clip((r - r_c/2) / (r_c/2), 0, 1) (a C2 switch). The
Morse pair term carries the structure (a repulsive wall, a well near r0_ab: fcc Cu has its
minimum near a = 3.57 Å, and NVE MD of Cu with H at 600 K is stable); the message-passing part,
smaller (readout scale 0.15 eV), reaches num_layers x r_c.

:func:`export_analytic` writes a model file through the exporters' path
(``base_metadata``, ``save``, ``self_check``) against :class:`AnalyticReference`, an ASE
calculator independent of the engine: energies from a plain numpy implementation of the
formulas above on ``ase.neighborlist.neighbor_list``, forces and stress by autograd of the
eager torch module with respect to positions and strain.

Command line::

    python -m umlip.families.analytic OUT [--elements H Cu] [--cutoff 4.0] [--layers 2]
                                          [--dtype float64] [--seed 0]
"""
from __future__ import annotations

import argparse
import json
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from ase.calculators.calculator import Calculator, all_changes

from umlip.contract import ExportError, base_metadata, save, self_check
from umlip.families.layered import LayeredContract, stage_metadata

#: hyper-parameters that are not drawn from the seed
WIDTH = 6                  # F, node feature width
NUM_BASIS = 4              # K, radial Gaussians
MORSE_DEPTH = 0.5          # D [eV]
MORSE_ALPHA = 1.7          # a [1/Å]


def _buffers(module: torch.nn.Module, params: Dict[str, Any], dtype: torch.dtype) -> None:
    for key, value in params.items():
        module.register_buffer(key, torch.tensor(np.asarray(value, dtype=np.float64),
                                                 dtype=dtype))


class AnalyticEmbedding(torch.nn.Module):
    """Stage 0: h^0 = A[s_i] and the node energies e0[s_i] + 1/2 sum_e V(r_e) (species and
    edge vectors only, so no neighbour features are read)."""

    def __init__(self, params: Dict[str, np.ndarray], cutoff: float, dtype: torch.dtype):
        super().__init__()
        _buffers(self, {k: params[k] for k in ("embed", "e0", "r0", "morse")}, dtype)
        self.cutoff = float(cutoff)

    def forward(self, h: torch.Tensor, species: torch.Tensor, edge_index: torch.Tensor,
                vec: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        i = edge_index[0]
        j = edge_index[1]
        r = torch.sqrt((vec * vec).sum(dim=1))
        half = 0.5 * self.cutoff
        t = torch.clamp((r - half) / half, min=0.0, max=1.0)
        switch = 1.0 - t * t * t * (10.0 - 15.0 * t + 6.0 * t * t)
        ex = 1.0 - torch.exp(-self.morse[1] * (r - self.r0[species[i], species[j]]))
        pair = self.morse[0] * (ex * ex - 1.0) * switch
        energies = self.e0[species]
        return self.embed[species], energies + torch.zeros_like(energies).index_add(0, i,
                                                                                  0.5 * pair)


class AnalyticLayer(torch.nn.Module):
    """One message-passing layer: h^l = tanh(h^(l-1) + sum_e R_l(r_e) (W_l^T h_j^(l-1)))."""

    def __init__(self, params: Dict[str, np.ndarray], layer: int, cutoff: float,
                 dtype: torch.dtype):
        super().__init__()
        _buffers(self, {"weight": params["weight"][layer], "radial": params["radial"][layer],
                        "mu": params["mu"], "gamma": params["gamma"]}, dtype)
        self.cutoff = float(cutoff)

    def forward(self, h: torch.Tensor, species: torch.Tensor, edge_index: torch.Tensor,
                vec: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        i = edge_index[0]
        j = edge_index[1]
        r = torch.sqrt((vec * vec).sum(dim=1))
        x = r / self.cutoff
        fc = torch.clamp(1.0 - x * x, min=0.0) ** 3
        basis = torch.exp(-self.gamma * (r.unsqueeze(1) - self.mu.unsqueeze(0)) ** 2)   # (E, K)
        radial = fc.unsqueeze(1) * (basis @ self.radial)                                 # (E, F)
        msg = radial * (h[j] @ self.weight)
        out = torch.tanh(h + torch.zeros_like(h).index_add(0, i, msg))
        return out, torch.zeros(h.shape[0], dtype=h.dtype, device=h.device)


class AnalyticReadout(torch.nn.Module):
    """Last stage: node energies w . h^L; no features out."""

    def __init__(self, params: Dict[str, np.ndarray], dtype: torch.dtype):
        super().__init__()
        _buffers(self, {"readout": params["readout"]}, dtype)

    def forward(self, h: torch.Tensor, species: torch.Tensor, edge_index: torch.Tensor,
                vec: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        return h[:, :0], h @ self.readout


class AnalyticModel(LayeredContract):
    """The analytic message-passing model as a layered contract module: stages embedding,
    layer_1 .. layer_L, readout (see :mod:`umlip.families.layered`).

    Parameters
    ----------
    params : dict of str -> ndarray
        ``embed`` (S, F), ``weight`` (L, F, F), ``radial`` (L, K, F), ``readout`` (F,),
        ``e0`` (S,) [eV], ``mu`` (K,) [Å], ``gamma`` () [1/Å^2], ``r0`` (S, S) [Å],
        ``morse`` (2,) (D [eV], a [1/Å]); see :func:`make_params`.
    cutoff : float
        r_c [Å].
    dtype : torch.dtype
        Dtype of the stored buffers.
    """

    def __init__(self, params: Dict[str, np.ndarray], cutoff: float,
                 dtype: torch.dtype = torch.float64):
        num_layers = int(np.asarray(params["weight"]).shape[0])
        stages: List[torch.nn.Module] = [AnalyticEmbedding(params, cutoff, dtype)]
        stages += [AnalyticLayer(params, k, cutoff, dtype) for k in range(num_layers)]
        stages.append(AnalyticReadout(params, dtype))
        super().__init__(stages)
        self.cutoff = float(cutoff)
        self.num_layers = num_layers

    def node_energies(self, vec: torch.Tensor, species: torch.Tensor,
                      edge_index: torch.Tensor) -> torch.Tensor:
        """Per-node energies [eV], shape (N,), from edge vectors ``vec`` (E, 3) [Å] (eager)."""
        n = species.shape[0]
        h = torch.zeros((n, 0), dtype=vec.dtype)
        energies = torch.zeros((n,), dtype=vec.dtype)
        for stage in self.stages:
            h, e = stage(h, species, edge_index, vec)
            energies = energies + e
        return energies

    def stage_metadata(self) -> List[Dict[str, Any]]:
        """The ``stages`` metadata of this model (layer 1 reads only embeddings by species)."""
        n = self.num_layers
        return stage_metadata(["embedding"] + [f"layer_{k + 1}" for k in range(n)] + ["readout"],
                              [WIDTH] * (n + 1) + [0],
                              [False, False] + [True] * (n - 1) + [False])

    @staticmethod
    def params_of(module: torch.nn.Module) -> Dict[str, np.ndarray]:
        """The :func:`make_params` dict back from a (loaded) model's buffers, in float64."""
        buf = {name: b.double().numpy() for name, b in module.named_buffers()}
        layers = sorted({int(name.split(".")[1]) for name in buf if name.endswith(".weight")})
        last = max(int(name.split(".")[1]) for name in buf)
        params = {k: buf[f"stages.0.{k}"] for k in ("embed", "e0", "r0", "morse")}
        params["weight"] = np.stack([buf[f"stages.{k}.weight"] for k in layers])
        params["radial"] = np.stack([buf[f"stages.{k}.radial"] for k in layers])
        params["mu"] = buf[f"stages.{layers[0]}.mu"]
        params["gamma"] = buf[f"stages.{layers[0]}.gamma"]
        params["readout"] = buf[f"stages.{last}.readout"]
        return params


def make_params(atomic_numbers: Sequence[int], cutoff: float, num_layers: int,
                seed: int) -> Dict[str, np.ndarray]:
    """Deterministic weights (float64) for :class:`AnalyticModel`, drawn from ``seed``.

    Returns the dict described in :class:`AnalyticModel`; the same arguments give the same
    numbers on every platform (torch's CPU generator).
    """
    from ase.data import covalent_radii

    gen = torch.Generator().manual_seed(int(seed))

    def normal(*shape, scale=1.0):
        return (scale * torch.randn(*shape, generator=gen, dtype=torch.float64)).numpy()

    zs = [int(z) for z in atomic_numbers]
    n_species = len(zs)
    radii = np.array([covalent_radii[z] for z in zs])
    return {
        "embed": normal(n_species, WIDTH, scale=0.8),
        "weight": normal(num_layers, WIDTH, WIDTH, scale=1.0 / np.sqrt(WIDTH)),
        "radial": normal(num_layers, NUM_BASIS, WIDTH, scale=0.6),
        "readout": normal(WIDTH, scale=0.15),
        "e0": -1.0 - 0.5 * torch.rand(n_species, generator=gen, dtype=torch.float64).numpy(),
        "mu": np.linspace(0.5, cutoff, NUM_BASIS),
        "gamma": np.array((NUM_BASIS / cutoff) ** 2),
        "r0": radii[:, None] + radii[None, :],
        "morse": np.array([MORSE_DEPTH, MORSE_ALPHA]),
    }


def numpy_energies(params: Dict[str, np.ndarray], cutoff: float, species: np.ndarray,
                   i: np.ndarray, j: np.ndarray, vec: np.ndarray) -> np.ndarray:
    """The model's per-node energies [eV], shape (N,), in plain numpy (float64).

    Parameters
    ----------
    params : dict, see :class:`AnalyticModel`
    cutoff : float [Å]
    species : (N,) int ndarray, species indices
    i, j : (E,) int ndarrays, edge e = (i[e], j[e]): node i receives from node j
    vec : (E, 3) ndarray [Å], r_ij
    """
    p = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    n = len(species)
    r = np.linalg.norm(vec, axis=1)
    fc = np.where(r < cutoff, (1.0 - (r / cutoff) ** 2) ** 3, 0.0)
    basis = np.exp(-p["gamma"] * (r[:, None] - p["mu"][None, :]) ** 2)
    h = p["embed"][species]
    for layer in range(p["weight"].shape[0]):
        radial = fc[:, None] * (basis @ p["radial"][layer])
        msg = radial * (h[j] @ p["weight"][layer])
        agg = np.zeros_like(h)
        np.add.at(agg, i, msg)
        h = np.tanh(h + agg)
    half = 0.5 * cutoff
    t = np.clip((r - half) / half, 0.0, 1.0)
    switch = 1.0 - t ** 3 * (10.0 - 15.0 * t + 6.0 * t * t)
    depth, alpha = p["morse"]
    ex = 1.0 - np.exp(-alpha * (r - p["r0"][species[i], species[j]]))
    pair = depth * (ex * ex - 1.0) * switch
    energies = p["e0"][species] + h @ p["readout"]
    np.add.at(energies, i, 0.5 * pair)
    assert energies.shape == (n,)
    return energies


class AnalyticReference(Calculator):
    """ASE calculator for the analytic model, independent of the umlip engine.

    Neighbours come from ``ase.neighborlist.neighbor_list``; energies from
    :func:`numpy_energies`; forces and stress from autograd of the eager (not scripted)
    :class:`AnalyticModel` in float64 with respect to positions and a homogeneous strain.

    Parameters
    ----------
    params : dict, see :class:`AnalyticModel`
    cutoff : float [Å]
    atomic_numbers : sequence of int, species index -> Z

    Properties
    ----------
    energy, free_energy : float [eV]; energies : (N,) [eV]; forces : (N, 3) [eV/Å];
    stress : (6,) [eV/Å^3], Voigt xx, yy, zz, yz, xz, xy (cells of non-zero volume only)
    """

    implemented_properties = ("energy", "free_energy", "energies", "forces", "stress")

    def __init__(self, params: Dict[str, np.ndarray], cutoff: float,
                 atomic_numbers: Sequence[int], **kwargs):
        super().__init__(**kwargs)
        self.params = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
        self.cutoff = float(cutoff)
        self.species_of = {int(z): s for s, z in enumerate(atomic_numbers)}
        self.module = AnalyticModel(self.params, cutoff, torch.float64)

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "AnalyticReference":
        """The reference for a saved analytic model file (its weights, read by torch)."""
        extra = {"umlip.json": ""}
        module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
        meta = json.loads(extra["umlip.json"])
        if meta.get("family") != "analytic":
            raise ValueError(f"{path} is a {meta.get('family')!r} model, not 'analytic'")
        return cls(AnalyticModel.params_of(module), meta["cutoff"], meta["atomic_numbers"])

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        from ase.neighborlist import neighbor_list

        super().calculate(atoms, properties, system_changes)
        a = self.atoms
        try:
            species = np.array([self.species_of[int(z)] for z in a.numbers], dtype=np.int64)
        except KeyError as exc:
            raise ValueError(f"element Z={exc.args[0]} is not in the model; it has "
                             f"{sorted(self.species_of)}") from None
        i, j, shift = neighbor_list("ijS", a, self.cutoff)
        cell = np.asarray(a.cell.array, dtype=np.float64)
        vec = a.positions[j] - a.positions[i] + shift @ cell
        energies = numpy_energies(self.params, self.cutoff, species, i, j, vec)

        pos_t = torch.tensor(a.positions, dtype=torch.float64, requires_grad=True)
        strain = torch.zeros(3, 3, dtype=torch.float64, requires_grad=True)
        deform = torch.eye(3, dtype=torch.float64) + strain
        cell_t = torch.tensor(cell) @ deform
        pos_d = pos_t @ deform
        idx_i, idx_j = torch.from_numpy(i), torch.from_numpy(j)
        vec_t = pos_d[idx_j] - pos_d[idx_i] + torch.tensor(shift, dtype=torch.float64) @ cell_t
        total = self.module.node_energies(vec_t, torch.from_numpy(species),
                                          torch.stack([idx_i, idx_j])).sum()
        d_pos, d_strain = torch.autograd.grad(total, [pos_t, strain], allow_unused=True)
        forces = -d_pos.numpy() if d_pos is not None else np.zeros((len(a), 3))
        energy = float(energies.sum())
        self.results = {"energy": energy, "free_energy": energy, "energies": energies,
                        "forces": forces}
        volume = abs(a.cell.volume)
        if volume > 1e-10:
            s = d_strain.numpy() if d_strain is not None else np.zeros((3, 3))
            s = 0.5 * (s + s.T) / volume
            self.results["stress"] = np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2],
                                               s[0, 1]])


def export_analytic(out: str | os.PathLike, elements: Sequence[str] = ("H", "Cu"),
                    cutoff: float = 4.0, num_layers: int = 2, dtype: str = "float64",
                    seed: int = 0, name: Optional[str] = None) -> Dict[str, Any]:
    """Write the analytic model to the model file ``out``; returns its metadata.

    The file is written with ``base_metadata`` and ``save`` and checked by ``self_check``: the
    engine, loading that file, must reproduce :class:`AnalyticReference` (to round-off in
    float64, to float32 precision in float32); the other dtype is tried and listed in
    ``dtypes`` if it agrees.

    Parameters
    ----------
    out : path of the model file
    elements : chemical symbols; species indices follow increasing atomic number
    cutoff : float [Å], r_c
    num_layers : int, message-passing layers (interaction range num_layers x r_c)
    dtype : "float32" or "float64", dtype of the stored weights
    seed : int, seed of the weights
    name : model name in the metadata (default ``analytic-<elements>-L<layers>-s<seed>``)
    """
    from ase.data import atomic_numbers as z_of

    from umlip import __version__

    if dtype not in ("float32", "float64"):
        raise ExportError(f"dtype must be float32 or float64, not {dtype!r}")
    unknown = [e for e in elements if e not in z_of]
    if not elements or unknown:
        raise ExportError(f"unknown element(s) {unknown}; give chemical symbols such as H Cu")
    if not cutoff > 0 or int(num_layers) < 1:
        raise ExportError(f"need cutoff > 0 and num_layers >= 1, not {cutoff}, {num_layers}")
    zs = sorted({z_of[e] for e in elements})
    params = make_params(zs, cutoff, int(num_layers), seed)
    module = AnalyticModel(params, cutoff, getattr(torch, dtype)).eval()
    scripted = torch.jit.script(module)
    symbols = "-".join(e for e in sorted(set(elements), key=lambda e: z_of[e]))
    meta = base_metadata(
        name=name or f"analytic-{symbols}-L{int(num_layers)}-s{int(seed)}",
        family="analytic",
        family_version=__version__,
        atomic_numbers=zs,
        cutoff=float(cutoff),
        num_layers=int(num_layers),
        dtype=dtype,
        source={"generator": "umlip.families.analytic.make_params", "seed": int(seed)},
        stages=module.stage_metadata(),
        options={"width": WIDTH, "num_basis": NUM_BASIS, "morse_depth": MORSE_DEPTH,
                 "morse_alpha": MORSE_ALPHA},
    )
    save(scripted, out, meta)
    # the reference uses the weights as stored (rounded to float32 in a float32 file)
    stored = AnalyticModel.params_of(module)
    ref = AnalyticReference(stored, cutoff, zs)

    def run(atoms):
        atoms = atoms.copy()
        atoms.calc = ref
        return {"energy": atoms.get_potential_energy(), "forces": atoms.get_forces()}

    self_check(out, meta, run, "numpy energies + eager torch autograd forces (ase neighbor_list)",
               other_dtype="float32" if dtype == "float64" else "float64")
    save(scripted, out, meta)
    return meta


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m umlip.families.analytic",
        description="Write the analytic message-passing test model as a umlip model file.")
    parser.add_argument("out", help="model file to write")
    parser.add_argument("--elements", nargs="+", default=["H", "Cu"])
    parser.add_argument("--cutoff", type=float, default=4.0, help="[Å]")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default=None)
    args = parser.parse_args(argv)
    try:
        meta = export_analytic(args.out, args.elements, args.cutoff, args.layers, args.dtype,
                               args.seed, args.name)
    except ExportError as exc:
        parser.error(str(exc))
    check = meta["self_check"]
    print(f"wrote {args.out}: {meta['name']}, elements {meta['atomic_numbers']}, cutoff "
          f"{meta['cutoff']} Å, {meta['num_layers']} layers, dtypes {meta['dtypes']}; "
          f"self-check max |dE| {check['max_abs_dE_per_atom']:.2g} eV/atom, "
          f"max |dF| {check['max_abs_dF']:.2g} eV/Å")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
