"""Shared metadata / hashing / caching helpers for the DFT reference recipes.

Only the standard library and numpy are used here, so this module works both
under Debian's /usr/bin/python3 (GPAW, phonopy) and under the repository's .venv-ref
(PySCF).

Hashing rule (also documented in README.md):

    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=True, allow_nan=False)
    sha256 = hashlib.sha256(canonical.encode("utf-8")).hexdigest()

where ``payload`` is the object stored under the top-level key "payload" of the
JSON file *as loaded back by json.load* (floats are written with Python's
shortest round-trip repr, so load -> dump reproduces the bytes exactly).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import socket
import sys
import time

import numpy as np

SCHEMA = "umlip-dft-reference/1"
REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
DATA_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "data"))
SCRATCH_ROOT = os.environ.get("UMLIP_DFT_SCRATCH",
                              os.path.join(REPO_ROOT, ".cache", "dft-scratch"))


def to_jsonable(obj):
    """Recursively convert numpy / tuples / non-str keys into plain JSON types."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        if v != v or v in (float("inf"), float("-inf")):
            raise ValueError("NaN/inf not allowed in reference data")
        return v
    return obj


def canonical_dumps(payload) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True, allow_nan=False)


def payload_sha256(payload) -> str:
    return hashlib.sha256(canonical_dumps(payload).encode("utf-8")).hexdigest()


def file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def code_versions() -> dict:
    out = {"python": sys.version.split()[0], "python_executable": sys.executable,
           "numpy": np.__version__}
    for mod in ("ase", "gpaw", "pyscf", "phonopy", "scipy"):
        if mod in sys.modules or mod in ("ase",):
            try:
                m = __import__(mod)
                out[mod] = getattr(m, "__version__", "unknown")
            except Exception:  # pragma: no cover
                pass
    return out


def gpaw_setup_info(symbols) -> dict:
    """Version + absolute paths (+sha256) of the PAW datasets used."""
    info = {"setups": "paw (default)", "gpaw_data_package": None, "setup_paths": []}
    try:
        import subprocess
        v = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "gpaw-data"],
                           capture_output=True, text=True).stdout.strip()
        info["gpaw_data_package"] = "debian gpaw-data " + v if v else None
    except Exception:
        pass
    try:
        from gpaw import setup_paths
        info["setup_paths"] = list(setup_paths)
        files = {}
        for s in sorted(set(symbols)):
            for d in setup_paths:
                p = os.path.join(d, f"{s}.PBE.gz")
                if os.path.exists(p):
                    files[s] = {"path": os.path.realpath(p), "sha256": file_sha256(p)}
                    break
        info["files"] = files
    except Exception:
        pass
    return info


def atoms_to_dict(atoms, energy=None, forces=None, extra=None) -> dict:
    """Full geometry record (positions, cell, pbc, numbers, constraints)."""
    d = {
        "numbers": [int(z) for z in atoms.numbers],
        "symbols": atoms.get_chemical_symbols(),
        "positions": np.round(atoms.positions, 8).tolist(),
        "cell": np.round(np.array(atoms.cell), 8).tolist(),
        "pbc": [bool(p) for p in atoms.pbc],
        "fixed_atoms": [],
    }
    for c in atoms.constraints:
        name = type(c).__name__
        if name == "FixAtoms":
            d["fixed_atoms"] = sorted(int(i) for i in c.get_indices())
        else:
            d.setdefault("other_constraints", []).append(c.todict())
    mm = atoms.get_initial_magnetic_moments()
    if np.any(mm != 0):
        d["initial_magmoms"] = mm.tolist()
    if energy is not None:
        d["energy"] = float(energy)
    if forces is not None:
        d["forces"] = np.round(np.asarray(forces), 6).tolist()
    if extra:
        d.update(extra)
    return to_jsonable(d)


