"""Run validation tasks for one calculator into a results directory (resumable).

Layout of ``<out>/<label>/``::

    manifest.json              calculator, settings, per-task status / timing / result path
    <task>/result.json         the task result (TaskResult.save)
    <task>/plots/*.png         plots of this model alone
    <task>/cache/<fp>/...      finished pieces (relaxations, NEBs, trajectories, ...)

A rerun skips tasks whose result exists with the same settings fingerprint and, inside an
unfinished task, every cached piece. A results directory belongs to one calculator: running
another model into it is refused.

Shards (``shard=(i, n)``; ``umlip validate run --shard i/n`` or ``--jobs n``): n processes, on
one machine or several sharing the directory, split the pieces of the shardable tasks
(reactive_md trajectories, hot_md systems); shard 0 also runs the other tasks whole. A shard
that finishes its pieces while others still run records the task as ``partial``; the last one
to finish finds every piece cached and writes the result; pieces a shard failed on (recorded
in its ``partial`` entry) are retried by the last shard of the same run (``started``). The
compute time is the sum of the shards' wall times (``<task>/cache/<fp>/_shards/``). The
numbers do not depend on the split: every trajectory is seeded by its own index, and pieces
all shards need (the relaxed slab) are stored first-writer-wins.
"""
from __future__ import annotations

import socket
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from umlip.io import PathLike, read_json, write_json
from umlip.validation.cache import Cache
from umlip.validation.calculators import safe_label
from umlip.validation.md import LAMMPSModel
from umlip.validation.task import Task, TaskResult, check_shard
from umlip.validation.tasks import TASKS, get_task

IDENTITY_KEYS = ("content_hash", "class", "factory", "factory_kwargs", "label", "dtype")


@dataclass
class RunOptions:
    """How :func:`run_benchmark` runs the tasks.

    quick: tiny settings (tests); reference_dir: DFT data directory (None: the package's);
    backend: MD backend of the MD tasks (``ase`` or ``lammps``); lammps_model: the model the
    ``lammps`` backend runs; label: the model's name in the results (None: the
    calculator's); progress: progress lines on stdout; rerun: recompute finished results
    (cached pieces are still used); plots: write each task's plots; shard: ``(i, n)``, this
    process is shard i (0-based) of n; started: when the run began [epoch s] (the shards
    of one ``--jobs`` run share it): cached pieces older than that come from an earlier run,
    whose time was not recorded.
    """

    quick: bool = False
    reference_dir: Optional[PathLike] = None
    backend: str = "ase"
    lammps_model: Optional[LAMMPSModel] = None
    label: Optional[str] = None
    progress: bool = True
    rerun: bool = False
    plots: bool = True
    shard: Tuple[int, int] = (0, 1)
    started: Optional[float] = None

    def __post_init__(self) -> None:
        check_shard(self.shard)
        if self.backend == "lammps" and self.lammps_model is None:
            raise ValueError("--backend lammps runs a umlip model file: give --model")


def parse_tasks(spec: str) -> List[str]:
    """``"all"`` or a comma list -> task names (validated, in registry order)."""
    if spec.strip() == "all":
        return list(TASKS)
    names = [s.strip() for s in spec.split(",") if s.strip()]
    for n in names:
        get_task(n)
    return [n for n in TASKS if n in names]


#: what two descriptions of a umlip model file must share to be exports of one checkpoint
SAME_CHECKPOINT_KEYS = ("label", "class", "dtype", "name", "family", "family_version")


def _identity(info: Dict[str, Any]) -> Dict[str, Any]:
    return {k: info.get(k) for k in IDENTITY_KEYS}


def same_checkpoint(old: Dict[str, Any], new: Dict[str, Any]) -> Optional[str]:
    """Why two umlip model files with different content hashes are exports of one family
    checkpoint (another kernel or contract version, the same weights), or None when that is
    not shown: both name the same source checkpoint sha256, or, for a description written
    before it was recorded, the model is a shipped name whose checkpoint the pinned family
    version fixes."""
    from umlip.models import KNOWN_MODELS

    if not (old.get("content_hash") and new.get("content_hash")) or \
            any(old.get(k) != new.get(k) for k in SAME_CHECKPOINT_KEYS):
        return None
    if old.get("source_sha256") and new.get("source_sha256"):
        return ("same source checkpoint sha256 " + new["source_sha256"][:16]
                if old["source_sha256"] == new["source_sha256"] else None)
    if old.get("name") in KNOWN_MODELS:
        return (f"shipped model {old['name']}: the checkpoint of "
                f"{old['family']} {old['family_version']}")
    return None


