"""Exporters: family checkpoints -> umlip model files (TorchScript + metadata).

    umlip export sevenn 7net-0 -o 7net-0.pt
    umlip export sevenn 7net-mf-0 --modal PBE -o 7net-mf-0-pbe.pt
    umlip export mace path/to/model.model -o mace.pt [--dtype float64] [--head NAME]
    umlip export sevenn 7net-0 -o 7net-0-e3nn.pt --kernels e3nn   (the family's own kernels)

or from Python: ``umlip.families.export("sevenn", "7net-0", "7net-0.pt")``.

A family package (sevenn, mace-torch) is imported only here. When it is not importable in the
current interpreter (the usual case: the runtime environment has no family package), the export
runs in the family's own environment (see umlip.families.envs) through ``python -m umlip export``.
"""
from __future__ import annotations

import os
import subprocess
from typing import Dict, Optional

from umlip.families.envs import FAMILY_PACKAGES, family_python, importable_here

FAMILIES = tuple(FAMILY_PACKAGES)

#: the kernels an export uses unless told otherwise, per family ("e3nn": the family's own
#: modules; "batched": umlip's re-expression of its convolutions, umlip.families.batched_tp)
DEFAULT_KERNELS = {"sevenn": "batched", "mace": "batched"}

#: every kernels choice an exporter accepts
KERNELS = ("batched", "e3nn")


def export(family: str, source: str, out: str, *, dtype: Optional[str] = None,
           modal: Optional[str] = None, head: Optional[str] = None,
           name: Optional[str] = None, kernels: Optional[str] = None) -> str:
    """Export ``source`` of ``family`` to the model file ``out``; returns ``out``.

    Raises ``umlip.contract.ExportError`` (a ValueError) if the model cannot be
    represented faithfully, RuntimeError if the family environment is missing or fails.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown model family {family!r}; choose one of {', '.join(FAMILIES)}")
    if modal is not None and family != "sevenn":
        raise ValueError("--modal applies to SevenNet multi-fidelity models only")
    if head is not None and family != "mace":
        raise ValueError("--head applies to multi-head MACE models only")
    if kernels is not None and kernels not in KERNELS:
        raise ValueError(f"kernels must be one of {', '.join(KERNELS)}, not {kernels!r}")
    if importable_here(family):
        export_here(family, source, out, dtype=dtype, modal=modal, head=head, name=name,
                    kernels=kernels)
        return out
    python = family_python(family)
    cmd = [python, "-m", "umlip", "export", family, source, "-o", os.path.abspath(out)]
    for flag, value in (("--dtype", dtype), ("--modal", modal), ("--head", head), ("--name", name),
                        ("--kernels", kernels)):
        if value is not None:
            cmd += [flag, value]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()
        msg = tail[-1] if tail else f"exit code {proc.returncode}"
        if proc.returncode == 2 and msg.startswith("umlip export: error: "):
            raise ValueError(msg[len("umlip export: error: "):])
        raise RuntimeError(f"export in the {family} environment ({python}) failed: {msg}")
    return out


def export_here(family: str, source: str, out: str, **kwargs) -> Dict:
    """Export in this interpreter (the family package must be importable); returns metadata."""
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    if family == "sevenn":
        from umlip.families import sevenn as fam
    else:
        from umlip.families import mace as fam
    return fam.export(source, out, **kwargs)
