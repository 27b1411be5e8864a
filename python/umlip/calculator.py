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
    model : str or path, or a list of them
        A list is a committee: the first model (or the mean, ``drive="mean"``) gives energy,
        forces and stress; ``forces_std`` (per atom), ``energy_std`` and
        ``results["model_devi"]`` give their disagreement with pair style umlip's conventions.
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
        message-passing layer instead of all, for about one more forward pass of time (on
        graphs of more than 50000 edges each layer runs over blocks of atoms with at most
        50000 edges: about one block of one layer); "auto" switches it on for graphs of at
        least 50000 edges. Same numbers either way (to round-off).

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
                              "stresses", "forces_std", "energy_std")
    nolabel = True

    def __init__(self, model: Union[PathLike, Sequence[PathLike]] = DEFAULT_MODEL,
                 device: str = "cpu", dtype: Optional[str] = None,
                 num_threads: Optional[int] = None, recompute: Union[bool, str] = "auto",
                 drive: str = "first", **kwargs):
        super().__init__(**kwargs)
        models = list(model) if isinstance(model, (list, tuple)) else [model]
        if not models:
            raise ValueError("give a model file or name, or a list of them for a committee")
        if drive not in ("first", "mean"):
            raise ValueError(f"drive must be 'first' or 'mean', not {drive!r}")
        self.model = load_model(models[0], device=device, dtype=dtype, num_threads=num_threads,
                                recompute=recompute)
        self.members = [load_model(m, device=device, dtype=dtype, num_threads=num_threads,
                                   recompute=recompute) for m in models[1:]]
        for other in self.members:
            if sorted(other.atomic_numbers) != sorted(self.model.atomic_numbers):
                raise ValueError(f"committee models must cover the same elements: "
                                 f"{self.model.path} covers {sorted(self.model.atomic_numbers)}, "
                                 f"{other.path} covers {sorted(other.atomic_numbers)}")
        self.parameters.update(model=[str(m) for m in models] if len(models) > 1 else
                               str(models[0]), device=device, dtype=self.model.dtype,
                               num_threads=num_threads, recompute=recompute, drive=drive)
        self._model_file, self._content_hash = str(self.model.path), self.model.content_hash
        self._member_files = [(str(m.path), m.content_hash) for m in self.members]

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
        state.pop("members", None)
        return state

    def __setstate__(self, state: dict) -> None:
        from umlip import engine

        self.__dict__.update(state)
        par = self.parameters
        rec = par["recompute"]

        def reload(path, expected):
            m = engine.Model(path, device=par["device"], dtype=par["dtype"],
                             num_threads=par["num_threads"] or 0,
                             recompute=-1 if rec == "auto" else int(rec))
            if m.content_hash != expected:
                raise ValueError(
                    f"model file {path} changed since the calculator loaded it (content hash "
                    f"{m.content_hash}, expected {expected}); cannot restore the calculator "
                    f"from it")
            return m

        self.model = reload(self._model_file, self._content_hash)
        self.members = [reload(p, h) for p, h in getattr(self, "_member_files", [])]

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
        args = (np.ascontiguousarray(a.positions, dtype=float),
                np.ascontiguousarray(a.numbers, dtype=np.int32),
                np.ascontiguousarray(a.cell.array, dtype=float),
                np.ascontiguousarray(a.pbc, dtype=bool))
        out = self.model.compute(*args, atom_virial="stresses" in properties)
        committee = None
        if self.members:
            committee = [out] + [m.compute(*args, atom_virial="stresses" in properties)
                                 for m in self.members]
            if self.parameters.get("drive") == "mean":
                out = {key: np.mean([o[key] for o in committee], axis=0)
                       for key in ("energy", "forces", "energies", "virial", "atom_virial")
                       if key in out}
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
        if committee is not None:
            results.update(committee_results(committee, len(a)))
        elif "forces_std" in properties or "energy_std" in properties:
            raise PropertyNotImplementedError(
                "forces_std and energy_std need a committee: UMLIPCalculator([m0, m1, ...])")
        self.results = results


def committee_results(outputs, natoms: int) -> dict:
    """The model deviation of a committee's engine outputs (one dict per model), with the
    conventions of pair style umlip's out_file (DeePMD-kit's model_devi): ``forces_std`` (N,)
    [eV/Å] per-atom force deviation, ``energy_std`` [eV] of the total energy, and
    ``model_devi``: max/min/avg_devi_f [eV/Å], max/min/avg_devi_v [eV] (virial per atom),
    devi_e [eV/atom]."""
    from umlip import engine

    forces = np.stack([o["forces"] for o in outputs], axis=1)            # atoms, models, 3
    sigma = engine.force_deviation(np.ascontiguousarray(forces))
    energies = np.array([float(o["energy"]) for o in outputs])
    hi, lo, rms = engine.virial_deviation(
        np.ascontiguousarray(np.stack([o["virial"] for o in outputs])), natoms)
    e_std = float(engine.committee_std(energies))
    return {
        "forces_std": sigma,
        "energy_std": e_std,
        "model_devi": {"max_devi_v": hi, "min_devi_v": lo, "avg_devi_v": rms,
                       "max_devi_f": float(sigma.max()) if len(sigma) else 0.0,
                       "min_devi_f": float(sigma.min()) if len(sigma) else 0.0,
                       "avg_devi_f": float(sigma.mean()) if len(sigma) else 0.0,
                       "devi_e": e_std / max(natoms, 1)},
    }