def _piece_errors(res: TaskResult) -> List[str]:
    """A task result's failed pieces as manifest lines ``"<piece>: <error>"``."""
    return [e["piece"] + ": " + e["error"] for e in res.errors]


def run_benchmark(calc, calculator_info: Dict[str, Any], tasks: Sequence[str], out: PathLike,
                  options: Optional[RunOptions] = None) -> Path:
    """Run ``tasks`` with ``calc`` into ``<out>/<label>``; returns that directory."""
    opt = options or RunOptions()
    label = opt.label or calculator_info.get("label", "model")
    calculator_info = dict(calculator_info, label=label)
    root = Path(out) / safe_label(label)
    manifest = _open_manifest(root, calculator_info, opt)
    for name in tasks:
        t0 = time.time()
        try:
            entry = _run_task(name, calc, calculator_info, root, manifest["tasks"].get(name, {}),
                              opt, t0)
        except Exception as exc:  # noqa: BLE001 - record and continue with the other tasks
            entry = {"status": "failed", "quick": opt.quick,
                     "error": f"{type(exc).__name__}: {exc}",
                     "traceback": traceback.format_exc(limit=6), "wall_time_s": time.time() - t0}
            _say(opt, f"[{name}] FAILED: {entry['error']}")
        if entry is not None:
            manifest = _record(root / "manifest.json", manifest, name, entry)
    return root


def _say(opt: RunOptions, line: str) -> None:
    if opt.progress:
        print(line, flush=True)


def _open_manifest(root: Path, calculator_info: Dict[str, Any], opt: RunOptions
                   ) -> Dict[str, Any]:
    """The manifest of ``root`` with this run's header (refused if another calculator's)."""
    from umlip import __version__

    root.mkdir(parents=True, exist_ok=True)
    mpath = root / "manifest.json"
    manifest = read_json(mpath) if mpath.is_file() else {"tasks": {}}
    old = manifest.get("calculator")
    replaced = None         # the content hash this run's re-exported file takes over from
    if old and _identity(old) != _identity(calculator_info):
        why = same_checkpoint(old, calculator_info)
        if why is None:
            raise ValueError(f"{root} holds results of another calculator ({old.get('label')}"
                             f", {old.get('content_hash') or old.get('class')}); "
                             "choose another --out or --label")
        # a re-export of the same weights continues the folder; each task entry names the
        # file that computed it, the earlier files stay listed
        earlier = manifest.setdefault("earlier_calculators", [])
        earlier.append(dict(old, replaced_because=why,
                            replaced=time.strftime("%Y-%m-%dT%H:%M:%S")))
        replaced = old["content_hash"]
    manifest.update({"label": calculator_info["label"], "calculator": calculator_info,
                     "umlip_version": __version__,
                     "reference_dir": str(opt.reference_dir or ""),
                     "created": manifest.get("created") or time.strftime("%Y-%m-%dT%H:%M:%S")})
    # on disk before any piece is cached: a run stopped early still marks whose pieces these are
    current = read_json(mpath) if mpath.is_file() else {}
    tasks = current.get("tasks", manifest["tasks"])
    if replaced:
        for entry in tasks.values():
            entry.setdefault("content_hash", replaced)
    write_json(mpath, dict(manifest, tasks=tasks))
    return manifest


class _ShardLog:
    """The wall-time records of the shards of one task (``<pieces cache>/_shards/``)."""

    def __init__(self, cache: Cache, shard: Tuple[int, int], t0: float, untimed: bool):
        self.cache, (self.i, self.n), self.t0, self.untimed = cache, shard, t0, untimed

    def write(self, task: Task) -> List[Optional[Dict[str, Any]]]:
        """Record this shard's wall time so far; returns every shard's record."""
        self.cache.put(f"_shards/{self.i + 1}of{self.n}", {
            "wall_time_s": time.time() - self.t0, "resumed": self.untimed,
            "host": socket.gethostname(), "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "finished_epoch": time.time(),
            "pieces_left_to_other_shards": len(set(task.deferred))})
        return [self.cache.get(f"_shards/{k + 1}of{self.n}") for k in range(self.n)]

    def all_ended(self, task: Task, since: float) -> bool:
        """Record this shard's end of its own pieces; True when every shard of the run
        (started at ``since``) has ended."""
        return all(d and d.get("finished_epoch", 0) >= since for d in self.write(task))


