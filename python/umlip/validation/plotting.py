"""Matplotlib (Agg backend, no display needed) helpers shared by the task plots."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterable, List

DFT_STYLE = dict(color="black", marker="o", ls="none", ms=4, label="DFT (PBE)")


def pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def colors(labels: List[str]) -> Dict[str, str]:
    """A stable color per model label (the same model gets the same color in every plot)."""
    palette = ["tab:blue", "tab:red", "tab:green", "tab:orange", "tab:purple", "tab:brown",
               "tab:pink", "tab:olive", "tab:cyan", "tab:gray"]
    return {lab: palette[k % len(palette)] for k, lab in enumerate(labels)}


def union_of_keys(results: Iterable[Any], attr: str) -> List[str]:
    """The keys of ``getattr(r, attr)`` over all results, in first-seen order (one plot per
    curve / material that any model has)."""
    out: List[str] = []
    for r in results:
        out += [k for k in getattr(r, attr) if k not in out]
    return out


def save(fig, outdir, name: str) -> str:
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    pyplot().close(fig)
    return str(path)
