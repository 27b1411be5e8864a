"""Reading the DFT label files of a training set: every label must carry exactly the
settings of the reference it is compared with (the slab settings of h_cu111.json), else the
fine-tuned model would learn a different level of theory than the one it is measured
against."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Sequence

from umlip.io import read_json


def reference_settings(ref=None) -> Dict[str, Any]:
    """The DFT settings of the H/Cu(111) reference's slab calculations."""
    from umlip.validation.dft_data import load_dft_data

    ref = ref if ref is not None else load_dft_data("h_cu111")
    return ref.payload["slab"]["settings"]


def settings_mismatch(label: Dict[str, Any], expected: Dict[str, Any]) -> List[str]:
    """The settings keys on which a label differs from ``expected`` (empty: it matches)."""
    got = label.get("settings") or {}
    return sorted(k for k in set(got) | set(expected) if got.get(k) != expected.get(k))


def read_labels(folder: Path, ids: Sequence[str], expected: Dict[str, Any]
                ) -> Dict[str, Dict[str, Any]]:
    """``{id: label}`` for the ids that have a label file in ``folder``; a label computed
    with other settings than ``expected`` is refused with the keys that differ."""
    out = {}
    for cid in ids:
        lab = read_json(Path(folder) / f"{cid}.json", None)
        if lab is None:
            continue
        bad = settings_mismatch(lab, expected)
        if bad:
            raise ValueError(f"label {Path(folder) / (cid + '.json')} was computed with other "
                             f"DFT settings than the reference ({', '.join(bad)}: "
                             + "; ".join(f"{k} {lab.get('settings', {}).get(k)!r} vs "
                                         f"{expected.get(k)!r}" for k in bad)
                             + "); delete it and compute it again with dft/finetune_labels.py")
        out[cid] = dict(lab, id=cid)
    return out
