"""Run benchmark tasks for one calculator into a results directory (resumable).

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
compute time is the sum of the shards' wall times (``<task>/cache/<fp>/_shards/``). The numbers do not depend on the split:
every trajectory is seeded by its own index, and pieces all shards need (the relaxed slab)
are stored first-writer-wins.
"""
from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from umlip.validation.calculators import safe_label
from umlip.validation.jsonio import Cache, PathLike, read_json, write_json
from umlip.validation.tasks import TASKS, get_task
from umlip.validation.task import TaskResult

IDENTITY_KEYS = ("content_hash", "class", "factory", "factory_kwargs", "label", "dtype")


def parse_tasks(spec: str) -> List[str]:
    """``"all"`` or a comma list -> task names (validated, in registry order)."""
    if spec.strip() == "all":
        return list(TASKS)
    names = [s.strip() for s in spec.split(",") if s.strip()]
    for n in names:
        get_task(n)
    return [n for n in TASKS if n in names]


def _identity(info: Dict[str, Any]) -> Dict[str, Any]:
    return {k: info.get(k) for k in IDENTITY_KEYS}


def _piece_errors(res: TaskResult) -> List[str]:
    """A task result's failed pieces as manifest lines ``"<piece>: <error>"``."""
    return [e["piece"] + ": " + e["error"] for e in res.errors]


def run_benchmark(calc, calculator_info: Dict[str, Any], tasks: Sequence[str],
                  out: PathLike, quick: bool = False, reference_dir: Optional[PathLike] = None,
                  backend: str = "ase", label: Optional[str] = None, progress: bool = True,
                  rerun: bool = False, plots: bool = True,
                  shard: Tuple[int, int] = (0, 1), started: Optional[float] = None) -> Path:
    """Run ``tasks`` with ``calc`` into ``<out>/<label>``; returns that directory.

    ``shard=(i, n)``: this process is shard ``i`` (0-based) of ``n`` (see the module doc).
    ``started``: when the run began (epoch seconds; shards of one ``--jobs`` run share it):
    cached pieces written before it come from an earlier run, whose time was not recorded."""
    from umlip import __version__

    label = label or calculator_info.get("label", "model")
    calculator_info = dict(calculator_info, label=label)
    root = Path(out) / safe_label(label)
    root.mkdir(parents=True, exist_ok=True)
    mpath = root / "manifest.json"
    manifest = read_json(mpath) if mpath.is_file() else {"tasks": {}}
    if manifest.get("calculator") and _identity(manifest["calculator"]) != _identity(
            calculator_info):
        old = manifest["calculator"]
        raise ValueError(f"{root} holds results of another calculator ({old.get('label')}, "
                         f"{old.get('content_hash') or old.get('class')}); "
                         "choose another --out or --label")
    manifest.update({"label": label, "calculator": calculator_info,
                     "umlip_version": __version__, "reference_dir": str(reference_dir or ""),
                     "created": manifest.get("created") or time.strftime("%Y-%m-%dT%H:%M:%S")})
    i_shard, n_shards = shard
    if not (n_shards >= 1 and 0 <= i_shard < n_shards):
        raise ValueError(f"shard {i_shard + 1}/{n_shards}: need 1 <= i <= n")
    for name in tasks:
        entry = manifest["tasks"].get(name, {})
        rpath = root / name / "result.json"
        t0 = time.time()
        cls = get_task(name)
        split = n_shards > 1 and cls.shardable
        if n_shards > 1 and not split and i_shard != 0:
            if progress:
                print(f"[{name}] not split into shards: shard 1/{n_shards} runs it", flush=True)
            continue
        try:
            cache = Cache(root / name / "cache")
            task = cls(quick=quick, reference_dir=reference_dir, backend=backend,
                       progress=progress, cache=cache, shard=shard if split else (0, 1))
            fp = task.fingerprint()
            if not rerun and entry.get("status") == "done" and entry.get("fingerprint") == fp \
                    and rpath.is_file():
                if progress:
                    print(f"[{name}] finished earlier, skipped ({rpath})", flush=True)
                continue
            pieces = task.fingerprint(pieces=True)
            # a rerun from cached pieces takes seconds: keep the time the pieces cost
            timed = entry.get("pieces") == pieces and entry.get("status", "").startswith("done")
            spent = entry.get("compute_wall_time_s", entry.get("wall_time_s", 0.0)) \
                if timed else 0.0
            # pieces left by an interrupted earlier process: their time was never recorded
            untimed = entry.get("compute_time_incomplete", False) if timed else \
                cache.child(pieces).written_before(started or t0)
            res = task.run(calc, calculator_info)
            if task.deferred:       # the other shards may have finished theirs meanwhile
                res = task.run(calc, calculator_info)
            compute = None      # None: this run's wall time
            if split:
                shards = cache.child(pieces)

                def shard_records() -> List[Optional[Dict[str, Any]]]:
                    """Record this shard's wall time so far; every shard's record."""
                    shards.put(f"_shards/{i_shard + 1}of{n_shards}", {
                        "wall_time_s": time.time() - t0, "resumed": untimed,
                        "host": socket.gethostname(),
                        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
                        "finished_epoch": time.time(),
                        "pieces_left_to_other_shards": len(set(task.deferred))})
                    return [shards.get(f"_shards/{k + 1}of{n_shards}")
                            for k in range(n_shards)]

                done = shard_records()
                if task.deferred and all(d and d.get("finished_epoch", 0) >= (started or t0)
                                         for d in done):
                    # every shard of this run has ended and pieces are still missing: their
                    # owners failed on them; retry them here, as a serial rerun would, and
                    # count the retry in this shard's (and so the task's) compute time
                    task.shard = (0, 1)
                    res = task.run(calc, calculator_info)
                    done = shard_records()
                if task.deferred:
                    left = len(set(task.deferred))
                    if progress:
                        print(f"[{name}] shard {i_shard + 1}/{n_shards}: own pieces done, "
                              f"{left} still with other shards; the last shard to finish "
                              "writes the result", flush=True)
                    manifest = _record(mpath, manifest, name, {
                        "status": "partial", "fingerprint": fp, "pieces": pieces,
                        "quick": quick, "backend": backend,
                        "shard": f"{i_shard + 1}/{n_shards}",
                        "pieces_left_to_other_shards": left,
                        "wall_time_s": time.time() - t0,
                        "piece_errors": _piece_errors(res)})
                    continue
                compute = sum(d["wall_time_s"] for d in done if d)
                untimed = untimed or any(d is None or d.get("resumed") for d in done)
            res.save(rpath)
            pngs = task.plot(root / name / "plots") if plots else []
            wall = time.time() - t0
            entry = {"status": "done" if not res.errors else "done_with_errors",
                     "fingerprint": fp, "pieces": pieces, "quick": quick,
                     "backend": res.backend, "result": str(rpath.relative_to(root)),
                     "plots": [str(Path(p).relative_to(root)) for p in pngs],
                     "wall_time_s": wall,
                     "compute_wall_time_s": max(wall if compute is None else compute, spent),
                     "compute_time_incomplete": untimed,
                     "piece_errors": _piece_errors(res)}
            if split:
                entry["shards"] = n_shards
        except Exception as exc:  # noqa: BLE001 - record and continue with the other tasks
            import traceback

            entry = {"status": "failed", "quick": quick,
                     "error": f"{type(exc).__name__}: {exc}",
                     "traceback": traceback.format_exc(limit=6), "wall_time_s": time.time() - t0}
            if progress:
                print(f"[{name}] FAILED: {entry['error']}", flush=True)
        manifest = _record(mpath, manifest, name, entry)
    return root


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
