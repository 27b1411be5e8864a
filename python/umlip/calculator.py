"""ASE calculator on the umlip engine."""
from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np
from ase.calculators.calculator import Calculator, PropertyNotImplementedError, all_changes

from umlip.models import DEFAULT_MODEL, PathLike, load_model
from umlip.units import atom_virials_to_ase_stresses, virial_to_ase_stress


class UMLIPCalculator(Calculator):
    """ASE calculator for any model in the umlip model contract.

    Parameters
    ----------
    model : str or path
        A model file exported by ``umlip export``, or a known name such as ``"7net-0"``
        (exported on first use into the cache, see umlip.models).
    device : str
        ``"cpu"`` (tested), ``"cuda"`` or ``"cuda:N"`` (written with care, untested: no GPU).
    dtype : str, optional
        ``"float32"`` or ``"float64"``; default: the model file's dtype.
    num_threads : int, optional
        torch intra-op threads; default: torch's own setting.
    recompute : bool or "auto"
        Layer-wise recomputation for layered model files: peak memory of about one
        message-passing layer instead of all, for about one more forward pass of time; "auto"
        switches it on for graphs of at least 100000 edges. Same numbers either way.

    Properties
    ----------
    energy, free_energy : float [eV]
    forces : (N, 3) ndarray [eV/Å]
    stress : (6,) ndarray [eV/Å^3], Voigt xx, yy, zz, yz, xz, xy; needs a cell of non-zero volume
    energies : (N,) ndarray [eV], per-atom energies (they sum to the energy)
    stresses : (N, 6) ndarray [eV/Å^3], per-atom stresses (they sum to the stress): half of each
        edge's virial -r (x) dE/dr to each of its two atoms, over the cell volume; computed only
        when asked for
    """

    implemented_properties = ("energy", "free_energy", "forces", "stress", "energies",
                              "stresses")
    nolabel = True

    def __init__(self, model: PathLike = DEFAULT_MODEL, device: str = "cpu",
                 dtype: Optional[str] = None, num_threads: Optional[int] = None,
                 recompute: Union[bool, str] = "auto", **kwargs):
        super().__init__(**kwargs)
        self.model = load_model(model, device=device, dtype=dtype, num_threads=num_threads,
                                recompute=recompute)
        self.parameters.update(model=str(model), device=device, dtype=self.model.dtype,
                               num_threads=num_threads, recompute=recompute)

    def calculate(self, atoms=None, properties: Sequence[str] = ("energy",),
                  system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        a = self.atoms
        out = self.model.compute(
            np.ascontiguousarray(a.positions, dtype=float),
            np.ascontiguousarray(a.numbers, dtype=np.int32),
            np.ascontiguousarray(a.cell.array, dtype=float),
            np.ascontiguousarray(a.pbc, dtype=bool),
            atom_virial="stresses" in properties,
        )
        energy = float(out["energy"])
        results = {
            "energy": energy,
            "free_energy": energy,
            "forces": out["forces"],
            "energies": out["energies"],
        }
        volume = abs(a.cell.volume)
        if volume > 1e-10:
            results["stress"] = virial_to_ase_stress(out["virial"], volume)
            if "atom_virial" in out:
                results["stresses"] = atom_virials_to_ase_stresses(out["atom_virial"], volume)
        elif "stress" in properties or "stresses" in properties:
            raise PropertyNotImplementedError(
                "stress needs a cell with non-zero volume; this structure has none")
        self.results = results
