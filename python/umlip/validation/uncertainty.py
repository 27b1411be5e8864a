"""The DFT references' own uncertainty, per summary-table row, from the spread each reference
file records (production vs tighter settings, basis set, the acoustic residual at Gamma).

    u = reference_uncertainties()        # {metric key: Uncertainty}
    u["Eads_fcc"].value                   # 0.033 eV: fcc E_ads at 500 eV, k 6x6x1 vs production

These are mostly *numerical* uncertainties at the reference's level of theory (PBE with the
recipe's basis / PAW setups). One difference between levels is included: for the molecules'
De and r_eq, the larger of the basis-set check and PAW (GPAW) minus all-electron
(molecules_paw.json). The relativistic treatment of Cu2 is not (docs/results/ABOUT.md).
A row with no entry has no estimate in its reference file (the report prints ``± ?``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional

from umlip.io import PathLike
from umlip.validation.dft_data import load_dft_data

#: summary rows of h2_cu111 that are slab energies made with the settings of the fcc check
_SLAB_ENERGY_KEYS = ("Eads_fcc", "Eads_fcc_dftgeom", "Eads_hcp", "Eads_hcp_dftgeom",
                     "Eads_ontop", "Eads_ontop_dftgeom", "E_2H", "h2_barrier_gas",
                     "h2_barrier_dftpath", "E_2H_bridge", "h2_barrier_bridge_gas",
                     "h2_barrier_bridge_dftpath")


@dataclass(frozen=True)
class Uncertainty:
    """value: the reference's own spread [the row's unit], as a non-negative half-width;
    source: where it comes from (one line, for the report)."""

    value: float
    source: str


def within(error: Optional[float], u: Optional[Uncertainty]) -> bool:
    """True when a model's deviation from DFT is smaller than the reference's uncertainty
    (the deviation is not resolved by the reference)."""
    return error is not None and u is not None and abs(error) < u.value


def reference_uncertainties(data_dir: Optional[PathLike] = None) -> Dict[str, Uncertainty]:
    """{summary metric key: Uncertainty} from the reference files in ``data_dir`` (default:
    the packaged ones); files or checks that are absent give no entry."""
    out: Dict[str, Uncertainty] = {}
    h = load_dft_data("h_cu111", data_dir, missing_ok=True)
    if h is not None and h.has("convergence_check.difference_tight_minus_production"):
        d = abs(float(h.get("convergence_check.difference_tight_minus_production")))
        for k in _SLAB_ENERGY_KEYS:
            out[k] = Uncertainty(d, "fcc-H E_ads at 500 eV, slab k 6x6x1 minus production "
                                 "(400 eV, k 4x4x1); the same settings make every slab "
                                 "energy, so the check is applied to all of them")
        if h.has("convergence_check.a0_difference"):
            out["cu_a0"] = Uncertainty(abs(float(h.get("convergence_check.a0_difference"))),
                                       "EOS a0 at 500 eV, k 16^3 minus production")
    c = load_dft_data("dissociation_curves", data_dir, missing_ok=True)
    if c is not None:
        chk = c.get("convergence_check", {}) or {}
        for mol, m in (chk.get("molecules") or {}).items():
            if m.get("difference_tight_minus_production") is not None:
                out[f"diss_De_{mol}"] = Uncertainty(
                    abs(float(m["difference_tight_minus_production"])),
                    f"De {chk.get('basis_tight', 'larger basis')} minus "
                    f"{chk.get('basis_production', 'production basis')}")
    paw = load_dft_data("molecules_paw", data_dir, missing_ok=True)
    if paw is not None:
        level = "PAW (GPAW setups, plane waves) minus all-electron"
        for mol, m in (paw.get("molecules", {}) or {}).items():
            for key, diff in ((f"diss_De_{mol}", m["De_minus_all_electron"]),
                              (f"diss_req_{mol}", m["r_eq_minus_all_electron"])):
                out[key] = _larger(out.get(key), Uncertainty(abs(float(diff)), level))
    p = load_dft_data("phonons", data_dir, missing_ok=True)
    if p is not None:
        for mat in ("Cu", "Si"):
            g = p.get(f"{mat}.frequencies_at_special_points_THz.G")
            if g:
                u = Uncertainty(
                    max(abs(float(x)) for x in sorted(g)[:3]),
                    "largest acoustic frequency at Γ of the DFT force constants (exactly 0 "
                    "for translation-invariant ones): a lower bound of their numerical noise")
                out[f"ph_{mat}_max"] = out[f"ph_{mat}_max_own_a0"] = u
    return out


def _larger(a: Optional[Uncertainty], b: Uncertainty) -> Uncertainty:
    """The larger of two estimates of one row's uncertainty, naming both."""
    if a is None:
        return b
    big, small = (a, b) if a.value >= b.value else (b, a)
    return Uncertainty(big.value, f"{big.source} (larger than {small.source}: "
                                  f"{small.value:.4g})")
