"""The held-out DFT set of fine-tuning (umlip.finetune.heldout) and the label reader
(umlip.finetune.labels): errors against constructed calculators whose errors are known, the
split never shares a configuration hash with the committed pool or labels, and labels made
with other DFT settings are refused."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from ase.calculators.calculator import Calculator, all_changes

from umlip.finetune.heldout import REFERENCE_STATES, check_disjoint, evaluate, heldout_records
from umlip.finetune.labels import read_labels, reference_settings
from umlip.finetune.pool import config_id, read_pool
from umlip.io import atoms_to_record

ROOT = Path(__file__).resolve().parents[1]
POOL = ROOT / "results" / "finetune" / "7net-0" / "pool.json"


class LookupCalculator(Calculator):
    """The DFT numbers of the records, looked up by geometry hash, plus chosen errors: a
    per-element energy offset, an extra energy on one configuration, a constant force."""
    implemented_properties = ["energy", "forces"]

    def __init__(self, records, mu=None, extra=None, dforce=(0.0, 0.0, 0.0)):
        super().__init__()
        self.by_id = {r["id"]: r for r in records}
        self.mu, self.extra = mu or {}, extra or {}
        self.dforce = np.asarray(dforce, dtype=float)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        rec = self.by_id[config_id(atoms_to_record(self.atoms, position_decimals=8))]
        e = rec["energy"] + sum(self.mu.get(int(z), 0.0) for z in self.atoms.numbers)
        self.results = {"energy": e + self.extra.get(rec["name"], 0.0),
                        "forces": np.asarray(rec["forces"], dtype=float) + self.dforce}


@pytest.fixture(scope="module")
def records():
    return heldout_records()


def test_the_set_covers_states_and_path_without_duplicates(records):
    names = [r["name"] for r in records]
    assert set(REFERENCE_STATES) <= set(names)
    assert {"H_fcc", "H_hcp", "H_ontop", "2H_fcc+hcp"} <= set(names)
    assert sum(n.startswith("neb_") for n in names) >= 3
    assert len({r["id"] for r in records}) == len(records)


def test_errors_are_the_constructed_ones(records):
    exact = evaluate(LookupCalculator(records), records)
    assert exact["energy_mae"] < 1e-12 and exact["force_mae"] < 1e-12
    # per-element energy zeros (GPAW vs the model's scale) cancel in binding energies
    shifted = evaluate(LookupCalculator(records, mu={29: 0.49, 1: -3.1}), records)
    assert shifted["energy_max_abs"] < 1e-9
    # one configuration 0.24 eV too high, every force off by a 0.3 eV/Å vector
    wrong = evaluate(LookupCalculator(records, extra={"neb_3": 0.24},
                                      dforce=(0.0, 0.18, 0.24)), records)
    n = wrong["n_configs"]
    assert n == len(records) - len(REFERENCE_STATES)
    assert wrong["binding_energy_error"]["neb_3"] == pytest.approx(0.24, abs=1e-9)
    assert wrong["energy_mae"] == pytest.approx(0.24 / n, abs=1e-9)
    assert wrong["force_mae"] == pytest.approx(0.30, abs=1e-9)
    # the clean slab too high by 0.1 eV: every binding energy 0.1 eV too low
    slab = evaluate(LookupCalculator(records, extra={"clean_slab": 0.1}), records)
    assert all(v == pytest.approx(-0.1, abs=1e-9)
               for v in slab["binding_energy_error"].values())


def test_committed_pool_and_labels_share_no_configuration_with_the_held_out_set(records):
    pool = read_pool(POOL)
    ids = [c["id"] for c in pool["configs"]]
    assert all(config_id(c) == c["id"] for c in pool["configs"])      # ids are geometry hashes
    check_disjoint(ids, records)
    labelled = [p.stem for p in (POOL.parent / "labels").glob("*.json")]
    assert labelled and set(labelled) <= set(ids)
    check_disjoint(labelled, records)
    with pytest.raises(ValueError, match="held-out test set .*H_ontop"):
        check_disjoint(ids[:3] + [r["id"] for r in records if r["name"] == "H_ontop"], records)


def test_labels_with_other_settings_are_refused(tmp_path):
    expected = reference_settings()
    good = {"energy": -1.0, "forces": [[0, 0, 0]], "settings": dict(expected)}
    (tmp_path / "a.json").write_text(json.dumps(good))
    assert set(read_labels(tmp_path, ["a", "b"], expected)) == {"a"}
    bad = dict(good, settings=dict(expected, pw_cutoff_eV=350.0))
    (tmp_path / "b.json").write_text(json.dumps(bad))
    with pytest.raises(ValueError, match=r"b\.json .*pw_cutoff_eV 350\.0 vs 400\.0"):
        read_labels(tmp_path, ["a", "b"], expected)


class Shifted(Calculator):
    """Lennard-Jones plus a constant energy per atom and a constant force on every atom."""
    implemented_properties = ["energy", "forces"]

    def __init__(self, de_per_atom=0.0, dforce=(0.0, 0.0, 0.0)):
        super().__init__()
        self.de, self.df = de_per_atom, np.asarray(dforce, dtype=float)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        from ase.calculators.lj import LennardJones

        super().calculate(atoms, properties, system_changes)
        a = self.atoms.copy()
        a.calc = LennardJones(sigma=2.0, epsilon=0.01, rc=5.0)
        self.results = {"energy": a.get_potential_energy() + self.de * len(a),
                        "forces": a.get_forces() + self.df}


def test_drift_from_base_away_from_the_target():
    from umlip.finetune.heldout import drift_from_base

    same = drift_from_base(Shifted(), Shifted())
    assert same["energy_mae_per_atom"] < 1e-12 and same["force_mae"] < 1e-12
    moved = drift_from_base(Shifted(0.004, (0.03, 0.0, 0.04)), Shifted())
    assert moved["energy_mae_per_atom"] == pytest.approx(0.004, abs=1e-12)
    assert moved["force_mae"] == pytest.approx(0.05, abs=1e-12)
    assert {"Cu32", "Si8", "H2O", "CO"} <= set(moved["energy_abs_per_atom"])


def test_merging_keeps_other_models_and_refuses_another_set():
    from umlip.finetune.heldout import merge_results

    configs = [{"name": "a", "id": "1"}, {"name": "b", "id": "2"}]
    old = {"configs": configs, "models": {"m1": {"energy_mae": 0.1}, "m2": {"energy_mae": 0.2}}}
    new = {"configs": configs, "models": {"m2": {"energy_mae": 0.3}, "m3": {"energy_mae": 0.4}}}
    got = merge_results(old, new)
    assert got["models"] == {"m1": {"energy_mae": 0.1}, "m2": {"energy_mae": 0.3},
                             "m3": {"energy_mae": 0.4}}
    with pytest.raises(ValueError, match="another held-out set"):
        merge_results(dict(old, configs=configs[:1]), new)
