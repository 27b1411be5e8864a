"""Metadata, scratch cache and output helpers shared by the DFT recipes.

Imports need ``PYTHONPATH=python:dft`` (from the repository root; see README.md): the
canonical JSON, hashes, atomic writes and atoms records are :mod:`umlip.io`, the output
location and schema :mod:`umlip.validation.dft_data`, both standard library + numpy, so
this module works under Debian's /usr/bin/python3 (GPAW, phonopy) and under .venv-ref
(PySCF) without installing umlip.

Hash rule (README.md, ``umlip.io.payload_sha256``): sha256 of ``json.dumps(payload,
sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)`` encoded as
UTF-8, where ``payload`` is the top-level "payload" *as loaded back by json.load* (floats
are written with Python's shortest round-trip repr, so load -> dump reproduces the bytes).
DFT data never holds NaN/inf: every write here refuses them (``nonfinite="raise"``).
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import socket
import sys
import time

import numpy as np

try:
    from umlip.io import (atoms_to_record, canonical_json, file_sha256, payload_sha256,
                          read_json, to_jsonable, write_json)
    from umlip.validation.dft_data import PACKAGE_DATA_DIR, SCHEMA
except ImportError as exc:  # pragma: no cover - wrong command line
    raise SystemExit(f"dft/_meta.py: {exc}: run the recipes from the repository root with "
                     "PYTHONPATH=python:dft (see dft/README.md)") from None

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DATA_DIR = str(PACKAGE_DATA_DIR)
SCRATCH_ROOT = os.environ.get("UMLIP_DFT_SCRATCH",
                              os.path.join(REPO_ROOT, ".cache", "dft-scratch"))


def record(atoms, energy=None, forces=None, extra=None) -> dict:
    """Geometry record of the DFT data (umlip.io.atoms_to_record): positions and cell
    rounded to 8 decimals, forces to 6."""
    return atoms_to_record(atoms, energy, forces, position_decimals=8, force_decimals=6,
                           extra=extra, nonfinite="raise")


def save_json(path, obj) -> None:
    """Atomic JSON write of a scratch-cache entry (NaN/inf refused)."""
    write_json(path, obj, nonfinite="raise")


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


def write_reference(name, payload, script_path, wall_time_s, extra_meta=None):
    """Write DATA_DIR/<name>.json with metadata, payload and payload sha256."""
    payload = json.loads(canonical_json(to_jsonable(payload, "raise")))  # normalise
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
        meta.update(to_jsonable(extra_meta, "raise"))
    doc = {"schema": SCHEMA, "task": name, "metadata": meta, "payload": payload,
           "sha256": payload_sha256(payload)}
    out = str(write_json(os.path.join(DATA_DIR, f"{name}.json"), doc, sort_keys=True,
                         nonfinite="raise"))
    # self-check: the hash must be reproducible from the file as loaded
    back = read_json(out)
    assert payload_sha256(back["payload"]) == back["sha256"], "hash round-trip failed"
    return out


class Timer:
    def __init__(self):
        self.t0 = time.time()

    def __call__(self):
        return time.time() - self.t0


def scratch(task):
    d = os.path.join(SCRATCH_ROOT, task)
    os.makedirs(d, exist_ok=True)
    return d


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
    seeded = read_json(log, {})
    seeded[key] = source
    save_json(log, seeded)
    return True


def seeded(scr) -> dict:
    """The keys of `scr` that were seeded from committed data, with their source."""
    return read_json(os.path.join(scr, "seeded.json"), {})


def committed_document(task):
    """(document, source description) of the committed DATA_DIR/<task>.json when its hash
    verifies, else (None, reason); UMLIP_DFT_NO_SEED=1 gives (None, ...) too."""
    path = os.path.join(DATA_DIR, task + ".json")
    if os.environ.get("UMLIP_DFT_NO_SEED"):
        return None, "UMLIP_DFT_NO_SEED set"
    doc = read_json(path, None)
    if doc is None:
        return None, "no committed file"
    if payload_sha256(doc["payload"]) != doc["sha256"]:
        return None, f"payload hash of {path} does not match"
    return doc, (f"data/{task}.json sha256 {doc['sha256'][:16]} "
                 f"({doc['metadata'].get('date_utc')})")


def committed_payload(task):
    """(payload, source description) of :func:`committed_document`."""
    doc, src = committed_document(task)
    return (doc["payload"] if doc is not None else None), src


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
                    v = read_json(os.path.join(d, f), None)
                    if isinstance(v, dict) and isinstance(v.get("wall_time_s"), (int, float)):
                        tot += float(v["wall_time_s"])
                except Exception:
                    pass
    return tot
