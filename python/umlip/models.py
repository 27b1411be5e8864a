"""Model names and the model cache.

Wherever umlip expects a model file you may also give a model name (``"7net-0"``): it is
exported on first use into the cache directory and reused afterwards (exported again if the
cached file states an older contract version than this umlip writes). The cache is
``$UMLIP_CACHE_DIR`` if set, else ``~/.cache/umlip``. Only weights that ship inside a pip
package are known by name; umlip never downloads weights. No MACE weights ship offline: build or
train a mace-torch ``.model`` and export it (``umlip export mace my.model -o my.pt``).

A family's own checkpoint (a mace-torch ``.model``, a SevenNet ``.pth``) is not a model file:
:func:`resolve` recognises one from its contents, without importing the family package, and
says which ``umlip export`` command turns it into one.
"""
from __future__ import annotations

import fcntl
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional, Union

PathLike = Union[str, os.PathLike]


@dataclass(frozen=True)
class KnownModel:
    family: str
    source: str
    options: Dict[str, str] = field(default_factory=dict)
    description: str = ""


#: names a user can pass instead of a file (weights shipped in the family wheels)
KNOWN_MODELS: Dict[str, KnownModel] = {
    "7net-0": KnownModel("sevenn", "7net-0", {}, "SevenNet-0 (11 Jul 2024), MPtrj PBE(+U)"),
    "7net-0_11jul2024": KnownModel("sevenn", "7net-0_11jul2024", {}, "SevenNet-0 (11 Jul 2024)"),
    "7net-0_22may2024": KnownModel("sevenn", "7net-0_22may2024", {}, "SevenNet-0 (22 May 2024)"),
    "7net-l3i5": KnownModel("sevenn", "7net-l3i5", {}, "SevenNet-l3i5 (lmax 3, 5 layers)"),
    "7net-mf-0:pbe": KnownModel("sevenn", "7net-mf-0", {"modal": "PBE"},
                                "SevenNet-MF-0, PBE fidelity"),
    "7net-mf-0:r2scan": KnownModel("sevenn", "7net-mf-0", {"modal": "R2SCAN"},
                                   "SevenNet-MF-0, r2SCAN fidelity"),
}

DEFAULT_MODEL = "7net-0"

#: how long a first export of a known name usually takes on 2 CPU cores [s]
EXPORT_SECONDS = 40

#: what `umlip models` adds about MACE (no MACE weights ship inside a pip package)
MACE_HINT = ("MACE: no weights ship offline; build or train a mace-torch .model and export it: "
             "umlip export mace my.model -o my.pt (then use my.pt as the model)")


class CacheDirError(RuntimeError):
    """The model cache directory cannot be used; the message names UMLIP_CACHE_DIR."""


class FamilyCheckpointError(ValueError):
    """A family's own checkpoint was given where a umlip model file is needed."""


def cache_dir() -> Path:
    return Path(os.environ.get("UMLIP_CACHE_DIR") or Path.home() / ".cache" / "umlip")


def cached_path(name: str) -> Path:
    return cache_dir() / (name.lower().replace(":", "-") + ".pt")


def _file_metadata(path: PathLike) -> Optional[dict]:
    """A model file's metadata, read from the archive without loading the module, or None if
    it cannot be read."""
    import json

    from umlip.contract import METADATA_FILE

    try:
        with zipfile.ZipFile(path) as z:
            entry = [n for n in z.namelist() if n.endswith(f"/extra/{METADATA_FILE}")]
            return json.loads(z.read(entry[0])) if entry else None
    except (OSError, zipfile.BadZipFile, ValueError, KeyError, TypeError):
        return None


def file_contract_version(path: PathLike) -> Optional[str]:
    """The ``contract_version`` a model file's metadata states, or None if it cannot be read."""
    meta = _file_metadata(path)
    try:
        return str(meta["contract_version"]) if meta else None
    except (KeyError, TypeError):
        return None


def _why_cached_file_is_stale(path: Path) -> Optional[str]:
    """Why a cached export must be made again, or None to reuse it. It is reused only if it is
    what the current exporter writes by default: the contract version this engine implements
    (a file from an older umlip lacks e.g. the layered form that ``ghost layer`` needs) and the
    family's default kernels (a file made before the batched kernels runs at the old
    speed)."""
    from umlip.families import DEFAULT_KERNELS

    if not path.is_file():
        return "on first use"
    meta = _file_metadata(path)
    if not isinstance(meta, dict):
        return "again: the cached file is unreadable"
    version = str(meta.get("contract_version"))
    if version != _engine_contract_version():
        return (f"again: the cached file states contract version {version}, this umlip "
                f"writes {_engine_contract_version()}")
    kernels = (meta.get("options") or {}).get("kernels", "e3nn")
    default = DEFAULT_KERNELS.get(str(meta.get("family")), "e3nn")
    if kernels != default:
        return f"again: the cached file has the {kernels} kernels, this umlip's default is " \
               f"{default}"
    return None


def _engine_contract_version() -> str:
    from umlip import engine

    return engine.CONTRACT_VERSION


