"""The calculator a benchmark runs on: a umlip model (file or known name) or any importable
ASE calculator factory (``module:attr``, e.g. ``chgnet.model.dynamics:CHGNetCalculator``).

Every result records :func:`describe` of its calculator, so numbers are traceable to a model
file (path + content hash for umlip models).
"""
from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

from ase.calculators.calculator import Calculator


def load_factory(spec: str) -> Callable[..., Calculator]:
    """The callable named by ``"package.module:attr[.attr]"``."""
    if ":" not in spec:
        raise ValueError(f"calculator factory {spec!r} must look like 'module:factory'")
    mod, attr = spec.split(":", 1)
    obj: Any = importlib.import_module(mod)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"{spec!r} is not callable")
    return obj


def make_calculator(model: Optional[str] = None, calculator: Optional[str] = None,
                    calculator_kwargs: Optional[Dict[str, Any]] = None, dtype: str = "float64",
                    device: str = "cpu", num_threads: Optional[int] = None
                    ) -> Tuple[Calculator, Dict[str, Any]]:
    """(calculator, description) from a model name/file or a factory spec (exactly one).

    ``dtype`` applies to umlip models only; the benchmark defaults to float64 so that finite
    differences and NVE energy drifts measure the model, not float32 round-off.
    ``num_threads``: torch intra-op threads, for umlip models and torch-based factories.
    """
    if (model is None) == (calculator is None):
        raise ValueError("give exactly one of a model (file or name) or a calculator factory")
    if model is not None:
        from umlip.calculator import UMLIPCalculator

        calc = UMLIPCalculator(model, device=device, dtype=dtype, num_threads=num_threads)
        label = Path(model).stem if Path(model).is_file() else str(model)
        return calc, describe(calc, label=label)
    if num_threads is not None:
        # a torch-based peer (CHGNet, MACE, ...) otherwise takes every core; two such runs
        # side by side then spin against each other (CHGNet: 0.15 -> 1.3 s per step here)
        try:
            import torch
        except ImportError:
            pass
        else:
            torch.set_num_threads(int(num_threads))
    factory = load_factory(calculator)
    calc = factory(**(calculator_kwargs or {}))
    info = describe(calc, label=calculator.split(":", 1)[1].split(".")[-1])
    info.update(factory=calculator, factory_kwargs=calculator_kwargs or {})
    return calc, info


def describe(calc: Calculator, label: Optional[str] = None) -> Dict[str, Any]:
    """JSON description: label, class, and for umlip models file, hash, dtype, cutoff."""
    info: Dict[str, Any] = {"label": label or type(calc).__name__,
                            "class": f"{type(calc).__module__}.{type(calc).__name__}"}
    m = getattr(calc, "model", None)
    if m is not None and hasattr(m, "content_hash"):
        for key in ("path", "name", "family", "family_version", "content_hash", "dtype",
                    "cutoff", "num_layers"):
            val = getattr(m, key, None)
            if val is not None:
                info[key] = val if isinstance(val, (int, float)) else str(val)
        source = json.loads(getattr(m, "metadata_json", "{}") or "{}").get("source") or {}
        if source.get("sha256"):
            info["source_sha256"] = source["sha256"]    # the family checkpoint it came from
    return info


def safe_label(label: str) -> str:
    """A directory name for a calculator label (``7net-mf-0:pbe`` -> ``7net-mf-0-pbe``)."""
    s = re.sub(r"[^A-Za-z0-9._+-]+", "-", label.strip()).strip("-.")
    return s or "calculator"
