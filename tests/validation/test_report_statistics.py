"""What the report may claim: the headline curve errors over the chemically relevant window,
the DFT uncertainty and the marking of deviations it does not resolve, the significance of
model-vs-model P(dissociation) differences, the dt/(dt/2) drift ratios over every checked
trajectory, and the acoustic sum rule at Γ. Synthetic results only (no model is run)."""
from __future__ import annotations

import numpy as np
import pytest

from umlip.validation.report import how_to_read, summary_table
from umlip.validation.stats import fisher_exact, holm, smallest_resolvable_difference
from umlip.validation.tasks.dissociation import (WINDOW_CAP_EV, DissociationResult,
                                                 curve_errors, spurious_minima)
from umlip.validation.tasks.h2_cu111 import H2Cu111Result
from umlip.validation.tasks.reactive_md import (ReactiveMDResult, drift_ratio_distribution,
                                                pairwise_dissociation_tests)
from umlip.validation.uncertainty import Uncertainty, reference_uncertainties, within


def _morse(r, de=4.5, a=3.0, r0=0.75):
    return de * (1 - np.exp(-a * (r - r0))) ** 2 - de


def _dmorse(r, de=4.5, a=3.0, r0=0.75):
    return 2 * de * a * (1 - np.exp(-a * (r - r0))) * np.exp(-a * (r - r0))


def _curve(wall_error=30.0, offset=0.1):
    """A Morse "DFT" curve with a steep wall (0.6 r_eq is 9.6 eV up, 0.7 r_eq 4.2 eV) and a
    "model" equal to it + ``offset`` everywhere, + ``wall_error`` more on the two wall points
    (r < r_eq, E > 2 eV above the minimum; the stretched points above 2 eV stay in the
    window)."""
    r0 = 0.75
    r = r0 * np.array([0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.6, 2.0, 3.0])
    e_d = _morse(r)
    f_d = -_dmorse(r)
    wall = (r < r0) & (e_d - e_d.min() > WINDOW_CAP_EV)
    assert wall.sum() == 2          # the test's premise: two points on the wall
    e_m = e_d + offset + np.where(wall, wall_error, 0.0)
    f_m = f_d + np.where(wall, 10 * wall_error, 0.5)
    return {"symbols": ["H", "H"], "limit_kind": "sum of isolated atoms",
            "dft": {"r": r, "energy": e_d, "force_along_bond": f_d, "limit": 0.0, "r_eq": r0,
                    "De": 4.5},
            "model": {"energy": e_m, "force_along_bond": f_m, "limit": 0.0,
                      "minima_r": [0.75, 2.9]},
            "metrics": {"binding_mae": float(np.mean(np.abs(e_m - e_d))),
                        "aligned_mae": 0.0, "force_mae": float(np.mean(np.abs(f_m - f_d))),
                        "fd_max_abs": 0.0, "spurious_minima": 1, "jumps_and_kinks": 0,
                        "abs_tail_residual": 0.0, "De_model": 4.4, "De_dft": 4.5,
                        "r_eq_model": 0.75, "r_eq_dft": 0.75}}


def test_windowed_mae_leaves_out_the_steep_wall():
    c = _curve()
    w = curve_errors(c)
    assert w["n_window"] == 7 and w["r_min_window"] == pytest.approx(0.8)
    assert (np.asarray(c["dft"]["energy"])[-3:] - min(c["dft"]["energy"]) > 2).all()
    assert w["binding_mae"] == pytest.approx(0.1, abs=1e-12)   # the offset, not the wall
    assert w["force_mae"] == pytest.approx(0.5, abs=1e-12)
    assert w["aligned_mae"] == pytest.approx(0.0, abs=1e-12)
    full = np.mean(np.abs(np.asarray(c["model"]["energy"]) - c["dft"]["energy"]))
    assert full > 6                                           # 2 wall points dominate it

    rows = {m.key: m for m in DissociationResult(curves={"H2": c}).summary()}
    assert rows["diss_binding_mae_window"].value == pytest.approx(0.1)
    assert rows["diss_force_mae_window"].value == pytest.approx(0.5)
    assert "wall E_DFT - E_min ≤ 2 eV" in rows["diss_binding_mae_window"].label
    assert rows["diss_binding_mae"].value == pytest.approx(full)   # reported separately
    assert "full range" in rows["diss_binding_mae"].label
    # trivially 0 for any model with a cutoff: not a summary row
    assert "diss_tail" not in rows
    # where the spurious minimum is
    assert spurious_minima({"H2": c}) == [("H2", 2.9)]
    assert "H2 r = 2.90 Å" in rows["diss_spurious"].note
    assert "vs isolated atoms" in rows["diss_De_H2"].label


def test_deviation_within_the_dft_uncertainty_is_marked():
    u = Uncertainty(0.033, "tight minus production")
    assert within(-0.002, u) and not within(0.05, u) and not within(0.01, None)

    def model(value):
        return {"h2_cu111": H2Cu111Result(sites={"fcc": {"relaxed": value, "dft": -0.243}})}

    table = summary_table({"a": model(-0.245), "b": model(-0.362)},
                          {"Eads_fcc": u})
    row = next(ln for ln in table.splitlines() if "E_ads H fcc" in ln)
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2] == "-0.243 ± 0.033"
    assert cells[3] == "-0.245 (-0.002; within DFT ±0.033)"
    assert cells[4] == "-0.362 (-0.119)"
    # no estimate in the reference: said so, nothing marked
    table = summary_table({"a": model(-0.245)}, {})
    row = next(ln for ln in table.splitlines() if "E_ads H fcc" in ln)
    assert "-0.243 ± ?" in row and "within" not in row


