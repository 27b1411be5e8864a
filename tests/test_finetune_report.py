"""The fine-tuning report's bookkeeping (umlip.finetune.report): run labels, the seed spread per
budget, the choice of the best fine-tuned set and the DFT cost of nested budgets."""
from __future__ import annotations

import json

import pytest

from umlip.finetune.report import best_finetuned, compute_cost, parse_run_label, series, spread


def test_run_labels():
    assert parse_run_label("7net-0-ft32-fps0-s2") == {
        "budget": 32, "strategy": "fps", "rank_seed": 0, "seed": 2, "variant": "plain"}
    assert parse_run_label("7net-0-ft8-committee0-s1-replay")["variant"] == "replay"
    assert parse_run_label("7net-0") is None and parse_run_label("7net-0-ft8-fps-s1") is None


def _row(budget, seed, strategy="fps", variant="plain", **errors):
    return {"budget": budget, "strategy": strategy, "rank_seed": 0, "seed": seed,
            "variant": variant, "label": f"ft{budget}-{strategy}0-s{seed}", "errors": errors}


def test_series_spread_and_best():
    data = {"base": dict(_row(0, None), strategy=None, heldout_energy_mae=0.13),
            "finetuned": [_row(8, s, heldout_energy_mae=e, Eads_fcc=f)
                          for s, e, f in ((1, 0.10, 0.07), (2, 0.12, 0.05), (3, 0.08, 0.06))]
            + [_row(32, 1, heldout_energy_mae=0.05), _row(32, 2, heldout_energy_mae=0.07),
               _row(8, 1, variant="replay", heldout_energy_mae=0.04)]}
    data["base"]["errors"] = {"heldout_energy_mae": 0.13}
    ser = series(data)
    assert list(ser) == [("fps", 0, "plain"), ("fps", 0, "replay")]
    assert list(ser[("fps", 0, "plain")]) == [0, 8, 32]
    assert ser[("fps", 0, "replay")][0] == [data["base"]]          # every series starts at 0
    mean, lo, hi, n = spread(ser[("fps", 0, "plain")][8], "Eads_fcc")
    assert (mean, lo, hi, n) == (pytest.approx(0.06), 0.05, 0.07, 3)
    assert spread(ser[("fps", 0, "plain")][32], "Eads_fcc") is None
    # lowest mean held-out MAE: the single replay seed (0.04) beats 32 plain (0.06)
    assert best_finetuned(ser) == (("fps", 0, "replay"), 8)
    # a cell over fewer seeds than the budget has (a row measured for some models) says so
    from umlip.finetune.report import _cells
    plain = ser[("fps", 0, "plain")]
    plain[8][0]["errors"].pop("Eads_fcc")
    assert _cells(plain, [8], "Eads_fcc") == ["+0.055 [+0.050, +0.060] (2 of 3 seeds)"]
    assert _cells(plain, [8], "heldout_energy_mae") == ["0.100 [0.080, 0.120]"]


def test_cost_of_nested_budgets(tmp_path):
    for k, wall in enumerate((100.0, 200.0, 300.0)):
        (tmp_path / f"c{k}.json").write_text(json.dumps({"wall_time_s": wall}))
    cost = compute_cost(tmp_path, ["c0", "c1", "c2", "c3"], [2, 3, 4], cores=2)
    assert cost[2] == pytest.approx(600.0 / 3600) and cost[3] == pytest.approx(1200.0 / 3600)
    assert cost[4] != cost[4]                                       # c3 unlabelled: NaN


def test_site_difference_row_needs_no_h2_reference():
    from umlip.finetune.report import metric_errors
    from umlip.validation.task import Metric

    class Result:
        def summary(self):
            return [Metric("Eads_ontop", "top", "eV", 0.75, 0.39),
                    Metric("Eads_fcc", "fcc", "eV", -0.36, -0.24)]

    errors = metric_errors({"h2_cu111": Result()})
    assert errors["Eads_top_minus_fcc"] == pytest.approx((0.75 - 0.39) - (-0.36 + 0.24))


