"""Splitting the MD tasks across processes (``--shard i/n``, ``--jobs n``) gives the numbers
of one serial run: every trajectory is seeded by its own index, shared pieces are stored
first-writer-wins, and only the last shard to finish writes the result."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from umlip.validation.cache import Cache
from umlip.cli import main

TOY = "umlip.validation.analytic:toy_calculator"
TASKS = "reactive_md,hot_md,adatom"


def _run(out: Path, data_dir: Path, *extra: str) -> int:
    return main(["validate", "run", "--calculator", TOY, "--quick", "--tasks", TASKS, "--out",
                 str(out), "--reference-dir", str(data_dir), "--no-progress", *extra])


def _numbers(root: Path, task: str) -> dict:
    """The result without what legitimately differs between runs (times, paths)."""
    d = json.loads((root / task / "result.json").read_text())
    for k in ("wall_time_s", "calculator", "references"):
        d.pop(k, None)
    return d


@pytest.fixture(scope="module")
def serial(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("serial")
    assert _run(out, data_dir) == 0
    return out / "toy_calculator"


def test_two_shards_give_the_serial_numbers(serial, tmp_path, data_dir):
    root = tmp_path / "toy_calculator"
    assert _run(tmp_path, data_dir, "--shard", "1/2") == 0
    man = json.loads((root / "manifest.json").read_text())
    # shard 1 did its half of the trajectories and the whole non-MD task; no MD result yet
    assert man["tasks"]["reactive_md"]["status"] == "partial"
    assert man["tasks"]["reactive_md"]["pieces_left_to_other_shards"] > 0
    assert man["tasks"]["hot_md"]["status"] == "partial"
    assert man["tasks"]["adatom"]["status"] == "done"
    assert not (root / "reactive_md" / "result.json").exists()
    trajs = sorted(p.name for p in root.glob("reactive_md/cache/*/E*/*.json"))
    assert trajs and len(trajs) < len(list(serial.glob("reactive_md/cache/*/E*/*.json")))
    assert main(["validate", "report", str(tmp_path), "-o", str(tmp_path / "rep")]) == 0
    md = (tmp_path / "rep" / "README.md").read_text()
    left = man["tasks"]["reactive_md"]["pieces_left_to_other_shards"]
    assert f"reactive_md: partial (shard 1/2 done, {left} pieces with other shards)" in md

    assert _run(tmp_path, data_dir, "--shard", "2/2") == 0
    man = json.loads((root / "manifest.json").read_text())
    for task in ("reactive_md", "hot_md"):
        e = man["tasks"][task]
        assert e["status"] == "done" and e["shards"] == 2, e
        assert _numbers(root, task) == _numbers(serial, task)
        assert (root / task / "plots").is_dir()
    # the compute time is both shards' wall times, not only the last one's
    shard_files = list(root.glob("reactive_md/cache/*/_shards/*.json"))
    assert len(shard_files) == 2
    total = sum(json.loads(p.read_text())["wall_time_s"] for p in shard_files)
    assert man["tasks"]["reactive_md"]["compute_wall_time_s"] == pytest.approx(total)
    assert man["tasks"]["reactive_md"]["compute_wall_time_s"] > \
        man["tasks"]["reactive_md"]["wall_time_s"]


def test_jobs_runs_shards_in_parallel_processes(serial, tmp_path, data_dir, capsys):
    assert _run(tmp_path, data_dir, "--jobs", "2", "--threads", "1") == 0
    text = capsys.readouterr().out
    assert "2 shards running" in text and text.count("ended (exit 0;") == 2
    root = tmp_path / "toy_calculator"
    man = json.loads((root / "manifest.json").read_text())
    for task in ("reactive_md", "hot_md", "adatom"):
        assert man["tasks"][task]["status"] == "done", (task, man["tasks"][task])
        assert _numbers(root, task) == _numbers(serial, task)
    assert man["tasks"]["reactive_md"]["shards"] == 2
    logs = sorted((tmp_path / "logs").glob("run-*-shard*of2.log"))
    assert len(logs) == 2
    assert main(["validate", "report", str(tmp_path), "-o", str(tmp_path / "rep")]) == 0
    md = (tmp_path / "rep" / "README.md").read_text()
    assert re.search(r"reactive_md: done, ase, \d+ s \(2 shards\)", md)
    assert re.search(r"adatom: done, ase, \d+ s[;| ]", md)      # one process ran it whole


def test_a_piece_its_shard_failed_is_retried_by_the_last_shard(serial, tmp_path, data_dir,
                                                               monkeypatch):
    """Shard 1's first trajectory raises: shard 1 records it and leaves; shard 2, the last of
    the run to end, finds the piece missing, retries it and writes the serial numbers."""
    from umlip.validation.tasks.reactive_md import ReactiveMDTask

    original = ReactiveMDTask._trajectory

    def flaky(self, calc, backend, slab, r_eq, e_in, k, refine=1):
        if k == 0 and refine == 1 and e_in == self.settings.energies_eV[0]:
            raise RuntimeError("node lost")
        return original(self, calc, backend, slab, r_eq, e_in, k, refine)

    started = ["--started", repr(time.time()), "--tasks", "reactive_md"]
    monkeypatch.setattr(ReactiveMDTask, "_trajectory", flaky)
    assert _run(tmp_path, data_dir, "--shard", "1/2", *started) == 1      # says it failed
    monkeypatch.setattr(ReactiveMDTask, "_trajectory", original)
    root = tmp_path / "toy_calculator"
    man = json.loads((root / "manifest.json").read_text())
    assert man["tasks"]["reactive_md"]["status"] == "partial"
    assert "node lost" in man["tasks"]["reactive_md"]["piece_errors"][0]
    assert _run(tmp_path, data_dir, "--shard", "2/2", *started) == 0
    man = json.loads((root / "manifest.json").read_text())
    assert man["tasks"]["reactive_md"]["status"] == "done"
    assert _numbers(root, "reactive_md") == _numbers(serial, "reactive_md")
    # the retry's time is in the compute time: shard 2's record is written after every
    # piece it computed, the retried one included, and the task's time is the records' sum
    cache = root / "reactive_md" / "cache"
    records = {p.stem: json.loads(p.read_text()) for p in cache.rglob("_shards/*.json")}
    newest_piece = max(p.stat().st_mtime for p in cache.rglob("*.json")
                       if "_shards" not in p.parts)
    assert records["2of2"]["finished_epoch"] >= newest_piece
    assert man["tasks"]["reactive_md"]["compute_wall_time_s"] == pytest.approx(
        sum(r["wall_time_s"] for r in records.values()))


def test_a_shard_that_ends_early_does_not_undo_the_result(tmp_path):
    """Shard A writes 'partial' after shard B (the last) wrote 'done': 'done' stays."""
    from umlip.validation.runner import _record

    mpath = tmp_path / "manifest.json"
    done = {"status": "done", "fingerprint": "f1", "result": "x/result.json"}
    _record(mpath, {"tasks": {}}, "reactive_md", done)
    _record(mpath, {"tasks": {}}, "reactive_md", {"status": "partial", "fingerprint": "f1"})
    assert json.loads(mpath.read_text())["tasks"]["reactive_md"] == done
    # other settings: the partial run is the current one
    _record(mpath, {"tasks": {}}, "reactive_md", {"status": "partial", "fingerprint": "f2"})
    assert json.loads(mpath.read_text())["tasks"]["reactive_md"]["status"] == "partial"


@pytest.mark.parametrize("on_disk", [True, False])
def test_shared_piece_is_first_writer_wins(tmp_path, on_disk):
    """Two processes relax the same slab: both continue from the one stored first."""
    c = Cache(tmp_path if on_disk else None)
    assert c.compute("slab", lambda: {"e": 1.0}) == {"e": 1.0}
    assert c.put_first("slab", {"e": 2.0}) == {"e": 1.0}
    assert c.get("slab") == {"e": 1.0}
    if on_disk:
        assert [p.name for p in tmp_path.iterdir()] == ["slab.json"]   # no temporary left


def test_bad_shard_specs_are_refused(tmp_path, data_dir, capsys):
    for spec in ("3/2", "0/2", "a/b", "2"):
        assert _run(tmp_path, data_dir, "--shard", spec) == 2
        assert "--shard" in capsys.readouterr().err
    assert _run(tmp_path, data_dir, "--shard", "1/2", "--jobs", "2") == 2
    assert _run(tmp_path, data_dir, "--jobs", "0") == 2
    from umlip.validation.tasks import get_task
    with pytest.raises(ValueError, match="cannot be split"):
        get_task("phonons")(quick=True, shard=(1, 2))


def test_jobs_spread_a_bare_cuda_device_over_the_gpus():
    from umlip.validation.cli import shard_device

    assert [shard_device("cuda", k, 2) for k in range(4)] == ["cuda:0", "cuda:1"] * 2
    assert shard_device("cuda", 3, 1) == "cuda" and shard_device("cuda", 3, 0) == "cuda"
    assert shard_device("cuda:1", 3, 4) == "cuda:1" and shard_device("cpu", 1, 2) == "cpu"
