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

    Copies and pickles
    ------------------
    ``copy.deepcopy(calc)``, ``calc.copy()`` and pickling (multiprocessing, NEB images) load
    the model again from the resolved model file with the same options, and refuse with
    ValueError if that file's content hash changed since this calculator loaded it. Each such
    copy has its own engine model: an engine model must not evaluate in two threads at once.
    ``copy.copy(calc)`` shares the engine model (use it from one thread at a time).
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
        self._model_file, self._content_hash = str(self.model.path), self.model.content_hash

    def todict(self, skip_default: bool = True) -> dict:
        """The parameters, plus the resolved model file and its content hash (``model_file``,
        ``content_hash``): what reproduces this calculator, whatever the name meant."""
        out = super().todict(skip_default)
        out.update(model_file=self._model_file, content_hash=self._content_hash)
        return out

    def copy(self) -> "UMLIPCalculator":
        """A new calculator with its own engine model loaded from the same model file with the
        same options, without results (e.g. one per NEB image)."""
        new = UMLIPCalculator.__new__(UMLIPCalculator)
        new.__setstate__(self.__getstate__())
        new.atoms, new.results = None, {}
        return new

    def __getstate__(self) -> dict:
        # the engine model is not picklable: keep what reloads it (file, options, hash)
        state = self.__dict__.copy()
        del state["model"]
        return state

    def __setstate__(self, state: dict) -> None:
        from umlip import engine

        self.__dict__.update(state)
        par = self.parameters
        rec = par["recompute"]
        self.model = engine.Model(self._model_file, device=par["device"], dtype=par["dtype"],
                                  num_threads=par["num_threads"] or 0,
                                  recompute=-1 if rec == "auto" else int(rec))
        if self.model.content_hash != self._content_hash:
            raise ValueError(
                f"model file {self._model_file} changed since the calculator loaded it (content "
                f"hash {self.model.content_hash}, expected {self._content_hash}); "
                f"cannot restore the calculator from it")

    def __copy__(self) -> "UMLIPCalculator":
        new = UMLIPCalculator.__new__(UMLIPCalculator)
        new.__dict__.update(self.__dict__)       # shares the engine model: see the class doc
        return new

    def __deepcopy__(self, memo) -> "UMLIPCalculator":
        import copy

        new = UMLIPCalculator.__new__(UMLIPCalculator)
        memo[id(self)] = new
        new.__setstate__(copy.deepcopy(self.__getstate__(), memo))
        return new

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