def write_reference(name, payload, script_path, wall_time_s, extra_meta=None):
    """Write DATA_DIR/<name>.json with metadata, payload and payload sha256."""
    payload = json.loads(canonical_dumps(to_jsonable(payload)))  # normalise
    meta = {
        "schema": SCHEMA,
        "recipe": os.path.relpath(os.path.abspath(script_path), REPO_ROOT),
        "recipe_sha256": file_sha256(script_path),
        "helper_sha256": file_sha256(os.path.abspath(__file__)),
        "code_versions": code_versions(),
        "date_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "host": {"platform": platform.platform(), "hostname": socket.gethostname(),
                 "cpu_count": os.cpu_count()},
        "wall_time_s": float(wall_time_s),
        "units": {"energy": "eV", "length": "Angstrom", "force": "eV/Angstrom",
                  "frequency": "THz"},
        "hash_rule": "sha256 of json.dumps(payload, sort_keys=True, separators=(',',':'), "
                     "ensure_ascii=True, allow_nan=False).encode('utf-8')",
    }
    if extra_meta:
        meta.update(to_jsonable(extra_meta))
    doc = {"schema": SCHEMA, "task": name, "metadata": meta, "payload": payload,
           "sha256": payload_sha256(payload)}
    os.makedirs(DATA_DIR, exist_ok=True)
    out = os.path.join(DATA_DIR, f"{name}.json")
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True, allow_nan=False)
        f.write("\n")
    os.replace(tmp, out)
    # self-check: the hash must be reproducible from the file as loaded
    with open(out) as f:
        back = json.load(f)
    assert payload_sha256(back["payload"]) == back["sha256"], "hash round-trip failed"
    return out


def verify_file(path) -> bool:
    with open(path) as f:
        doc = json.load(f)
    return payload_sha256(doc["payload"]) == doc["sha256"]


class Timer:
    def __init__(self):
        self.t0 = time.time()

    def __call__(self):
        return time.time() - self.t0


def scratch(task):
    d = os.path.join(SCRATCH_ROOT, task)
    os.makedirs(d, exist_ok=True)
    return d


def load_json(path, default=None):
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return default


def save_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(to_jsonable(obj), f, indent=1)
    os.replace(tmp, path)


def seed(scr, key, res, source) -> bool:
    """Cache `res` as `<scr>/<key>.json` unless that entry exists: a result taken from a
    committed reference file, so that a fresh machine resumes where the committed data
    stopped instead of recomputing it (the caller checks the settings match). The key and
    `source` are recorded in `<scr>/seeded.json`, which the recipes copy into their metadata.
    Not MPI-aware: call it on one rank. Returns True when seeded."""
    path = os.path.join(scr, key + ".json")
    if res is None or os.path.exists(path):
        return False
    save_json(path, res)
    log = os.path.join(scr, "seeded.json")
    seeded = load_json(log, {})
    seeded[key] = source
    save_json(log, seeded)
    return True


def seeded(scr) -> dict:
    """The keys of `scr` that were seeded from committed data, with their source."""
    return load_json(os.path.join(scr, "seeded.json"), {})


def committed_payload(task):
    """(payload, source description) of the committed DATA_DIR/<task>.json when its hash
    verifies, else (None, reason); UMLIP_DFT_NO_SEED=1 gives (None, ...) too."""
    path = os.path.join(DATA_DIR, task + ".json")
    if os.environ.get("UMLIP_DFT_NO_SEED"):
        return None, "UMLIP_DFT_NO_SEED set"
    doc = load_json(path)
    if doc is None:
        return None, "no committed file"
    if payload_sha256(doc["payload"]) != doc["sha256"]:
        return None, f"payload hash of {path} does not match"
    return doc["payload"], (f"data/{task}.json sha256 {doc['sha256'][:16]} "
                            f"({doc['metadata'].get('date_utc')})")


def scratch_wall_sum(*dirs) -> float:
    """Sum of the 'wall_time_s' recorded in every cached result JSON of the given
    scratch directories (the compute time actually spent, whatever run did it)."""
    tot = 0.0
    for d in dirs:
        if not os.path.isdir(d):
            continue
        for f in os.listdir(d):
            if f.endswith(".json") and not f.endswith("_partial.json"):
                try:
                    v = load_json(os.path.join(d, f))
                    if isinstance(v, dict) and isinstance(v.get("wall_time_s"), (int, float)):
                        tot += float(v["wall_time_s"])
                except Exception:
                    pass
    return tot