def _run_task(name: str, calc, calculator_info: Dict[str, Any], root: Path,
              entry: Dict[str, Any], opt: RunOptions, t0: float) -> Optional[Dict[str, Any]]:
    """Run one task; returns its manifest entry (None: nothing to record, the task finished
    earlier or is left to shard 1)."""
    cls = get_task(name)
    i_shard, n_shards = opt.shard
    split = n_shards > 1 and cls.shardable
    if n_shards > 1 and not split and i_shard != 0:
        _say(opt, f"[{name}] not split into shards: shard 1/{n_shards} runs it")
        return None
    rpath = root / name / "result.json"
    cache = Cache(root / name / "cache")
    task = cls(quick=opt.quick, reference_dir=opt.reference_dir, backend=opt.backend,
               lammps_model=opt.lammps_model, progress=opt.progress, cache=cache,
               shard=opt.shard if split else (0, 1))
    fp = task.fingerprint()
    if not opt.rerun and entry.get("status") == "done" and entry.get("fingerprint") == fp \
            and rpath.is_file():
        _say(opt, f"[{name}] finished earlier, skipped ({rpath})")
        return None
    pieces = task.fingerprint(pieces=True)
    # a rerun from cached pieces takes seconds: keep the time the pieces cost
    timed = entry.get("pieces") == pieces and entry.get("status", "").startswith("done")
    spent = entry.get("compute_wall_time_s", entry.get("wall_time_s", 0.0)) if timed else 0.0
    # pieces left by an interrupted earlier process: their time was never recorded
    untimed = entry.get("compute_time_incomplete", False) if timed else \
        cache.child(pieces).written_before(opt.started or t0)
    shards = _ShardLog(cache.child(pieces), opt.shard, t0, untimed) if split else None
    res = task.run(calc, calculator_info, all_shards_ended=None if shards is None else
                   (lambda: shards.all_ended(task, opt.started or t0)))
    compute = None      # None: this run's wall time
    if shards is not None:
        done = shards.write(task)
        if task.deferred:
            left = len(set(task.deferred))
            _say(opt, f"[{name}] shard {i_shard + 1}/{n_shards}: own pieces done, {left} still "
                      "with other shards; the last shard to finish writes the result")
            return {"status": "partial", "fingerprint": fp, "pieces": pieces,
                    "quick": opt.quick, "backend": opt.backend,
                    "shard": f"{i_shard + 1}/{n_shards}", "pieces_left_to_other_shards": left,
                    "wall_time_s": time.time() - t0, "piece_errors": _piece_errors(res)}
        compute = sum(d["wall_time_s"] for d in done if d)
        untimed = untimed or any(d is None or d.get("resumed") for d in done)
    res.save(rpath)
    pngs = task.plot(root / name / "plots") if opt.plots else []
    wall = time.time() - t0
    entry = {"status": "done" if not res.errors else "done_with_errors",
             "fingerprint": fp, "pieces": pieces, "quick": opt.quick,
             "backend": res.backend, "result": str(rpath.relative_to(root)),
             "plots": [str(Path(p).relative_to(root)) for p in pngs],
             "wall_time_s": wall,
             "compute_wall_time_s": max(wall if compute is None else compute, spent),
             "compute_time_incomplete": untimed,
             "piece_errors": _piece_errors(res)}
    if calculator_info.get("content_hash"):
        entry["content_hash"] = calculator_info["content_hash"]
    if split:
        entry["shards"] = n_shards
    return entry


def _record(mpath: Path, manifest: Dict[str, Any], name: str,
            entry: Dict[str, Any]) -> Dict[str, Any]:
    """Write one task's entry into the manifest on disk, re-read first: another run into
    the same directory (another task of the same model, started meanwhile) keeps its
    entries."""
    current = read_json(mpath) if mpath.is_file() else {}
    old = current.get("tasks", {}).get(name, {})
    if entry.get("status") == "partial" and old.get("status", "").startswith("done") and \
            old.get("fingerprint") == entry.get("fingerprint"):
        entry = old         # a shard that finished earlier must not undo the last one's result
    tasks = dict(current.get("tasks", {}), **{name: entry})
    manifest = dict(manifest, tasks=tasks, updated=time.strftime("%Y-%m-%dT%H:%M:%S"))
    write_json(mpath, manifest)
    return manifest


def find_result_dirs(paths: Sequence[PathLike]) -> List[Path]:
    """Result directories (with manifest.json) given themselves or their parent."""
    out: List[Path] = []
    for p in map(Path, paths):
        if (p / "manifest.json").is_file():
            out.append(p)
        elif p.is_dir():
            out += sorted(d for d in p.iterdir() if (d / "manifest.json").is_file())
        else:
            raise FileNotFoundError(f"{p} is not a directory")
    if not out:
        raise FileNotFoundError(f"no benchmark results (manifest.json) under "
                                f"{', '.join(map(str, paths))}")
    return out
