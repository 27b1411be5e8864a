"""The committed validation report (docs/results/README.md) is the one its committed runs
(results/runs/) give: a rerun of a model without regenerating the report, or a hand
edit of the table, fails here. Runs on the JSON results only (no model is evaluated)."""
from __future__ import annotations

from pathlib import Path

from umlip.validation.dft_data import load_dft_data
from umlip.validation.report import load_models, summary_table
from umlip.validation.runner import find_result_dirs
from umlip.validation.tasks import TASKS

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "docs" / "results"
RUNS = REPO / "results" / "runs"


def _models():
    manifests, results = load_models(find_result_dirs([RUNS]))
    return {label: (manifests[label], results[label]) for label in results}


def test_committed_summary_table_is_regenerated_from_the_committed_runs():
    models = _models()
    assert {"7net-0", "7net-l3i5", "7net-mf-0:pbe", "chgnet"} <= set(models)
    table = summary_table({k: v[1] for k, v in models.items()})
    assert table in (RESULTS / "README.md").read_text()


def test_committed_report_regenerates_identically(tmp_path):
    """The whole report text and every plot, remade from the committed runs, equal the committed
    ones (the line with the generation time aside)."""
    from umlip.validation.report import write_report

    write_report([RUNS], tmp_path)

    def text(path):
        return [ln for ln in path.read_text().splitlines() if not ln.startswith("Generated ")]

    assert text(tmp_path / "README.md") == text(RESULTS / "README.md")
    for png in sorted((RESULTS / "plots").glob("*.png")):
        assert (tmp_path / "plots" / png.name).read_bytes() == png.read_bytes(), png.name


def test_committed_runs_used_the_committed_references(data_dir):
    """Every task result names the sha256 of each reference it read; the ones that depend on
    the whole file must have read the committed version (else the report compares a model
    with DFT data that is no longer the shipped data)."""
    current = {n: load_dft_data(n, data_dir).sha256 for n in
               ("h_cu111", "dissociation_curves", "cu_adatom", "phonons")}
    stale = []
    for label, (man, res) in _models().items():
        for task, r in res.items():
            if not TASKS[task].reads_whole_references():   # MD: the DFT a0 only
                continue
            for name, st in r.references.items():
                if st.get("sha256") and st["sha256"] != current.get(name, st["sha256"]):
                    stale.append(f"{label}/{task}: {name}")
    assert not stale, stale


def test_committed_report_is_complete_and_like_for_like():
    """Every model has every task, finished with full (not smoke) settings, and all models
    ran each task with the same settings (else a summary row compares settings)."""
    from umlip.validation.report import settings_differ
    models = _models()
    missing = [f"{label}/{t}" for label, (man, res) in models.items() for t in TASKS
               if t not in res or man["tasks"][t].get("status") != "done"
               or man["tasks"][t].get("quick")]
    assert not missing, missing
    assert settings_differ({k: v[1] for k, v in models.items()}) == []
