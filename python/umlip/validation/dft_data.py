"""Load and validate the DFT data files in ``umlip/validation/data``.

Each file (written by the recipes in the repository's ``dft/``, see dft/README.md) is::

    {"schema": "umlip-dft-reference/1", "task": name, "metadata": {...},
     "payload": {...}, "sha256": hex}

``sha256`` is :func:`umlip.io.payload_sha256` of the payload as loaded by json.load (sha256 of
``json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
allow_nan=False)`` encoded as UTF-8). :func:`load_dft_data` refuses a file whose hash does not match, whose schema is unknown, or
whose always-required keys or recorded calculation settings are incomplete. The recipes write
their files stage by stage, so later stages (slab sites, NEBs, curves of more molecules) may
be absent or flagged in progress: those are listed in :attr:`DFTData.missing` and
:attr:`DFTData.partial`, and the tasks compare only what exists.

Data directory: the ``data_dir`` argument, else ``$UMLIP_VALIDATION_DATA``, else the package's
``validation/data``.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

from umlip.io import payload_sha256

SCHEMA = "umlip-dft-reference/1"
DFT_DATA_NAMES = ("dissociation_curves", "h_cu111", "cu_adatom", "phonons", "molecules_paw")

#: keys every file carries at the top level and in its metadata
REQUIRED_TOP = ("schema", "task", "metadata", "payload", "sha256")
REQUIRED_METADATA = ("schema", "recipe", "recipe_sha256", "code_versions", "date_utc", "units",
                     "hash_rule", "wall_time_s")

#: payload keys (dotted paths) that must exist as soon as a file exists
REQUIRED_PAYLOAD: Dict[str, Tuple[str, ...]] = {
    "dissociation_curves": ("method", "atoms", "curves", "distance_fractions_of_r_eq",
                            "force_along_bond_definition"),
    "h_cu111": ("bulk_cu", "H2_molecule", "H_atom", "lattice_constant_a0",
                "bulk_energy_per_atom", "adsorption_energy_definition", "energy_convention"),
    "cu_adatom": ("settings", "clean_slab", "adatom.fcc", "adatom.hcp", "E_hcp_minus_fcc",
                  "bulk_energy_per_atom", "lattice_constant_a0", "binding_energy_definition"),
    "phonons": (),
}

#: sections written by later recipe stages: reported as missing when absent
OPTIONAL_PAYLOAD: Dict[str, Tuple[str, ...]] = {
    "dissociation_curves": tuple(f"curves.{m}" for m in
                                 ("H2", "O2", "N2", "CO", "Cu2", "H2O_OH", "CH4_CH")),
    "h_cu111": ("slab.clean_slab", "slab.H_sites.fcc", "slab.H_sites.hcp", "slab.H_sites.ontop",
                "slab.dissociated_candidates", "slab.H2_far", "neb", "convergence_check",
                "bridge_route.neb"),
    "cu_adatom": ("adatom_bridge_constrained", "neb_fcc_to_hcp"),
    "phonons": ("Cu", "Si"),
}

#: keys of a recorded DFT settings block, by kind
SETTINGS_KEYS = {
    "gpaw": ("code", "mode", "pw_cutoff_eV", "xc", "kpts", "occupations", "spinpol",
             "convergence", "setups"),
    "pyscf": ("code", "pyscf_version", "scf", "xc", "basis", "grids_level", "conv_tol_Ha",
              "conv_tol_grad", "max_cycle", "boundary", "spin_search"),
    "phonopy": ("phonopy_version", "supercell_matrix", "primitive_matrix",
                "displacement_distance_A", "is_plusminus", "symprec"),
}
CURVE_KEYS = ("symbols", "stretched_bond", "moving_atom", "r_eq", "points", "energy_at_r_eq",
              "sum_of_isolated_atom_energies", "equilibrium")
POINT_KEYS = ("r", "energy", "force_along_bond", "positions", "forces", "fraction")
GEOMETRY_KEYS = ("numbers", "positions", "cell", "pbc", "energy")
PHONON_KEYS = ("phonopy_settings", "dft_settings", "unitcell", "primitive_cell", "supercell",
               "displacement_dataset", "band", "mesh", "lattice_constant_a0")
NEB_KEYS = ("images", "barrier_forward", "barrier_reverse", "n_images_total", "settings")


class DFTDataError(ValueError):
    """A DFT data file exists but is not usable (hash mismatch, schema, missing settings)."""


#: the data files shipped with the package (the DFT recipes write here)
PACKAGE_DATA_DIR = Path(__file__).resolve().parent / "data"


def default_data_dir() -> Path:
    """``$UMLIP_VALIDATION_DATA`` if set, else :data:`PACKAGE_DATA_DIR`."""
    env = os.environ.get("UMLIP_VALIDATION_DATA")
    return Path(env) if env else PACKAGE_DATA_DIR


def _get(d: Any, dotted: str, default: Any = None) -> Any:
    for part in dotted.split("."):
        if not isinstance(d, dict) or part not in d:
            return default
        d = d[part]
    return d


_MISSING = object()


@dataclass
class DFTData:
    """One validated DFT data file.

    Attributes
    ----------
    name : file stem, e.g. ``"h_cu111"``
    path : the JSON file
    payload, metadata : the file's sections (energies eV, lengths Å, forces eV/Å, THz)
    sha256 : payload hash (verified)
    missing : optional sections not (yet) in the file (dotted paths)
    partial : sections present but flagged unfinished by the recipe (e.g. an unconverged NEB)
    """

    name: str
    path: Path
    payload: Dict[str, Any]
    metadata: Dict[str, Any]
    sha256: str
    missing: List[str] = field(default_factory=list)
    partial: List[str] = field(default_factory=list)

    def has(self, dotted: str) -> bool:
        return _get(self.payload, dotted, _MISSING) is not _MISSING

    def get(self, dotted: str, default: Any = None) -> Any:
        return _get(self.payload, dotted, default)

    def is_final(self, dotted: str) -> bool:
        """Present and not flagged in progress."""
        return self.has(dotted) and not any(dotted == p or dotted.startswith(p + ".")
                                            for p in self.partial)

    def status(self) -> Dict[str, Any]:
        return {"name": self.name, "path": str(self.path), "sha256": self.sha256,
                "sha256_ok": True, "missing": list(self.missing), "partial": list(self.partial),
                "date_utc": self.metadata.get("date_utc"),
                "recipe": self.metadata.get("recipe"),
                "convergence_check": convergence_note(self.name, self.payload)}


def convergence_note(name: str, payload: Dict[str, Any]) -> str:
    """One line on the file's check of a quantity against tighter DFT settings (the recipes'
    ``convergence_check``), or "" when the file has none."""
    cc = payload.get("convergence_check") or {}
    if name == "h_cu111" and "E_ads_fcc_tight" in cc:
        t = cc.get("settings_tight", {})
        return (f"fcc-H E_ads {cc['E_ads_fcc_production']:.3f} -> {cc['E_ads_fcc_tight']:.3f} "
                f"eV at {t.get('pw_cutoff_eV', '?'):g} eV, k {t.get('kpts', {}).get('size')} "
                f"({cc['difference_tight_minus_production']:+.3f}); a0 "
                f"{cc.get('a0_difference', float('nan')):+.4f} Å")
    if name == "dissociation_curves" and cc.get("molecules"):
        return (f"De {cc['basis_tight']} - {cc['basis_production']}: " + ", ".join(
            f"{m} {d['difference_tight_minus_production']:+.3f} eV"
            for m, d in cc["molecules"].items()))
    return ""


def _settings_blocks(name: str, payload: Dict[str, Any]) -> Iterator[Tuple[str, str, Any]]:
    """(dotted path, kind, settings dict) for every recorded settings block in a payload."""
    if name == "dissociation_curves":
        yield "method", "pyscf", payload.get("method")
        return
    if name == "phonons":
        for mat in ("Cu", "Si"):
            if mat in payload:
                yield f"{mat}.phonopy_settings", "phonopy", payload[mat].get("phonopy_settings")
                yield f"{mat}.dft_settings", "gpaw", payload[mat].get("dft_settings")
        return

    def walk(d: Any, path: str) -> Iterator[Tuple[str, str, Any]]:
        if isinstance(d, dict):
            for k, v in d.items():
                p = f"{path}.{k}" if path else k
                if k == "settings" and isinstance(v, dict):
                    yield p, "gpaw", v
                else:
                    yield from walk(v, p)

    yield from walk(payload, "")


def _check_geometries(name: str, payload: Dict[str, Any], errors: List[str]) -> None:
    def need(path: str, keys: Tuple[str, ...]) -> None:
        d = _get(payload, path)
        if d is None:
            return
        miss = [k for k in keys if k not in d]
        if miss:
            errors.append(f"{path}: missing keys {miss}")

    if name == "dissociation_curves":
        for cname, c in (payload.get("curves") or {}).items():
            need(f"curves.{cname}", CURVE_KEYS)
            for i, p in enumerate(c.get("points", [])):
                miss = [k for k in POINT_KEYS if k not in p]
                if miss:
                    errors.append(f"curves.{cname}.points[{i}]: missing keys {miss}")
            if len(c.get("symbols", [])) > 2 and "dissociation_limit_frozen_fragment_plus_H" \
                    not in c:
                errors.append(f"curves.{cname}: polyatomic curve without frozen-fragment limit")
    elif name == "h_cu111":
        for p in ("H2_molecule", "H_atom", "slab.clean_slab", "slab.H2_far"):
            need(p, GEOMETRY_KEYS)
        for site in (_get(payload, "slab.H_sites") or {}):
            need(f"slab.H_sites.{site}", GEOMETRY_KEYS + ("adsorption_energy",))
        for pair in (_get(payload, "slab.dissociated_candidates") or {}):
            need(f"slab.dissociated_candidates.{pair}", GEOMETRY_KEYS)
        need("neb", NEB_KEYS)
        for p in ("bridge_route.dissociated_state", "bridge_route.H2_far"):
            need(p, GEOMETRY_KEYS)
        need("bridge_route.neb", NEB_KEYS)
    elif name == "cu_adatom":
        for p in ("clean_slab", "adatom.fcc", "adatom.hcp", "adatom_bridge_constrained"):
            need(p, GEOMETRY_KEYS)
        need("neb_fcc_to_hcp", NEB_KEYS)
    elif name == "phonons":
        for mat in ("Cu", "Si"):
            need(mat, PHONON_KEYS)
            ds = _get(payload, f"{mat}.displacement_dataset")
            if ds is not None:
                for i, d in enumerate(ds.get("first_atoms", [])):
                    if not {"number", "displacement", "forces"} <= set(d):
                        errors.append(f"{mat}.displacement_dataset.first_atoms[{i}] incomplete")


def _partial_sections(payload: Dict[str, Any], prefix: str = "") -> List[str]:
    """Dotted paths of the sections (at any depth) whose status says IN PROGRESS."""
    out = []
    for k, v in payload.items():
        if not isinstance(v, dict):
            continue
        if "IN PROGRESS" in str(v.get("status", "")).upper():
            out.append(prefix + k)
        else:
            out += _partial_sections(v, f"{prefix}{k}.")
    return out


def validate(name: str, doc: Dict[str, Any]) -> Tuple[List[str], List[str], List[str]]:
    """(errors, missing optional sections, partial sections) of a loaded reference document."""
    errors: List[str] = []
    miss_top = [k for k in REQUIRED_TOP if k not in doc]
    if miss_top:
        return [f"missing top-level keys {miss_top}"], [], []
    if doc["schema"] != SCHEMA:
        errors.append(f"schema {doc['schema']!r}, expected {SCHEMA!r}")
    if doc["task"] != name:
        errors.append(f"file holds task {doc['task']!r}, expected {name!r}")
    got = payload_sha256(doc["payload"])
    if got != doc["sha256"]:
        errors.append(f"payload sha256 {got} does not match the recorded {doc['sha256']}")
    miss_meta = [k for k in REQUIRED_METADATA if k not in doc["metadata"]]
    if miss_meta:
        errors.append(f"metadata: missing keys {miss_meta}")
    payload = doc["payload"]
    for key in REQUIRED_PAYLOAD.get(name, ()):
        if _get(payload, key, _MISSING) is _MISSING:
            errors.append(f"payload: missing required key {key!r}")
    for path, kind, block in _settings_blocks(name, payload):
        if not isinstance(block, dict):
            errors.append(f"{path}: settings block missing")
            continue
        miss = [k for k in SETTINGS_KEYS[kind] if k not in block]
        if miss:
            errors.append(f"{path}: incomplete {kind} settings, missing {miss}")
    _check_geometries(name, payload, errors)
    missing = [k for k in OPTIONAL_PAYLOAD.get(name, ()) if _get(payload, k, _MISSING) is _MISSING]
    return errors, missing, _partial_sections(payload)


def dft_data_path(name: str, data_dir: Optional[os.PathLike] = None) -> Path:
    if name not in DFT_DATA_NAMES:
        raise ValueError(f"unknown DFT data file {name!r}; known: {', '.join(DFT_DATA_NAMES)}")
    return Path(data_dir or default_data_dir()) / f"{name}.json"


def load_dft_data(name: str, data_dir: Optional[os.PathLike] = None,
                   missing_ok: bool = False) -> Optional[DFTData]:
    """Load, hash-check and validate ``<data_dir>/<name>.json``.

    Returns ``None`` if the file does not exist and ``missing_ok``; raises
    FileNotFoundError otherwise, and :class:`DFTDataError` if it is not usable.
    """
    path = dft_data_path(name, data_dir)
    if not path.is_file():
        if missing_ok:
            return None
        raise FileNotFoundError(f"DFT data {name!r} not found: {path} does not exist")
    try:
        with open(path) as f:
            doc = json.load(f)
    except json.JSONDecodeError as exc:
        raise DFTDataError(f"{path}: not valid JSON ({exc})") from exc
    errors, missing, partial = validate(name, doc)
    if errors:
        raise DFTDataError(f"{path}: " + "; ".join(errors))
    return DFTData(name=name, path=path, payload=doc["payload"], metadata=doc["metadata"],
                     sha256=doc["sha256"], missing=missing, partial=partial)


def dft_data_status(data_dir: Optional[os.PathLike] = None) -> List[Dict[str, Any]]:
    """One status dict per known DFT data file: present/missing/invalid, hash, missing sections."""
    out = []
    for name in DFT_DATA_NAMES:
        path = dft_data_path(name, data_dir)
        try:
            ref = load_dft_data(name, data_dir, missing_ok=True)
        except DFTDataError as exc:
            out.append({"name": name, "path": str(path), "state": "invalid", "error": str(exc)})
            continue
        if ref is None:
            out.append({"name": name, "path": str(path), "state": "missing"})
        else:
            out.append(dict(ref.status(), state="partial" if ref.missing or ref.partial
                            else "complete"))
    return out


def describe_status(status: List[Dict[str, Any]]) -> str:
    """Human-readable lines for :func:`dft_data_status`."""
    lines = []
    for s in status:
        if s["state"] == "missing":
            lines.append(f"MISSING  {s['name']}: {s['path']} does not exist (DFT not run yet)")
        elif s["state"] == "invalid":
            lines.append(f"INVALID  {s['name']}: {s['error']}")
        else:
            extra = []
            if s["missing"]:
                extra.append("missing " + ", ".join(s["missing"]))
            if s["partial"]:
                extra.append("in progress " + ", ".join(s["partial"]))
            lines.append(f"{'OK' if s['state'] == 'complete' else 'PARTIAL':8s} {s['name']}: "
                         f"sha256 {s['sha256'][:12]} verified" +
                         (f"; {'; '.join(extra)}" if extra else ""))
    return "\n".join(lines)
