"""Smoke run of every task through the CLI (quick settings, cheap toy calculator), resume,
report with two models side by side, reference check."""
from __future__ import annotations

import json

import pytest

from umlip.cli import main

TOY = "umlip.validation.analytic:toy_calculator"


@pytest.fixture(scope="module")
def results(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("results")
    rc = main(["validate", "run", "--calculator", TOY, "--quick", "--tasks", "all", "--out",
               str(out), "--reference-dir", str(data_dir), "--no-progress"])
    return out, rc


def test_quick_run_of_all_tasks(results):
    out, rc = results
    assert rc == 0
    man = json.loads((out / "toy_calculator" / "manifest.json").read_text())
    assert set(man["tasks"]) == {"dissociation", "h2_cu111", "adatom", "reactive_md",
                                 "hot_md", "phonons"}
    for name, e in man["tasks"].items():
        assert e["status"] == "done", (name, e)
        assert (out / "toy_calculator" / e["result"]).is_file()
        assert all((out / "toy_calculator" / p).is_file() for p in e["plots"]), name
    assert man["tasks"]["reactive_md"]["backend"] == "ase"


def test_rerun_skips_finished_tasks(results, data_dir, capsys):
    out, _ = results
    rc = main(["validate", "run", "--calculator", TOY, "--quick", "--tasks", "phonons,hot_md",
               "--out", str(out), "--reference-dir", str(data_dir)])
    assert rc == 0
    assert capsys.readouterr().out.count("finished earlier, skipped") == 2


def test_other_model_in_same_dir_is_refused(results, data_dir):
    out, _ = results
    rc = main(["validate", "run", "--calculator", "ase.calculators.emt:EMT", "--label",
               "toy_calculator", "--quick", "--tasks", "adatom", "--out", str(out),
               "--reference-dir", str(data_dir), "--no-progress"])
    assert rc == 2


def test_report_two_models_side_by_side(results, data_dir, tmp_path):
    out, _ = results
    rc = main(["validate", "run", "--calculator", "ase.calculators.emt:EMT", "--quick", "--tasks",
               "adatom,phonons,h2_cu111", "--out", str(out), "--reference-dir", str(data_dir),
               "--no-progress"])
    assert rc == 1                      # EMT has no Si: phonons done with a failed piece
    rep = tmp_path / "report"
    assert main(["validate", "report", str(out), "-o", str(rep)]) == 0
    md = (rep / "README.md").read_text()
    assert md.count("## Summary") == 1
    header = [line for line in md.splitlines() if line.startswith("| Metric |")]
    assert header == ["| Metric | Unit | DFT | EMT | toy_calculator |"]
    assert "No EMT-potential for Si" in md
    # per-model notes read "- *model*: ..."; "- **" opens an item of the reading guide
    notes = [ln.split("*: ", 1)[1] for ln in md.splitlines()
             if ln.startswith("- *") and not ln.startswith("- **")]
    assert len(notes) == len(set(notes))     # a note every model has is written once
    assert any(ln.startswith("- *all models*: barriers:") for ln in md.splitlines())
    pngs = sorted(p.name for p in (rep / "plots").glob("*.png"))
    assert {"adatom_neb.png", "phonons_Cu.png", "reactive_md_probability.png",
            "hot_md.png", "h2_cu111_neb.png"} <= set(pngs)
    for p in pngs:
        assert f"plots/{p}" in md
    # both ran the quick settings: each task section states them once, no warning
    assert md.count("Settings (all models; units: settings docstring in "
                    "`umlip.validation.tasks.") == 3
    assert "different settings" not in md
    assert "neb_fmax=" in md.split("(`adatom`)")[1].split("##")[0]


def test_dft_data_subcommand(data_dir, capsys):
    assert main(["validate", "dft-data", "--reference-dir", str(data_dir)]) == 0
    text = capsys.readouterr().out
    assert "dissociation_curves" in text and "phonons" in text


def test_tampered_reference_fails_the_task_not_the_run(tmp_path, data_dir):
    src = data_dir / "dissociation_curves.json"
    if not src.is_file():
        pytest.skip("no dissociation reference yet")
    doc = json.loads(src.read_text())
    doc["payload"]["method"]["xc"] = "LDA"
    (tmp_path / "refs").mkdir()
    (tmp_path / "refs" / "dissociation_curves.json").write_text(json.dumps(doc))
    rc = main(["validate", "run", "--calculator", TOY, "--quick", "--tasks",
               "dissociation,adatom", "--out", str(tmp_path / "out"), "--reference-dir",
               str(tmp_path / "refs"), "--no-progress"])
    man = json.loads((tmp_path / "out" / "toy_calculator" / "manifest.json").read_text())
    assert rc == 1
    assert man["tasks"]["dissociation"]["status"] == "failed"
    assert "sha256" in man["tasks"]["dissociation"]["error"]
    assert man["tasks"]["adatom"]["status"] == "done"


def test_two_runs_into_one_model_directory_keep_each_others_tasks(tmp_path, data_dir):
    """A long MD run and a short task of the same model started while it runs: each writes
    its own task into the manifest without dropping the other's."""
    from umlip.validation.analytic import toy_calculator
    from umlip.validation.calculators import describe
    from umlip.validation.runner import RunOptions, run_benchmark

    calc = toy_calculator()
    info = describe(calc)
    root = tmp_path / info.get("label", "model")
    long_run = {"label": info.get("label"), "calculator": info, "tasks": {}}  # read at start
    run_benchmark(calc, info, ["adatom"], tmp_path,
                  RunOptions(quick=True, reference_dir=data_dir, progress=False, plots=False))
    from umlip.validation.runner import _record
    _record(root / "manifest.json", long_run, "reactive_md", {"status": "done"})
    tasks = json.loads((root / "manifest.json").read_text())["tasks"]
    assert set(tasks) == {"adatom", "reactive_md"} and tasks["adatom"]["status"] == "done"


def test_rerun_from_cached_pieces_keeps_the_compute_time(tmp_path, data_dir):
    def run(*extra):
        assert main(["validate", "run", "--calculator", TOY, "--quick", "--tasks", "adatom",
                     "--out", str(tmp_path), "--reference-dir", str(data_dir),
                     "--no-progress", *extra]) == 0
        man = json.loads(next(tmp_path.glob("*/manifest.json")).read_text())
        return man["tasks"]["adatom"]

    first = run()
    first_time = first["compute_wall_time_s"]
    again = run("--rerun")
    assert again["wall_time_s"] < first_time == again["compute_wall_time_s"]
    assert first["compute_time_incomplete"] is False is again["compute_time_incomplete"]


def test_resumed_task_says_its_compute_time_is_a_lower_bound(tmp_path, data_dir):
    """Pieces left by a killed run (no manifest entry for the task): the time of the run that
    finishes is not the task's cost, and the report says so."""
    args = ["validate", "run", "--calculator", TOY, "--quick", "--tasks", "adatom", "--out",
            str(tmp_path), "--reference-dir", str(data_dir), "--no-progress"]
    assert main(args) == 0
    mpath = next(tmp_path.glob("*/manifest.json"))
    man = json.loads(mpath.read_text())
    del man["tasks"]["adatom"]                       # as if killed before recording
    mpath.write_text(json.dumps(man))
    assert main(args) == 0
    entry = json.loads(mpath.read_text())["tasks"]["adatom"]
    assert entry["compute_time_incomplete"] is True
    assert main(args + ["--rerun"]) == 0
    assert json.loads(mpath.read_text())["tasks"]["adatom"]["compute_time_incomplete"] is True
    assert main(["validate", "report", str(tmp_path), "-o", str(tmp_path / "rep")]) == 0
    md = (tmp_path / "rep" / "README.md").read_text()
    assert "adatom: done, ase, ≥ " in md and "time was not recorded" in md


def test_threads_apply_to_a_torch_based_peer_calculator():
    import torch

    from umlip.validation.calculators import make_calculator

    before = torch.get_num_threads()
    try:
        make_calculator(calculator=TOY, num_threads=1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_report_references_section_newest_version_and_version_warning():
    """The references table shows the newest version any result read; results that read
    different versions of a file warn, except the MD tasks (they use its lattice constant)."""
    from umlip.validation.report import _references_section
    from umlip.validation.task import TaskResult

    def res(task, sha, date, partial=()):
        return TaskResult(task=task, references={"h_cu111": {
            "sha256": sha, "date_utc": date, "partial": list(partial), "missing": []}})

    old, new = ("a" * 64, "2026-01-01"), ("b" * 64, "2026-02-01")
    md = "\n".join(_references_section({
        "m1": {"reactive_md": res("reactive_md", *old, partial=["neb"]),
               "h2_cu111": res("h2_cu111", *new)},
        "m2": {"h2_cu111": res("h2_cu111", *new)}}))
    assert "`bbbbbbbbbbbb` | — |" in md and "in progress: neb" not in md and "Warning" not in md
    md = "\n".join(_references_section({
        "m1": {"h2_cu111": res("h2_cu111", *old)}, "m2": {"h2_cu111": res("h2_cu111", *new)}}))
    assert "**Warning**" in md and "aaaaaaaaaaaa" in md


def test_summary_cells_name_their_own_md_backend():
    """Two models of one MD row that ran on different engines: each cell says its own."""
    from umlip.validation.report import summary_table
    from umlip.validation.tasks.hot_md import HotMDResult
    from umlip.validation.tasks.reactive_md import ReactiveMDResult

    def react(backend, p):
        return ReactiveMDResult(backend=backend, energies=[{
            "energy_eV": 0.6, "n": 20, "backend": backend, "p_dissociation": p,
            "ci_level": 0.95, "ci_low": 0.0, "ci_high": 0.4, "drift_max": 0.01,
            "drift_bond_breaking_max": None}])

    def hot(backend):
        return HotMDResult(backend=backend, systems={"bulk_cu": {
            "first_failure": None, "T_max_K": 3000, "backend": backend,
            "max_nve_drift_per_atom": 1e-4}})

    table = summary_table({"a": {"reactive_md": react("lammps", 0.2), "hot_md": hot("lammps")},
                           "b": {"reactive_md": react("ase", 0.45), "hot_md": hot("ase")}})
    rows = {ln.split(" | ")[0]: ln for ln in table.splitlines()}
    p = rows["| P(dissociation) at 0.6 eV (20 traj)"]
    assert "0.200 [lammps]" in p and "0.450 [ase]" in p
    h = rows["| Hot MD bulk_cu: T of first failure"]
    assert "no failure up to 3000 K [lammps]" in h and "no failure up to 3000 K [ase]" in h


def test_report_warns_when_models_ran_a_task_with_different_settings():
    """A side-by-side row of runs with different settings is not a model comparison: the
    report says so at the top and names the differing keys per model in the section."""
    from umlip.validation.report import settings_differ, settings_lines
    from umlip.validation.tasks.reactive_md import ReactiveMDResult

    a = ReactiveMDResult(settings={"timestep_fs": 0.5, "n_trajectories": 20, "seed": 1})
    b = ReactiveMDResult(settings={"timestep_fs": 0.25, "n_trajectories": 20, "seed": 1})
    assert settings_differ({"a": {"reactive_md": a}, "b": {"reactive_md": b}}) == ["reactive_md"]
    assert settings_differ({"a": {"reactive_md": a}, "b": {"reactive_md": a}}) == []
    lines = settings_lines({"a": a, "b": b})
    text = "\n".join(lines)
    assert "`n_trajectories=20; seed=1`" in text and "timestep_fs=`0.5`" in text
    assert "**Warning: the models ran this task with different settings** (timestep_fs)" in text
    assert "- *b*: timestep_fs=`0.25`" in lines
    assert "Warning" not in "\n".join(settings_lines({"a": a, "b": a}))


def test_a_stopped_run_still_claims_its_folder(tmp_path):
    """The manifest (whose results these are) is written before any piece is cached, so the
    pieces of a run stopped early are never reused by another model under the same label."""
    from umlip.validation.runner import run_benchmark

    info = {"label": "m", "class": "x.Calc", "content_hash": "sha256:aaaa", "dtype": "float64"}
    root = run_benchmark(None, info, [], tmp_path)
    assert (root / "manifest.json").is_file()
    other = dict(info, content_hash="sha256:bbbb")
    with pytest.raises(ValueError, match="holds results of another calculator"):
        run_benchmark(None, other, [], tmp_path)


def test_a_reexport_of_the_same_checkpoint_continues_its_folder(tmp_path):
    """Another content hash is another calculator, unless both files are exports of one
    family checkpoint (same source sha256, or a shipped name at the same family version):
    then the folder continues, its earlier tasks name the file that computed them."""
    from umlip.io import read_json
    from umlip.validation.runner import run_benchmark, same_checkpoint

    info = {"label": "m", "class": "umlip.calculator.UMLIPCalculator", "name": "mine",
            "family": "sevenn", "family_version": "0.13.0", "dtype": "float64",
            "content_hash": "sha256:aaaa", "source_sha256": "c1"}
    root = run_benchmark(None, info, [], tmp_path)
    manifest = read_json(root / "manifest.json")
    manifest["tasks"]["phonons"] = {"status": "done"}
    (root / "manifest.json").write_text(__import__("json").dumps(manifest))
    other_weights = dict(info, content_hash="sha256:bbbb", source_sha256="c2")
    with pytest.raises(ValueError, match="holds results of another calculator"):
        run_benchmark(None, other_weights, [], tmp_path)
    with pytest.raises(ValueError, match="holds results of another calculator"):
        run_benchmark(None, dict(info, content_hash="sha256:bbbb", dtype="float32"), [],
                      tmp_path)
    run_benchmark(None, dict(info, content_hash="sha256:bbbb"), [], tmp_path)
    manifest = read_json(root / "manifest.json")
    assert manifest["calculator"]["content_hash"] == "sha256:bbbb"
    assert manifest["earlier_calculators"][0]["content_hash"] == "sha256:aaaa"
    assert manifest["tasks"]["phonons"]["content_hash"] == "sha256:aaaa"
    # a description written before source hashes were recorded: only a shipped name counts
    old = {k: v for k, v in info.items() if k != "source_sha256"}
    assert same_checkpoint(old, dict(info, content_hash="sha256:bbbb")) is None
    shipped = dict(old, name="7net-0")
    assert "shipped model 7net-0" in same_checkpoint(
        shipped, dict(shipped, content_hash="sha256:bbbb", source_sha256="c1"))
    assert same_checkpoint(shipped, dict(shipped, content_hash="sha256:bbbb",
                                         family_version="0.14.0")) is None


def test_finetune_report_from_validation_runs(results, tmp_path):
    """`umlip finetune report` on real task results: a "fine-tuned" run that is the base
    model's own results again gives zero change in every row and p = 1 in reactive MD."""
    import shutil

    out, _ = results
    runs = tmp_path / "runs"
    tuned = runs / "toy_calculator-ft8-fps0-s1"
    shutil.copytree(out / "toy_calculator", tuned)
    man = json.loads((tuned / "manifest.json").read_text())
    man["label"] = tuned.name
    (tuned / "manifest.json").write_text(json.dumps(man))
    assert main(["finetune", "report", str(out / "toy_calculator"), str(runs),
                 "-o", str(tmp_path / "rep")]) == 0
    text = (tmp_path / "rep" / "README.md").read_text()
    assert (tmp_path / "rep" / "pdissociation.png").is_file()
    data = json.loads((tmp_path / "rep" / "data.json").read_text())
    assert list(data["reactive_md"]) == ["toy_calculator", tuned.name]
    base, ft = data["base"]["errors"], data["finetuned"][0]["errors"]
    same = {k for k in ft if ft[k] == base[k] or (ft[k] != ft[k] and base[k] != base[k])}
    assert same == set(ft) and "Eads_fcc" in ft and any(k.startswith("pdiss_") for k in ft)
    row = next(line for line in text.splitlines() if line.startswith("| ft8-fps0-s1 |"))
    counts = data["reactive_md"][tuned.name]
    assert row.count("p = 1.00") == len(counts) >= 2
    assert f"over the {len(counts)} comparisons: none." in text