def family_checkpoint(path: PathLike) -> Optional[str]:
    """``"mace"`` or ``"sevenn"`` if ``path`` looks like that family's own checkpoint (a torch
    pickle holding mace-torch modules, or a dict with SevenNet's ``model_state_dict`` and
    ``config``), else None. Reads the pickle's record only, never unpickles, and imports neither
    family. A TorchScript archive (a umlip model file) holds ``code/`` and is never one."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
                if any("/code/" in n or n.endswith("constants.pkl") for n in names):
                    return None
                pkl = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
                if not pkl:
                    return None
                head = z.read(pkl[0])
        else:
            with open(path, "rb") as fh:          # legacy (non-zip) torch.save
                head = fh.read(4 << 20)
            if not head.startswith(b"\x80"):
                return None
    except (OSError, zipfile.BadZipFile):
        return None
    if b"mace.modules" in head:
        return "mace"
    if b"model_state_dict" in head and b"config" in head:
        return "sevenn"
    return None


def _refuse_checkpoint(p: Path) -> None:
    family = family_checkpoint(p)
    if family is None:
        return
    out = p.with_suffix(".pt")
    if out == p:
        out = p.with_name(p.stem + "-umlip.pt")
    what = "a mace-torch model" if family == "mace" else "a SevenNet checkpoint"
    raise FamilyCheckpointError(
        f"{p} is {what}, not a umlip model file: export it once with `umlip export {family} "
        f"{p} -o {out}` and use {out}")


def check_cache_dir() -> Path:
    """The cache directory, created if needed; raises CacheDirError (one line naming
    UMLIP_CACHE_DIR) if it is not a writable directory."""
    d = cache_dir()
    fix = "set UMLIP_CACHE_DIR to a writable directory"
    if d.exists() and not d.is_dir():
        raise CacheDirError(f"cannot use the model cache directory {d}: it is not a directory; "
                            f"{fix}")
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CacheDirError(f"cannot use the model cache directory {d} "
                            f"({exc.strerror or exc}); {fix}") from None
    if not os.access(d, os.W_OK | os.X_OK):
        raise CacheDirError(f"cannot use the model cache directory {d}: it is not writable; "
                            f"{fix}")
    return d


def resolve(model: PathLike, progress: bool = True) -> Path:
    """Path of a model file for a file path or a known model name (exported on first use,
    with progress lines on stderr unless ``progress`` is False).

    Raises FamilyCheckpointError for a family checkpoint (naming the export command),
    CacheDirError for an unusable cache directory, RuntimeError (naming
    ``UMLIP_<FAMILY>_PYTHON``) when no export interpreter is found."""
    p = Path(model)
    if p.is_file():
        _refuse_checkpoint(p)
        return p
    key = str(model).lower()
    if key == "7net-mf-0":
        raise ValueError("7net-mf-0 is multi-fidelity: use 7net-mf-0:PBE or 7net-mf-0:R2SCAN")
    if key not in KNOWN_MODELS:
        if p.suffix or os.sep in str(model):
            raise FileNotFoundError(f"model file {str(model)!r} does not exist")
        raise ValueError(
            f"{str(model)!r} is neither a model file nor a known model name; known names: "
            f"{', '.join(KNOWN_MODELS)} (other models: export them with `umlip export`)")
    out = cached_path(key)
    if _why_cached_file_is_stale(out) is None:
        return out
    from umlip.families import export
    from umlip.families.envs import family_python, importable_here
    from umlip.progress import step

    km = KNOWN_MODELS[key]
    if not importable_here(km.family):
        family_python(km.family)    # fails first (naming UMLIP_<FAMILY>_PYTHON) if unusable
    check_cache_dir()
    # one exporter at a time per name (MPI ranks, parallel test workers)
    try:
        lock = open(out.with_suffix(".lock"), "w")
    except OSError as exc:
        raise CacheDirError(f"cannot use the model cache directory {out.parent} "
                            f"({exc.strerror or exc}); set UMLIP_CACHE_DIR to a writable "
                            f"directory") from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        why = _why_cached_file_is_stale(out)
        if why is not None:
            with step(f"exporting {model} ({km.family}) into the model cache {out} {why}",
                      expected=EXPORT_SECONDS, enabled=progress, label=f"exporting {model}"):
                export(km.family, km.source, str(out), name=key, **km.options)
    return out


def load_model(model: PathLike = DEFAULT_MODEL, device: str = "cpu", dtype: Optional[str] = None,
               num_threads: Optional[int] = None, recompute: Union[str, bool] = "auto"):
    """Load a model file or name with the engine; returns ``umlip.engine.Model``.

    Parameters
    ----------
    model : model file or known name (see KNOWN_MODELS)
    device : "cpu", "cuda" or "cuda:N" (CUDA paths are untested: no GPU in our CI)
    dtype : "float32", "float64" or None for the file's own dtype
    num_threads : torch intra-op threads for this process (None: leave torch's setting)
    recompute : layer-wise recomputation of layered files (keep each stage's input only and
        recompute its activations in the backward pass: peak memory of about one layer, for
        about one more forward pass of time): True, False, or "auto" (on for graphs of at
        least 50000 edges)
    """
    from umlip import engine

    if recompute not in ("auto", True, False):
        raise ValueError(f"recompute must be True, False or 'auto', not {recompute!r}")
    path = resolve(model)
    return engine.Model(str(path), device=device, dtype=dtype, num_threads=num_threads or 0,
                        recompute=-1 if recompute == "auto" else int(recompute))