def test_packaged_references_give_their_own_spread(data_dir):
    u = reference_uncertainties(data_dir)
    assert u["Eads_fcc"].value == pytest.approx(0.0330, abs=1e-4)   # -0.243 vs -0.276
    assert u["diss_De_H2"].value == pytest.approx(0.0037, abs=1e-4)  # PAW vs AE > QZVP vs TZVP
    assert u["ph_Cu_max"].value == pytest.approx(0.109, abs=1e-3)    # Γ acoustic residual
    # the molecules' level difference, where larger than the basis check: N2 De PAW - AE
    assert u["diss_De_N2"].value == pytest.approx(0.0273, abs=1e-4)
    assert "PAW" in u["diss_De_N2"].source and "def2-qzvp" in u["diss_De_N2"].source
    assert u["diss_req_CO"].value == pytest.approx(0.0018, abs=1e-4)


def _md(label, counts, n=20, ratios=()):
    rows = []
    for i, (e, k) in enumerate(counts.items()):
        rows.append({"energy_eV": e, "n": n, "n_dissociated": k, "backend": "ase",
                     "p_dissociation": k / n, "ci_low": 0, "ci_high": 1, "ci_level": 0.95,
                     "drift_max": 0.01, "drift_bond_breaking_max": 0.005,
                     "drift_check": [{"trajectory": j, "ratio": r} for j, r in
                                     enumerate(ratios[i] if i < len(ratios) else ())]})
    return ReactiveMDResult(calculator={"label": label}, energies=rows,
                            settings={"window": 1.2, "dissociation_distance": 2.25},
                            setup={"h2_bond_model": 0.75})


def test_fisher_exact_significance_of_two_count_sets():
    assert fisher_exact(12, 20, 6, 20) == pytest.approx(0.1110, abs=1e-4)   # scipy: 0.11097
    assert fisher_exact(0, 20, 8, 20) == pytest.approx(0.003276, abs=1e-6)
    assert fisher_exact(5, 20, 5, 20) == pytest.approx(1.0)
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert smallest_resolvable_difference(20) == 8

    tests = pairwise_dissociation_tests({"a": _md("a", {1.2: 12, 0.6: 0}),
                                         "b": _md("b", {1.2: 6, 0.6: 8})})
    by_e = {t["energy_eV"]: t for t in tests}
    assert not by_e[1.2]["significant"] and by_e[1.2]["p"] == pytest.approx(0.111, abs=1e-3)
    assert by_e[0.6]["significant"]                          # 0/20 vs 8/20: p = 0.003
    assert by_e[0.6]["p_holm"] == pytest.approx(2 * by_e[0.6]["p"])
    from umlip.validation.tasks.reactive_md import ReactiveMDTask
    text = "\n".join(ReactiveMDTask.report_lines({"a": _md("a", {1.2: 12}),
                                                  "b": _md("b", {1.2: 6})}))
    assert "| 1.2 | a vs b | 12/20 vs 6/20 | 0.111 | no |" in text
    hr = "\n".join(how_to_read({"a": {"reactive_md": _md("a", {1.2: 12})}}, {}))
    assert "12/20 vs 6/20: p = 0.11, not significant" in hr


def test_drift_ratio_is_a_distribution_over_every_checked_trajectory():
    r = _md("a", {0.3: 0, 0.6: 1, 0.9: 2}, ratios=[(3.9, 4.1), (1.7,), (10.5, 4.0)])
    d = drift_ratio_distribution(r.energies)
    assert d["n"] == 5 and d["values"] == [1.7, 3.9, 4.0, 4.1, 10.5]
    assert (d["min"], d["median"], d["max"]) == (1.7, 4.0, 10.5)
    rows = {m.key: m for m in r.summary()}
    assert rows["md_drift_dt_ratio"].value == 4.0                  # not the lowest (1.7)
    assert rows["md_drift_dt_ratio"].note == "n = 5: 1.70-10.50"
    assert "0.90 Å < r_HH < 2.25 Å" in rows["md_drift_break"].label   # what it measures
    assert drift_ratio_distribution(_md("b", {0.3: 0}).energies)["n"] == 0


def test_acoustic_sum_rule_removes_the_gamma_residual(data_dir):
    from umlip.validation.dft_data import load_dft_data
    from umlip.validation.tasks.phonons import asr_frequencies

    ref = load_dft_data("phonons", data_dir).payload["Cu"]
    f = asr_frequencies(ref)
    assert f["gamma_raw"] == pytest.approx(0.109, abs=1e-3)
    assert f["gamma_asr"] < 1e-4
    # away from Γ the rule moves frequencies by less than the Γ residual
    assert np.abs(f["band_asr"] - f["band_raw"]).max() <= f["gamma_raw"] + 1e-6
