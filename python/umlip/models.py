"""Model names and the model cache.

Wherever umlip expects a model file you may also give a model name (``"7net-0"``): it is
exported on first use into the cache directory and reused afterwards. The cache is
``$UMLIP_CACHE_DIR`` if set, else ``~/.cache/umlip``. Only weights that ship inside a pip
package are known by name; umlip never downloads weights.
"""
from __future__ import annotations

import fcntl
import os
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


def cache_dir() -> Path:
    return Path(os.environ.get("UMLIP_CACHE_DIR") or Path.home() / ".cache" / "umlip")


def cached_path(name: str) -> Path:
    return cache_dir() / (name.lower().replace(":", "-") + ".pt")


def resolve(model: PathLike) -> Path:
    """Path of a model file for a file path or a known model name (exported on first use)."""
    p = Path(model)
    if p.is_file():
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
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    # one exporter at a time per name (MPI ranks, parallel test workers)
    with open(out.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not out.is_file():
            from umlip.families import export

            km = KNOWN_MODELS[key]
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
        least 100000 edges)
    """
    from umlip import engine

    if recompute not in ("auto", True, False):
        raise ValueError(f"recompute must be True, False or 'auto', not {recompute!r}")
    path = resolve(model)
    return engine.Model(str(path), device=device, dtype=dtype, num_threads=num_threads or 0,
                        recompute=-1 if recompute == "auto" else int(recompute))