def test_label_cost_covers_every_variant_of_a_ranking(tmp_path):
    """Replay trained further than plain on the same ranking: its budget gets a cost too."""
    from umlip.finetune.pool import SCHEMA
    from umlip.finetune.report import label_costs

    ids = [f"c{k}" for k in range(4)]
    (tmp_path / "pool.json").write_text(json.dumps({
        "schema": SCHEMA, "configs": [{"id": i} for i in ids],
        "rankings": {"fps:0": [3, 2, 1, 0]}}))
    (tmp_path / "labels").mkdir()
    for k, i in enumerate(ids):
        (tmp_path / "labels" / f"{i}.json").write_text(json.dumps({"wall_time_s": 900.0 * k}))
    data = {"base": dict(_row(0, None), strategy=None),
            "finetuned": [_row(2, 1), _row(2, 1, variant="replay"),
                          _row(4, 1, variant="replay")]}
    cost = label_costs(series(data), tmp_path / "pool.json")
    # ranked c3, c2 first: (2700 + 1800) s on 2 cores; all four: 5400 s
    assert cost["fps:0"][2] == pytest.approx(4500 * 2 / 3600)
    assert cost["fps:0"][4] == pytest.approx(5400 * 2 / 3600)


def test_reactive_section_tests_each_run_against_zero_shot():
    """Counts with exact intervals, Fisher p against the zero-shot run of the same MD backend
    (the base run where none), and only a difference that survives Holm's correction named."""
    from umlip.finetune.report import reactive_section
    from umlip.validation.stats import binomial_ci, fisher_exact, holm

    def runs(*counts, backend="ase"):
        return [{"energy_eV": e, "n": 20, "n_dissociated": k, "backend": backend}
                for e, k in zip((0.3, 1.2), counts)]

    reactive = {"base": runs(0, 4, backend="lammps"), "base-ase": runs(0, 2),
                "base-ft8-fps0-s1": runs(1, 9), "base-ft128-fps0-s1": runs(0, 16),
                "base-ft32-fps0-s1": runs(0, 9, backend="lammps")}
    text = "\n".join(reactive_section(reactive, "base"))
    rows = {line.split(" | ")[0][2:]: line for line in text.splitlines() if line.startswith("| ")}
    # zero-shot runs first, then the fine-tuned ones by budget
    assert list(rows)[1:] == ["base (zero-shot)", "base-ase (zero-shot)", "ft8-fps0-s1",
                              "ft32-fps0-s1", "ft128-fps0-s1"]
    assert rows["base (zero-shot)"].startswith(
        "| base (zero-shot) | lammps |  | 0/20 [0.00, 0.17] | 4/20 [0.06, 0.44] |")
    # the ASE runs against the ASE zero-shot run, the LAMMPS one and the ASE zero-shot run
    # itself against the base run
    assert "| ase | base-ase (zero-shot) |" in rows["ft8-fps0-s1"]
    assert "| lammps | base (zero-shot) |" in rows["ft32-fps0-s1"]
    assert "| ase | base (zero-shot) |" in rows["base-ase (zero-shot)"]
    p8 = fisher_exact(9, 20, 2, 20)
    ci = binomial_ci(9, 20)
    assert f"9/20 [{ci['low']:.2f}, {ci['high']:.2f}] p = {p8:.2f}" in rows["ft8-fps0-s1"]
    p = [fisher_exact(0, 20, 0, 20), fisher_exact(2, 20, 4, 20), fisher_exact(1, 20, 0, 20),
         p8, fisher_exact(0, 20, 0, 20), fisher_exact(16, 20, 2, 20),
         fisher_exact(0, 20, 0, 20), fisher_exact(9, 20, 4, 20)]
    q = holm(p)
    hits = text.split("comparisons: ")[1]
    assert q[5] < 0.05 and f"ft128-fps0-s1 at 1.2 eV (Holm-adjusted p = {q[5]:.3f})" in hits
    assert p8 < 0.05 < q[3] and "ft8-fps0-s1" not in hits          # not after the correction
    assert "over the 8 comparisons" in text and "8 or more apart" in text
    assert reactive_section(reactive, "missing") == []
