"""Small mace-torch models built by mace-torch itself (MACE foundation weights ship in no
wheel). Runs in the MACE environment:

    python -m umlip.testing.mace_models out.model --elements H C O Cu --layers 2 --seed 0

Weights are mace-torch's random initialisation plus a seeded perturbation of every parameter,
so that no term is trivially zero and every block of the model is exercised.
"""
from __future__ import annotations

import mace  # noqa: F401  (first: sets TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD for torch >= 2.6)

import argparse
from typing import Sequence

import numpy as np
import torch


def make_mace(path: str, elements: Sequence[int] = (1, 6, 8, 29), r_max: float = 5.0,
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
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
    make_mace(args.output, zs, args.r_max, args.layers, args.hidden, args.max_ell,
              args.correlation, args.seed, args.dtype)
    print(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
