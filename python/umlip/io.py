"""JSON, hashing, atomic writes and atoms records, shared by umlip and the DFT recipes.

Standard library and numpy only (ASE is imported inside the atoms-record functions): the DFT
recipes in ``dft/`` import this module under Debian's ``/usr/bin/python3`` (GPAW from apt,
ASE 3.22) with the repository's ``python/`` on ``PYTHONPATH``, without installing umlip.

Rules
-----
* :func:`to_jsonable` turns numpy arrays and scalars, tuples and paths into plain JSON types.
  A non-finite float becomes ``null`` (``nonfinite="null"``, model results: a NaN metric is
  "no value"), or is refused with ValueError (``nonfinite="raise"``, DFT data: a NaN there is
  a failed calculation, never data).
* :func:`payload_sha256` is the hash of the DFT data files: sha256 of the UTF-8 bytes of
  ``json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
  allow_nan=False)``, with ``payload`` as loaded back by ``json.load``.
* :func:`write_json` writes through a temporary file in the same directory and
  ``os.replace``: a killed process never leaves a half-written file.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any, Dict, Optional, Union

import numpy as np

PathLike = Union[str, os.PathLike]

_NONFINITE = ("null", "raise")


def to_jsonable(obj: Any, nonfinite: str = "null") -> Any:
    """Plain JSON types (dict with str keys, list, float, int, bool, str, None) from ``obj``.

    numpy arrays become (nested) lists, numpy scalars Python scalars, tuples lists, paths
    strings. Non-finite floats: ``nonfinite="null"`` -> ``None``, ``"raise"`` -> ValueError.
    """
    if nonfinite not in _NONFINITE:
        raise ValueError(f"nonfinite={nonfinite!r}; expected one of {', '.join(_NONFINITE)}")
    return _jsonable(obj, nonfinite == "raise")


def _jsonable(obj: Any, strict: bool) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v, strict) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v, strict) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist(), strict)
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        if math.isfinite(v):
            return v
        if strict:
            raise ValueError(f"non-finite number {v} cannot be stored (JSON has no NaN/inf)")
        return None
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return obj


def canonical_json(obj: Any) -> str:
    """The canonical text that :func:`payload_sha256` hashes (sorted keys, no spaces, ASCII;
    ValueError on NaN/inf)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False)


def payload_sha256(payload: Any) -> str:
    """sha256 (hex) of :func:`canonical_json` of ``payload`` encoded as UTF-8."""
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def file_sha256(path: PathLike) -> str:
    """sha256 (hex) of a file's bytes (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_json(path: PathLike, obj: Any, *, sort_keys: bool = False, nonfinite: str = "null"
               ) -> Path:
    """Write :func:`to_jsonable` of ``obj`` as JSON (indent 1, trailing newline) atomically,
    creating the directory; returns the path."""
    path = Path(path)
    text = json.dumps(to_jsonable(obj, nonfinite), indent=1, sort_keys=sort_keys,
                      allow_nan=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


_NO_DEFAULT = object()


def read_json(path: PathLike, default: Any = _NO_DEFAULT) -> Any:
    """The JSON document in ``path``; ``default`` (when given) if the file does not exist."""
    if default is not _NO_DEFAULT and not os.path.exists(path):
        return default
    with open(path) as f:
        return json.load(f)


# ------------------------------------------------------------------------------ atoms records
def atoms_to_record(atoms, energy: Optional[float] = None, forces=None, *,
                    velocities: bool = False, position_decimals: Optional[int] = None,
                    force_decimals: Optional[int] = None,
                    extra: Optional[Dict[str, Any]] = None, nonfinite: str = "null"
                    ) -> Dict[str, Any]:
    """JSON record of a geometry, the layout of the DFT data files.

    Keys: ``numbers``, ``symbols``, ``positions`` [Å], ``cell`` [Å], ``pbc``, ``fixed_atoms``
    (indices under ASE FixAtoms), ``other_constraints`` (ASE ``todict()``; only when there
    are any), ``initial_magmoms`` (only when not all zero), ``energy`` [eV], ``forces``
    [eV/Å] and ``velocities`` [Å/(ASE time)] when given, then ``extra``.
    ``position_decimals`` / ``force_decimals``: round positions and cell / forces (the DFT
    recipes store 8 / 6 decimals; None keeps every digit); ``nonfinite`` as in
    :func:`to_jsonable`.
    """
    from ase.constraints import FixAtoms

    def rounded(x, decimals):
        x = np.asarray(x, dtype=float)
        return (x if decimals is None else np.round(x, decimals)).tolist()

    d: Dict[str, Any] = {
        "numbers": [int(z) for z in atoms.numbers],
        "symbols": atoms.get_chemical_symbols(),
        "positions": rounded(atoms.positions, position_decimals),
        "cell": rounded(np.array(atoms.cell), position_decimals),
        "pbc": [bool(p) for p in atoms.pbc],
        "fixed_atoms": [],
    }
    for c in atoms.constraints:
        if isinstance(c, FixAtoms):
            d["fixed_atoms"] = sorted(int(i) for i in c.get_indices())
        else:
            d.setdefault("other_constraints", []).append(c.todict())
    mm = atoms.get_initial_magnetic_moments()
    if np.any(mm != 0):
        d["initial_magmoms"] = mm.tolist()
    if energy is not None:
        d["energy"] = float(energy)
    if forces is not None:
        d["forces"] = rounded(forces, force_decimals)
    if velocities:
        d["velocities"] = atoms.get_velocities().tolist()
    if extra:
        d.update(extra)
    return to_jsonable(d, nonfinite)


def atoms_from_record(rec: Dict[str, Any]):
    """ASE Atoms from a record of :func:`atoms_to_record`: FixAtoms and the other stored
    constraints, initial magnetic moments and velocities when present."""
    from ase import Atoms
    from ase.constraints import FixAtoms, FixCartesian, dict2constraint

    a = Atoms(numbers=rec["numbers"], positions=rec["positions"], cell=rec["cell"],
              pbc=rec["pbc"])
    cons = []
    if rec.get("fixed_atoms"):
        cons.append(FixAtoms(indices=rec["fixed_atoms"]))
    for c in rec.get("other_constraints", []):
        kw = dict(c.get("kwargs", {}))
        if c.get("name") == "FixCartesian":     # ase 3.22 wrote a scalar index "a"
            idx = kw.pop("a", kw.pop("indices", None))
            cons.append(FixCartesian(np.atleast_1d(idx).tolist(), mask=kw.get("mask")))
        else:
            cons.append(dict2constraint(c))
    if cons:
        a.set_constraint(cons)
    if rec.get("initial_magmoms") is not None:
        a.set_initial_magnetic_moments(rec["initial_magmoms"])
    if rec.get("velocities") is not None:
        a.set_velocities(rec["velocities"])
    return a
